// <attn-figure view="masks" kind="bigbird" n="128"></attn-figure>: one live
// figure for documentation pages, from one script tag. It renders inside a
// shadow root (no CSS leaks in or out) and computes only when it scrolls into
// view. Attributes are state fields (lower-case: window-blocks or
// windowblocks for windowBlocks); `controls` shows the controls, `notext`
// hides the caption. The caption speaks of the figure shown (captions.js);
// an attribute that is not one of these, or a value that cannot be used,
// is shown as an error inside the figure, naming the attribute.
//
// One file for the page and its worker (web/dist/attn-figure.js): loaded by a
// <script> tag it defines <attn-figure> and starts its Web Worker from its own
// URL, so the browser fetches the file, and with it the core, once (the second
// request is answered by the HTTP cache); loaded in a worker it runs the jobs
// of jobs.js (worker.js). Where a worker cannot start (file://, the script on
// another origin, a bundler that inlined this file) the jobs run on the page.
import { createAttn } from '../../wasm/attn.js';
import { FIELDS, VIEW_FIELDS, parseState, fieldProblem } from './state.js';
import { figureCaption } from './captions.js';
import { leaveView, renderView } from './render.js';
import { JobRunner } from './runner.js';
import { serveJobs } from './worker.js';
import styles from '../style.css';

const inWorker = typeof document === 'undefined' && typeof self !== 'undefined' && typeof self.postMessage === 'function';

if (inWorker) serveJobs();
else if (typeof customElements !== 'undefined' && !customElements.get('attn-figure')) {
  customElements.define('attn-figure', figureClass(typeof document.currentScript?.src === 'string' ? document.currentScript.src : null));
}

/** The candidate closest to name (edit distance), for "did you mean". */
function nearest(name, candidates) {
  const distance = (a, b) => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length];
  };
  const best = candidates.reduce((a, b) => (distance(name, b) < distance(name, a) ? b : a));
  return `did you mean ${best}`;
}

/**
 * The element's class (built here, not at load: workers have no HTMLElement).
 * @param {string|null} workerUrl this script's URL, started as the worker
 */
function figureClass(workerUrl) {
  let shared = null;  // one attnlab instance for every figure on the page
  const attn = () => (shared ??= createAttn());

  const fieldFor = new Map(Object.keys(FIELDS).flatMap((k) => [[k.toLowerCase(), k],
    [k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), k]]));
  // HTML's own attributes, which every element may carry.
  const GLOBAL = new Set(['id', 'class', 'style', 'title', 'lang', 'dir', 'hidden', 'slot', 'part', 'exportparts', 'role',
    'tabindex', 'translate', 'is', 'nonce', 'autofocus', 'inert', 'draggable', 'spellcheck', 'popover', 'accesskey', 'notext']);
  const ours = (name) => fieldFor.has(name) || GLOBAL.has(name) || /^(data|aria|on)-?/.test(name);

  // A constructed style sheet where the browser has them (a page's CSP does not
  // govern them: no inline <style> needed), else a <style> element.
  let sheet = null;
  try {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(styles);
  } catch {
    sheet = null;
  }

  return class AttnFigure extends HTMLElement {
    static get observedAttributes() { return [...fieldFor.keys(), 'notext']; }

    constructor() {
      super();
      this.root = this.attachShadow({ mode: 'open' });
      if (sheet && 'adoptedStyleSheets' in this.root) {
        this.root.adoptedStyleSheets = [sheet];
        this.root.innerHTML = '<div class="attn-figure" part="figure"><p class="status">attnlab figure</p></div>';
      } else {
        this.root.innerHTML = `<style>${styles}</style><div class="attn-figure" part="figure"><p class="status">attnlab figure</p></div>`;
      }
      this.state = null;
      this.visible = false;
    }

    connectedCallback() {
      if (this.observer) return;
      this.observer = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          this.visible = true;
          this.observer.disconnect();
          this.update();
        }
      }, { rootMargin: '200px' });
      this.observer.observe(this);
    }

    disconnectedCallback() {
      this.observer?.disconnect();
      this.observer = null;
      // A figure taken off the page stops its player and its jobs.
      const container = this.root.querySelector('.attn-figure');
      if (container) leaveView(container, this.runner);
    }

    attributeChangedCallback() {
      if (this.visible) this.update();
    }

    /**
     * The state from the attributes. Its `problems` name the attributes as
     * written: an unknown attribute (with the nearest known one), or a value
     * that is not an option, not a number or out of range (and what is used).
     */
    readState() {
      const values = { controls: '0', text: this.hasAttribute('notext') ? '0' : '1' };
      const given = [];
      for (const { name, value } of this.attributes) {
        const key = fieldFor.get(name);
        if (key) {
          values[key] = key === 'controls' && value === '' ? '1' : value;
          given.push([name, key, values[key]]);
        }
      }
      const state = parseState(values);
      const read = new Set(['view', 'seed', 'controls', 'text', ...VIEW_FIELDS[state.view]]);
      const problems = given.filter(([, key]) => read.has(key))
        .map(([name, key, value]) => fieldProblem(name, FIELDS[key], value)).filter(Boolean);
      for (const { name } of this.attributes) {
        if (!ours(name)) problems.push(`attribute ${name} is not one of <attn-figure>'s (${nearest(name, [...fieldFor.keys()])}?)`);
      }
      state.problems.splice(0, state.problems.length, ...problems);
      return state;
    }

    async update(partial) {
      const container = this.root.querySelector('.attn-figure');
      this.state = partial ? parseState({ ...this.state, ...partial }) : this.readState();
      this.dataset.state = 'rendering';
      try {
        const A = await attn();
        this.runner ??= new JobRunner(attn, workerUrl);
        renderView(container, {
          A, state: this.state, runner: this.runner, user: this.user ?? {},
          set: (p) => this.update(p),
          setUser: (u) => { this.user = u; this.update({}); },
          onDone: () => { this.dataset.state = 'ready'; },
        });
        // What could not be used, as a part a page can style.
        container.querySelector('[data-problem]')?.setAttribute('part', 'error');
        // The caption speaks of this figure, not of the whole view.
        const text = figureCaption(this.state);
        const caption = container.querySelector(':scope > .caption');
        if (caption && text) {
          caption.querySelector('summary').textContent = 'About this figure';
          caption.querySelector('p').textContent = text;
        }
      } catch (err) {
        container.textContent = `attnlab figure failed: ${err.message}`;
        this.dataset.state = 'error';
        throw err;
      }
    }
  };
}

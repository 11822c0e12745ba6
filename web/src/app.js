// The lab page: tabs for the views (an ARIA tablist), the state in the URL
// hash, long work in a worker. Switching view or following a preset link
// adds a history entry (Back returns to the previous view); tweaking a
// setting replaces the current one.
import { createAttn } from '../../wasm/attn.js';
import { VIEWS, parseState, formatHash } from './state.js';
import { VIEW_MODULES } from './views/index.js';
import { renderView, syncControls } from './render.js';
import { JobRunner } from './runner.js';
import { h } from './ui.js';

async function main() {
  const root = document.documentElement;
  const $ = (id) => document.getElementById(id);
  try {
    const attn = createAttn();
    const A = await attn;
    $('version').textContent = `attnlab ${A.version}${A.simd ? ' · wasm SIMD' : ''}`;
    const runner = new JobRunner(() => attn, 'dist/worker.js');
    let state = parseState(location.hash);
    let user = {};  // bring-your-own matrices (Matrices view); not in the hash
    const panel = $('view');

    const tabs = $('tabs');
    const tabFor = (id) => $(`tab-${id}`);
    tabs.replaceChildren(...VIEWS.map((id) => h('button', {
      type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': 'view',
      onclick: () => set({ view: id }),
    }, VIEW_MODULES[id].title)));
    // Arrow keys, Home and End move between tabs and open the one reached.
    tabs.addEventListener('keydown', (event) => {
      const at = VIEWS.indexOf(state.view);
      const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: VIEWS.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      const id = VIEWS[(next + VIEWS.length) % VIEWS.length];
      set({ view: id });
      tabFor(id).focus();
    });

    const render = () => {
      root.dataset.state = 'rendering';
      for (const b of tabs.children) {
        const selected = b.id === `tab-${state.view}`;
        b.setAttribute('aria-selected', String(selected));
        b.tabIndex = selected ? 0 : -1;  // one tab stop: arrows move within the list
      }
      panel.setAttribute('aria-labelledby', `tab-${state.view}`);
      document.body.classList.toggle('no-controls', !state.controls);
      document.body.classList.toggle('no-text', !state.text);
      renderView(panel, {
        A, state, set, runner, user,
        setUser: (u) => { user = u; render(); },
        onDone: () => { root.dataset.state = 'ready'; },
      });
    };
    /**
     * Applies a change: a new view pushes a history entry, a setting replaces
     * the current one. { render: false } only records it (the view has drawn
     * it already, e.g. while a slider is dragged).
     */
    function set(partial, { render: draw = true } = {}) {
      const before = state.view;
      state = parseState(formatHash({ ...state, ...partial }));  // clamp through the hash rules
      const hash = formatHash(state);
      if (hash !== location.hash) history[state.view !== before ? 'pushState' : 'replaceState'](null, '', hash);
      if (draw) render();
      else syncControls(panel, state);
    }
    // Back, Forward and links (presets) change the hash: show what it says.
    window.addEventListener('hashchange', () => {
      state = parseState(location.hash);
      const hash = formatHash(state);
      if (hash !== location.hash) history.replaceState(null, '', hash);
      render();
    });
    if (formatHash(state) !== location.hash) history.replaceState(null, '', formatHash(state));
    render();
  } catch (err) {
    root.dataset.state = 'error';
    $('view').replaceChildren(h('p', { class: 'message error', role: 'alert' }, `The lab could not start: ${err.message}`));
    throw err;
  }
}

main();

// Renders one view into a container: caption, controls, figures, and errors
// as a message (the page stays usable). Shared by the page and <attn-figure>.
// A view that fails keeps the figures of its previous picture on screen.
//
// A visit to a view lasts from switching to it until switching away: its
// caption and control panel are built once and updated in place (so focus,
// drags and typed numbers survive a change), only the figures are redrawn.
// Timers and jobs of a visit stop when it ends (visit.signal aborts).
import { VIEW_FIELDS, fileName, formatHash, parseState } from './state.js';
import { presetsOf, presetHash } from './presets.js';
import { VIEW_MODULES } from './views/index.js';
import { h, controls } from './ui.js';
import { errorText, isReaderError } from './errors.js';

const visits = new WeakMap();  // container -> its current visit

/** Ends the visit shown in container (timers, jobs); the next render starts a new one. */
export function leaveView(container, runner) {
  const visit = visits.get(container);
  if (!visit) return;
  visit.controller.abort();
  runner?.cancel('view');
  visits.delete(container);
}

/** Writes state into the visit's control panel without redrawing anything. */
export function syncControls(container, state) {
  visits.get(container)?.panel?.update(state);
}

/** A caption: open on wide screens, folded behind "About this view" on phones. */
function caption(text) {
  const narrow = typeof matchMedia === 'function' && matchMedia('(max-width: 480px)').matches;
  return h('details', { class: 'caption', open: !narrow, part: 'caption' },
    h('summary', {}, 'About this view'), h('p', {}, text));
}

/**
 * The view's presets as ordinary links (shareable, open in a new tab): a
 * compact row of titles, open on wide screens and folded on phones like the
 * caption, and under it what to look at in the preset shown (each link's
 * title attribute carries its own), visible on phones too. Only on the lab
 * page: inside <attn-figure> a link would move the host page.
 */
function presetList(view) {
  const presets = presetsOf(view);
  if (!presets.length) return '';
  const narrow = typeof matchMedia === 'function' && matchMedia('(max-width: 480px)').matches;
  return h('div', { class: 'presets', part: 'presets' },
    h('details', { open: !narrow },
      h('summary', {}, 'Presets: what to look for'),
      h('ul', {}, presets.map((p) => h('li', {},
        h('a', { href: presetHash(p), 'data-preset': p.id, title: p.look }, p.title))))),
    h('p', { class: 'look', hidden: true }));
}

/**
 * Marks the preset link whose settings are shown (aria-current) and says what
 * to look at in it. After a setting changes, the last preset's text stays
 * (dimmed), so the controls below it do not move while they are used.
 */
function markPreset(container, state) {
  const list = container.querySelector(':scope > .presets');
  if (!list) return;
  const shown = formatHash(state);
  let current = null;
  for (const a of list.querySelectorAll('a[data-preset]')) {
    const here = formatHash(parseState(a.getAttribute('href'))) === shown;
    if (here) { a.setAttribute('aria-current', 'true'); current = a; } else a.removeAttribute('aria-current');
  }
  const look = list.querySelector('.look');
  look.classList.toggle('changed', !current);
  if (!current) return;
  look.hidden = false;
  look.replaceChildren(h('strong', {}, `${current.textContent}. `), current.title);
}

/**
 * ctx: { A, state, set(partial, { render: false }?), runner, user, setUser, onDone() }.
 * Returns after synchronous drawing; views marked `async` (their figures come
 * from a job) call onDone later. A view receives `previous`: the element
 * holding its last figures (class "result"), or null, to keep until it has
 * new ones; `visit`: { signal } plus whatever the view keeps for the visit;
 * `announce(text)`: the status line, the one live region.
 */
export function renderView(container, ctx) {
  const { state } = ctx;
  const view = VIEW_MODULES[state.view];
  const layout = `${view.id}|${state.text}|${state.controls}`;
  let visit = visits.get(container);
  ctx.runner?.cancel('view');  // the previous picture's job, if it is still running
  const live = container.querySelector(':scope > .live')
    ?? h('p', { class: 'live', role: 'status', 'aria-live': 'polite', part: 'status' });
  if (!visit || visit.layout !== layout) {
    const sameView = visit?.view === view.id;
    const oldBody = sameView ? visit.body : null;
    if (visit && !sameView) leaveView(container, ctx.runner);
    visit = { layout, view: view.id, controller: new AbortController(), panel: null, body: null, notice: null };
    visit.signal = visit.controller.signal;
    visits.set(container, visit);
    visit.notice = h('div', { class: 'notices' });
    visit.panel = state.controls ? controls(VIEW_FIELDS[view.id], state, (p) => ctx.set(p)) : null;
    visit.body = h('div', { class: 'view-body' });
    if (oldBody) visit.body.append(...oldBody.children);  // previous figures, kept until new ones arrive
    const onPage = container.getRootNode() === container.ownerDocument;
    container.replaceChildren(visit.notice, state.text ? caption(view.text) : '', state.text && onPage ? presetList(view.id) : '',
      visit.panel ?? '', visit.body, live);
    container.dataset.view = view.id;
  } else {
    visit.panel?.update(state);
  }
  markPreset(container, state);
  visit.notice.replaceChildren(...(state.problems?.length
    ? [h('p', { class: 'message error', role: 'alert', 'data-problem': '' }, `Not used: ${state.problems.join('; ')}.`)] : []));
  const body = visit.body;
  const previous = body.querySelector(':scope > .result');
  const oldChildren = [...body.children];
  body.replaceChildren();
  let finished = false;
  const done = () => { if (!finished) { finished = true; ctx.onDone?.(); } };
  const announce = (text) => { live.textContent = text; };
  try {
    view.render(body, { ...ctx, name: () => `attnlab_${fileName(state)}`, done, previous, visit, announce });
    if (!view.async) done();
  } catch (err) {
    // Bad parameters or data (AttnError, DataError) are the reader's to fix: say so,
    // and keep what the view showed before.
    if (!isReaderError(err)) throw err;
    const kept = previous ? [previous] : oldChildren.filter((c) => !c.matches('.message.error'));
    body.replaceChildren(h('p', { class: 'message error', role: 'alert' },
      kept.length ? `${errorText(err)} (the figures below are the previous ones)` : errorText(err)), ...kept);
    done();
  }
}

// Renders one view into a container: caption, controls, figures, and errors
// as a message (the page stays usable). Shared by the page and <attn-figure>.
// A view that fails keeps the figures of its previous picture on screen.
import { VIEW_FIELDS, describe } from './state.js';
import { VIEW_MODULES } from './views/index.js';
import { h, controls } from './ui.js';
import { errorText, isReaderError } from './errors.js';

/**
 * ctx: { A, state, set(partial), runner, user, setUser, onDone() }.
 * Returns after synchronous drawing; views marked `async` (their figures come
 * from a job) call onDone later. A view receives `previous`: the element
 * holding its last figures (class "result"), or null, to keep until it has
 * new ones.
 */
export function renderView(container, ctx) {
  const { state } = ctx;
  const view = VIEW_MODULES[state.view];
  const sameView = container.dataset.view === view.id;
  const oldBody = sameView ? container.querySelector(':scope > .view-body') : null;
  const previous = oldBody?.querySelector(':scope > .result') ?? null;
  ctx.runner?.cancel('view');  // the previous picture's job, if it is still running
  container.replaceChildren();
  container.dataset.view = view.id;
  if (state.text) container.append(h('p', { class: 'caption' }, view.text));
  if (state.controls) container.append(controls(VIEW_FIELDS[view.id], state, ctx.set));
  const body = h('div', { class: 'view-body' });
  container.append(body);
  let finished = false;
  const done = () => { if (!finished) { finished = true; ctx.onDone?.(); } };
  try {
    view.render(body, { ...ctx, name: () => `attnlab_${describe(state)}`, done, previous });
    if (!view.async) done();
  } catch (err) {
    // Bad parameters or data (AttnError, DataError) are the reader's to fix: say so,
    // and keep what the view showed before.
    if (!isReaderError(err)) throw err;
    const kept = previous ? [previous] : [...(oldBody?.children ?? [])].filter((c) => !c.matches('.message.error'));
    body.replaceChildren(h('p', { class: 'message error', role: 'alert' },
      kept.length ? `${errorText(err)} (the figures below are the previous ones)` : errorText(err)), ...kept);
    done();
  }
}

// Renders one view into a container: caption, controls, figures, and errors
// as a message (the page stays usable). Shared by the page and <attn-figure>.
import { VIEW_FIELDS } from './state.js';
import { VIEW_MODULES } from './views/index.js';
import { h, controls } from './ui.js';
import { describe } from './state.js';
import { DataError } from './data.js';

/**
 * ctx: { A, state, set(partial), runner, user, setUser, onDone() }.
 * Returns after synchronous drawing; worker-backed views call onDone later.
 */
export function renderView(container, ctx) {
  const { state } = ctx;
  const view = VIEW_MODULES[state.view];
  container.replaceChildren();
  container.dataset.view = view.id;
  if (state.text) container.append(h('p', { class: 'caption' }, view.text));
  if (state.controls) container.append(controls(VIEW_FIELDS[view.id], state, ctx.set));
  const body = h('div', { class: 'view-body' });
  container.append(body);
  let finished = false;
  const done = () => { if (!finished) { finished = true; ctx.onDone?.(); } };
  try {
    view.render(body, { ...ctx, name: () => `attnlab_${describe(state)}`, done });
    if (!['capacity', 'approximation', 'timing'].includes(view.id)) done();
  } catch (err) {
    // Bad parameters or data (AttnError, DataError) are the reader's to fix: say so.
    if (err.name !== 'AttnError' && !(err instanceof DataError)) throw err;
    body.replaceChildren(h('p', { class: 'message error', role: 'alert' }, err.message));
    done();
  }
}

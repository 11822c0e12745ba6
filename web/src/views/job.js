// The shape shared by the views whose figure comes from a long job (run in a
// worker by JobRunner): a chart, a status line, redraws on every progress
// report and a final status when the job ends, or its error (with the
// AttnError code) when it fails: never "computing…" forever.
import { h, figure } from '../ui.js';
import { errorText, isReaderError } from '../errors.js';

/**
 * spec: { id, title, job, args, draw(canvas, series), finished(result) -> status text,
 * details(result) -> a node shown under the status, or null (optional) }.
 * Skips the job and says why when `problem` is set.
 */
export function runJobView(el, { name, runner, done, announce = () => {} }, { id, title, job, args, draw, finished, details, problem }) {
  let last = null;  // the latest series, for export
  const f = figure({ id, title, kind: 'chart', name, data: () => last });
  const status = h('p', { class: 'status' }, problem ?? 'computing…');
  announce(problem ?? `${title}: computing…`);
  el.append(h('div', { class: 'figures' }, f.root), status);
  if (problem) {
    done();
    return;
  }
  const show = ({ series }) => {
    last = series;
    draw(f.canvas, series);
  };
  runner.run('view', job, args, show).then((result) => {
    if (!result) return;  // replaced by a newer job
    show(result);
    status.textContent = finished(result);
    status.hidden = true;  // the view's status line (the live region) says it
    announce(`${title}: ${status.textContent}`);
    const extra = details?.(result);
    if (extra) status.after(extra);
    done();
  }).catch((err) => {
    status.hidden = false;
    status.className = 'message error';
    status.setAttribute('role', 'alert');
    status.textContent = `failed: ${errorText(err)}${last ? ' (the curves show what was computed before)' : ''}`;
    announce('');
    if (!isReaderError(err)) console.error(err);
    done();
  });
}

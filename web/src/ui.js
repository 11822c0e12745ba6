// Building blocks of the views: a figure (title, canvas, hover readout,
// export buttons) and the control panel generated from the state's fields.
import { FIELDS } from './state.js';
import { cellAt } from './heatmap.js';
import { savePNG, saveText } from './export.js';
import { toCSV } from './data.js';

/** document.createElement with properties and children. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/**
 * A figure: `kind` 'pixels' (a heatmap canvas) or 'chart' (Chart.js).
 * data(): what "CSV"/"JSON" exports; hover(row, col): text for the readout.
 */
export function figure({ id, title, kind = 'pixels', name, data, hover, rows, cols, wide = false }) {
  const canvas = h('canvas', { class: kind === 'chart' ? 'chart' : 'pixels', role: 'img', 'aria-label': title });
  canvas.dataset.kind = kind;
  canvas.dataset.figure = id;
  const readout = h('span', { class: 'hover', 'aria-live': 'polite' });
  if (hover) {
    canvas.addEventListener('pointermove', (event) => {
      const cell = cellAt(canvas, event, rows(), cols());
      readout.textContent = cell ? hover(cell.row, cell.col) : '';
    });
    canvas.addEventListener('pointerleave', () => { readout.textContent = ''; });
  }
  const exportData = () => {
    const value = data();
    if (value && value.data && value.rows) saveText(toCSV(value), `${name()}_${id}.csv`, 'text/csv');
    else saveText(JSON.stringify(value, null, 1), `${name()}_${id}.json`, 'application/json');
  };
  const isMatrix = () => { const v = data?.(); return Boolean(v && v.rows); };
  const buttons = h('span', { class: 'exports' },
    h('button', { type: 'button', onclick: () => savePNG(canvas, `${name()}_${id}`), title: `Save ${title} as PNG` }, 'PNG'),
    data ? h('button', { type: 'button', onclick: exportData, title: `Save the data of ${title}` }, isMatrix() ? 'CSV' : 'JSON') : null);
  const box = kind === 'chart' ? h('div', { class: 'chart-box' }, canvas) : canvas;
  const root = h('figure', { class: `fig ${wide ? 'wide' : ''}` },
    h('figcaption', {}, h('strong', {}, title), ' ', buttons), box, readout);
  return { root, canvas, readout };
}

/** Summary figures as a definition list. */
export const stats = (pairs) => h('dl', { class: 'stats' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

/** The control panel for `fields`; onChange(partial state) on every change. */
export function controls(fields, state, onChange) {
  const rows = fields.map((key) => {
    const f = FIELDS[key];
    const id = `ctl-${key}`;
    let input;
    if (f.type === 'bool') {
      input = h('input', { type: 'checkbox', id, checked: state[key], onchange: (e) => onChange({ [key]: e.target.checked }) });
      return { key, el: h('label', { class: 'check', for: id }, input, ' ', f.label) };
    }
    if (f.type === 'enum') {
      input = h('select', { id, onchange: (e) => onChange({ [key]: e.target.value }) },
        f.options.map((o) => h('option', { value: o, selected: o === state[key] }, o)));
    } else if (f.type === 'set') {
      const boxes = f.options.map((o) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', value: o, checked: state[key].includes(o),
          onchange: () => onChange({ [key]: f.options.filter((x) => fieldset.querySelector(`input[value="${CSS.escape(x)}"]`).checked) }) }),
        ' ', o));
      const fieldset = h('fieldset', { id }, h('legend', {}, f.label), boxes);
      return { key, el: fieldset };
    } else {
      input = h('input', { type: 'number', id, min: f.min, max: f.max, step: f.step ?? (f.type === 'int' ? 1 : 0.1),
        value: state[key], onchange: (e) => onChange({ [key]: e.target.value }) });
    }
    return { key, el: h('label', { for: id }, h('span', {}, f.label), input) };
  });
  for (const { key, el } of rows) el.hidden = Boolean(FIELDS[key].show && !FIELDS[key].show(state));
  return h('div', { class: 'controls', role: 'group', 'aria-label': 'Controls' }, rows.map((r) => r.el));
}

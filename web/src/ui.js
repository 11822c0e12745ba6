// Building blocks of the views: a figure (title, canvas with axes and a
// colour bar, hover readout, export buttons) and the control panel generated
// from the state's fields, updated in place so focus and drags survive.
import { FIELDS } from './state.js';
import { cellAt, ticks, fmt } from './heatmap.js';
import { savePNG, saveText } from './export.js';
import { toCSV } from './data.js';
import { lutCSS } from './colors.js';

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
 * A figure: `kind` 'pixels' (a heatmap canvas with axes and a colour bar
 * beside it) or 'chart' (Chart.js). data(): what "CSV"/"JSON" exports;
 * hover(row, col): text for the readout; axes: { x, y } labels of a heatmap
 * (default key j →, query i ↓). Returns { root, canvas, readout, setTitle,
 * setAxes(rows, cols), setScale({ lut, min, max, label }), setKey([{ name, rgb }]) }.
 */
export function figure({ id, title, kind = 'pixels', name, data, hover, rows, cols, wide = false,
  axes = { x: 'key j →', y: 'query i ↓' } }) {
  const canvas = h('canvas', { class: kind === 'chart' ? 'chart' : 'pixels', role: 'img', 'aria-label': title });
  canvas.dataset.kind = kind;
  canvas.dataset.figure = id;
  const readout = h('span', { class: 'hover' });
  if (hover) {
    canvas.addEventListener('pointermove', (event) => {
      const cell = cellAt(canvas, event, rows(), cols());
      readout.textContent = cell ? hover(cell.row, cell.col) : '';
    });
    canvas.addEventListener('pointerleave', () => { readout.textContent = ''; });
  }
  const meta = { title, axes, rows: 0, cols: 0, scale: null, key: null };
  const exportData = () => {
    const value = data();
    if (value && value.data && value.rows) saveText(toCSV(value), `${name()}_${id}.csv`, 'text/csv');
    else saveText(JSON.stringify(value, null, 1), `${name()}_${id}.json`, 'application/json');
  };
  const isMatrix = () => { const v = data?.(); return Boolean(v && v.rows); };
  const titleEl = h('strong', {}, title);
  const buttons = h('span', { class: 'exports' },
    h('button', { type: 'button', onclick: () => savePNG(canvas, `${name()}_${id}`, meta), title: `Save ${title} as PNG` }, 'PNG'),
    data ? h('button', { type: 'button', onclick: exportData, title: `Save the data of ${title}` }, isMatrix() ? 'CSV' : 'JSON') : null);
  let box, xTicks, yTicks, bar;
  if (kind === 'chart') box = h('div', { class: 'chart-box' }, canvas);
  else {
    xTicks = h('div', { class: 'hm-xticks', 'aria-hidden': 'true' });
    yTicks = h('div', { class: 'hm-yticks', 'aria-hidden': 'true' });
    bar = h('div', { class: 'hm-bar', part: 'colorbar' });
    box = h('div', { class: 'hm' },
      h('span', { class: 'hm-xlabel' }, axes.x), h('span', { class: 'hm-ylabel' }, axes.y),
      xTicks, yTicks, h('div', { class: 'hm-canvas' }, canvas), bar);
  }
  const root = h('figure', { class: `fig ${wide ? 'wide' : ''}`, part: 'figure-panel' },
    h('figcaption', {}, titleEl, ' ', buttons), box, readout);
  root.figureData = data ?? null;  // what the export buttons save (read by tests/presets.browser.test.mjs)
  const place = (container, count, vertical) => container.replaceChildren(...ticks(count).map((t) =>
    h('span', { style: `${vertical ? 'top' : 'left'}: ${((t + 0.5) / count) * 100}%` }, String(t))));
  return {
    root, canvas, readout,
    setTitle(text) { meta.title = text; titleEl.textContent = text; canvas.setAttribute('aria-label', text); },
    setAxes(r, c) {
      if (!xTicks || (meta.rows === r && meta.cols === c)) return;
      Object.assign(meta, { rows: r, cols: c });
      place(xTicks, c, false);
      place(yTicks, r, true);
    },
    /** A continuous colour bar: lut from min (bottom) to max (top); min < 0 < max marks 0. */
    setScale(scale) {
      if (!bar) return;
      meta.scale = scale;
      const { lut, min, max, label } = scale;
      const marks = [[max, 0], ...(min < 0 && max > 0 ? [[0, max / (max - min)]] : []), [min, 1]];
      bar.replaceChildren(h('span', { class: 'bar-label' }, label ?? ''),
        h('div', { class: 'bar-body' }, h('span', { class: 'bar-ramp', style: `background: ${lutCSS(lut, 'to top')}` }),
          h('span', { class: 'bar-ticks' }, marks.map(([v, at]) => h('span', { style: `top: ${at * 100}%` }, fmt(v))))));
      bar.dataset.min = String(min);
      bar.dataset.max = String(max);
    },
    /** A categorical key beside the figure: [{ name, rgb }]. */
    setKey(items) {
      if (!bar) return;
      meta.key = items;
      bar.replaceChildren(h('ul', { class: 'bar-key' }, items.map(({ name: label, rgb }) =>
        h('li', {}, h('i', { style: `background: rgb(${rgb.join(', ')})` }), label))));
    },
  };
}

/** Summary figures as a definition list. */
export const stats = (pairs) => h('dl', { class: 'stats', part: 'stats' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

/**
 * The control panel for `fields`; onChange(partial state) on every change.
 * The panel is built once per view: panel.update(state) writes new values
 * into its inputs and shows or hides the fields that apply, leaving the
 * element with focus (and a drag or a typed number) alone.
 */
export function controls(fields, state, onChange) {
  const rows = fields.map((key) => {
    const f = FIELDS[key];
    const id = `ctl-${key}`;
    let input;
    if (f.type === 'bool') {
      input = h('input', { type: 'checkbox', id, checked: state[key], onchange: (e) => onChange({ [key]: e.target.checked }) });
      return { key, el: h('label', { class: 'check', for: id }, input, ' ', f.label), write: (v) => { input.checked = v; } };
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
      const write = (v) => { for (const box of fieldset.querySelectorAll('input')) box.checked = v.includes(box.value); };
      return { key, el: fieldset, write };
    } else {
      input = h('input', { type: 'number', id, min: f.min, max: f.max, step: f.step ?? (f.type === 'int' ? 1 : 0.1),
        value: state[key], onchange: (e) => onChange({ [key]: e.target.value }) });
    }
    // The focused input keeps what the reader typed unless the state changed it (a clamp).
    const write = (v) => { if (String(input.value) !== String(v)) input.value = v; };
    return { key, el: h('label', { for: id }, h('span', {}, f.label), input), write };
  });
  const panel = h('div', { class: 'controls', role: 'group', 'aria-label': 'Controls', part: 'controls' }, rows.map((r) => r.el));
  panel.update = (next) => {
    for (const { key, el, write } of rows) {
      write(next[key]);
      el.hidden = Boolean(FIELDS[key].show && !FIELDS[key].show(next));
    }
  };
  panel.update(state);
  return panel;
}

// Export: a figure as PNG on a white background (pixel heatmaps scaled up
// without smoothing, with the figure's title, axes, ticks and colour bar),
// and data as CSV or JSON; a short state description goes in the name.
import { ticks, fmt } from './heatmap.js';

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A copy of canvas on white, at least `minSize` pixels wide for small pixel maps. */
export function whiteCopy(canvas, minSize = 512) {
  const factor = canvas.width < minSize ? Math.ceil(minSize / canvas.width) : 1;
  const out = document.createElement('canvas');
  out.width = canvas.width * factor;
  out.height = canvas.height * factor;
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(canvas, 0, 0, out.width, out.height);
  return out;
}

/**
 * A heatmap as a stand-alone picture: title, the heatmap (scaled up without
 * smoothing), "key j →" / "query i ↓" axes with ticks, and its colour bar
 * with values (or its categorical key). meta: { title, axes, rows, cols,
 * scale: { lut, min, max, label } | null, key: [{ name, rgb }] | null }.
 */
export function composeHeatmap(canvas, meta) {
  const size = 512, left = 64, top = 64, barW = 18, right = meta.key ? 150 : 110, bottom = 16;
  const w = size * Math.min(1, canvas.width / canvas.height), hgt = size * Math.min(1, canvas.height / canvas.width);
  const out = document.createElement('canvas');
  out.width = left + w + right;
  out.height = top + hgt + bottom;
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = '#1a1a1a';
  ctx.font = 'bold 15px sans-serif';
  ctx.textBaseline = 'top';
  ctx.fillText(meta.title, 8, 8, out.width - 16);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(canvas, left, top, w, hgt);
  ctx.strokeStyle = '#888';
  ctx.strokeRect(left - 0.5, top - 0.5, w + 1, hgt + 1);
  ctx.font = '12px sans-serif';
  const { rows = canvas.height, cols = canvas.width } = meta;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(meta.axes?.x ?? '', left + w / 2, top - 18);
  for (const t of ticks(cols)) ctx.fillText(String(t), left + ((t + 0.5) / cols) * w, top - 3);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of ticks(rows)) ctx.fillText(String(t), left - 4, top + ((t + 0.5) / rows) * hgt);
  ctx.save();
  ctx.translate(14, top + hgt / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText(meta.axes?.y ?? '', 0, 0);
  ctx.restore();
  const bx = left + w + 16;
  ctx.textAlign = 'left';
  if (meta.scale) {
    const { lut, min, max, label } = meta.scale;
    for (let y = 0; y < hgt; y++) {
      const i = Math.round((1 - y / Math.max(1, hgt - 1)) * 255) * 3;
      ctx.fillStyle = `rgb(${lut[i]}, ${lut[i + 1]}, ${lut[i + 2]})`;
      ctx.fillRect(bx, top + y, barW, 1);
    }
    ctx.strokeRect(bx - 0.5, top - 0.5, barW + 1, hgt + 1);
    ctx.fillStyle = '#1a1a1a';
    const marks = [[max, 0], ...(min < 0 && max > 0 ? [[0, max / (max - min)]] : []), [min, 1]];
    for (const [v, at] of marks) ctx.fillText(fmt(v), bx + barW + 5, top + at * hgt);
    if (label) { ctx.textBaseline = 'bottom'; ctx.fillText(label, bx, top - 4); }
  } else if (meta.key) {
    meta.key.forEach(({ name, rgb }, i) => {
      ctx.fillStyle = `rgb(${rgb.join(', ')})`;
      ctx.fillRect(bx, top + i * 22, 14, 14);
      ctx.fillStyle = '#1a1a1a';
      ctx.fillText(name, bx + 20, top + i * 22 + 7);
    });
  }
  return out;
}

/** A chart on white with its title above it. */
function titledChart(canvas, title) {
  const out = document.createElement('canvas');
  out.width = canvas.width;
  out.height = canvas.height + 32;
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(canvas, 0, 32);
  ctx.fillStyle = '#1a1a1a';
  ctx.font = 'bold 15px sans-serif';
  ctx.textBaseline = 'top';
  ctx.fillText(title, 8, 8, out.width - 16);
  return out;
}

/** Saves a figure's canvas as `name`.png: composed with its title, axes and colour bar when `meta` is given. */
export function savePNG(canvas, name, meta = null) {
  const chart = canvas.dataset.kind === 'chart';
  const out = !meta ? whiteCopy(canvas, chart ? 0 : 512) : chart ? titledChart(canvas, meta.title) : composeHeatmap(canvas, meta);
  out.toBlob((blob) => download(blob, `${name}.png`), 'image/png');
}

export function saveText(text, name, type) {
  download(new Blob([text], { type }), name);
}

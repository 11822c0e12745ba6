// Matrices and masks drawn on a plain canvas through ImageData, one pixel per
// entry; CSS scales the canvas up without smoothing. A heatmap's pixels can
// also be coloured in a worker, leaving the page one putImageData to do (at
// n = 1024, colouring and putImageData cost the page ~35 ms per heatmap).
import { VIRIDIS, maskRGB } from './colors.js';

/** Packs RGB into the 32-bit pixel layout of ImageData on this machine. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
const pack = (r, g, b) => (LITTLE_ENDIAN ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0);

/** 256 packed pixels of a 256-entry RGB table (cached per table). */
const packedTables = new WeakMap();
function packed(lut) {
  let table = packedTables.get(lut);
  if (!table) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) table[i] = pack(lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2]);
    packedTables.set(lut, table);
  }
  return table;
}

/** Sizes canvas to cols x rows, lets fill(pixels: Uint32Array) write it, and shows it. */
function paint(canvas, rows, cols, fill) {
  canvas.width = cols;
  canvas.height = rows;
  canvas.style.aspectRatio = `${cols} / ${rows}`;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(cols, rows);
  fill(new Uint32Array(image.data.buffer));
  ctx.putImageData(image, 0, 0);
}

/** The range of a matrix's values. */
export function extent(data) {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    if (data[i] < min) min = data[i];
    if (data[i] > max) max = data[i];
  }
  return { min, max };
}

/** Writes the heatmap colours of `data` into px (packed RGBA, one per entry). */
function colour(px, data, lut, min, max) {
  const scale = max > min ? 255 / (max - min) : 0;
  const colours = packed(lut);
  for (let i = 0; i < data.length; i++) {
    const c = (data[i] - min) * scale;
    px[i] = colours[c <= 0 ? 0 : c >= 255 ? 255 : Math.round(c)];
  }
}

/**
 * A matrix as a heatmap: values from min to max map linearly onto the
 * 256-entry table `lut` (default viridis, 0 .. the largest value).
 */
export function drawHeatmap(canvas, matrix, { lut = VIRIDIS, min = 0, max } = {}) {
  const { rows, cols, data } = matrix;
  if (max === undefined) max = Math.max(extent(data).max, min);
  paint(canvas, rows, cols, (px) => colour(px, data, lut, min, max));
  return { min, max };
}

/**
 * The pixels of drawHeatmap's picture (RGBA, row by row), made where it is
 * called: in a worker, so the page is left only drawPixels to do.
 */
export function heatmapPixels(matrix, { lut = VIRIDIS, min = 0, max } = {}) {
  const { rows, cols, data } = matrix;
  const pixels = new Uint8ClampedArray(rows * cols * 4);
  colour(new Uint32Array(pixels.buffer), data, lut, min, max ?? Math.max(extent(data).max, min));
  return pixels;
}

/**
 * A matrix shrunk by `pool` in each direction for display: each entry of the
 * result is the entry of largest magnitude (sign kept) in its pool × pool
 * block, so a thin band, a lone spike or a negative dip stays visible where
 * averaging or skipping entries would hide it.
 */
export function poolMaxAbs({ rows, cols, data }, pool) {
  const r = Math.ceil(rows / pool), c = Math.ceil(cols / pool);
  const out = new Float32Array(r * c);
  const mag = new Float32Array(r * c);
  for (let i = 0; i < rows; i++) {
    const base = Math.floor(i / pool) * c, row = i * cols;
    for (let b = 0; b < c; b++) {
      let best = mag[base + b], x = out[base + b];
      for (let j = row + b * pool, end = row + Math.min(cols, (b + 1) * pool); j < end; j++) {
        const y = data[j], a = y < 0 ? -y : y;
        if (a > best) { best = a; x = y; }
      }
      mag[base + b] = best;
      out[base + b] = x;
    }
  }
  return { rows: r, cols: c, data: out };
}

/**
 * Shows a picture on a canvas, one pixel per entry (CSS scales it): an
 * ImageBitmap (made in a worker: handed to the canvas without a copy), or
 * pixels of heatmapPixels for rows x cols, through an ImageBitmap the browser
 * makes off the page's thread (putImageData of n = 1024 costs the page
 * ~25 ms), or putImageData where that is missing. The canvas's aspect ratio
 * is the caller's (a pooled picture stands for a larger matrix).
 */
export async function drawPixels(canvas, rows, cols, pixels) {
  if (typeof ImageBitmap !== 'undefined' && pixels instanceof ImageBitmap) {
    [canvas.width, canvas.height] = [pixels.width, pixels.height];
    canvas.getContext('bitmaprenderer').transferFromImageBitmap(pixels);
    return;
  }
  canvas.width = cols;
  canvas.height = rows;
  const image = new ImageData(pixels, cols, rows);
  if (typeof createImageBitmap === 'function') {
    const bitmap = await createImageBitmap(image);
    canvas.getContext('bitmaprenderer').transferFromImageBitmap(bitmap);
  } else {
    canvas.getContext('2d').putImageData(image, 0, 0);
  }
}

/** A mask coloured by component; `order` (a permutation) shows rows and columns reordered. */
export function drawMask(canvas, mask, order = null) {
  const { rows, cols, data } = mask;
  const colours = new Uint32Array(256).map((_, v) => pack(...maskRGB(v)));
  paint(canvas, rows, cols, (px) => {
    for (let i = 0; i < rows; i++) {
      const r = order ? order[i] : i;
      for (let j = 0; j < cols; j++) px[i * cols + j] = colours[data[r * cols + (order ? order[j] : j)]];
    }
  });
}

/** The (row, col) of the canvas cell under a pointer event, or null. */
export function cellAt(canvas, event, rows, cols) {
  const box = canvas.getBoundingClientRect();
  const col = Math.floor(((event.clientX - box.left) / box.width) * cols);
  const row = Math.floor(((event.clientY - box.top) / box.height) * rows);
  return row < 0 || col < 0 || row >= rows || col >= cols ? null : { row, col };
}

/** Up to about `most` round tick positions in 0 .. count - 1 (steps of 1, 2 or 5 × 10^k). */
export function ticks(count, most = 5) {
  if (count <= 1) return [0];
  const raw = (count - 1) / Math.max(1, most - 1);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((f) => f * p).find((s) => s >= raw));
  const out = [];
  for (let t = 0; t < count; t += step) out.push(t);
  return out;
}

/** Short text for a colour-bar value. */
export const fmt = (x) => (x === 0 ? '0' : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(1) : String(Number(x.toPrecision(3))));

// Matrices and masks drawn on a plain canvas through ImageData, one pixel per
// entry (n = 1024 in a few ms); CSS scales the canvas up without smoothing.
import { VIRIDIS, maskRGB } from './colors.js';

/** Fills canvas (cols x rows pixels) with rgb(row, col) for each cell. */
function paint(canvas, rows, cols, rgbAt) {
  canvas.width = cols;
  canvas.height = rows;
  canvas.style.aspectRatio = `${cols} / ${rows}`;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(cols, rows);
  const px = image.data;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const [r, g, b] = rgbAt(i, j);
      const p = (i * cols + j) * 4;
      px[p] = r; px[p + 1] = g; px[p + 2] = b; px[p + 3] = 255;
    }
  }
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

/**
 * A matrix as a heatmap: values from min to max map linearly onto the
 * 256-entry table `lut` (default viridis, 0 .. the largest value).
 */
export function drawHeatmap(canvas, matrix, { lut = VIRIDIS, min = 0, max } = {}) {
  const { rows, cols, data } = matrix;
  if (max === undefined) max = Math.max(extent(data).max, min);
  const scale = max > min ? 255 / (max - min) : 0;
  const rgb = [0, 0, 0];
  paint(canvas, rows, cols, (i, j) => {
    const c = Math.max(0, Math.min(255, Math.round((data[i * cols + j] - min) * scale))) * 3;
    rgb[0] = lut[c]; rgb[1] = lut[c + 1]; rgb[2] = lut[c + 2];
    return rgb;
  });
  return { min, max };
}

/** A mask coloured by component; `order` (a permutation) shows rows and columns reordered. */
export function drawMask(canvas, mask, order = null) {
  const { rows, cols, data } = mask;
  paint(canvas, rows, cols, (i, j) => maskRGB(data[(order ? order[i] : i) * cols + (order ? order[j] : j)]));
}

/** The (row, col) of the canvas cell under a pointer event, or null. */
export function cellAt(canvas, event, rows, cols) {
  const box = canvas.getBoundingClientRect();
  const col = Math.floor(((event.clientX - box.left) / box.width) * cols);
  const row = Math.floor(((event.clientY - box.top) / box.height) * rows);
  return row < 0 || col < 0 || row >= rows || col >= cols ? null : { row, col };
}

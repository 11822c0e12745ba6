// Draws a Matrix as a heatmap on a plain canvas, one pixel per entry, through
// ImageData (fast enough for n = 1024); CSS scales it up without smoothing.
import { VIRIDIS } from './colormap.js';

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{rows: number, cols: number, data: Float32Array}} matrix
 * @param {{max?: number}} options  values map linearly from 0..max (default: the matrix max)
 * @returns {{max: number}} the value mapped to the top colour
 */
export function drawHeatmap(canvas, matrix, options = {}) {
  const { rows, cols, data } = matrix;
  let max = options.max;
  if (max === undefined) {
    max = 0;
    for (let i = 0; i < data.length; i++) if (data[i] > max) max = data[i];
  }
  const scale = max > 0 ? 255 / max : 0;
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(cols, rows);
  const px = image.data;
  for (let i = 0; i < data.length; i++) {
    const c = Math.max(0, Math.min(255, Math.round(data[i] * scale))) * 3;
    px[i * 4] = VIRIDIS[c];
    px[i * 4 + 1] = VIRIDIS[c + 1];
    px[i * 4 + 2] = VIRIDIS[c + 2];
    px[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return { max };
}

/** The (row, col) of the matrix under a mouse event on the canvas, or null. */
export function cellAt(canvas, event, matrix) {
  const box = canvas.getBoundingClientRect();
  const col = Math.floor(((event.clientX - box.left) / box.width) * matrix.cols);
  const row = Math.floor(((event.clientY - box.top) / box.height) * matrix.rows);
  if (row < 0 || col < 0 || row >= matrix.rows || col >= matrix.cols) return null;
  return { row, col, value: matrix.data[row * matrix.cols + col] };
}

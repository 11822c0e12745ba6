// Bring your own data: a matrix from JSON, CSV or NumPy .npy, with messages
// that say what is wrong. Pure functions: no DOM.

export class DataError extends Error {}

/** rows (arrays of numbers) -> Matrix, checking shape and values. */
function fromRows(rows, what) {
  if (!Array.isArray(rows) || rows.length === 0) throw new DataError(`${what}: expected a non-empty list of rows`);
  if (rows.every((x) => typeof x === 'number')) rows = rows.map((x) => [x]);  // a vector is one column
  const cols = Array.isArray(rows[0]) ? rows[0].length : 0;
  if (cols === 0) throw new DataError(`${what}: row 1 is empty or not a list`);
  const data = new Float32Array(rows.length * cols);
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== cols) {
      throw new DataError(`${what}: row ${i + 1} has ${Array.isArray(row) ? row.length : 'no'} values, row 1 has ${cols}`);
    }
    row.forEach((x, j) => {
      const v = typeof x === 'string' && x.trim() !== '' ? Number(x) : x;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new DataError(`${what}: row ${i + 1}, column ${j + 1} is ${JSON.stringify(x)}, not a finite number`);
      }
      data[i * cols + j] = v;
    });
  });
  return { rows: rows.length, cols, data };
}

/** A matrix from JSON: [[...], ...] or { rows, cols, data }. */
export function parseJSON(text, what = 'JSON') {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DataError(`${what}: not valid JSON (${err.message})`);
  }
  if (value && !Array.isArray(value) && typeof value === 'object' && 'data' in value) {
    const { rows, cols, data } = value;
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || !Array.isArray(data) || data.length !== rows * cols) {
      throw new DataError(`${what}: { rows, cols, data } needs integer rows, cols and rows*cols numbers in data`);
    }
    return fromRows(Array.from({ length: rows }, (_, i) => data.slice(i * cols, (i + 1) * cols)), what);
  }
  return fromRows(value, what);
}

/** A matrix from CSV (commas, semicolons, tabs or spaces; a non-numeric first line is a header). */
export function parseCSV(text, what = 'CSV') {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const rows = lines.map((l) => l.split(/[,;\t ]+/));
  if (rows.length && rows[0].some((x) => x !== '' && !Number.isFinite(Number(x)))) rows.shift();
  return fromRows(rows, what);
}

/** A matrix from a NumPy .npy file (float32/float64/int32/int64, little-endian, C order, 1-D or 2-D). */
export function parseNPY(buffer, what = '.npy') {
  const bytes = new Uint8Array(buffer);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new DataError(`${what}: not a NumPy .npy file`);
  const view = new DataView(buffer);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = new TextDecoder().decode(bytes.subarray(major === 1 ? 10 : 12, start));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const types = { '<f4': Float32Array, '<f8': Float64Array, '<i4': Int32Array, '<i8': BigInt64Array };
  if (!types[descr]) throw new DataError(`${what}: dtype ${descr} is not supported (use float32, float64, int32 or int64)`);
  if (fortran) throw new DataError(`${what}: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)`);
  if (shape.length < 1 || shape.length > 2) throw new DataError(`${what}: expected a 1-D or 2-D array, got shape (${shape})`);
  const [rows, cols = 1] = shape;
  const Type = types[descr];
  const needed = rows * cols * Type.BYTES_PER_ELEMENT;
  if (buffer.byteLength - start < needed) throw new DataError(`${what}: the file is shorter than its shape (${shape}) says`);
  const raw = new Type(buffer.slice(start, start + needed));
  const data = Float32Array.from(raw, Number);
  const bad = data.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new DataError(`${what}: entry ${bad} is ${data[bad]}, not a finite number`);
  if (rows === 0 || cols === 0) throw new DataError(`${what}: the array is empty`);
  return { rows, cols, data };
}

/** Parses by file name (or content, for pasted text). */
export function parseMatrix(input, name = '') {
  const what = name || 'pasted data';
  if (input instanceof ArrayBuffer) {
    if (/\.npy$/i.test(name)) return parseNPY(input, what);
    input = new TextDecoder().decode(input);
  }
  const text = String(input).trim();
  if (!text) throw new DataError(`${what}: empty`);
  return /\.json$/i.test(name) || text.startsWith('[') || text.startsWith('{') ? parseJSON(text, what) : parseCSV(text, what);
}

/** CSV text of a matrix. */
export const toCSV = (m) => Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)).join(',')).join('\n');

// Argument readers: matrices (and the layouts of other libraries' tensors),
// masks, CSR masks, strict option objects and numeric options. Everything is
// validated before any conversion; errors name the function the user called
// and the argument.
import { checkBytes, fail } from './core.js';

export const isInt = Number.isInteger;

/** A positive integer dimension. */
export function checkDim(where, name, x) {
  if (typeof x !== 'number') fail('ERR_TYPE', where, `${name} must be a number, got ${typeof x}`);
  if (!isInt(x) || x < 1) fail('ERR_SHAPE', where, `${name} must be a positive integer, got ${x}`);
}

// ------------------------------------------------------------------ options

/** Levenshtein distance between two short strings. */
function editDistance(a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The valid key nearest to `key` by edit distance, case aside (ties: the
 * first declared); an abbreviation of three letters or more counts as 1.
 */
export function nearest(key, keys) {
  let best = keys[0], bestDistance = Infinity;
  const typed = key.toLowerCase();
  for (const k of keys) {
    const valid = k.toLowerCase();
    const dist = typed.length >= 3 && valid.startsWith(typed) ? 1 : editDistance(typed, valid);
    if (dist < bestDistance) [best, bestDistance] = [k, dist];
  }
  return best;
}

/**
 * An options object whose keys are all among `keys` (the function's declared
 * options): undefined/null gives {}; an unknown key throws ERR_OPTION naming it
 * and the nearest valid one.
 */
export function options(where, value, keys) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    fail('ERR_TYPE', where, `options must be an object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      fail('ERR_OPTION', where, keys.length
        ? `unknown option '${key}' (did you mean '${nearest(key, keys)}'?)`
        : `unknown option '${key}' (it takes no options)`);
    }
  }
  return value;
}

/** The keys that long calls (capacity, kernelErrorSweep, benchmark) take for progress and cancellation. */
export const PROGRESS_KEYS = ['onProgress', 'signal'];

/**
 * Progress and cancellation of a long call, from its `onProgress` (called
 * with { done, total, ...what }) and `signal` (an AbortSignal, checked
 * before each step; aborting throws the signal's reason).
 */
export function optProgress(where, o, total) {
  const { onProgress, signal } = o;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    fail('ERR_TYPE', where, `onProgress must be a function, got ${typeof onProgress}`);
  }
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    fail('ERR_TYPE', where, 'signal must be an AbortSignal');
  }
  let done = 0;
  return {
    /** Throws the abort reason if the signal has fired. */
    check: () => { if (signal?.aborted) throw signal.reason; },
    /** One more step done: tells onProgress. */
    step: (what = {}) => { done++; onProgress?.({ done, total, ...what }); },
  };
}

export function optBool(where, name, value, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail('ERR_TYPE', where, `${name} must be true or false, got ${value}`);
  return value;
}

/** A finite number in [min, max] (or > min with `above`). */
export function optNumber(where, name, value, fallback, { min = -Infinity, max = Infinity, above = false } = {}) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') fail('ERR_TYPE', where, `${name} must be a number, got ${typeof value}`);
  if (!Number.isFinite(value)) fail('ERR_RANGE', where, `${name} must be finite, got ${value}`);
  if (above ? !(value > min) : value < min) fail('ERR_RANGE', where, `${name} must be ${above ? '>' : '>='} ${min}, got ${value}`);
  if (value > max) fail('ERR_RANGE', where, `${name} must be <= ${max}, got ${value}`);
  return value;
}

/**
 * An integer in [min, max]. With `clamp`, a larger integer means "at most
 * max" and is clamped to max (a window wider than the sequence is the whole
 * sequence); otherwise it is refused.
 */
export function optInt(where, name, value, fallback, min, max = Number.MAX_SAFE_INTEGER, clamp = false) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') fail('ERR_TYPE', where, `${name} must be a number, got ${typeof value}`);
  if (!Number.isFinite(value)) fail('ERR_RANGE', where, `${name} must be finite, got ${value}`);
  if (!isInt(value)) fail('ERR_RANGE', where, `${name} must be an integer, got ${value}`);
  if (value < min) fail('ERR_RANGE', where, `${name} must be an integer >= ${min}, got ${value}`);
  if (value > max) {
    if (clamp) return max;
    fail('ERR_RANGE', where, `${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** One of the strings in `list`. */
export function optKind(where, name, value, fallback, list) {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') fail('ERR_TYPE', where, `${name} must be a string (one of ${list.join(', ')}), got ${typeof value}`);
  if (!list.includes(value)) fail('ERR_KIND', where, `${name} must be one of ${list.join(', ')}, got '${value}'`);
  return value;
}

/** A non-empty array of integers in [min, max]. */
export function optIntList(where, name, value, fallback, min, max) {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) && !ArrayBuffer.isView(value)) fail('ERR_TYPE', where, `${name} must be a non-empty array of integers`);
  if (value.length === 0) fail('ERR_TYPE', where, `${name} must be a non-empty array of integers`);
  return Array.from(value, (x, i) => {
    if (typeof x !== 'number') fail('ERR_TYPE', where, `${name}[${i}] must be a number, got ${typeof x}`);
    if (!isInt(x) || x < min || x > max) fail('ERR_RANGE', where, `${name}[${i}] = ${x} is not an integer in [${min}, ${max}]`);
    return x;
  });
}

// ----------------------------------------------------------------- matrices

/**
 * How a Matrix and a Mask are read: the typed array, the conversion of one
 * entry of a plain array (undefined rejects it) and of one typed-array entry.
 */
export const MATRIX = {
  label: 'Matrix',
  Out: Float32Array,
  cell: (x) => (typeof x === 'number' ? x : undefined),
  convert: Number,  // typed arrays of any kind (BigInt too); the finiteness check follows
};
/** Mask cells: 0/false blocked; 1..255 kept (component bits); any other non-zero number allowed (1). */
const maskCell = (x) => {
  if (typeof x !== 'number' && typeof x !== 'boolean') return undefined;
  if (!x) return 0;
  return Number.isInteger(x) && x > 0 && x < 256 ? x : 1;
};
export const MASK = { label: 'Mask', Out: Uint8Array, cell: maskCell, convert: (x) => maskCell(x) ?? (x ? 1 : 0) };

const ACCEPTED = 'a { rows, cols, data } object, { shape: [rows, cols], data }, { dims: [rows, cols], data }, '
  + 'a tensor with a 2-D shape and dataSync(), a strided { shape, stride, offset, data } view or an array of rows';

const isArrayLike = (x) => Array.isArray(x) || ArrayBuffer.isView(x)
  || (x !== null && typeof x === 'object' && typeof x.length === 'number');

/** [rows, cols] from a shape or dims field, which must be 2-D. */
function shape2(where, name, field, shape) {
  if (!isArrayLike(shape) || shape.length !== 2) {
    const got = isArrayLike(shape) ? `a ${shape.length}-D shape [${Array.from(shape).join(', ')}]` : `${field} ${typeof shape}`;
    fail('ERR_SHAPE', where, `${name} must be 2-D, got ${got}; accepted: ${ACCEPTED}`);
  }
  const [rows, cols] = Array.from(shape, (s) => (typeof s === 'bigint' ? Number(s) : s));  // ORT dims may be BigInts
  checkDim(where, `${name}.${field}[0]`, rows);
  checkDim(where, `${name}.${field}[1]`, cols);
  return [rows, cols];
}

/** Copies a plain (non-typed) array-like into `out` through `cell`, refusing non-numbers. */
function copyCells(where, name, data, out, cell, index = (i) => i) {
  for (let i = 0; i < out.length; i++) {
    const x = data[index(i)];
    const value = cell(x);
    if (value === undefined) fail('ERR_TYPE', where, `${name}.data[${index(i)}] is ${x === null ? 'null' : typeof x}, not a number`);
    out[i] = value;
  }
  return out;
}

/** { rows, cols, data } of type spec.Out from data laid out row-major, or strided with `stride` and `offset`. */
function fromData(where, name, rows, cols, data, spec, stride = null, offset = 0) {
  const { Out, cell, convert } = spec;
  if (!isArrayLike(data)) fail('ERR_TYPE', where, `${name}.data must be an array or typed array, got ${data === null ? 'null' : typeof data}`);
  checkBytes(where, name, rows * cols, Out.BYTES_PER_ELEMENT);
  const typed = ArrayBuffer.isView(data);
  if (!stride) {
    if (data.length !== rows * cols) fail('ERR_SHAPE', where, `${name}.data has ${data.length} entries, rows*cols is ${rows * cols}`);
    if (data instanceof Out) return { rows, cols, data };
    return { rows, cols, data: typed ? Out.from(data, convert) : copyCells(where, name, data, new Out(rows * cols), cell) };
  }
  if (!isArrayLike(stride) || stride.length !== 2) fail('ERR_SHAPE', where, `${name}.stride must have 2 entries, like shape`);
  const [s0, s1] = Array.from(stride);
  if (!isInt(s0) || !isInt(s1)) fail('ERR_TYPE', where, `${name}.stride must be two integers, got [${s0}, ${s1}]`);
  if (typeof offset !== 'number' || !isInt(offset) || offset < 0) fail('ERR_TYPE', where, `${name}.offset must be a non-negative integer, got ${offset}`);
  const lo = offset + Math.min(0, (rows - 1) * s0) + Math.min(0, (cols - 1) * s1);
  const hi = offset + Math.max(0, (rows - 1) * s0) + Math.max(0, (cols - 1) * s1);
  if (lo < 0 || hi >= data.length) {
    fail('ERR_SHAPE', where, `${name}: shape [${rows}, ${cols}], stride [${s0}, ${s1}] and offset ${offset} reach entries ${lo}..${hi} of data with ${data.length}`);
  }
  const index = (t) => offset + Math.floor(t / cols) * s0 + (t % cols) * s1;
  const out = new Out(rows * cols);
  if (typed) for (let t = 0; t < out.length; t++) out[t] = convert(data[index(t)]);
  else copyCells(where, name, data, out, cell, index);
  return { rows, cols, data: out };
}

/** { rows, cols, data } of type spec.Out from any accepted matrix layout. */
export function toShaped(where, name, x, spec) {
  const { label, Out, cell } = spec;
  if (Array.isArray(x)) {
    if (x.length === 0 || (!Array.isArray(x[0]) && !ArrayBuffer.isView(x[0]))) {
      fail('ERR_TYPE', where, `${name} must be a ${label} (an array of rows must be non-empty); accepted: ${ACCEPTED}`);
    }
    const [rows, cols] = [x.length, x[0].length];
    if (cols === 0) fail('ERR_SHAPE', where, `${name} has empty rows`);
    checkBytes(where, name, rows * cols, Out.BYTES_PER_ELEMENT);
    const data = new Out(rows * cols);
    for (let i = 0; i < rows; i++) {
      const row = x[i];
      if (!row || row.length !== cols) {
        fail('ERR_SHAPE', where, `${name} row ${i} has ${row ? row.length : 'no'} entries, row 0 has ${cols}`);
      }
      for (let j = 0; j < cols; j++) {
        if (typeof row[j] === 'object' && row[j] !== null && isArrayLike(row[j])) {
          fail('ERR_SHAPE', where, `${name} is not 2-D: ${name}[${i}][${j}] is an array; accepted: ${ACCEPTED}`);
        }
        const value = cell(row[j]);
        if (value === undefined) fail('ERR_TYPE', where, `${name}[${i}][${j}] is ${row[j] === null ? 'null' : typeof row[j]}, not a number`);
        data[i * cols + j] = value;
      }
    }
    return { rows, cols, data };
  }
  if (x === null || typeof x !== 'object') fail('ERR_TYPE', where, `${name} must be a ${label}, got ${x === null ? 'null' : typeof x}; accepted: ${ACCEPTED}`);
  if (typeof x.dataSync === 'function' && x.shape !== undefined) {  // tf.Tensor
    const [rows, cols] = shape2(where, name, 'shape', x.shape);
    let data;
    try {
      data = x.dataSync();
    } catch (err) {
      fail('ERR_TYPE', where, `${name}.dataSync() failed: ${err && err.message}`);
    }
    return fromData(where, name, rows, cols, data, spec);
  }
  if (x.shape !== undefined || x.dims !== undefined) {  // { shape | dims, data }, ndarray
    const field = x.shape !== undefined ? 'shape' : 'dims';
    const [rows, cols] = shape2(where, name, field, x[field]);
    if (x.data === undefined) fail('ERR_TYPE', where, `${name} has a ${field} but no data (nor dataSync()); accepted: ${ACCEPTED}`);
    return fromData(where, name, rows, cols, x.data, spec, x.stride ?? null, x.offset ?? 0);
  }
  if ('data' in x) {
    checkDim(where, `${name}.rows`, x.rows);
    checkDim(where, `${name}.cols`, x.cols);
    return fromData(where, name, x.rows, x.cols, x.data, spec);
  }
  return fail('ERR_TYPE', where, `${name} must be a ${label}; accepted: ${ACCEPTED}`);
}

/** 1 if every entry of a Float32Array is finite: x - x is 0 for finite x and
 * NaN for NaN and ±Infinity, and a sum of them stays NaN; a loop without a
 * branch per entry, four entries a step (3x the speed of an isFinite loop). */
function allFiniteF32(data) {
  const n = data.length;
  let acc = 0, i = 0;
  for (; i + 4 <= n; i += 4) acc += (data[i] - data[i]) + (data[i + 1] - data[i + 1]) + (data[i + 2] - data[i + 2]) + (data[i + 3] - data[i + 3]);
  for (; i < n; i++) acc += data[i] - data[i];
  return acc === 0;
}

/** A Matrix { rows, cols, data: Float32Array } with finite entries. */
export function toMatrix(where, name, x) {
  const m = toShaped(where, name, x, MATRIX);
  const { data } = m;
  if (allFiniteF32(data)) return m;
  for (let i = 0; i < data.length; i++) {  // find the first bad entry for the message
    if (!Number.isFinite(data[i])) {
      fail('ERR_NONFINITE', where, `${name} has ${data[i]} at row ${Math.floor(i / m.cols)}, column ${i % m.cols}` +
        (Number.isNaN(data[i]) ? '' : ' (or a value beyond float32 range)'));
    }
  }
  return m;
}

/** A Mask { rows, cols, data: Uint8Array }, of the given shape when rows is given. */
export function toMask(where, name, x, rows, cols) {
  const m = toShaped(where, name, x, MASK);
  if (rows !== undefined && (m.rows !== rows || m.cols !== cols)) {
    fail('ERR_SHAPE', where, `${name} is ${m.rows}x${m.cols}, expected ${rows}x${cols}`);
  }
  return m;
}

/** q, k and (unless undefined) v as Matrices whose shapes agree: q [n, d], k [m, d], v [m, dv]. */
export function toQKV(where, q, k, v, names = ['q', 'k', 'v']) {
  const Q = toMatrix(where, names[0], q);
  const K = toMatrix(where, names[1], k);
  if (K.cols !== Q.cols) fail('ERR_SHAPE', where, `${names[1]} has ${K.cols} columns, ${names[0]} has ${Q.cols}`);
  let V = null;
  if (v !== undefined) {
    V = toMatrix(where, names[2], v);
    if (V.rows !== K.rows) fail('ERR_SHAPE', where, `${names[2]} has ${V.rows} rows, ${names[1]} has ${K.rows}`);
  }
  return { Q, K, V };
}

/** Int32Array of an integer array (typed or plain), refusing non-integers before conversion. */
function intArray(where, name, x) {
  if (x instanceof Int32Array) return x;
  if (!isArrayLike(x)) fail('ERR_TYPE', where, `${name} must be an array of integers, got ${x === null ? 'null' : typeof x}`);
  const out = new Int32Array(checkBytes(where, name, x.length, 4) / 4);
  for (let t = 0; t < x.length; t++) {
    const value = typeof x[t] === 'bigint' ? Number(x[t]) : x[t];
    if (typeof value !== 'number' || !isInt(value) || Math.abs(value) > 2 ** 31 - 1) {
      fail('ERR_TYPE', where, `${name}[${t}] is ${value}, not an int32 integer`);
    }
    out[t] = value;
  }
  return out;
}

/**
 * A CSR mask { rows, cols, format: 'csr', indptr, indices } checked: indptr
 * integers from 0 to indices.length, never decreasing; indices integers in
 * [0, cols), strictly increasing within each row (no duplicates). Its shape
 * must be [rows, cols] when they are given.
 */
export function toCSR(where, mask, rows, cols, name = 'mask') {
  checkDim(where, `${name}.rows`, mask.rows);
  checkDim(where, `${name}.cols`, mask.cols);
  if (rows !== undefined && (mask.rows !== rows || mask.cols !== cols)) {
    fail('ERR_SHAPE', where, `${name} is ${mask.rows}x${mask.cols}, expected ${rows}x${cols}`);
  }
  [rows, cols] = [mask.rows, mask.cols];
  const indptr = intArray(where, `${name}.indptr`, mask.indptr ?? []);
  const indices = intArray(where, `${name}.indices`, mask.indices ?? []);
  if (indptr.length !== rows + 1 || indptr[0] !== 0 || indptr[rows] !== indices.length) {
    fail('ERR_SHAPE', where, `${name}.indptr must have ${rows + 1} entries from 0 to indices.length (${indices.length})`);
  }
  for (let i = 0; i < rows; i++) {
    if (indptr[i + 1] < indptr[i]) fail('ERR_RANGE', where, `${name}.indptr decreases at row ${i}`);
    for (let t = indptr[i]; t < indptr[i + 1]; t++) {
      if (indices[t] < 0 || indices[t] >= cols) fail('ERR_RANGE', where, `${name}.indices[${t}] = ${indices[t]} is outside [0, ${cols - 1}]`);
      if (t > indptr[i] && indices[t] <= indices[t - 1]) {
        fail('ERR_RANGE', where, `${name}.indices of row ${i} are not strictly increasing at ${t} (${indices[t - 1]}, ${indices[t]}): duplicate or unsorted`);
      }
    }
  }
  return { rows, cols, indptr, indices };
}

export const isCSR = (mask) => mask !== null && typeof mask === 'object' && mask.format === 'csr';

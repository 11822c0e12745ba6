// Bring your own data: a matrix from JSON, CSV or NumPy .npy, with messages
// that say what is wrong and where. Strict: a value is either read exactly as
// written or refused, never guessed. Pure functions: no DOM.

export class DataError extends Error {
  constructor(message) {
    super(message);
    this.name = 'DataError';
  }
}

/** The largest input the lab takes: bytes of a file or pasted text, and matrix size. */
export const LIMITS = Object.freeze({ bytes: 16 * 1024 * 1024, rows: 1024, cols: 1024 });

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

const fail = (what, message) => { throw new DataError(`${what}: ${message}`); };

const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`;

/** Refuses a size above the caps, stating them. */
function checkSize(what, rows, cols) {
  if (rows > LIMITS.rows || cols > LIMITS.cols) {
    fail(what, `${rows}×${cols} is too large: the lab takes at most ${LIMITS.rows} rows and ${LIMITS.cols} columns`);
  }
}

/** Refuses an input of more than LIMITS.bytes bytes (or characters, for text), stating the cap. */
export function checkBytes(what, bytes, unit = 'bytes') {
  if (bytes > LIMITS.bytes) {
    fail(what, `${(bytes / 2 ** 20).toFixed(1)} MiB (${bytes} ${unit}) is over the limit of ${LIMITS.bytes / 2 ** 20} MiB for uploads and pastes`);
  }
}

/** A value as float32, or a message naming where it is and what is wrong. */
function toFloat32(x, where) {
  if (!Number.isFinite(x)) {
    // JSON.parse reads a literal beyond the double range (1e400) as ±Infinity.
    if (x === Infinity || x === -Infinity) throw new DataError(`${where} is out of range (float32), |x| must be at most 3.4e38`);
    throw new DataError(`${where} is ${x}, not a finite number`);
  }
  if (Math.abs(x) > FLOAT32_MAX && !Number.isFinite(Math.fround(x))) {
    throw new DataError(`${where} is ${x}, out of range (float32), |x| must be at most 3.4e38`);
  }
  return x;
}

/** A decimal number as written in JSON or CSV: no hex, no Infinity, no blanks. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** rows (arrays of numbers) -> Matrix, checking shape, size and values. */
function fromRows(rows, what) {
  if (!Array.isArray(rows) || rows.length === 0) fail(what, 'expected a non-empty list of rows');
  if (rows.every((x) => !Array.isArray(x))) rows = rows.map((x) => [x]);  // a vector is one column
  const cols = Array.isArray(rows[0]) ? rows[0].length : 0;
  if (cols === 0) fail(what, 'row 1 is empty or not a list');
  checkSize(what, rows.length, cols);
  const data = new Float32Array(rows.length * cols);
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== cols) {
      fail(what, `row ${i + 1} has ${Array.isArray(row) ? row.length : 'no'} values, row 1 has ${cols}`);
    }
    for (let j = 0; j < cols; j++) {
      let x = row[j];
      if (typeof x === 'string' && DECIMAL.test(x.trim())) x = Number(x);
      if (typeof x !== 'number') fail(what, `row ${i + 1}, column ${j + 1} is ${JSON.stringify(x) ?? String(x)}, not a number`);
      data[i * cols + j] = x;
      if (!Number.isFinite(data[i * cols + j])) toFloat32(x, `${what}: row ${i + 1}, column ${j + 1}`);
    }
  });
  return { rows: rows.length, cols, data };
}

/** A matrix from JSON: [[...], ...], a list of numbers (one column), or { rows, cols, data }. */
export function parseJSON(text, what = 'JSON') {
  checkBytes(what, text.length, 'characters');
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail(what, `not valid JSON (${err.message})`);
  }
  if (value && !Array.isArray(value) && typeof value === 'object' && 'data' in value) {
    const { rows, cols, data } = value;
    const count = (x) => Number.isInteger(x) && x > 0;
    if (!count(rows) || !count(cols) || !Array.isArray(data)) {
      fail(what, '{ rows, cols, data } needs positive integer rows and cols and a list data');
    }
    checkSize(what, rows, cols);
    if (data.length !== rows * cols) fail(what, `data has ${data.length} values, rows × cols = ${rows * cols}`);
    return fromRows(Array.from({ length: rows }, (_, i) => data.slice(i * cols, (i + 1) * cols)), what);
  }
  return fromRows(value, what);
}

/**
 * Splits one CSV line at `sep` (RFC 4180 quotes: "1.5", "a ""b"""). Returns the
 * fields with their quotes removed, or throws on an unterminated quote.
 */
function splitLine(line, sep, where) {
  const fields = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ') i++;
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const close = line.indexOf('"', i);
        if (close < 0) throw new DataError(`${where}: a quote is not closed`);
        field += line.slice(i, close);
        i = close + 1;
        if (line[i] === '"') { field += '"'; i++; } else break;
      }
      while (line[i] === ' ') i++;
      if (i < line.length && line[i] !== sep) throw new DataError(`${where}: text after a closing quote`);
    } else {
      const end = line.indexOf(sep, i);
      field = line.slice(i, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    }
    fields.push(field.trim());
    if (i >= line.length) return fields;
    i++;  // the separator
  }
}

/** The separators outside quotes in a line (adds them to `found`). */
function separatorsIn(line, found, where) {
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ',' || c === ';' || c === '\t')) found.add(c);
  }
  if (quoted) throw new DataError(`${where}: a quote is not closed`);
}

const SEPARATOR_NAMES = { ',': 'commas', ';': 'semicolons', '\t': 'tabs', ' ': 'spaces' };

/** A field that is meant as a number, though perhaps not a finite one ("NaN", "-inf"). */
const NUMBERISH = /^[+-]?(?:\d|\.\d|nan$|inf(?:inity)?$)/i;

/**
 * A matrix from CSV. Strict: fields separated by commas, or by tabs or
 * semicolons when only that one appears, or by spaces when none of those
 * appears; input with two kinds of separator (1,5;2,5) is refused. The first
 * line is a header only when none of its fields is a number; quoted numbers are
 * read; an empty or non-numeric field is an error naming its row (the line of
 * the file) and column. Lines starting with # are comments.
 */
export function parseCSV(text, what = 'CSV') {
  checkBytes(what, text.length, 'characters');
  const lines = [];
  text.split(/\r\n|\n|\r/).forEach((line, i) => {
    if (line.trim() && !line.trimStart().startsWith('#')) lines.push({ line: line.trim(), row: i + 1 });
  });
  if (!lines.length) fail(what, 'no rows');
  if (lines.length > LIMITS.rows + 1) {
    fail(what, `${lines.length} lines is too many: the lab takes at most ${LIMITS.rows} rows and ${LIMITS.cols} columns`);
  }
  // One separator for the whole input, or a refusal.
  const seps = new Set();
  for (const { line, row } of lines) separatorsIn(line, seps, `${what}: row ${row}`);
  if (seps.size > 1) {
    fail(what, `ambiguous separators: both ${[...seps].map((s) => SEPARATOR_NAMES[s]).join(' and ')} appear ` +
      '(use commas between values and points for decimals, e.g. 1.5,2.5)');
  }
  const sep = seps.size ? [...seps][0] : ' ';
  const split = sep === ' '
    ? (line) => line.split(/ +/).map((f) => (f.length > 1 && f.startsWith('"') && f.endsWith('"') ? f.slice(1, -1) : f))
    : (line, row) => splitLine(line, sep, `${what}: row ${row}`);
  const rows = lines.map(({ line, row }) => ({ fields: split(line, row), row }));
  // A header: a first line none of whose fields is (meant as) a number (pandas leaves the index's name empty).
  if (rows[0].fields.every((f) => !NUMBERISH.test(f)) && rows[0].fields.some((f) => f !== '')) {
    if (rows.length === 1) fail(what, `row ${rows[0].row} is a header (no field is a number) and no rows of numbers follow`);
    rows.shift();
  }
  const cols = rows[0].fields.length;
  checkSize(what, rows.length, cols);
  const data = new Float32Array(rows.length * cols);
  rows.forEach(({ fields, row }, i) => {
    if (fields.length !== cols) {
      fail(what, `row ${row} has ${plural(fields.length, 'value')}, row ${rows[0].row} has ${cols} (separator: ${SEPARATOR_NAMES[sep]})`);
    }
    for (let j = 0; j < cols; j++) {
      const f = fields[j];
      if (f === '') fail(what, `row ${row}, column ${j + 1} is empty`);
      if (!DECIMAL.test(f)) fail(what, `row ${row}, column ${j + 1} is ${JSON.stringify(f)}, not a number`);
      data[i * cols + j] = Number(f);
      if (!Number.isFinite(data[i * cols + j])) toFloat32(Number(f), `${what}: row ${row}, column ${j + 1}`);
    }
  });
  return { rows: rows.length, cols, data };
}

/** One dimension of a .npy shape: a non-negative integer (Python 2 files write 3L). */
function npyDim(text, what, shapeText) {
  const m = /^(\d+)L?$/.exec(text);
  if (!m) fail(what, `shape (${shapeText}) has ${JSON.stringify(text)}, not a non-negative integer`);
  const x = Number(m[1]);
  if (!Number.isSafeInteger(x)) fail(what, `shape (${shapeText}) has a dimension too large to read`);
  return x;
}

/** A matrix from a NumPy .npy file (float32/float64/int32/int64, little-endian, C order, 1-D or 2-D). */
export function parseNPY(buffer, what = '.npy') {
  checkBytes(what, buffer.byteLength);
  const bytes = new Uint8Array(buffer);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) fail(what, 'not a NumPy .npy file');
  const major = bytes[6];
  if (major < 1 || major > 3) fail(what, `.npy format version ${major} is not supported (1, 2 or 3)`);
  const view = new DataView(buffer);
  const pre = major === 1 ? 10 : 12;
  if (bytes.length < pre) fail(what, 'the file ends inside its header');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = pre + headerLen;
  if (start > bytes.length) fail(what, 'the file ends inside its header');
  const header = new TextDecoder().decode(bytes.subarray(pre, start));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) fail(what, 'the header has no shape');
  const parts = shapeText.split(',').map((s) => s.trim());
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();  // (3,)
  const shape = parts.length === 1 && parts[0] === '' ? [] : parts.map((p) => npyDim(p, what, shapeText.trim()));
  const types = { '<f4': Float32Array, '<f8': Float64Array, '<i4': Int32Array, '<i8': BigInt64Array };
  if (!types[descr]) fail(what, `dtype ${descr} is not supported (use float32, float64, int32 or int64)`);
  if (fortran) fail(what, 'Fortran-ordered arrays are not supported (save with np.ascontiguousarray)');
  if (shape.length < 1 || shape.length > 2) fail(what, `expected a 1-D or 2-D array, got shape (${shape})`);
  const [rows, cols = 1] = shape;
  if (rows === 0 || cols === 0) fail(what, `the array is empty (shape (${shape}))`);
  checkSize(what, rows, cols);
  const Type = types[descr];
  const needed = rows * cols * Type.BYTES_PER_ELEMENT;
  if (buffer.byteLength - start < needed) fail(what, `the file is shorter than its shape (${shape}) says`);
  const raw = new Type(buffer.slice(start, start + needed));
  const data = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const x = Number(raw[i]);
    data[i] = x;
    if (!Number.isFinite(data[i])) {
      const at = `${what}: row ${Math.floor(i / cols) + 1}, column ${(i % cols) + 1}`;
      if (!Number.isFinite(x)) throw new DataError(`${at} is ${x}, not a finite number`);
      toFloat32(x, at);
    }
  }
  return { rows, cols, data };
}

/** Parses by file name (or content, for pasted text). Input: text or an ArrayBuffer. */
export function parseMatrix(input, name = '') {
  const what = name || 'pasted data';
  if (input instanceof ArrayBuffer) {
    checkBytes(what, input.byteLength);
    if (/\.npy$/i.test(name)) return parseNPY(input, what);
    input = new TextDecoder().decode(input);
  } else {
    checkBytes(what, String(input).length, 'characters');
  }
  const text = String(input).trim();
  if (!text) fail(what, 'empty');
  return /\.json$/i.test(name) || text.startsWith('[') || text.startsWith('{') ? parseJSON(text, what) : parseCSV(text, what);
}

/** CSV text of a matrix. */
export const toCSV = (m) => Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)).join(',')).join('\n');

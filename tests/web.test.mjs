// The page's DOM-free modules: the hash state schema, the parsers behind
// "bring your own data" (every refusal names what is wrong and where) and the
// page-thread cost bound of the Matrices view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIELDS, VIEWS, VIEW_FIELDS, parseState, formatHash, describe, fileName } from '../web/src/state.js';
import { parseMatrix, parseNPY, parseCSV, parseJSON, DataError, LIMITS, toCSV } from '../web/src/data.js';
import { estimateMs, computeMatrices } from '../web/src/approximate.js';
import { VIRIDIS, PUOR, MASK_COLOURS, BLOCKED, contrast, maskRGB } from '../web/src/colors.js';
import { ticks } from '../web/src/heatmap.js';
import { createAttn } from '../wasm/attn.js';
import { matrix as testMatrix, softmaxWeightsRef, weightsExcess } from './reference.mjs';
import { errorText } from '../web/src/errors.js';
import { F32_FEW_OPS, F32_REL_SHORT } from './tolerances.mjs';

test('every view round-trips through the hash, with non-default values', () => {
  for (const view of VIEWS) {
    const state = parseState(`#view=${view}`);
    for (const key of VIEW_FIELDS[view]) {
      const f = FIELDS[key];
      if (f.type === 'int' || f.type === 'float') state[key] = f.max;
      else if (f.type === 'bool') state[key] = !f.default;
      else if (f.type === 'enum') state[key] = f.options[f.options.length - 1];
      else state[key] = f.options.slice(0, 1);
    }
    const again = parseState(formatHash(state));
    for (const key of [...VIEW_FIELDS[view], 'view']) assert.deepEqual(again[key], state[key], `${view}.${key}`);
    assert.equal(formatHash(again), formatHash(state));
  }
});

test('bad hash values fall back or clamp; flags are written only when not default', () => {
  const s = parseState('#view=nope&n=99999&d=-3&seed=abc&kind=banana&causal=1&maps=dpfp-2,bogus&rules=');
  assert.equal(s.view, 'matrices');
  assert.equal(s.n, FIELDS.n.max);
  assert.equal(s.d, FIELDS.d.min);
  assert.equal(s.seed, 0);
  assert.equal(s.kind, FIELDS.kind.default);
  assert.equal(s.causal, true);
  assert.deepEqual(s.maps, ['dpfp-2']);
  assert.deepEqual(s.rules, []);
  assert.ok(!formatHash(s).includes('controls'));
  assert.ok(formatHash({ ...s, controls: false }).includes('controls=0'));
  assert.match(describe(parseState('#view=masks&kind=lsh&n=64')), /^masks_kind=lsh_n=64_/);
});

/** Asserts that parsing `input` throws a DataError whose message matches every pattern. */
function refused(parse, input, ...patterns) {
  assert.throws(() => parse(input), (err) => {
    assert.ok(err instanceof DataError, `${JSON.stringify(input)}: a DataError, got ${err?.name}: ${err?.message}`);
    for (const p of patterns) assert.match(err.message, p, JSON.stringify(input));
    return true;
  });
}

const matrix = (rows, cols, values) => ({ rows, cols, data: Float32Array.from(values) });

test('matrices parse from JSON, CSV and .npy; errors say what is wrong', () => {
  assert.deepEqual(parseMatrix('[[1, 2], [3, 4]]'), matrix(2, 2, [1, 2, 3, 4]));
  assert.deepEqual(parseMatrix('{"rows": 1, "cols": 3, "data": [1, 2, 3]}'), matrix(1, 3, [1, 2, 3]));
  assert.deepEqual(parseMatrix('a,b\n1,2\n3,4\n', 'x.csv'), matrix(2, 2, [1, 2, 3, 4]));
  assert.deepEqual(parseMatrix('[1, 2, 3]'), matrix(3, 1, [1, 2, 3]));
  assert.deepEqual(parseMatrix('[["1.5", "-2e-3"]]'), matrix(1, 2, [1.5, -2e-3]), 'numbers written as JSON strings');
  const bad = [
    ['[[1, 2], [3]]', /row 2 has 1 values, row 1 has 2/],
    ['[[1, "x"]]', /row 1, column 2 is "x", not a number/],
    ['[[1, null]]', /row 1, column 2 is null/],
    ['[[1, true]]', /row 1, column 2 is true/],
    ['[[1, "0x10"]]', /row 1, column 2 is "0x10"/],
    ['{"rows": 2, "cols": 2, "data": [1]}', /data has 1 values, rows × cols = 4/],
    ['{"rows": -1, "cols": 2, "data": []}', /positive integer rows and cols/],
    ['{"rows": 1.5, "cols": 2, "data": [1, 2, 3]}', /positive integer rows and cols/],
    ['[[1, 2]', /not valid JSON/],
    ['', /empty/],
    ['1,2\n3', /row 2 has 1 value, row 1 has 2/],
  ];
  for (const [text, message] of bad) refused(parseMatrix, text, message);
  assert.equal(toCSV(parseMatrix('[[1, 2], [3, 4]]')), '1,2\n3,4');
});

test('JSON: values beyond float32 are "out of range (float32)" with their row and column', () => {
  // JSON.parse reads 1e400 as Infinity: it is out of range, not "null" or "not finite".
  refused(parseJSON, '[[1e400]]', /row 1, column 1 is out of range \(float32\)/);
  refused(parseJSON, '[[0, -1e400]]', /row 1, column 2 is out of range \(float32\)/);
  refused(parseJSON, '[[1, 2], [3, 1e39]]', /row 2, column 2 is 1e\+39, out of range \(float32\)/);
  refused(parseJSON, '{"rows": 1, "cols": 2, "data": [1, -1e39]}', /row 1, column 2 .* out of range \(float32\)/);
  refused(parseMatrix, '[[1e39]]', /out of range \(float32\)/);
  // The largest float32 and values that round to it are in range; tiny values round to 0.
  const edge = parseJSON('[[3.4028234663852886e38, -3.4028235e38, 1e-50]]');
  assert.deepEqual(Array.from(edge.data), [3.4028234663852886e38, -3.4028234663852886e38, 0]);
});

test('CSV is strict: header only when the first line has no number, quoted numbers, one separator', () => {
  // a header is dropped only when none of its fields is a number
  assert.deepEqual(parseCSV('x,y\n1,2\n3,4'), matrix(2, 2, [1, 2, 3, 4]));
  assert.deepEqual(parseCSV(',a,b\n0,1.5,2\n1,3,4'), matrix(2, 3, [0, 1.5, 2, 1, 3, 4]), "pandas' to_csv: the index column's name is empty");
  assert.deepEqual(parseCSV('1,2\n3,4'), matrix(2, 2, [1, 2, 3, 4]));
  // quoted numbers and quoted header names (with a comma inside the quotes)
  assert.deepEqual(parseCSV('"a, b","c"\n"1.5",2\n3,"-4e2"'), matrix(2, 2, [1.5, 2, 3, -400]));
  // tabs or semicolons when they are the only separator; spaces when nothing else is used
  assert.deepEqual(parseCSV('1\t2\n3\t4'), matrix(2, 2, [1, 2, 3, 4]));
  assert.deepEqual(parseCSV('1;2.5\n3;4'), matrix(2, 2, [1, 2.5, 3, 4]));
  assert.deepEqual(parseCSV('1 2  3\n4 5 6'), matrix(2, 3, [1, 2, 3, 4, 5, 6]));
  assert.deepEqual(parseCSV('1, 2\n 3 ,4\r\n'), matrix(2, 2, [1, 2, 3, 4]), 'spaces around fields, CRLF');
  // comments and blank lines are skipped, but rows keep their line numbers
  assert.deepEqual(parseCSV('# saved by numpy\n1\n\n2\n'), matrix(2, 1, [1, 2]));
  refused(parseCSV, '# c\n1,2\n\n3,x', /row 4, column 2 is "x"/);
});

test('CSV refuses what it cannot read exactly, naming row and column', () => {
  // issue 13: 1,NaN\n3,4 became a 1x2 matrix (its first row taken as a header)
  refused(parseCSV, '1,NaN\n3,4', /row 1, column 2 is "NaN", not a number/);
  refused(parseCSV, 'NaN,inf\n3,4', /row 1, column 1 is "NaN"/);
  // 1,,2 merged the empty field
  refused(parseCSV, '1,,2', /row 1, column 2 is empty/);
  refused(parseCSV, '1,2,\n3,4,', /row 1, column 3 is empty/);
  refused(parseCSV, '"",1', /row 1, column 1 is empty/);
  // 1,5;2,5 (decimal commas) became wrong numbers: two kinds of separator are refused
  refused(parseCSV, '1,5;2,5', /ambiguous separators: both commas and semicolons/);
  refused(parseCSV, '1,5\t2,5', /ambiguous separators: both commas and tabs/);
  refused(parseCSV, 'a,b\n1;2', /ambiguous separators/);
  refused(parseCSV, '1,5 2,5', /row 1, column 2 is "5 2", not a number/);
  refused(parseCSV, '"1,5",2', /row 1, column 1 is "1,5"/);
  refused(parseCSV, '1,0x10', /row 1, column 2 is "0x10"/);
  refused(parseCSV, '1,Infinity', /row 1, column 2 is "Infinity"/);
  refused(parseCSV, '1,2\n3,1e39', /row 2, column 2 is 1e\+39, out of range \(float32\)/);
  refused(parseCSV, '1,2\n3,4,5', /row 2 has 3 values, row 1 has 2/);
  refused(parseCSV, 'x,y', /row 1 is a header .* no rows of numbers/);
  refused(parseCSV, 'x,1\n2,3', /row 1, column 1 is "x"/);  // a header has no numbers
  refused(parseCSV, '"1,2', /row 1: a quote is not closed/);
  refused(parseCSV, '"1"x,2', /row 1: text after a closing quote/);
  refused(parseCSV, '# only a comment', /no rows/);
});

/** A .npy file: header dict padded to a multiple of 64 bytes, then the data. `shapeText` overrides the shape tuple. */
function npy(descr, shape, typed, { fortran = false, version = 1, shapeText } = {}) {
  const tuple = shapeText ?? `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${tuple}, }`;
  const pre = version === 1 ? 10 : 12;
  const len = Math.ceil((pre + dict.length + 1) / 64) * 64 - pre;
  const header = Buffer.from(dict.padEnd(len - 1, ' ') + '\n');
  const lenBytes = version === 1 ? Buffer.from(Uint16Array.of(len).buffer) : Buffer.from(Uint32Array.of(len).buffer);
  const buf = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]), lenBytes, header, Buffer.from(typed.buffer)]);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
}

test('.npy: float32/float64/int32/int64, 1-D and 2-D, versions 1 and 2; unsupported files refused', () => {
  assert.deepEqual(parseNPY(npy('<f4', [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6))), matrix(2, 3, [1, 2, 3, 4, 5, 6]));
  assert.deepEqual(parseNPY(npy('<f8', [3], Float64Array.of(0.5, 1.5, 2.5), { version: 2 })), matrix(3, 1, [0.5, 1.5, 2.5]));
  assert.deepEqual(parseNPY(npy('<i4', [1, 2], Int32Array.of(-3, 7))).data, Float32Array.of(-3, 7));
  assert.deepEqual(parseNPY(npy('<i8', [2], BigInt64Array.of(5n, -6n))).data, Float32Array.of(5, -6));
  assert.deepEqual(parseMatrix(npy('<f4', [1, 1], Float32Array.of(9)), 'a.npy').data, Float32Array.of(9));
  assert.deepEqual(parseNPY(npy('<f4', [], Float32Array.of(1, 2), { shapeText: '(1L, 2L)' })).data, Float32Array.of(1, 2),
    'Python 2 headers write 1L');
  const refuse = [
    [npy('>f4', [1], Float32Array.of(1)), /dtype >f4 is not supported/],
    [npy('<f4', [2, 2], Float32Array.of(1, 2, 3, 4), { fortran: true }), /Fortran-ordered/],
    [npy('<f4', [2, 2, 1], Float32Array.of(1, 2, 3, 4)), /1-D or 2-D/],
    [npy('<f4', [], Float32Array.of(1), { shapeText: '()' }), /1-D or 2-D/],
    [npy('<f4', [4, 4], Float32Array.of(1, 2)), /shorter than its shape/],
    [npy('<f4', [0, 4], Float32Array.of()), /the array is empty/],
    [npy('<f4', [2], Float32Array.of(1, NaN)), /row 2, column 1 is NaN, not a finite number/],
    [npy('<f8', [1, 2], Float64Array.of(1, -Infinity)), /row 1, column 2 is -Infinity, not a finite number/],
    [npy('<f8', [1, 2], Float64Array.of(1, 1e39)), /row 1, column 2 is 1e\+39, out of range \(float32\)/],
    [new ArrayBuffer(4), /not a NumPy \.npy file/],
  ];
  for (const [buffer, message] of refuse) refused(parseNPY, buffer, message);
});

test('.npy shapes must be non-negative integers: (1.5,), (-1, 4), (abc, 2) are refused with a message', () => {
  const data = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const cases = [
    ['(1.5,)', /shape \(1\.5,\) has "1\.5", not a non-negative integer/],
    ['(-1, 4)', /shape \(-1, 4\) has "-1", not a non-negative integer/],
    ['(abc, 2)', /shape \(abc, 2\) has "abc", not a non-negative integer/],
    ['(2, 1e3)', /has "1e3"/],
    ['(2, )x', null],  // a trailing comma is Python's own 1-tuple spelling: still read
  ];
  for (const [shapeText, message] of cases) {
    const file = npy('<f4', [], data, { shapeText });
    if (message) {
      refused(parseNPY, file, message);
      refused((b) => parseMatrix(b, 'q.npy'), file, /^q\.npy: shape/);
    } else {
      assert.deepEqual(parseNPY(file), matrix(2, 1, [1, 2]));
    }
  }
  // A header without a shape, and one whose length points past the end of the file.
  const noShape = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 54, 0]),
    Buffer.from("{'descr': '<f4', 'fortran_order': False, }".padEnd(53, ' ') + '\n')]);
  refused(parseNPY, noShape.buffer.slice(noShape.byteOffset, noShape.byteOffset + noShape.length), /the header has no shape/);
  const cut = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0xff, 0x7f, 0x7b]);
  refused(parseNPY, cut.buffer.slice(cut.byteOffset, cut.byteOffset + cut.length), /ends inside its header/);
});

test('uploads and pastes are capped in bytes and in matrix size, with a message stating the cap', () => {
  const mib = LIMITS.bytes / 2 ** 20;
  const cap = new RegExp(`over the limit of ${mib} MiB`);
  refused((b) => parseMatrix(b, 'big.csv'), new ArrayBuffer(LIMITS.bytes + 1), cap);
  refused((b) => parseMatrix(b, 'big.npy'), new ArrayBuffer(LIMITS.bytes + 1), cap);
  refused(parseMatrix, ' '.repeat(LIMITS.bytes) + '1', cap);
  const size = new RegExp(`at most ${LIMITS.rows} rows and ${LIMITS.cols} columns`);
  // rows or columns over the cap, in every format (the .npy before it reads any data)
  refused(parseMatrix, Array.from({ length: LIMITS.rows + 1 }, () => '1,2').join('\n'), size);
  refused(parseMatrix, Array.from({ length: LIMITS.cols + 1 }, () => '1').join(','), size);
  refused(parseMatrix, JSON.stringify(Array.from({ length: LIMITS.rows + 1 }, () => [1])), size);
  refused(parseMatrix, JSON.stringify({ rows: 1e9, cols: 1, data: [] }), size);
  refused(parseNPY, npy('<f4', [2 ** 40, 3], Float32Array.of(1)), size);
  refused(parseNPY, npy('<f4', [4, LIMITS.cols + 1], Float32Array.of(1)), size);
  // At the cap exactly: read.
  const edge = parseMatrix(Array.from({ length: LIMITS.rows }, () => '1').join('\n'));
  assert.equal(edge.rows, LIMITS.rows);
});

test('errors read as one line with the AttnError code first', () => {
  const attn = Object.assign(new Error('softmaxWeights: q must be a matrix'), { name: 'AttnError', code: 'ERR_TYPE' });
  assert.equal(errorText(attn), 'ERR_TYPE: softmaxWeights: q must be a matrix');
  assert.equal(errorText(new DataError('q.csv: row 1, column 2 is empty')), 'q.csv: row 1, column 2 is empty');
  assert.equal(errorText(new TypeError('x is undefined')), 'TypeError: x is undefined');
});

test('the page-thread bound: the heavy Sinkhorn link is over it, the defaults far under it', async () => {
  const { PAGE_THREAD_MS } = await import('../web/src/views/matrices.js');
  const heavy = parseState('#view=matrices&n=1024&d=256&mechanism=sinkhorn&sBlock=1&iterations=100');
  assert.ok(estimateMs(heavy, { n: 1024, m: 1024, d: 256 }) > 4 * PAGE_THREAD_MS);
  for (const mechanism of ['kernel', 'linformer', 'compressed', 'synthesizer', 'sinkhorn', 'sortcut', 'funnel']) {
    const s = parseState(`#view=matrices&mechanism=${mechanism}`);
    assert.ok(estimateMs(s, { n: s.n, m: s.n, d: s.d }) < PAGE_THREAD_MS / 20, mechanism);
  }
});

test('the Matrices job (run in the worker): softmax against float64, error = approximation − softmax, pixels from the colour tables', async () => {
  const A = await createAttn();
  const q = testMatrix(9, 4, 1), k = testMatrix(7, 4, 2), v = testMatrix(7, 3, 3);
  const run = (hash, user = { q, k, v }) => computeMatrices(A, { state: parseState(hash), user }, async () => {});
  const r = await run('#view=matrices&mechanism=kernel&feature=relu&causal=1');
  assert.deepEqual([r.P.rows, r.P.cols, r.W.rows, r.W.cols, r.E.rows, r.E.cols], [9, 7, 9, 7, 9, 7]);
  assert.deepEqual(r.inputs, { user: true, n: 9, m: 7, d: 4 });
  assert.ok(weightsExcess(r.P.data, softmaxWeightsRef(q, k, { causal: true }), F32_REL_SHORT) <= 1, 'softmax weights');
  let top = 0, maxAbs = 0;
  for (let i = 0; i < r.E.data.length; i++) {
    assert.ok(Math.abs(r.E.data[i] - (r.W.data[i] - r.P.data[i])) <= F32_FEW_OPS, `error entry ${i}`);
    top = Math.max(top, r.P.data[i], r.W.data[i]);
    maxAbs = Math.max(maxAbs, Math.abs(r.E.data[i]));
  }
  assert.equal(r.top, top);
  assert.ok(Math.abs(r.maxAbs - maxAbs) <= F32_FEW_OPS && r.span === r.maxAbs);
  assert.ok(r.yErr > 0, 'V given: the output error is reported');
  // Pixels: entry i of P has the viridis colour at P/top, of E the PuOr colour at (E + span) / 2 span.
  const rgb = (pixels, i) => Array.from(pixels.subarray(4 * i, 4 * i + 4));
  const at = (lut, x) => { const c = Math.min(255, Math.max(0, Math.round(x * 255))); return [...lut.subarray(3 * c, 3 * c + 3), 255]; };
  for (let i = 0; i < r.P.data.length; i++) {
    assert.deepEqual(rgb(r.images[0], i), at(VIRIDIS, r.P.data[i] / top), `P pixel ${i}`);
    assert.deepEqual(rgb(r.images[1], i), at(VIRIDIS, r.W.data[i] / top), `W pixel ${i}`);
    assert.deepEqual(rgb(r.images[2], i), at(PUOR, (r.E.data[i] + r.span) / (2 * r.span)), `E pixel ${i}`);
  }
  assert.deepEqual(rgb(r.images[0], 6), [68, 1, 84, 255], 'row 0 key 6 is masked (causal): weight 0');
  // Compression by 1 is softmax itself: no error in the weights or the outputs.
  const same = await run('#view=matrices&mechanism=compressed&factor=1');
  assert.equal(same.maxAbs, 0);
  assert.equal(same.yErr, 0);
  // Without data and inputs=random: seeded N(0, scale²) inputs of the state's n and d; no output error without V.
  const random = await run('#view=matrices&inputs=random&n=6&d=3&scale=2&seed=4', {});
  assert.deepEqual(random.inputs, { user: false, n: 6, m: 6, d: 3 });
  assert.equal(random.yErr, null);
  const x = (seed) => ({ ...A.randn(6, 3, { seed }), data: A.randn(6, 3, { seed }).data.map((t) => 2 * t) });
  assert.ok(weightsExcess(random.P.data, softmaxWeightsRef(x(4), x(5)), F32_REL_SHORT) <= 1);
  // By default the core's structured inputs (mixture): softmax of their Q, K against float64.
  const made = A.inputs('mixture', 12, 8, { seed: 3, scale: 1 });
  const structured = await run('#view=matrices&n=12&d=8&seed=3&scale=1', {});
  assert.ok(weightsExcess(structured.P.data, softmaxWeightsRef(made.q, made.k), F32_REL_SHORT) <= 1, 'structured inputs');
  // Shapes that cannot work are the reader's to fix: DataError, with the numbers.
  await assert.rejects(run('#view=matrices', { q, k: testMatrix(7, 5, 2) }), (e) => e instanceof DataError && /K has 5 columns but Q has 4/.test(e.message));
  await assert.rejects(run('#view=matrices', { q, k, v: testMatrix(6, 3, 3) }), (e) => e instanceof DataError && /V has 6 rows but K has 7/.test(e.message));
  await assert.rejects(run('#view=matrices&mechanism=synthesizer'), (e) => e instanceof DataError && /as many queries as keys/.test(e.message));
});

test('invalid values are named in state.problems (what was given and what is used); valid ones give none', () => {
  const s = parseState('#view=masks&kind=nonsense&n=5000&d=abc&sorted=maybe&maps=identity,bogus&T=-4');
  const text = s.problems.join('\n');
  assert.match(text, /^kind=nonsense is not one of full, .*bigbird.*: showing bigbird$/m);
  assert.match(text, /^n=5000 is above the largest, 1024: using 1024$/m);
  assert.match(text, /^d=abc is not a number: using 16$/m);
  assert.match(text, /^sorted=maybe is not 0 or 1/m);
  assert.equal(s.problems.length, 4, 'maps and T are not read by Masks: not reported');
  assert.match(parseState('#view=capacity&maps=identity,bogus').problems.join(), /^maps: bogus not one of/);
  assert.match(parseState('#view=nope').problems.join(), /^view=nope is not one of matrices/);
  assert.ok(!Object.keys(s).includes('problems'), 'not a field: not written to the hash');
  assert.deepEqual(parseState(formatHash(s)).problems, [], 'a normalised hash has none');
  assert.deepEqual(parseState({ view: 'masks', kind: 'local', n: '32', controls: '0', text: '1' }).problems, []);
});

test('file names are short: the view and the few fields that name the picture', () => {
  assert.equal(fileName(parseState('#view=masks&kind=bigbird&n=256&seed=3&block=16')), 'masks_bigbird_n256_seed3');
  assert.equal(fileName(parseState('#view=matrices&mechanism=linformer&rank=8&n=64&scale=1')), 'matrices_linformer_rank8_n64_d16_scale1_seed0');
  for (const view of VIEWS) {
    const state = parseState(`#view=${view}`);
    for (const key of VIEW_FIELDS[view]) if (FIELDS[key].type === 'set') state[key] = FIELDS[key].options;  // the longest sets
    assert.ok(fileName(state).length <= 60, `${view}: ${fileName(state)}`);
  }
});

test('mask component colours are at least 3:1 against blocked cells and a white background', () => {
  assert.deepEqual(maskRGB(0), BLOCKED);
  assert.ok(contrast([0, 0, 0], [255, 255, 255]) > 20.9 && contrast([0, 0, 0], [255, 255, 255]) < 21.01, 'black on white is 21:1');
  assert.equal(contrast([119, 119, 119], [119, 119, 119]), 1);
  for (const { name, rgb, bit } of MASK_COLOURS) {
    assert.deepEqual(maskRGB(bit), rgb, name);
    assert.ok(contrast(rgb, BLOCKED) >= 3, `${name} against blocked: ${contrast(rgb, BLOCKED).toFixed(2)}`);
    assert.ok(contrast(rgb, [255, 255, 255]) >= 3, `${name} against white: ${contrast(rgb, [255, 255, 255]).toFixed(2)}`);
  }
  assert.equal(new Set(MASK_COLOURS.map((c) => c.rgb.join())).size, MASK_COLOURS.length, 'distinct colours');
});

test('heatmap ticks are round, start at 0, stay inside the axis and number at most about five', () => {
  assert.deepEqual(ticks(1), [0]);
  assert.deepEqual(ticks(8), [0, 2, 4, 6]);
  assert.deepEqual(ticks(64), [0, 20, 40, 60]);
  assert.deepEqual(ticks(256), [0, 100, 200]);
  for (let n = 2; n <= 1100; n += 7) {
    const t = ticks(n);
    assert.ok(t[0] === 0 && t.at(-1) <= n - 1 && t.length >= 2 && t.length <= 6, `${n}: ${t}`);
  }
});

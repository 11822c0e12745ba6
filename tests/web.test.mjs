// The page's DOM-free modules: the hash state schema and the parsers behind
// "bring your own data".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIELDS, VIEWS, VIEW_FIELDS, parseState, formatHash, describe } from '../web/src/state.js';
import { parseMatrix, parseNPY, DataError, toCSV } from '../web/src/data.js';

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

test('matrices parse from JSON, CSV and .npy; errors say what is wrong', () => {
  assert.deepEqual(parseMatrix('[[1, 2], [3, 4]]'), { rows: 2, cols: 2, data: Float32Array.of(1, 2, 3, 4) });
  assert.deepEqual(parseMatrix('{"rows": 1, "cols": 3, "data": [1, 2, 3]}'), { rows: 1, cols: 3, data: Float32Array.of(1, 2, 3) });
  assert.deepEqual(parseMatrix('a,b\n1,2\n3;4\n', 'x.csv'), { rows: 2, cols: 2, data: Float32Array.of(1, 2, 3, 4) });
  assert.deepEqual(parseMatrix('[1, 2, 3]'), { rows: 3, cols: 1, data: Float32Array.of(1, 2, 3) });
  const bad = [
    ['[[1, 2], [3]]', /row 2 has 1 values, row 1 has 2/],
    ['[[1, "x"]]', /row 1, column 2 is "x"/],
    ['[[1, null]]', /row 1, column 2 is null/],
    ['[[1e400]]', /not a finite number/],
    ['{"rows": 2, "cols": 2, "data": [1]}', /needs integer rows/],
    ['[[1, 2]', /not valid JSON/],
    ['', /empty/],
    ['1,2\n3', /row 2 has 1 values/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseMatrix(text), (err) => err instanceof DataError && message.test(err.message), text);
  }
  assert.equal(toCSV(parseMatrix('[[1, 2], [3, 4]]')), '1,2\n3,4');
});

/** A .npy file: header dict padded to a multiple of 64 bytes, then the data. */
function npy(descr, shape, typed, { fortran = false, version = 1 } = {}) {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = version === 1 ? 10 : 12;
  const len = Math.ceil((pre + dict.length + 1) / 64) * 64 - pre;
  const header = Buffer.from(dict.padEnd(len - 1, ' ') + '\n');
  const lenBytes = version === 1 ? Buffer.from(Uint16Array.of(len).buffer) : Buffer.from(Uint32Array.of(len).buffer);
  const buf = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]), lenBytes, header, Buffer.from(typed.buffer)]);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
}

test('.npy: float32/float64/int32/int64, 1-D and 2-D, versions 1 and 2; unsupported files refused', () => {
  assert.deepEqual(parseNPY(npy('<f4', [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6))),
    { rows: 2, cols: 3, data: Float32Array.of(1, 2, 3, 4, 5, 6) });
  assert.deepEqual(parseNPY(npy('<f8', [3], Float64Array.of(0.5, 1.5, 2.5), { version: 2 })),
    { rows: 3, cols: 1, data: Float32Array.of(0.5, 1.5, 2.5) });
  assert.deepEqual(parseNPY(npy('<i4', [1, 2], Int32Array.of(-3, 7))).data, Float32Array.of(-3, 7));
  assert.deepEqual(parseNPY(npy('<i8', [2], BigInt64Array.of(5n, -6n))).data, Float32Array.of(5, -6));
  assert.deepEqual(parseMatrix(npy('<f4', [1, 1], Float32Array.of(9)), 'a.npy').data, Float32Array.of(9));
  const refuse = [
    [npy('>f4', [1], Float32Array.of(1)), /dtype >f4 is not supported/],
    [npy('<f4', [2, 2], Float32Array.of(1, 2, 3, 4), { fortran: true }), /Fortran-ordered/],
    [npy('<f4', [2, 2, 1], Float32Array.of(1, 2, 3, 4)), /1-D or 2-D/],
    [npy('<f4', [4, 4], Float32Array.of(1, 2)), /shorter than its shape/],
    [npy('<f4', [2], Float32Array.of(1, NaN)), /entry 1 is NaN/],
    [new ArrayBuffer(4), /not a NumPy \.npy file/],
  ];
  for (const [buffer, message] of refuse) {
    assert.throws(() => parseNPY(buffer), (err) => err instanceof DataError && message.test(err.message), String(message));
  }
});

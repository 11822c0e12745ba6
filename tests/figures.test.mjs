// The numbers behind the lab's reference lines (Node, the jobs the page's
// worker runs): the identity map's sum-rule capacity curve crosses 0.5 within
// one S step of S = dφ; the Approximation job's uniform-weights baseline is
// the MSE of 1/n weights against a float64 softmax of the same inputs, and
// each point's spread holds its median and is over the trials kernelErrorSweep
// draws; the figure captions speak of the figure's own mechanism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn } from '../wasm/attn.js';
import { capacity, approximation } from '../web/src/jobs.js';
import { figureCaption } from '../web/src/captions.js';
import { parseState } from '../web/src/state.js';
import { softmaxWeightsRef } from './reference.mjs';
import { F32_REL, U } from './tolerances.mjs';

const A = await createAttn();

/** The first S whose error reaches 0.5, and the step between sizes. */
function crossing(points) {
  const at = points.find((p) => p.y >= 0.5);
  return { S: at?.x, step: points[1].x - points[0].x, before: points[points.indexOf(at) - 1] };
}

test('capacity: the identity sum-rule curve crosses 0.5 within one S step of S = dφ (= d)', async () => {
  for (const dKey of [64, 32]) {
    const { series } = await capacity(A, { dKey, maxS: 200, trials: 3, seed: 0, maps: ['identity', 'dpfp-2'], rules: ['sum'] }, () => {});
    const identity = series.find((s) => s.map === 'identity');
    assert.equal(identity.dim, dKey, 'dφ of the identity map is d');
    assert.equal(series.find((s) => s.map === 'dpfp-2').dim, 4 * dKey, 'dφ of DPFP-2 is 4d');
    const { S, step, before } = crossing(identity.points);
    assert.ok(S !== undefined, `d = ${dKey}: the curve reaches 0.5 by S = 200`);
    assert.ok(Math.abs(S - dKey) <= step, `d = ${dKey}: crosses 0.5 at S = ${S} (${before?.x}: ${before?.y.toFixed(3)}), within ${step} of dφ = ${dKey}`);
    assert.ok(before === undefined || before.y < 0.5);
  }
});

test('approximation: the uniform-weights baseline is the MSE of 1/n weights against a float64 softmax', async () => {
  const args = { n: 48, d: 8, scale: 0.7, maxM: 32, trials: 8, seed: 5 };
  const { series } = await approximation(A, args, () => {});
  const [base, ...curves] = series;
  // The job's inputs: the API's seeded normals, scaled (what the page draws from).
  const scaled = (m) => ({ ...m, data: m.data.map((x) => x * args.scale) });
  const q = scaled(A.randn(args.n, args.d, { seed: args.seed })), k = scaled(A.randn(args.n, args.d, { seed: args.seed + 1 }));
  const P = softmaxWeightsRef(q, k);
  const u = 1 / args.n;
  let mse = 0, bound = 0;
  for (const p of P) {
    // The float32 weights are within F32_REL p + 1e-7 of the reference, and 1/n is rounded to float32.
    const delta = F32_REL * p + 1e-7 + U * u;
    mse += (u - p) ** 2 / P.length;
    bound += (2 * Math.abs(u - p) * delta + delta * delta) / P.length;
  }
  assert.ok(Math.abs(base.baseline - mse) <= bound, `baseline ${base.baseline} vs float64 ${mse} (bound ${bound.toExponential(2)})`);
  assert.ok(base.points.every((p) => p.y === base.baseline), 'a horizontal line');
  assert.ok(mse > 100 * bound, 'the comparison is not vacuous');
  // Each point: median with the spread over the trials, and the mean of the same trials kernelErrorSweep averages.
  for (const s of curves) {
    assert.deepEqual(s.points.map((p) => p.x), [4, 8, 16, 32]);
    for (const p of s.points) {
      assert.ok(p.lo <= p.y && p.y <= p.hi && p.lo < p.hi, `${s.label} m = ${p.x}: ${p.lo} <= ${p.y} <= ${p.hi}`);
      assert.equal(p.trials, 8);
    }
    const [sweep] = A.kernelErrorSweep(q, k, { features: [16], trials: 8, seed: args.seed, variants: [{ feature: s.feature, orthogonal: s.orthogonal }] });
    const mean = s.points[2].mean;
    assert.ok(Math.abs(mean - sweep.mse) <= 1e-12 * sweep.mse + 1e-300, `${s.label}: the same 8 trials as kernelErrorSweep (${mean} vs ${sweep.mse})`);
  }
});

test('captions of embedded figures speak of their own figure', () => {
  const caption = (hash) => figureCaption(parseState(hash));
  const bigbird = caption('#view=masks&kind=bigbird&n=256&block=16');
  assert.match(bigbird, /BigBird/);
  assert.match(bigbird, /blocks of 16/);
  assert.doesNotMatch(bigbird, /LSH|Longformer|k-means/);
  assert.match(caption('#view=masks&kind=lsh'), /LSH/);
  assert.match(caption('#view=masks&kind=longformer&window=5&tokens=2'), /Longformer: a sliding window of 5 keys.*2 global/);
  assert.match(caption('#view=masks&kind=causal&n=10'), /55 cells/, 'n(n + 1)/2 for n = 10');
  assert.match(caption('#view=matrices&mechanism=kernel&feature=favor-trig&features=32'), /trigonometric features \(m = 32\)/);
  assert.match(caption('#view=matrices&mechanism=linformer&rank=12'), /k = 12/);
  assert.equal(caption('#view=capacity'), null, 'the Capacity view\'s own text is about its one figure');
});

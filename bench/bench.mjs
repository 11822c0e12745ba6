// npm run bench: streaming softmax attention, SIMD against scalar kernels,
// timed interleaved in one process (median of rounds), counting 4 n^2 d flops
// (two n x n x d products); then linear attention against softmax over n.
// The comparison with onnxruntime-web and tfjs is issue 8's work.
import { createAttn } from '../wasm/attn.js';
import { timeMs } from '../web/src/jobs.js';  // median ms of repeated calls, as in the lab's Timing view

const simd = await createAttn();
const scalar = await createAttn({ kernels: 'scalar' });
const d = 64;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`softmax attention, d = ${d}, single thread (Node ${process.version})`);
console.log('    n   simd ms  GFLOP/s   scalar ms  GFLOP/s   simd/scalar');
for (const n of [256, 1024, 4096]) {
  const q = simd.randn(n, d, { seed: 1 }), k = simd.randn(n, d, { seed: 2 }), v = simd.randn(n, d, { seed: 3 });
  const rounds = n >= 4096 ? 5 : 15;
  const times = { simd: [], scalar: [] };
  simd.softmaxAttention(q, k, v);  // warm-up
  scalar.softmaxAttention(q, k, v);
  for (let r = 0; r < rounds; r++) {
    for (const A of [simd, scalar]) {
      const t0 = performance.now();
      A.softmaxAttention(q, k, v);
      times[A.kernels].push(performance.now() - t0);
    }
  }
  const flops = 4 * n * n * d;
  const [a, b] = [median(times.simd), median(times.scalar)];
  console.log(`${String(n).padStart(5)} ${a.toFixed(2).padStart(9)} ${(flops / a / 1e6).toFixed(1).padStart(8)}` +
    ` ${b.toFixed(2).padStart(11)} ${(flops / b / 1e6).toFixed(1).padStart(8)} ${(b / a).toFixed(2).padStart(11)}x`);
}

const SIZES = [1024, 4096, 16384, 65536, 262144];
const inputs = new Map(SIZES.map((n) => [n, [1, 2, 3].map((seed) => simd.randn(n, d, { seed }))]));
// Streaming softmax once per n (n = 262144 would take about 17 minutes: left out).
const softmaxMs = new Map();
for (const n of SIZES.filter((s) => s <= 65536)) {
  const [q, k, v] = inputs.get(n);
  softmaxMs.set(n, timeMs(() => simd.softmaxAttention(q, k, v), n >= 16384 ? 1 : 3));
}
const cell = (x, digits, width) => (x === undefined ? '-' : x.toFixed(digits)).padStart(width);

console.log(`\nlinear attention (elu+1 and FAVOR+ with 64 features) against streaming softmax, d = ${d}`);
console.log('     n   softmax ms   linear ms  causal ms   favor+ ms   softmax/linear');
for (const n of SIZES) {
  const [q, k, v] = inputs.get(n);
  const rounds = n >= 65536 ? 3 : 7;
  simd.linearAttention(q, k, v);  // warm-up (memory growth)
  const lin = timeMs(() => simd.linearAttention(q, k, v), rounds);
  const causal = timeMs(() => simd.linearAttention(q, k, v, { causal: true }), rounds);
  const favor = timeMs(() => simd.linearAttention(q, k, v, { feature: 'favor+' }), rounds);
  const soft = softmaxMs.get(n);
  console.log(`${String(n).padStart(6)} ${cell(soft, 1, 12)} ${cell(lin, 1, 11)} ${cell(causal, 1, 10)}` +
    ` ${cell(favor, 1, 11)} ${cell(soft && soft / lin, 0, 15)}${soft ? 'x' : ''}`);
}

console.log(`\nsparse attention (CSR masks) against streaming softmax, d = ${d}`);
console.log('     n   softmax ms   local(64) ms  bigbird(64) ms   softmax/local  softmax/bigbird');
for (const n of SIZES.filter((s) => s <= 65536)) {
  const [q, k, v] = inputs.get(n);
  const local = simd.mask('local', n, { window: 64, format: 'csr' });
  const bigbird = simd.mask('bigbird', n, { block: 64, format: 'csr' });
  const rounds = n >= 65536 ? 3 : 5;
  const tl = timeMs(() => simd.sparseAttention(q, k, v, local), rounds);
  const tb = timeMs(() => simd.sparseAttention(q, k, v, bigbird), rounds);
  const soft = softmaxMs.get(n);
  console.log(`${String(n).padStart(6)} ${cell(soft, 1, 12)} ${cell(tl, 1, 14)} ${cell(tb, 1, 15)}` +
    ` ${cell(soft / tl, 0, 15)}x ${cell(soft / tb, 1, 15)}x`);
}

console.log('\nbuilding each mask kind at n = 4096 (dense, median ms)');
const x4096 = simd.randn(4096, 64, { seed: 5 });
const kinds = {
  full: {}, causal: {}, local: { window: 64 }, strided: { stride: 64 }, dilated: { window: 16, dilation: 4 },
  fixed: { block: 64 }, 'sparse-transformer': { stride: 64 }, global: { tokens: [0, 100, 2000] }, random: { perRow: 64 },
  longformer: { window: 64, tokens: [0] }, bigbird: { block: 64 }, lsh: { x: x4096, buckets: 64, hashes: 2 },
  kmeans: { x: x4096, clusters: 64, iterations: 5 },
};
for (const [kind, opts] of Object.entries(kinds)) {
  console.log(`  ${kind.padEnd(19)} ${timeMs(() => simd.mask(kind, 4096, opts), 5).toFixed(1).padStart(7)} ms`);
}

console.log('\ncapacity sweeps: S = 20..600 step 20, 3 trials, dKey = 64 (ms per full sweep; error at S = 60 / 200 / 600)');
for (const [feature, nu] of [['identity', 1], ['dpfp', 1], ['dpfp', 2], ['dpfp', 3], ['favor+', 1]]) {
  for (const rule of ['sum', 'delta']) {
    const t0 = performance.now();
    const curve = simd.capacity({ feature, nu, rule, features: 128 });
    const ms = performance.now() - t0;
    const at = (s) => curve.find((r) => r.size === s).error.toFixed(3);
    const name = feature === 'dpfp' ? `dpfp-${nu}` : feature;
    console.log(`  ${name.padEnd(9)} ${rule.padEnd(6)} ${ms.toFixed(0).padStart(6)} ms   ${at(60)} / ${at(200)} / ${at(600)}`);
  }
}

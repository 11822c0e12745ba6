// npm run bench: streaming softmax attention, SIMD against scalar kernels,
// timed interleaved in one process (median of rounds). Counts 4 n^2 d flops
// (two n x n x d products). The comparison with onnxruntime-web and tfjs is
// issue 8's work.
import { createAttn } from '../wasm/attn.js';

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

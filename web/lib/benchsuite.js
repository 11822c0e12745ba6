// The benchmark that `npm run bench` (Node, bench/bench.mjs) and the lab's
// Timing view (a Web Worker, web/src/jobs.js) share, so both report the same
// measurements: timings interleaved round by round (the only fair comparison
// on a machine whose speed drifts), medians, GFLOP/s counting 4 n² d flops for
// softmax attention, and the crossover n past which each efficient mechanism
// beats streaming softmax. It lives outside web/src so that bench/ does not
// depend on the page's code; the page's bundle imports it from here. It
// imports nothing; no DOM here.

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const softmaxFlops = (n, d) => 4 * n * n * d;
/** GFLOP/s of `flops` done in `ms` milliseconds. */
export const gflops = (flops, ms) => flops / ms / 1e6;

const now = () => globalThis.performance.now();

/** The median of `runs` timings of fn, in ms. */
export function timeMs(fn, runs) {
  const ts = [];
  for (let r = 0; r < runs; r++) {
    const t0 = now();
    fn();
    ts.push(now() - t0);
  }
  return median(ts);
}

/**
 * Times contenders in turn, round by round: one untimed warm-up call each
 * (a contender whose call throws is out, with its message), then `rounds`
 * rounds in which each remaining contender runs once. A contender is
 * { id, run: () => value | Promise<value>, time?: (value, ms) => ms } where
 * time() may replace the wall-clock figure (the core's own timer).
 * Returns Map id -> { ms: [...], output, error }.
 */
export async function interleave(contenders, rounds, { onRound, pause } = {}) {
  const results = new Map(contenders.map((c) => [c.id, { ms: [], output: null, error: null }]));
  for (const c of contenders) {
    const r = results.get(c.id);
    try {
      r.output = await c.run();
    } catch (err) {
      r.error = String(err?.message ?? err);
    }
    if (pause) await pause();
  }
  for (let round = 0; round < rounds; round++) {
    for (const c of contenders) {
      const r = results.get(c.id);
      if (r.error) continue;
      const t0 = now();
      const value = await c.run();
      const ms = now() - t0;
      r.ms.push(c.time ? c.time(value, ms) : ms);
      if (pause) await pause();
    }
    onRound?.(round, results);
  }
  return results;
}

/**
 * attnlab's own contenders at one n (d = 64 by default): streaming softmax
 * attention in the core with the SIMD kernels and with the scalar ones, and
 * the core's matmul in the shapes of attention's two products ([n, d] x [d, n]
 * and [n, n] x [n, d]); the core's timer, no copies. `scalar` is an instance
 * created with kernels: 'scalar' (or null to leave it out).
 */
export function coreContenders(A, scalar, n, d = 64) {
  const core = (id, X, op, dims) => ({ id, run: () => X.benchmark(op, { ...dims, runs: 1 }), time: (r) => r.ms[0] });
  return [
    core('simd', A, 'softmax', { n, d }),
    ...(scalar ? [core('scalar', scalar, 'softmax', { n, d })] : []),
    core('matmul QKᵀ', A, 'matmul', { n, k: d, m: n }),
    core('matmul PV', A, 'matmul', { n, k: n, m: d }),
    core('kernel', A, 'kernel', { reps: 200 }),
  ];
}

/**
 * The summary of a coreContenders run: GFLOP/s of each; SIMD over scalar; and
 * softmax attention as a fraction of the matrix-product kernel alone on data
 * in cache (the ceiling: the same register block with nothing else around it;
 * `matmul` is the whole product with packing, the faster of the two shapes).
 */
export function coreSummary(n, results) {
  const rate = (id) => {  // benchmark() reports the flops of the call it timed
    const r = results.get(id);
    return r && !r.error && r.ms.length ? { ms: median(r.ms), gflops: gflops(r.output.flops, median(r.ms)) } : null;
  };
  const simd = rate('simd'), scalar = rate('scalar');
  const matmuls = ['matmul QKᵀ', 'matmul PV'].map(rate).filter(Boolean);
  const matmul = matmuls.length ? Math.max(...matmuls.map((m) => m.gflops)) : null;
  const kernel = rate('kernel')?.gflops ?? null;
  return {
    n, simd, scalar, matmul, kernel,
    simdOverScalar: simd && scalar ? scalar.ms / simd.ms : null,
    fractionOfKernel: simd && kernel ? simd.gflops / kernel : null,
  };
}

export const MECHANISM_LABELS = {
  softmax: 'softmax, dense n×n weights',
  streaming: 'softmax, streaming',
  linear: 'linear (elu+1)',
  'causal-linear': 'causal linear',
  'favor+': 'FAVOR+ (m = 64)',
  'sparse-local': 'sparse local (window 32)',
  bigbird: 'sparse BigBird (block 32)',
};

/**
 * A closure computing mechanism `id` on q, k, v [n, d] through the public API;
 * masks (built once per n, not timed) are cached in `masks`.
 */
export function mechanismRunner(A, id, n, q, k, v, masks = {}) {
  switch (id) {
    case 'softmax': return () => A.softmaxWeights(q, k);
    case 'streaming': return () => A.softmaxAttention(q, k, v);
    case 'linear': return () => A.linearAttention(q, k, v);
    case 'causal-linear': return () => A.linearAttention(q, k, v, { causal: true });
    case 'favor+': return () => A.linearAttention(q, k, v, { feature: 'favor+' });
    case 'sparse-local':
      masks.local ??= A.mask('local', n, { window: 32, format: 'csr' });
      return () => A.sparseAttention(q, k, v, masks.local);
    case 'bigbird':
      masks.bigbird ??= A.mask('bigbird', n, { block: 32, format: 'csr' });
      return () => A.sparseAttention(q, k, v, masks.bigbird);
    default: throw new Error(`unknown mechanism ${id}`);
  }
}

/**
 * The crossover of each series against the series `baseline` (both lists of
 * { x: n, y: ms }): the smallest measured n from which the mechanism is faster
 * at every larger measured n; null if it never is (within the measured n).
 */
export function crossovers(series, baseline = 'streaming') {
  const base = series.find((s) => s.id === baseline);
  if (!base) return [];
  const at = new Map(base.points.map((p) => [p.x, p.y]));
  return series.filter((s) => s.id !== baseline).map((s) => {
    const shared = s.points.filter((p) => at.has(p.x));
    let from = null;
    for (let i = shared.length - 1; i >= 0 && shared[i].y < at.get(shared[i].x); i--) from = shared[i].x;
    return { id: s.id, label: MECHANISM_LABELS[s.id] ?? s.id, crossover: from, measuredTo: shared.at(-1)?.x ?? null };
  });
}

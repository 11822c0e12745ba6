// Timing of the core alone, on seeded inputs already in wasm memory (no
// copies in or out): what `npm run bench` and the Timing view use for GFLOP/s.
import { DEFAULTS, check, checkBytes, derivedDefault, fail, run } from './core.js';
import { PROGRESS_KEYS, checkDim, optInt, optProgress, options } from './args.js';

const KEYS = {
  softmax: ['n', 'd', 'runs'], 'softmax-backward': ['n', 'd', 'runs'], matmul: ['n', 'k', 'm', 'runs'], kernel: ['reps', 'runs'],
};

/**
 * Times `runs` calls one by one. op 'softmax': streaming softmax attention,
 * q, k, v [n, d], 4 n^2 d flops; 'softmax-backward': its gradients
 * (attn_softmax_attention_backward) given the forward's output and lse,
 * computed once before the timing, 10 n^2 d flops (five products); 'matmul': [n, k] x [k, m], 2 n k m flops;
 * 'kernel': the register-block kernel alone on data in cache, `reps` times
 * (524288 flops each). Returns { ms: [runs], flops }.
 */
export function benchmark(c, op, opts, where = 'benchmark') {
  if (typeof op !== 'string' || !Object.prototype.hasOwnProperty.call(KEYS, op)) {
    fail('ERR_KIND', where, `op must be 'softmax', 'softmax-backward', 'matmul' or 'kernel', got ${op}`);
  }
  const o = options(where, opts, [...KEYS[op], ...PROGRESS_KEYS]);
  const runs = optInt(where, 'runs', o.runs, DEFAULTS['benchmark.runs'], 1, 1000);
  const progress = optProgress(where, o, runs);
  const now = () => globalThis.performance.now();
  /** Times call() `runs` times; each status (of core function fn) checked after its timing. */
  const time = (fn, what, call) => {
    const ms = [];
    for (let r = 0; r < runs; r++) {
      progress.check();
      const t0 = now();
      const status = call();
      ms.push(now() - t0);
      check(c, where, status, `attn_${fn}`, what);
      progress.step({ ms: ms[r] });
    }
    return ms;
  };
  if (op === 'kernel') {
    const reps = optInt(where, 'reps', o.reps, DEFAULTS['benchmark.reps'], 1, 1e6);
    return run(c, where, (heap, mod) => {
      const work = heap.workspace('kernel_benchmark_workspace', 'the kernel benchmark');
      const ms = time('kernel_benchmark', `reps ${reps}`, () => mod._attn_kernel_benchmark(reps, work.ptr, work.floats));
      return { ms, flops: 524288 * reps };
    });
  }
  const dims = KEYS[op].filter((name) => name !== 'runs');
  for (const name of dims) checkDim(where, name, o[name]);
  return run(c, where, (heap, mod) => {
    const rng = heap.alloc(mod._attn_rng_size());
    heap.call('rng_seed', 'seed 1', rng, 1, 0);
    const gaussian = (count, name) => {
      const p = heap.alloc(checkBytes(where, name, count, 4), name);
      heap.call('randn', `${count} samples for ${name}`, rng, count, p);
      return p;
    };
    if (op === 'softmax') {
      const { n, d } = o;
      const what = `n ${n}, d ${d}`;
      const scale = derivedDefault(c, where, 'scale', d);
      const [q, k, v, out] = ['q', 'k', 'v', 'the output'].map((name) => gaussian(n * d, name));
      const work = heap.workspace('softmax_attention_workspace', what, n, n, d, d);
      const ms = time('softmax_attention', what,
        () => mod._attn_softmax_attention(n, n, d, d, q, k, v, scale, 0, 0, out, work.ptr, work.floats));
      return { ms, flops: 4 * n * n * d };
    }
    if (op === 'softmax-backward') {
      const { n, d } = o;
      const what = `n ${n}, d ${d}`;
      const scale = derivedDefault(c, where, 'scale', d);
      const [q, k, v, dy, out, dq, dk, dv] = ['q', 'k', 'v', 'dy', 'the output', 'dq', 'dk', 'dv'].map((name) => gaussian(n * d, name));
      const lse = heap.alloc(n * 4, 'the lse');
      const fwd = heap.workspace('softmax_attention_workspace', what, n, n, d, d);
      heap.call('softmax_attention_lse', what, n, n, d, d, q, k, v, scale, 0, 0, out, lse, fwd.ptr, fwd.floats);
      const work = heap.workspace('softmax_attention_backward_workspace', what, n, n, d, d);
      const ms = time('softmax_attention_backward', what, () => mod._attn_softmax_attention_backward(
        n, n, d, d, q, k, v, scale, 0, 0, out, lse, dy, dq, dk, dv, work.ptr, work.floats));
      return { ms, flops: 10 * n * n * d };
    }
    const { n, k, m } = o;
    const [x, y, out] = [gaussian(n * k, 'a'), gaussian(k * m, 'b'), gaussian(n * m, 'the product')];
    const ms = time('matmul', `n ${n}, k ${k}, m ${m}`, () => mod._attn_matmul(n, k, m, 1, x, y, out));
    return { ms, flops: 2 * n * k * m };
  });
}

// Structured inputs (src/inputs.c): Q, K, V whose softmax attention has the
// structure real heads have — local, clustered, global sinks, previous token,
// a mixture — beside plain N(0, scale^2) inputs, from the seeded generator of
// the core, so Node and every browser get the same numbers.
import { DEFAULTS, checkPlan, run, seedWords } from './core.js';
import { INPUT_KINDS } from '../build/names.js';
import { checkDim, optInt, optKind, optNumber, options } from './args.js';

const INPUTS_KEYS = ['seed', 'dv', 'scale', 'width', 'clusters', 'tokens'];

/** The core's kinds of structured inputs ('random' .. 'mixture'). */
export { INPUT_KINDS };

/**
 * Generated q [n, d], k [n, d], v [n, dv] (Matrices) of a kind, with what
 * the generator put where in `meta`: { seed, scale } and, by kind, width
 * (local, mixture: most of row i's mass within |i - j| <= width), offset 1
 * (previous-token), tokens (global, mixture: the sink positions), clusters
 * and cluster (clustered: the cluster of each token, Int32Array n).
 */
export function inputs(c, kind, n, d, opts, where = 'inputs') {
  kind = optKind(where, 'kind', kind, INPUT_KINDS[DEFAULTS['inputs.kind']], INPUT_KINDS);
  checkDim(where, 'n', n);
  checkDim(where, 'd', d);
  const o = options(where, opts, INPUTS_KEYS);
  const seed = optInt(where, 'seed', o.seed, DEFAULTS.seed, 0);
  const dv = optInt(where, 'dv', o.dv, d, 1);
  // 0 leaves an option to the core's default ("inputs.*", at most n); the values used are read back for meta.
  const UNSET = 0;
  const given = {
    scale: o.scale === undefined ? UNSET : optNumber(where, 'scale', o.scale, undefined, { min: 0, above: true }),
    width: o.width === undefined ? UNSET : optInt(where, 'width', o.width, undefined, 1, n, true),
    clusters: o.clusters === undefined ? UNSET : optInt(where, 'clusters', o.clusters, undefined, 1, n),
    tokens: o.tokens === undefined ? UNSET : optInt(where, 'tokens', o.tokens, undefined, 1, n),
  };
  checkPlan(where, [['q', n * d, 4], ['k', n * d, 4], ['v', n * dv, 4], ['the clusters', n, 4]]);
  return run(c, where, (heap, mod) => {
    const what = `kind '${kind}', n ${n}, d ${d}, dv ${dv}`;
    const spec = heap.alloc(mod._attn_inputs_spec_size(), 'the spec');
    heap.call('inputs_spec_set', what, spec, INPUT_KINDS.indexOf(kind), ...seedWords(seed), given.scale, given.width,
      given.clusters, given.tokens);
    const used = heap.alloc(8 + 3 * 4, 'the values used');
    heap.call('inputs_resolved', what, spec, n, d, used, used + 8, used + 12, used + 16);
    const scale = heap.readF64(used, 1)[0];
    const [width, clusters, tokens] = [8, 12, 16].map((offset) => heap.readU32(used + offset));
    const q = heap.alloc(n * d * 4, 'q'), k = heap.alloc(n * d * 4, 'k'), v = heap.alloc(n * dv * 4, 'v');
    const cluster = heap.alloc(n * 4, 'the clusters');
    const work = heap.workspace('inputs_workspace', what, spec, n, d);
    heap.call('inputs', what, spec, n, d, dv, q, k, v, cluster, work.ptr, work.floats);
    const meta = { seed, scale };
    if (kind === 'local' || kind === 'mixture') meta.width = width;
    if (kind === 'previous-token') meta.offset = 1;
    if (kind === 'global' || kind === 'mixture') meta.tokens = Array.from({ length: tokens }, (_, t) => t);
    if (kind === 'clustered') Object.assign(meta, { clusters, cluster: heap.readI32(cluster, n) });
    return {
      q: { rows: n, cols: d, data: heap.readF32(q, n * d) },
      k: { rows: n, cols: d, data: heap.readF32(k, n * d) },
      v: { rows: n, cols: dv, data: heap.readF32(v, n * dv) },
      kind,
      meta,
    };
  });
}

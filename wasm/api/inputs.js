// Structured inputs (src/inputs.c): Q, K, V whose softmax attention has the
// structure real heads have — local, clustered, global sinks, previous token,
// a mixture — beside plain N(0, scale^2) inputs, from the seeded generator of
// the core, so Node and every browser get the same numbers.
import { checkPlan, run, seedWords } from './core.js';
import { checkDim, optInt, optKind, optNumber, options } from './args.js';

const INPUTS_KEYS = ['seed', 'dv', 'scale', 'width', 'clusters', 'tokens'];

/** The core's input kinds ('random' .. 'mixture'), read once per instance from attn_input_kind_name. */
export function inputKinds(c) {
  if (!c.inputKinds) {
    const names = [];
    for (let id = 0, p; c.mod && (p = c.mod._attn_input_kind_name(id)) !== 0; id++) names.push(c.mod.UTF8ToString(p));
    c.inputKinds = Object.freeze(names);
  }
  return c.inputKinds;
}

/**
 * Generated q [n, d], k [n, d], v [n, dv] (Matrices) of a kind, with what
 * the generator put where in `meta`: { seed, scale } and, by kind, width
 * (local, mixture: most of row i's mass within |i - j| <= width), offset 1
 * (previous-token), tokens (global, mixture: the sink positions), clusters
 * and cluster (clustered: the cluster of each token, Int32Array n).
 */
export function inputs(c, kind, n, d, opts, where = 'inputs') {
  kind = optKind(where, 'kind', kind, 'mixture', inputKinds(c));
  checkDim(where, 'n', n);
  checkDim(where, 'd', d);
  const o = options(where, opts, INPUTS_KEYS);
  const seed = optInt(where, 'seed', o.seed, 0, 0);
  const dv = optInt(where, 'dv', o.dv, d, 1);
  const scale = optNumber(where, 'scale', o.scale, 1, { min: 0, above: true });
  // The defaults of attn.h ("0 means ..."), passed explicitly so that meta can name them.
  const width = optInt(where, 'width', o.width, Math.min(4, n), 1, n, true);
  const clusters = optInt(where, 'clusters', o.clusters, Math.min(4, n), 1, n);
  const tokens = optInt(where, 'tokens', o.tokens, Math.min(2, n), 1, n);
  checkPlan(where, [['q', n * d, 4], ['k', n * d, 4], ['v', n * dv, 4], ['the clusters', n, 4],
    ['the workspace', kind === 'random' ? 0 : d * d + 33 * d + (kind === 'clustered' && clusters > d ? clusters * d : 0), 4]]);
  const kinds = inputKinds(c);
  return run(c, where, (heap, mod) => {
    const what = `kind '${kind}', n ${n}, d ${d}, dv ${dv}`;
    const spec = heap.alloc(mod._attn_inputs_spec_size(), 'the spec');
    heap.call('inputs_spec_set', what, spec, kinds.indexOf(kind), ...seedWords(seed), scale, width, clusters, tokens);
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

// attnlab's JavaScript API. This file only creates an instance and binds the
// families of wasm/api/ to it; each family mirrors a src/*.c and a
// tests/*.test.mjs. Errors are AttnError with a stable `.code` and a message
// "functionName: argument ...".
import createAttnCore from './build/attn-core.mjs';
import { KERNELS, VERSION } from './build/names.js';
import { AttnError, createCore } from './api/core.js';
import { optKind, options } from './api/args.js';
import * as rng from './api/rng.js';
import * as softmax from './api/softmax.js';
import * as sparse from './api/sparse.js';
import * as masks from './api/masks.js';
import * as linear from './api/linear.js';
import * as compare from './api/compare.js';
import * as fastweight from './api/fastweight.js';
import * as gallery from './api/gallery.js';
import * as bench from './api/benchmark.js';
import * as inputs from './api/inputs.js';

export { AttnError };
export { createAttnWorker } from './async.js';
/** The library version (the core's ATTN_VERSION; package.json must agree, tests/build.test.mjs checks). */
export { VERSION };
export const { MASK_BITS, MASK_KINDS } = masks;
export const { INPUT_KINDS } = inputs;
export const { FEATURES, NORMALIZE } = linear;
export const { RULES } = fastweight;

/** Creates one attnlab instance: its own wasm memory, kernels and state. */
export async function createAttn(opts) {
  const where = 'createAttn';
  const kernels = optKind(where, 'kernels', options(where, opts, ['kernels']).kernels, 'simd', KERNELS);
  const c = createCore(await createAttnCore(), kernels);
  return {
    /** Library version. */
    version: c.version,
    /** True when the SIMD kernels are running. */
    simd: c.simd,
    /** 'simd' or 'scalar'. */
    kernels: c.simd ? 'simd' : 'scalar',
    /** Hash of the sources the wasm module was built from. */
    sourceHash: c.sourceHash,
    MASK_BITS,
    MASK_KINDS,
    INPUT_KINDS,
    FEATURES,
    RULES,
    /** Every status code of the core, index = numeric status. */
    STATUS_CODES: c.statusCodes,

    benchmark: (op, o) => bench.benchmark(c, op, o),
    randn: (rows, cols, o) => rng.randn(c, rows, cols, o),
    randomFeatures: (m, d, o) => rng.randomFeatures(c, m, d, o),
    inputs: (kind, n, d, o) => inputs.inputs(c, kind, n, d, o),

    mask: (kind, n, o) => masks.mask(c, kind, n, o),
    lshBuckets: (x, o) => masks.lshBuckets(c, x, o),
    kmeans: (x, o) => masks.kmeans(c, x, o),
    maskInfo: (m, o) => masks.maskInfo(c, m, o),
    maskCompose: (a, b, op) => masks.maskCompose(c, a, b, op),
    maskLayers: (m, o) => masks.maskLayers(c, m, o),
    sparseAttention: (q, k, v, m, o) => sparse.sparseAttention(c, q, k, v, m, o),
    sparseAttentionBackward: (q, k, v, m, dy, o) => sparse.sparseAttentionBackward(c, q, k, v, m, dy, o),

    softmaxWeights: (q, k, o) => softmax.softmaxWeights(c, q, k, o),
    softmaxAttention: (q, k, v, o) => softmax.softmaxAttention(c, q, k, v, o),
    softmaxAttentionBackward: (q, k, v, dy, o) => softmax.softmaxAttentionBackward(c, q, k, v, dy, o),

    featureMap: (x, o) => linear.featureMap(c, x, o),
    kernelWeights: (q, k, o) => linear.kernelWeights(c, q, k, o),
    linearAttention: (q, k, v, o) => linear.linearAttention(c, q, k, v, o),
    linearAttentionBackward: (q, k, v, dy, o) => linear.linearAttentionBackward(c, q, k, v, dy, o),
    kernelError: (q, k, o) => compare.kernelError(c, q, k, o),
    compareWeights: (approx, exact) => compare.compareWeights(c, approx, exact),
    kernelErrorSweep: (q, k, o) => compare.kernelErrorSweep(c, q, k, o),

    fastWeights: (o) => fastweight.fastWeights(c, o),
    fastWeightsBackward: (o, dOutputs) => fastweight.fastWeightsBackward(c, o, dOutputs),
    capacity: (o) => fastweight.capacity(c, o),

    matmul: (a, b, o) => gallery.matmul(c, a, b, o),
    sinkhorn: (logits, o) => gallery.sinkhorn(c, logits, o),
    linformer: (q, k, v, o) => gallery.linformer(c, q, k, v, o),
    compressedAttention: (q, k, v, o) => gallery.compressedAttention(c, q, k, v, o),
    synthesizer: (x, v, o) => gallery.synthesizer(c, x, v, o),
    sinkhornAttention: (q, k, v, o) => gallery.sinkhornAttention(c, q, k, v, o),
    funnelAttention: (q, k, v, o) => gallery.funnelAttention(c, q, k, v, o),

    /** Drops this instance's wasm memory; later calls throw AttnError 'ERR_DISPOSED'. */
    dispose: () => { c.mod = null; },
  };
}

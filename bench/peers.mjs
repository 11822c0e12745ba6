// bench/peers.mjs: the libraries users would otherwise reach for, set up to
// compute the same softmax attention as attnlab, single-threaded:
//
//   onnxruntime-web (wasm backend): a graph built here, Gemm(Q, K, transB,
//     alpha = scale) -> Softmax(axis 1) -> MatMul(P, V), encoded as ONNX
//     protobuf bytes by the small writer below (no model file, no converter);
//   @tensorflow/tfjs-backend-wasm: matMul(Q, K^T) * scale -> softmax -> matMul(P, V).
//
// Both are devDependencies; the benchmark skips a peer that fails to load or
// to run (and says why) rather than failing.

// ------------------------------------------------------------ ONNX protobuf

/** Protobuf wire format: varints (negative ints as 64-bit two's complement),
 * length-delimited fields, little-endian floats. */
const varint = (x) => {
  const out = [];
  let v = BigInt.asUintN(64, BigInt(x));
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
};
const concat = (parts) => parts.flat();
const intField = (field, x) => [...varint(field << 3), ...varint(x)];
const bytesField = (field, bytes) => [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
const strField = (field, s) => bytesField(field, [...new TextEncoder().encode(s)]);
const floatField = (field, x) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [...varint((field << 3) | 5), ...b];
};

// onnx.proto field numbers (ModelProto, GraphProto, NodeProto, AttributeProto,
// ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).
const ATTR_FLOAT = 1, ATTR_INT = 2, ELEM_FLOAT = 1;

/** An attribute: { name: int } for integers, { name: { float: x } } for floats. */
function attribute(name, value) {
  return typeof value === 'object'
    ? concat([strField(1, name), intField(20, ATTR_FLOAT), floatField(2, value.float)])
    : concat([strField(1, name), intField(20, ATTR_INT), intField(3, value)]);
}

function node(op, inputs, outputs, attrs = {}) {
  return concat([
    ...inputs.map((x) => strField(1, x)),
    ...outputs.map((x) => strField(2, x)),
    strField(4, op),
    ...Object.entries(attrs).map(([k, v]) => bytesField(5, attribute(k, v))),
  ]);
}

function valueInfo(name, dims) {
  const shape = concat(dims.map((d) => bytesField(1, intField(1, d))));  // Dimension.dim_value
  const tensorType = concat([intField(1, ELEM_FLOAT), bytesField(2, shape)]);
  return concat([strField(1, name), bytesField(2, bytesField(1, tensorType))]);
}

/**
 * The bytes of an ONNX model: Y = softmax(scale Q K^T) V for Q [n, d], K [m, d], V [m, dv].
 * graph (variant) 'gemm': Gemm(transB, alpha) -> Softmax -> MatMul; 'matmul': Transpose -> MatMul -> Mul ->
 * Softmax -> MatMul; 'mha': the fused com.microsoft MultiHeadAttention operator (one head, batch 1).
 */
export const ONNX_GRAPHS = ['gemm', 'matmul', 'mha'];

export function attentionModel(n, m, d, dv, scale, variant = 'gemm') {
  const shapes = variant === 'mha' ? [[1, n, d], [1, m, d], [1, m, dv], [1, n, dv]] : [[n, d], [m, d], [m, dv], [n, dv]];
  const nodes = {
    gemm: () => [
      node('Gemm', ['Q', 'K'], ['S'], { alpha: { float: scale }, transB: 1 }),
      node('Softmax', ['S'], ['P'], { axis: 1 }),
      node('MatMul', ['P', 'V'], ['Y']),
    ],
    matmul: () => [
      node('Transpose', ['K'], ['KT']),
      node('MatMul', ['Q', 'KT'], ['S0']),
      node('Mul', ['S0', 'scale'], ['S']),
      node('Softmax', ['S'], ['P'], { axis: -1 }),
      node('MatMul', ['P', 'V'], ['Y']),
    ],
    mha: () => [concat([
      ...['Q', 'K', 'V'].map((x) => strField(1, x)), strField(2, 'Y'), strField(4, 'MultiHeadAttention'),
      strField(7, 'com.microsoft'),
      bytesField(5, attribute('num_heads', 1)), bytesField(5, attribute('scale', { float: scale })),
    ])],
  }[variant]();
  const scaleInit = concat([intField(2, ELEM_FLOAT), floatField(4, scale), strField(8, 'scale')]);
  const graph = concat([
    ...nodes.map((x) => bytesField(1, x)),
    strField(2, 'attention'),
    ...(variant === 'matmul' ? [bytesField(5, scaleInit)] : []),
    ...['Q', 'K', 'V'].map((x, i) => bytesField(11, valueInfo(x, shapes[i]))),
    bytesField(12, valueInfo('Y', shapes[3])),
  ]);
  return Uint8Array.from(concat([
    intField(1, 8),                            // ir_version
    strField(2, 'attnlab-bench'),              // producer_name
    bytesField(7, graph),
    bytesField(8, concat([strField(1, ''), intField(2, 17)])),  // opset_import: ai.onnx 17
    bytesField(8, concat([strField(1, 'com.microsoft'), intField(2, 1)])),
  ]));
}

// ------------------------------------------------------------------ runners

/**
 * onnxruntime-web, wasm backend, one thread. Returns { name, version, prepare }
 * where prepare(n, d, q, k, v, scale) resolves to an async run() -> Float32Array.
 */
export async function loadOnnx() {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  const { readFileSync } = await import('node:fs');
  const pkg = new URL('../node_modules/onnxruntime-web/package.json', import.meta.url);
  const version = JSON.parse(readFileSync(pkg, 'utf8')).version;
  return {
    name: 'onnxruntime-web',
    version,
    /** A session for one n; run() resolves to the output [n, d]. graph: one of ONNX_GRAPHS. */
    async prepare(n, d, q, k, v, scale, variant = 'gemm') {
      const session = await ort.InferenceSession.create(attentionModel(n, n, d, d, scale, variant), {
        executionProviders: ['wasm'],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
      });
      const shape = variant === 'mha' ? [1, n, d] : [n, d];  // the fused operator takes a batch
      const feeds = Object.fromEntries([['Q', q], ['K', k], ['V', v]].map(([name, x]) => [name, new ort.Tensor('float32', x, shape)]));
      return {
        run: async () => {
          const { Y } = await session.run(feeds);
          const out = Y.data;
          Y.dispose?.();
          return out;
        },
        release: () => session.release(),
      };
    },
  };
}

/** @tensorflow/tfjs-core with the wasm backend, one thread. */
export async function loadTfjs() {
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  await tf.ready();
  return {
    name: 'tfjs-wasm',
    version: tf.version_core,
    async prepare(n, d, q, k, v, scale) {
      const [tq, tk, tv] = [q, k, v].map((x) => tf.tensor2d(x, [n, d]));
      return {
        run: async () => {
          const y = tf.tidy(() => tf.matMul(tf.softmax(tf.mul(tf.matMul(tq, tk, false, true), scale)), tv));
          const out = await y.data();
          y.dispose();
          return out;
        },
        release: () => tf.dispose([tq, tk, tv]),
      };
    },
  };
}

// Float64 reference implementations written from the definitions in
// MECHANISMS.md, independent of the C core, plus test inputs from a small
// generator that does not share code with attnlab's RNG.

/** Deterministic inputs in [-amplitude, amplitude) (64-bit LCG, top bits). */
export function matrix(rows, cols, seed = 1, amplitude = 1) {
  let s = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    data[i] = amplitude * (Number(s >> 11n) / 2 ** 53 * 2 - 1);
  }
  return { rows, cols, data };
}

/** Allowed(i, j) for the causal flag and an optional mask. */
const allowed = (i, j, cols, causal, mask) => !(causal && j > i) && !(mask && !mask.data[i * cols + j]);

/** Softmax weights in float64: Float64Array [n, m]. */
export function softmaxWeightsRef(q, k, { scale = 1 / Math.sqrt(q.cols), causal = false, mask } = {}) {
  const [n, m, d] = [q.rows, k.rows, q.cols];
  const p = new Float64Array(n * m);
  const scaleF = Math.fround(scale);  // the core multiplies by a float32 scale
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let l = 0; l < d; l++) s += q.data[i * d + l] * k.data[j * d + l];
      p[i * m + j] = allowed(i, j, m, causal, mask) ? s * scaleF : -Infinity;
      max = Math.max(max, p[i * m + j]);
    }
    let sum = 0;
    for (let j = 0; j < m; j++) {
      p[i * m + j] = max === -Infinity ? 0 : Math.exp(p[i * m + j] - max);
      sum += p[i * m + j];
    }
    for (let j = 0; j < m; j++) p[i * m + j] = sum > 0 ? p[i * m + j] / sum : 0;
  }
  return p;
}

/**
 * Largest ratio error/tolerance over the weights (0 when all are within):
 * |got - ref| <= rel * ref + 1e-7.
 */
export function weightsExcess(got, ref, rel) {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i] - ref[i]), tol = rel * ref[i] + 1e-7;
    if (!(err <= tol)) worst = Math.max(worst, Number.isNaN(err) ? Infinity : err / tol);
  }
  return worst;
}

/**
 * Largest ratio error/tolerance over the outputs Y = P V against float64 P:
 * |y - y_ref| <= rel * sum_j p_ij |v_jc| (the error scale of a weighted average).
 */
export function outputsExcess(y, p, v, rel) {
  const [n, m, dv] = [y.rows, v.rows, v.cols];
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < dv; c++) {
      let ref = 0, mag = 0;
      for (let j = 0; j < m; j++) {
        ref += p[i * m + j] * v.data[j * dv + c];
        mag += p[i * m + j] * Math.abs(v.data[j * dv + c]);
      }
      const err = Math.abs(y.data[i * dv + c] - ref), tol = rel * mag + 1e-30;
      if (!(err <= tol)) worst = Math.max(worst, Number.isNaN(err) ? Infinity : err / tol);
    }
  }
  return worst;
}

/** Output rows `rows` of softmax attention in float64, without forming all of P. */
export function attentionRowsRef(q, k, v, rows, { scale = 1 / Math.sqrt(q.cols) } = {}) {
  const [m, d, dv] = [k.rows, q.cols, v.cols];
  const scaleF = Math.fround(scale);
  return rows.map((i) => {
    const s = new Float64Array(m);
    let max = -Infinity;
    for (let j = 0; j < m; j++) {
      let dot = 0;
      for (let l = 0; l < d; l++) dot += q.data[i * d + l] * k.data[j * d + l];
      s[j] = dot * scaleF;
      max = Math.max(max, s[j]);
    }
    const y = new Float64Array(dv), mag = new Float64Array(dv);
    let sum = 0;
    for (let j = 0; j < m; j++) {
      const e = Math.exp(s[j] - max);
      sum += e;
      for (let c = 0; c < dv; c++) {
        y[c] += e * v.data[j * dv + c];
        mag[c] += e * Math.abs(v.data[j * dv + c]);
      }
    }
    return { y: y.map((x) => x / sum), mag: mag.map((x) => x / sum) };
  });
}

// Float64 reference implementations written from the definitions in
// docs/mechanisms.md, independent of the C core, plus test inputs from a small
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

// ------------------------------------------------------------ feature maps

const rowOf = (x, i) => Array.from(x.data.subarray(i * x.cols, (i + 1) * x.cols));

/**
 * phi of every row of x in float64, from the definitions in API.md (role
 * 'query' | 'key'), returning an array of Float64Array rows. `projection` is
 * the Performer Omega (Matrix m x d); `stabilize` subtracts the per-query or
 * global-key constants described in attn.h.
 */
export function featureMapRef(x, { feature, role = 'query', projection, nu = 1, kernelEpsilon = 1e-3,
  stabilize = true, normalize = 'none' }) {
  const [n, d] = [x.rows, x.cols];
  const rows = Array.from({ length: n }, (_, i) => rowOf(x, i));
  let out;
  switch (feature) {
    case 'identity': out = rows.map((r) => Float64Array.from(r)); break;
    case 'elu+1': out = rows.map((r) => Float64Array.from(r, (v) => (v > 0 ? v + 1 : Math.exp(v)))); break;
    case 'relu': out = rows.map((r) => Float64Array.from(r, (v) => Math.max(v, 0) + Math.fround(kernelEpsilon))); break;
    case 'taylor': out = rows.map((r) => {
      const norm = Math.hypot(...r) + 1e-6;
      return Float64Array.from([1, ...r.map((v) => v / norm)]);
    }); break;
    case 'efficient':
      if (role === 'query') {
        out = rows.map((r) => {
          const mx = Math.max(...r);
          const e = r.map((v) => Math.exp(v - mx));
          const s = e.reduce((a, b) => a + b, 0);
          return Float64Array.from(e, (v) => v / s);
        });
      } else {
        out = rows.map(() => new Float64Array(d));
        for (let l = 0; l < d; l++) {
          const mx = Math.max(...rows.map((r) => r[l]));
          const s = rows.reduce((a, r) => a + Math.exp(r[l] - mx), 0);
          rows.forEach((r, i) => { out[i][l] = Math.exp(r[l] - mx) / s; });
        }
      }
      break;
    case 'dpfp': out = rows.map((r) => {
      const rr = [...r.map((v) => Math.max(v, 0)), ...r.map((v) => Math.max(-v, 0))];
      const D = 2 * d, phi = new Float64Array(D * nu);
      for (let j = 1; j <= nu; j++) for (let p = 0; p < D; p++) phi[(j - 1) * D + p] = rr[p] * rr[(p - j + D) % D];
      return phi;
    }); break;
    case 'favor+': case 'favor-trig': case 'favor-hyp': {
      const m = projection.rows, s = d ** -0.25;
      const omega = Array.from({ length: m }, (_, f) => rowOf(projection, f));
      const us = rows.map((r) => omega.map((w) => w.reduce((a, wl, l) => a + wl * r[l] * s, 0)));
      const hs = rows.map((r) => r.reduce((a, v) => a + v * v, 0) * s * s / 2);
      if (feature === 'favor-trig') {
        const hmax = Math.max(...hs);
        out = us.map((u, i) => {
          const mag = Math.exp(hs[i] - (!stabilize ? 0 : role === 'key' ? hmax : hs[i])) / Math.sqrt(m);
          return Float64Array.from([...u.map((v) => mag * Math.sin(v)), ...u.map((v) => mag * Math.cos(v))]);
        });
      } else {
        const expo = us.map((u, i) => (feature === 'favor+' ? u.map((v) => v - hs[i])
          : [...u.map((v) => v - hs[i]), ...u.map((v) => -v - hs[i])]));
        const global = Math.max(...expo.map((e) => Math.max(...e)));
        const c = 1 / Math.sqrt(feature === 'favor+' ? m : 2 * m);
        out = expo.map((e) => {
          const shift = !stabilize ? 0 : role === 'key' ? global : Math.max(...e);
          return Float64Array.from(e, (v) => c * Math.exp(v - shift));
        });
      }
      break;
    }
    default: throw new Error(`no reference for ${feature}`);
  }
  if (normalize === 'sum' || normalize === 'l2') {
    out = out.map((r) => {
      const s = normalize === 'sum' ? r.reduce((a, b) => a + b, 0) : Math.hypot(...r);
      return r.map((v) => (s !== 0 ? v / s : 0));
    });
  }
  return out;
}

const dot = (a, b) => a.reduce((acc, v, i) => acc + v * b[i], 0);

/** Kernel weights in float64 from float64 features: Float64Array [n, m]. */
export function kernelWeightsRef(fq, fk, { causal = false, eps = 1e-6 } = {}) {
  const [n, m] = [fq.length, fk.length];
  const w = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const allowed = causal ? Math.min(i + 1, m) : m;
    let sum = 0;
    for (let j = 0; j < allowed; j++) sum += w[i * m + j] = dot(fq[i], fk[j]);
    for (let j = 0; j < allowed; j++) w[i * m + j] /= sum + eps;
  }
  return w;
}

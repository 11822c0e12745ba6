// The lab page: softmax attention weights of random Q, K as a heatmap, for
// the n, d, seed and causal flag in the URL hash. The attnlab API comes from
// wasm/attnlab.umd.js (a classic script, so the page also works from file://).
import { parseHash, formatHash } from './state.js';
import { drawHeatmap, cellAt } from './heatmap.js';

const $ = (id) => document.getElementById(id);

function readControls() {
  return {
    n: Number($('n').value),
    d: Number($('d').value),
    seed: Number($('seed').value),
    causal: $('causal').checked,
  };
}

function writeControls(state) {
  $('n').value = state.n;
  $('d').value = state.d;
  $('seed').value = state.seed;
  $('causal').checked = state.causal;
}

function render(A, state) {
  const t0 = performance.now();
  // Q and K from consecutive seeds, so one seed in the URL fixes both.
  const q = A.randn(state.n, state.d, { seed: state.seed });
  const k = A.randn(state.n, state.d, { seed: state.seed + 1 });
  const weights = A.softmaxWeights(q, k, { causal: state.causal });
  const { max } = drawHeatmap($('weights'), weights);
  const ms = performance.now() - t0;
  $('legend-max').textContent = max.toPrecision(3);
  $('status').textContent = `n = ${state.n}, d = ${state.d}, seed = ${state.seed}: ` +
    `${state.n}×${state.n} weights in ${ms.toFixed(1)} ms (${A.simd ? 'SIMD' : 'scalar'} kernels)`;
  return weights;
}

async function main() {
  const root = document.documentElement;
  try {
    if (!globalThis.attnlab) throw new Error('wasm/attnlab.umd.js did not load');
    const A = await globalThis.attnlab.createAttn();
    $('version').textContent = `attnlab ${A.version}`;
    let weights = null;
    const show = () => {
      const state = parseHash(location.hash);
      writeControls(state);
      weights = render(A, state);
      root.dataset.state = 'ready';
    };
    const onInput = () => {
      const hash = formatHash(parseHash(formatHash(readControls())));  // clamped
      if (hash !== location.hash) location.hash = hash;  // hashchange renders
    };
    for (const id of ['n', 'd', 'seed', 'causal']) $(id).addEventListener('change', onInput);
    window.addEventListener('hashchange', show);
    $('weights').addEventListener('mousemove', (event) => {
      const cell = weights && cellAt($('weights'), event, weights);
      $('hover').textContent = cell ? `P[${cell.row}, ${cell.col}] = ${cell.value.toPrecision(4)}` : '';
    });
    show();
  } catch (err) {
    root.dataset.state = 'error';
    $('status').textContent = `Error: ${err.message}`;
    throw err;
  }
}

main();

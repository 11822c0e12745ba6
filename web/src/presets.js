// Presets: per view, a few settings worth opening, each with what to look at.
// Pure data, no DOM. A preset is { id, view, title, fields, look, claim }:
//   fields  the hash fields that differ from the defaults (state.js FIELDS)
//   look    two sentences: what to look at, and what it shows
//   claim   { text, against?, holds(here, there) }: a statement about the
//           numbers the page computes for this preset (`here`) and, when
//           `against` is given, for the same view with those fields instead
//           (`there`); tests/presets.browser.test.mjs reads them from the page
//           and checks `holds`. What a view's numbers are:
//     matrices      { rel, kl, maxAbs, wMin, kept }: relative Frobenius error,
//                   mean KL, max |error| (the stats), the smallest weight of
//                   the approximation (its colour bar) and, for a sparse
//                   mask, the mean softmax mass kept in % (else null)
//     masks         { n, density, keysMin, keysMean, keysMax, layers (null:
//                   more than 64), coverage (share of pairs reached then),
//                   mask { rows, cols, data }, assignments (k-means/LSH) }
//     fastweights   { dim, step, sum, delta (mean retrieval error at the shown
//                   step), errors: { sum: [], delta: [] } (per stored key) }
//     capacity      { series: [{ map, rule, points: [{ x: S, y }] }] }
//     approximation { series: [{ feature, orthogonal, points: [{ x: m, y }] }],
//                   uniform: the MSE of uniform 1/n weights on the same inputs }
//     timing        { series: [{ id, points: [{ x: n, y: ms }] }] }
// Every number quoted below was measured with the default seed; the test
// checks the claims, not the quoted figures.

/** The first S whose error reaches y (points in order of S), or null. */
export const firstReaching = (points, y) => points.find((p) => p.y >= y)?.x ?? null;
/** The series of `all` with the given properties. */
export const pick = (all, props) => all.find((s) => Object.entries(props).every(([k, v]) => s[k] === v));
/** The slope of log y against log x from the first to the last point. */
export const logSlope = (points) => {
  const [a, b] = [points[0], points.at(-1)];
  return Math.log(b.y / a.y) / Math.log(b.x / a.x);
};
const at = (points, x) => points.find((p) => p.x === x)?.y;
/** The fastest round at x (timing points carry lo; load only ever adds time). */
const fastest = (points, x) => { const p = points.find((q) => q.x === x); return p && (p.lo ?? p.y); };

export const PRESETS = [
  // ---- Matrices (defaults: structured "mixture" inputs at scale 0.3, n = 256, FAVOR+ with m = 64)
  {
    id: 'favor-converges', view: 'matrices', title: 'FAVOR+ converges as m grows', fields: { features: 1024 },
    look: 'With m = 1024 random features the FAVOR+ weights (middle) show the same diagonals as softmax (left), and ' +
      'the error (right) is a faint speckle. Set m back to 16 and the speckle grows: the relative error falls from ' +
      'about 0.53 at m = 16 to 0.13 at m = 1024, the random-feature noise shrinking as m grows.',
    claim: { text: 'relative Frobenius error at m = 1024 is below half of that at m = 16', against: { features: 16 },
      holds: (here, there) => here.rel < 0.5 * there.rel },
  },
  {
    id: 'favor-sharp', view: 'matrices', title: 'FAVOR+ breaks on sharp attention', fields: { scale: 1 },
    look: 'At input scale 1 the softmax rows (left) are sharp: a few keys take most of the mass. FAVOR+ with ' +
      'm = 64 misses them: its relative error is about 1.0 (0.25 at scale 0.3), as bad as predicting nothing.',
    claim: { text: 'relative Frobenius error is at least 0.8 and over three times that at scale 0.3', against: { scale: 0.3 },
      holds: (here, there) => here.rel >= 0.8 && here.rel > 3 * there.rel },
  },
  {
    id: 'trig-fails', view: 'matrices', title: 'Trigonometric features fail where the kernel is small',
    fields: { feature: 'favor-trig', scale: 0.4 },
    look: 'Sine and cosine features estimate exp(q·k) with terms of both signs, so where the true weight is tiny ' +
      'the estimate swings negative (purple in the middle picture, on a colour bar centred at 0). The mean KL ' +
      'divergence is about 9, against 0.1 for positive features with the same m = 64.',
    claim: { text: 'the weights go negative and the mean KL is over ten times that of positive features',
      against: { scale: 0.4 }, holds: (here, there) => here.wMin < 0 && here.kl > 10 * there.kl },
  },
  {
    id: 'local-window-mass', view: 'matrices', title: 'A local window keeps a local head, not a clustered one',
    fields: { mechanism: 'sparse', kind: 'local', window: 4, inputs: 'local', d: 32, scale: 1 },
    look: 'A window of 4 keys on either side keeps 3.5 % of the cells, yet on inputs whose heads attend to ' +
      'neighbours it holds about 99 % of every row\'s softmax mass (the chart of mass kept per query stays near 1). ' +
      'Switch the inputs to clustered: the same window now keeps under 5 %, because the keys a query wants are far away.',
    claim: { text: 'the window keeps over 90 % of the softmax mass on local inputs and under 30 % on clustered ones',
      against: { mechanism: 'sparse', kind: 'local', window: 4, inputs: 'clustered', d: 32, scale: 1 },
      holds: (here, there) => here.kept > 90 && there.kept < 30 },
  },
  {
    id: 'linformer-rank', view: 'matrices', title: 'Linformer: random projections mix keys', fields: { mechanism: 'linformer', rank: 64 },
    look: 'Linformer projects the 256 keys to k = 64 rows with a random matrix, so the matrix it applies (middle) ' +
      'has negative entries (purple) and no longer looks like softmax. A larger k helps (k = 16 is worse), but ' +
      'untrained random projections stay far from softmax on every input here.',
    claim: { text: 'the effective matrix has negative entries, and its error at k = 64 is below that at k = 16',
      against: { mechanism: 'linformer', rank: 16 }, holds: (here, there) => here.wMin < 0 && here.rel < there.rel },
  },
  {
    id: 'compressed-clusters', view: 'matrices', title: 'Pooling neighbours works for local attention, not for clusters',
    fields: { mechanism: 'compressed', inputs: 'clustered', scale: 1 },
    look: 'Compressed attention averages each run of c = 4 neighbouring keys into one slot. With clustered inputs a ' +
      "query's keys are spread over the sequence, so the pooled slots mix them with strangers: error about 1.7, " +
      'against 0.54 on local inputs, where neighbours are what a query wants.',
    claim: { text: 'the relative error on clustered inputs is over twice that on local inputs', against: { mechanism: 'compressed', inputs: 'local', scale: 1 },
      holds: (here, there) => here.rel > 2 * there.rel },
  },

  // ---- Masks (defaults: BigBird at n = 256)
  {
    id: 'bigbird-256', view: 'masks', title: 'BigBird at n = 256 keeps 27 % of the cells', fields: {},
    look: 'BigBird combines a band of window blocks, global blocks (full rows and columns) and random blocks. At ' +
      'n = 256 with blocks of 8 it keeps 26.6 % of the cells (87.5 % at n = 64): sparse patterns pay off only for long sequences.',
    claim: { text: 'density is between 26 % and 27 %, and 87.5 % at n = 64', against: { n: 64 },
      holds: (here, there) => here.density >= 0.26 && here.density <= 0.27 && Math.abs(there.density - 0.875) < 1e-9 },
  },
  {
    id: 'longformer', view: 'masks', title: 'Longformer: window plus global tokens', fields: { kind: 'longformer', tokens: 2 },
    look: 'Each query sees a window of 3 keys on either side, and 2 global tokens see and are seen by everyone ' +
      '(the full rows and columns). Under 5 % of the cells, yet any two tokens meet through a global token: 2 layers reach every pair.',
    claim: { text: 'a global row sees all n keys, density is under 5 %, and 2 layers reach every pair',
      holds: (here) => here.keysMax === here.n && here.density < 0.05 && here.layers === 2 && here.coverage === 1 },
  },
  {
    id: 'strided-two-layers', view: 'masks', title: 'Strided patterns reach everything in two layers',
    fields: { kind: 'sparse-transformer', stride: 16 },
    look: "The Sparse Transformer's pattern is causal: a window of the most recent keys plus every 16th key before it. Stacking 2 " +
      'layers reaches 50.2 % of the pairs, which is every pair a causal pattern can reach: (n + 1) / 2n.',
    claim: { text: 'after 2 layers the pairs reached are all the causal pairs, (n + 1) / 2n',
      holds: (here) => here.layers === 2 && Math.abs(here.coverage - (here.n + 1) / (2 * here.n)) < 1e-3 },
  },
  {
    id: 'kmeans-clusters', view: 'masks', title: 'k-means attention: a query sees its own cluster', fields: { kind: 'kmeans', sorted: true },
    look: 'Tokens are clustered by k-means (8 clusters) and each query attends only to keys in its cluster. Sorted by ' +
      'cluster (first picture) the mask is blocks on the diagonal; in sequence order the same cells are scattered.',
    claim: { text: 'every allowed cell joins two tokens of the same cluster, and every such pair is allowed',
      holds: (here) => here.assignments !== null && here.mask.data.every((v, c) => (v !== 0) ===
        (here.assignments[Math.floor(c / here.n)] === here.assignments[c % here.n])) },
  },

  // ---- Fast weights (defaults: T = 32 writes, d = 8, DPFP ν = 1 so dφ = 16)
  {
    id: 'sum-overflows', view: 'fastweights', title: 'The sum rule overflows at S = dφ', fields: { fwFeature: 'identity', step: 8 },
    look: 'With identity features (dφ = d = 8) the sum rule\'s mean retrieval error is already past 0.5 after 8 writes: ' +
      'nothing is retrieved. Play on to step 32 and it climbs past 1, cross-talk worse than an empty memory.',
    claim: { text: 'sum-rule error at step dφ = 8 is at least 0.5, and above 1 at step 32', against: { fwFeature: 'identity', step: 32 },
      holds: (here, there) => here.dim === 8 && here.sum >= 0.5 && there.sum > 1 },
  },
  {
    id: 'delta-overwrites', view: 'fastweights', title: 'The delta rule overwrites', fields: { fwFeature: 'identity' },
    look: 'The delta rule first reads what a key already retrieves and writes only the difference, so the newest key ' +
      'is always retrieved exactly (the right end of the error curve) while old keys are overwritten. After 32 writes ' +
      'into dφ = 8 its mean error (about 0.77) is under half the sum rule\'s (1.8).',
    claim: { text: 'the newest key is retrieved exactly by the delta rule, and its mean error is under half the sum rule\'s',
      holds: (here) => here.errors.delta.at(-1) < 1e-3 && here.delta < 0.5 * here.sum },
  },
  {
    id: 'dpfp-capacity', view: 'fastweights', title: 'DPFP raises dφ, and the sum rule holds longer', fields: { nu: 3 },
    look: 'DPFP of order ν = 3 maps 8-dimensional keys to dφ = 48 features, more than the 32 keys written. The sum ' +
      'rule\'s mean error after 32 writes stays under 0.5 (about 0.43), where identity features reach 1.8.',
    claim: { text: 'with dφ = 48 the sum-rule error at step 32 is under 0.5; with identity features it is above 1',
      against: { fwFeature: 'identity' }, holds: (here, there) => here.dim === 48 && here.sum < 0.5 && there.sum > 1 },
  },
  {
    id: 'elu-overlaps', view: 'fastweights', title: 'elu+1 keys all overlap', fields: { fwFeature: 'elu+1', step: 4 },
    look: 'elu+1 features are all positive, so any two keys overlap and every write leaks into every other memory. ' +
      'After only 4 writes the sum rule\'s mean error is already near 1.',
    claim: { text: 'sum-rule error after 4 writes is above 0.5', holds: (here) => here.step === 4 && here.sum > 0.5 },
  },

  // ---- Capacity (defaults: d = 64, S up to 600, 8 trials)
  {
    id: 'identity-crosses', view: 'capacity', title: 'The identity map fails at S = dφ', fields: { maps: ['identity'], rules: ['sum'] },
    look: 'With identity features (dφ = d = 64) the sum rule\'s error grows steadily with the number of stored pairs S. ' +
      'It crosses 0.5 (nothing retrieved) between S = 60 and 80, at dφ; beyond it cross-talk makes retrieval worse than nothing.',
    claim: { text: 'the identity sum-rule curve first reaches 0.5 within one step (20) of S = dφ = 64',
      holds: (here) => { const s = firstReaching(pick(here.series, { map: 'identity', rule: 'sum' }).points, 0.5); return s !== null && Math.abs(s - 64) <= 20; } },
  },
  {
    id: 'delta-vs-sum', view: 'capacity', title: 'The delta rule degrades gracefully', fields: { maps: ['identity'] },
    look: 'Same memory, same keys: the delta rule (dashed) stays below the sum rule at every S. It reaches 0.5 only ' +
      'near S = 120, and at S = 600 its error is under 1 while the sum rule\'s is above 4.',
    claim: { text: 'the delta-rule error is below the sum rule\'s at every S',
      holds: (here) => { const [s, d] = ['sum', 'delta'].map((rule) => pick(here.series, { map: 'identity', rule }).points);
        return s.length === d.length && d.every((p, i) => p.y < s[i].y); } },
  },
  {
    id: 'dpfp-holds', view: 'capacity', title: 'With the delta rule, DPFP-ν holds longer',
    fields: { rules: ['delta'] },
    look: 'Under the delta rule each higher DPFP order (dφ = 2d, 4d, 6d) keeps the error under 0.5 for more stored pairs. ' +
      'The error first reaches 0.5 near S = 120 for identity features, and near 220, 400 and 560 for ν = 1, 2, 3.',
    claim: { text: 'the S where the delta-rule error first reaches 0.5 grows with each map: identity < DPFP-1 < DPFP-2 < DPFP-3',
      holds: (here) => { const s = ['identity', 'dpfp-1', 'dpfp-2', 'dpfp-3'].map((map) => firstReaching(pick(here.series, { map, rule: 'delta' }).points, 0.5) ?? Infinity);
        return s.every((x, i) => i === 0 || x > s[i - 1]); } },
  },

  // ---- Approximation (defaults: n = 256, d = 16, random N(0, 0.3²) inputs, m up to 256, 8 trials)
  {
    id: 'error-like-1-over-m', view: 'approximation', title: 'FAVOR+ error falls like 1/m', fields: {},
    look: 'On log-log axes the positive orthogonal curve falls with slope about −1. Each doubling of the random ' +
      'features m halves the mean squared error, the rate of an average of m independent estimates.',
    claim: { text: 'the positive orthogonal curve falls with a log-log slope between −1.25 and −0.75',
      holds: (here) => { const k = logSlope(pick(here.series, { feature: 'favor+', orthogonal: true }).points); return k > -1.25 && k < -0.75; } },
  },
  {
    id: 'orthogonal-beats-iid', view: 'approximation', title: 'Orthogonal projections beat i.i.d. ones', fields: { maxM: 1024 },
    look: 'Positive features with orthogonal projections (solid) lie below i.i.d. ones (dashed) at every m up to 1024: ' +
      'orthogonal directions cannot repeat each other, so the same m carries more information.',
    claim: { text: 'positive orthogonal MSE is below positive i.i.d. MSE at every m',
      holds: (here) => { const [o, i] = [true, false].map((orthogonal) => pick(here.series, { feature: 'favor+', orthogonal }).points);
        return o.length === i.length && o.every((p, j) => p.y < i[j].y); } },
  },
  {
    id: 'uniform-baseline', view: 'approximation', title: 'At scale 1, uniform weights beat FAVOR+', fields: { scale: 1 },
    look: 'Scale the inputs to 1 and the softmax rows sharpen: every positive-feature curve now lies above the MSE of ' +
      'plain uniform weights 1/n (about 2.5e-5), which ignore the keys altogether. Up to m = 256, FAVOR+ is worse than no attention pattern at all.',
    claim: { text: 'every positive-feature MSE is above that of uniform 1/n weights',
      holds: (here) => here.series.filter((s) => s.feature === 'favor+').every((s) => s.points.every((p) => p.y > here.uniform)) },
  },
  {
    id: 'trig-needs-m', view: 'approximation', title: 'Trigonometric features need many more features', fields: { scale: 0.7 },
    look: 'At scale 0.7, trigonometric features are about 5 to 200 times worse than positive ones up to m = 16: ' +
      'their estimate has a large variance where the kernel is small. Only from m = 32 on do they catch up.',
    claim: { text: 'for m ≤ 16 both trigonometric curves lie above both positive curves',
      holds: (here) => { const get = (feature) => here.series.filter((s) => s.feature === feature);
        return [4, 8, 16].every((m) => Math.min(...get('favor-trig').map((s) => at(s.points, m))) > Math.max(...get('favor+').map((s) => at(s.points, m)))); } },
  },

  // ---- Timing (defaults: n up to 4096, every mechanism)
  {
    id: 'linear-wins', view: 'timing', title: 'Linear attention wins as n grows', fields: { mechanisms: ['streaming', 'linear'] },
    look: 'Streaming softmax (n² work) climbs with slope 2, linear attention (n work) with slope 1. Linear attention is ' +
      'faster at n = 1024 and beyond, and at n = 4096 many times faster; the crossover table says from which n on, on this machine.',
    claim: { text: 'in their fastest rounds, linear attention beats streaming softmax at every n ≥ 1024, and by at least 4 times at n = 4096',
      holds: (here) => { const [s, l] = ['streaming', 'linear'].map((id) => pick(here.series, { id }).points);
        return [1024, 2048, 4096].every((n) => fastest(l, n) < fastest(s, n)) && fastest(s, 4096) >= 4 * fastest(l, 4096); } },
  },
  {
    id: 'softmax-quadratic', view: 'timing', title: 'Softmax is quadratic, stored or streamed', fields: { mechanisms: ['softmax', 'streaming'] },
    look: 'Storing the n × n weights or streaming them row by row, softmax attention does n² work. Both curves ' +
      'follow the slope-2 reference: doubling n costs about four times as much.',
    claim: { text: 'the fastest round of streaming softmax at n = 4096 takes at least 6 times as long as at n = 1024 (quadratic: 16)',
      holds: (here) => { const s = pick(here.series, { id: 'streaming' }).points; return fastest(s, 4096) >= 6 * fastest(s, 1024); } },
  },
  {
    id: 'sparse-linear', view: 'timing', title: 'A local window is linear too', fields: { mechanisms: ['streaming', 'sparse-local'] },
    look: 'Sparse attention with a fixed window computes a constant number of scores per query. Its cost grows ' +
      'like n, parallel to the slope-1 reference, and it overtakes streaming softmax as n grows.',
    claim: { text: 'in their fastest rounds, local sparse attention beats streaming softmax at n = 4096',
      holds: (here) => { const [s, l] = ['streaming', 'sparse-local'].map((id) => pick(here.series, { id }).points); return fastest(l, 4096) < fastest(s, 4096); } },
  },
];

const enc = (v) => encodeURIComponent(Array.isArray(v) ? v.join(',') : typeof v === 'boolean' ? (v ? '1' : '0') : String(v)).replace(/%2C/g, ',');

/** The link of a preset, or of its view with `fields`: "#view=masks&kind=longformer&tokens=2". */
export const presetHash = (preset, fields = preset.fields) =>
  `#${[['view', preset.view], ...Object.entries(fields)].map(([k, v]) => `${k}=${enc(v)}`).join('&')}`;

/** The presets of a view, in order. */
export const presetsOf = (view) => PRESETS.filter((p) => p.view === view);

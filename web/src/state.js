// The lab's state lives in the URL hash, so every picture can be linked:
// #view=masks&kind=bigbird&n=128&seed=0&... Each field has a type, a default
// and bounds; a view lists the fields it uses, and only those (plus the view,
// the seed and the embedding flags) are written. Pure functions: no DOM.

import { FEATURES, INPUT_KINDS, MASK_KINDS, NORMALIZE } from '../../wasm/attn.js';

export const VIEWS = ['matrices', 'masks', 'fastweights', 'capacity', 'approximation', 'timing'];
export const CAPACITY_MAPS = ['identity', 'dpfp-1', 'dpfp-2', 'dpfp-3', 'favor+'];
export const APPROXIMATIONS = ['kernel', 'linformer', 'compressed', 'synthesizer', 'sinkhorn', 'sortcut', 'funnel', 'sparse'];
export const MECHANISMS = ['softmax', 'streaming', 'linear', 'causal-linear', 'favor+', 'sparse-local', 'bigbird'];

const int = (label, def, min, max, extra = {}) => ({ type: 'int', label, default: def, min, max, ...extra });
const num = (label, def, min, max, extra = {}) => ({ type: 'float', label, default: def, min, max, ...extra });
const bool = (label, def, extra = {}) => ({ type: 'bool', label, default: def, ...extra });
const choice = (label, options, def, extra = {}) => ({ type: 'enum', label, options, default: def, ...extra });
const set = (label, options, def, extra = {}) => ({ type: 'set', label, options, default: def, ...extra });

const isMechanism = (...names) => (s) => s.view === 'matrices' && names.includes(s.mechanism);
// A mask's fields: in Masks, and in Matrices with the sparse mechanism.
const usesMask = (s) => s.view === 'masks' || isMechanism('sparse')(s);
const isKind = (...kinds) => (s) => usesMask(s) && kinds.includes(s.kind);
const isPerformer = (s) => isMechanism('kernel')(s) && ['favor+', 'favor-trig', 'favor-hyp'].includes(s.feature);

/** Every field. `show(state)` hides a control when it does not apply. */
export const FIELDS = {
  view: choice('view', VIEWS, 'matrices'),
  seed: int('seed', 0, 0, 2 ** 31 - 1),
  n: int('sequence length n', 256, 1, 1024),
  d: int('dimension d', 16, 1, 256),
  inputs: choice('inputs', INPUT_KINDS, 'mixture', { show: (s) => s.view === 'matrices' }),
  scale: num('input scale', 0.3, 0.05, 4, { step: 0.05 }),
  causal: bool('causal (key j ≤ query i)', false, { show: isMechanism('kernel', 'compressed', 'synthesizer', 'sinkhorn', 'sparse') }),
  mechanism: choice('mechanism', APPROXIMATIONS, 'kernel'),
  feature: choice('feature map φ', FEATURES, 'favor+', { show: isMechanism('kernel') }),
  features: int('random features m', 64, 1, 1024, { show: isPerformer }),
  orthogonal: bool('orthogonal projections', true, { show: isPerformer }),
  nu: int('DPFP order ν', 1, 1, 4, { show: (s) => (s.view === 'fastweights' ? s.fwFeature === 'dpfp'
    : isMechanism('kernel')(s) && s.feature === 'dpfp') }),
  rank: int('projected length k', 16, 1, 256, { show: isMechanism('linformer') }),
  factor: int('compression factor c', 4, 1, 64, { show: isMechanism('compressed') }),
  synthMode: choice('synthesizer', ['random', 'factorized', 'dense'], 'dense', { show: isMechanism('synthesizer') }),
  mix: num('dot-product share', 0, 0, 1, { step: 0.1, show: isMechanism('synthesizer') }),
  sBlock: int('block', 8, 1, 256, { show: isMechanism('sinkhorn', 'sortcut') }),
  iterations: int('Sinkhorn iterations', 8, 0, 100, { show: isMechanism('sinkhorn', 'sortcut') }),
  tau: num('temperature τ', 0.75, 0.05, 10, { step: 0.05, show: isMechanism('sinkhorn', 'sortcut') }),
  sortcut: int('SortCut blocks', 2, 1, 64, { show: isMechanism('sortcut') }),
  kind: choice('mask kind', MASK_KINDS, 'bigbird', { show: usesMask }),
  window: int('window (per side)', 3, 0, 512, { show: isKind('local', 'dilated', 'longformer') }),
  stride: int('stride l', 8, 1, 512, { show: isKind('strided', 'sparse-transformer') }),
  dilation: int('dilation', 1, 1, 64, { show: isKind('dilated', 'longformer') }),
  block: int('block', 8, 1, 256, { show: isKind('fixed', 'bigbird') }),
  summary: int('summary columns c', 1, 0, 256, { show: isKind('fixed') }),
  tokens: int('global tokens', 1, 0, 64, { show: isKind('global', 'longformer') }),
  perRow: int('random keys per row', 3, 0, 256, { show: isKind('random') }),
  windowBlocks: int('window blocks (odd)', 3, 1, 15, { show: isKind('bigbird') }),
  globalBlocks: int('global blocks per end', 1, 0, 8, { show: isKind('bigbird') }),
  randomBlocks: int('random blocks', 2, 0, 16, { show: isKind('bigbird') }),
  buckets: int('buckets (even)', 8, 2, 64, { step: 2, show: isKind('lsh') }),
  hashes: int('hash rounds', 1, 1, 8, { show: isKind('lsh') }),
  clusters: int('clusters', 8, 1, 64, { show: isKind('kmeans') }),
  sorted: bool('sort tokens by bucket', false, { show: isKind('lsh', 'kmeans') }),
  T: int('steps T', 32, 1, 128),
  dv: int('value width', 8, 1, 64),
  fwD: int('key dimension d', 8, 1, 64),
  fwFeature: choice('feature map φ', ['dpfp', 'identity', 'elu+1', 'favor+'], 'dpfp'),
  normalize: choice('normalise φ', NORMALIZE, 'l2'),
  beta: num('delta rule β', 1, 0, 1, { step: 0.05 }),
  step: int('shown step t', 32, 1, 128),
  dKey: int('key dimension', 64, 1, 256),
  maxS: int('largest S', 600, 20, 1000, { step: 20 }),
  trials: int('trials', 8, 1, 20),
  maps: set('feature maps', CAPACITY_MAPS, ['identity', 'dpfp-1', 'dpfp-2', 'dpfp-3']),
  rules: set('rules', ['sum', 'delta'], ['sum', 'delta']),
  maxM: int('largest m', 256, 8, 1024),
  maxN: int('largest n', 4096, 256, 16384),
  mechanisms: set('mechanisms', MECHANISMS, MECHANISMS),
  controls: bool('show controls', true),
  text: bool('show text', true),
};

/** The fields each view reads, in panel order. */
export const VIEW_FIELDS = {
  matrices: ['mechanism', 'inputs', 'n', 'd', 'seed', 'scale', 'causal', 'feature', 'features', 'orthogonal', 'nu', 'rank', 'factor',
    'synthMode', 'mix', 'sBlock', 'iterations', 'tau', 'sortcut', 'kind', 'window', 'stride', 'dilation', 'block', 'summary',
    'tokens', 'perRow', 'windowBlocks', 'globalBlocks', 'randomBlocks', 'buckets', 'hashes', 'clusters', 'sorted'],
  masks: ['kind', 'n', 'seed', 'window', 'stride', 'dilation', 'block', 'summary', 'tokens', 'perRow',
    'windowBlocks', 'globalBlocks', 'randomBlocks', 'buckets', 'hashes', 'clusters', 'd', 'sorted'],
  fastweights: ['T', 'fwD', 'dv', 'fwFeature', 'nu', 'normalize', 'beta', 'seed', 'step'],
  capacity: ['dKey', 'maxS', 'trials', 'maps', 'rules', 'seed'],
  approximation: ['n', 'd', 'scale', 'maxM', 'trials', 'seed'],
  timing: ['maxN', 'mechanisms'],
};

/** Reads one field's value from text; bad text gives the default, numbers are clamped. */
export function readField(field, text) {
  if (text === null || text === undefined) return field.default;
  switch (field.type) {
    case 'bool': return text === '1' || text === 'true' || text === '';
    case 'enum': return field.options.includes(text) ? text : field.default;
    case 'set': {
      const picked = String(text).split(',').filter((x) => field.options.includes(x));
      return text === '' ? [] : picked.length ? [...new Set(picked)] : field.default;
    }
    default: {
      const x = Number(text);
      if (text === '' || !Number.isFinite(x)) return field.default;
      const clamped = Math.min(field.max, Math.max(field.min, x));
      return field.type === 'int' ? Math.round(clamped) : clamped;
    }
  }
}

const writeField = (field, value) => (field.type === 'bool' ? (value ? '1' : '0')
  : field.type === 'set' ? value.join(',') : String(value));

/**
 * What is wrong with one field's text, or null: a value that is not one of
 * the options, not a number, or out of bounds (then clamped). The message
 * names the field as written (kind=nonsense) and what is used instead.
 */
export function fieldProblem(key, field, text) {
  if (text === null || text === undefined) return null;
  const shown = `${key}=${String(text).slice(0, 40)}`;
  const used = writeField(field, readField(field, text));
  switch (field.type) {
    case 'bool':
      return ['', '0', '1', 'true', 'false'].includes(text) ? null : `${shown} is not 0 or 1: using ${used}`;
    case 'enum':
      return field.options.includes(text) ? null
        : `${shown} is not one of ${field.options.join(', ')}: showing ${used}`;
    case 'set': {
      const bad = String(text).split(',').filter((x) => x !== '' && !field.options.includes(x));
      return bad.length ? `${key}: ${bad.join(', ')} not one of ${field.options.join(', ')}: using ${used || 'none'}` : null;
    }
    default: {
      const x = Number(text);
      if (text === '' || !Number.isFinite(x)) return `${shown} is not a number: using ${used}`;
      if (x < field.min) return `${shown} is below the smallest, ${field.min}: using ${used}`;
      if (x > field.max) return `${shown} is above the largest, ${field.max}: using ${used}`;
      return null;
    }
  }
}

/**
 * The full state (every field) from a hash or a plain object of strings.
 * What could not be used as given is listed in the non-enumerable
 * `state.problems` (strings naming the field; see fieldProblem), so a page or
 * an embedded figure can say so instead of silently falling back (only the
 * fields the view reads are checked).
 */
export function parseState(source) {
  const get = typeof source === 'string'
    ? ((params) => (key) => params.get(key))(new URLSearchParams(source.replace(/^#/, '')))
    : (key) => (source[key] === undefined ? null : String(source[key]));
  const state = {};
  const problems = [];
  for (const [key, field] of Object.entries(FIELDS)) {
    const text = get(key);
    state[key] = readField(field, text);
    const problem = fieldProblem(key, field, text);
    if (problem) problems.push([key, problem]);
  }
  // Only what the view shown reads (a mask kind does not matter to Fast weights).
  const read = new Set(['view', 'seed', 'controls', 'text', ...VIEW_FIELDS[state.view]]);
  problems.splice(0, problems.length, ...problems.filter(([key]) => read.has(key)).map(([, p]) => p));
  Object.defineProperty(state, 'problems', { value: problems, enumerable: false });
  return state;
}

/** The hash of a state: the view, its fields, the seed and the flags when not default. */
export function formatHash(state) {
  const params = new URLSearchParams();
  params.set('view', state.view);
  for (const key of VIEW_FIELDS[state.view]) params.set(key, writeField(FIELDS[key], state[key]));
  if (!params.has('seed')) params.set('seed', String(state.seed));
  for (const flag of ['controls', 'text']) if (state[flag] !== FIELDS[flag].default) params.set(flag, writeField(FIELDS[flag], state[flag]));
  return `#${params}`;
}

/** A short description for file names: view and its fields, e.g. masks-kind=bigbird-n=64. */
export function describe(state) {
  return [state.view, ...VIEW_FIELDS[state.view].filter((k) => k !== 'step')
    .map((k) => `${k}=${writeField(FIELDS[k], state[k])}`)].join('_').replace(/[^\w=.,+-]/g, '');
}

/** The fields that name a picture in a file name, per view (the rest are left to the hash). */
const NAME_FIELDS = {
  matrices: (s) => ['mechanism', ...(s.mechanism === 'kernel' ? ['feature'] : []),
    ...(s.mechanism === 'kernel' && s.feature.startsWith('favor') ? ['features'] : []),
    ...({ linformer: ['rank'], compressed: ['factor'], synthesizer: ['synthMode'], sinkhorn: ['sBlock'], sortcut: ['sBlock'], sparse: ['kind'] }[s.mechanism] ?? []),
    'n', 'd', 'scale', 'seed'],
  masks: () => ['kind', 'n', 'seed'],
  fastweights: () => ['fwFeature', 'T', 'step'],
  capacity: () => ['dKey', 'maxS'],
  approximation: () => ['n', 'd', 'scale'],
  timing: () => ['maxN'],
};

/** A short file name stem: the view and the few fields that name its picture, e.g. masks_bigbird_n256_seed0. */
export function fileName(state) {
  const short = { mechanism: '', kind: '', feature: '', fwFeature: '', synthMode: '', features: 'm', sBlock: 'block' };
  return [state.view, ...NAME_FIELDS[state.view](state).map((k) => `${short[k] ?? k}${writeField(FIELDS[k], state[k])}`)]
    .join('_').replace(/[^\w.+-]/g, '');
}

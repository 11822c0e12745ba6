// The page state lives in the URL hash (#n=64&d=16&seed=0&causal=0), so every
// picture can be linked. Pure functions: no DOM.

/** Every field: default and how to read it from a hash string. */
export const FIELDS = {
  n: { default: 64, min: 1, max: 1024 },
  d: { default: 16, min: 1, max: 256 },
  seed: { default: 0, min: 0, max: Number.MAX_SAFE_INTEGER },
  causal: { default: false },
};

const clampInt = (text, { default: fallback, min, max }) => {
  const x = Number(text);
  if (text === '' || !Number.isFinite(x)) return fallback;
  return Math.min(max, Math.max(min, Math.round(x)));
};

/** State from a hash such as '#n=64&seed=3'; unknown keys are ignored, bad values fall back. */
export function parseHash(hash) {
  const params = new URLSearchParams(String(hash).replace(/^#/, ''));
  const state = {};
  for (const [key, field] of Object.entries(FIELDS)) {
    const text = params.get(key);
    if (typeof field.default === 'boolean') {
      state[key] = text === null ? field.default : text === '1' || text === 'true';
    } else {
      state[key] = text === null ? field.default : clampInt(text, field);
    }
  }
  return state;
}

/** The hash for a state, with every field written out. */
export function formatHash(state) {
  const params = new URLSearchParams();
  for (const [key, field] of Object.entries(FIELDS)) {
    const value = state[key] ?? field.default;
    params.set(key, typeof field.default === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  return `#${params}`;
}

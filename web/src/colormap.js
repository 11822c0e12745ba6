// Viridis (van der Walt & Smith, matplotlib): perceptually uniform and
// readable with the common colour-vision deficiencies. Nine stops sampled
// from the matplotlib table, linearly interpolated into a 256-entry lookup.
const STOPS = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** Uint8Array of 256 RGB triples. */
export const VIRIDIS = (() => {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (STOPS.length - 1);
    const lo = Math.min(Math.floor(t), STOPS.length - 2);
    const f = t - lo;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(STOPS[lo][c] * (1 - f) + STOPS[lo + 1][c] * f);
  }
  return lut;
})();

// Colour maps that read under the common colour-vision deficiencies.
// Sequential: viridis (matplotlib); diverging: purple-white-orange (PuOr,
// ColorBrewer, colour-blind safe); categorical mask components: Okabe & Ito.

import { MASK_BITS } from '../../wasm/attn.js';

/** A 256-entry RGB lookup table interpolated between stops. */
function lut(stops) {
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const lo = Math.min(Math.floor(t), stops.length - 2), f = t - lo;
    for (let c = 0; c < 3; c++) table[i * 3 + c] = Math.round(stops[lo][c] * (1 - f) + stops[lo + 1][c] * f);
  }
  return table;
}

export const VIRIDIS = lut([[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]]);

export const PUOR = lut([[45, 0, 75], [84, 39, 136], [128, 115, 172], [178, 171, 210], [216, 218, 235],
  [247, 247, 247], [254, 224, 182], [253, 184, 99], [224, 130, 20], [179, 88, 6], [127, 59, 8]]);

/**
 * The label and colour of each mask component the core names: Okabe-Ito hues,
 * darkened where needed so each is at least 3:1 against the blocked cells
 * (BLOCKED) and a white background (measured in tests/web.test.mjs); global
 * tokens are near-black, the strongest mark.
 */
const COMPONENT_STYLE = {
  local: { name: 'window', rgb: [0, 114, 178] },     // Okabe-Ito blue
  strided: { name: 'stride', rgb: [213, 94, 0] },    // Okabe-Ito vermillion
  global: { name: 'global', rgb: [34, 34, 34] },     // Okabe-Ito black, softened
  random: { name: 'random', rgb: [0, 133, 96] },     // Okabe-Ito bluish green, darker
  cluster: { name: 'cluster', rgb: [170, 68, 130] }, // Okabe-Ito reddish purple, darker
};

/** A blocked mask cell: light grey, so the canvas reads on light and dark pages alike. */
export const BLOCKED = [238, 238, 238];

/** WCAG 2 contrast ratio of two sRGB colours ([r, g, b], 0..255). */
export function contrast(a, b) {
  const lum = ([r, g, bl]) => [r, g, bl].map((c) => { const x = c / 255; return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; })
    .reduce((s, x, i) => s + x * [0.2126, 0.7152, 0.0722][i], 0);
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** Mask components in bit order (MASK_BITS, from the core) with their labels and colours. */
export const MASK_COLOURS = Object.entries(MASK_BITS).map(([component, bit]) => ({ bit, ...COMPONENT_STYLE[component] }));

/** RGB of a mask cell: the colour of its highest component bit (blocked: near white). */
export function maskRGB(value) {
  if (!value) return BLOCKED;
  for (let c = MASK_COLOURS.length - 1; c >= 0; c--) if (value & MASK_COLOURS[c].bit) return MASK_COLOURS[c].rgb;
  return [0, 0, 0];
}

export const css = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;
export const lutCSS = (table, direction = '90deg') => `linear-gradient(${direction}, ${[0, 64, 128, 191, 255].map((i) => css([table[i * 3], table[i * 3 + 1], table[i * 3 + 2]])).join(', ')})`;

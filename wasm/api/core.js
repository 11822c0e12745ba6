// The core handle: the Emscripten module (src/attn.h), its status codes, the
// one size check, and the one pattern every call follows: allocate in wasm
// memory, copy in, call, copy out, free in `finally`. Every family module
// (rng.js, softmax.js, ...) takes this handle as its first argument.

import * as NAMES from '../build/names.js';
import { DEFAULTS } from '../build/defaults.js';

/** The core's named defaults, "<function>.<option>" -> value (src/attn.h: ATTN_DEFAULT_LIST). */
export { DEFAULTS };

const { KERNELS } = NAMES;
/** The core's name query behind each list of names.js. */
const NAME_QUERIES = {
  FEATURES: 'feature_name', NORMALIZE: 'normalize_name', RULES: 'rule_name', KERNELS: 'kernels_name',
  CORE_MASK_KINDS: 'mask_kind_name', MASK_BIT_NAMES: 'mask_bit_name', FEATURE_USES: 'feature_use_name',
  INPUT_KINDS: 'input_kind_name',
};

/** The largest single array handed to the core or made in JS, in bytes (wasm32 memory is 4 GiB). */
export const MAX_ARRAY_BYTES = 2 ** 31 - 1;
/** The most one call may allocate in wasm memory altogether, in bytes. */
export const MAX_CALL_BYTES = 2 ** 32 - 2 ** 26;

export class AttnError extends Error {
  /**
   * @param {string} code stable code such as 'ERR_SHAPE' (one of the core's status codes)
   * @param {string} message "functionName: argument ..."
   */
  constructor(code, message) {
    super(message);
    this.name = 'AttnError';
    this.code = code;
  }
}

/**
 * A default that depends on a size, from the core: attn_default_<fn>(size)
 * (scale 1/sqrt(d), window, root, bigbird_block, rank, max_layers, per_row;
 * src/attn.h documents each).
 */
export function derivedDefault(c, where, fn, size) {
  if (!c.mod) fail('ERR_DISPOSED', where, 'this instance was disposed');
  const value = c.mod[`_attn_default_${fn}`](size);
  return fn === 'scale' ? value : value >>> 0;
}

/** Throws AttnError(code, "where: what"). */
export const fail = (code, where, what) => {
  throw new AttnError(code, `${where}: ${what}`);
};

/** The one size check: `count` elements of `bytesPer` bytes named `name` must fit in memory. */
export function checkBytes(where, name, count, bytesPer) {
  const bytes = count * bytesPer;
  if (!(bytes <= MAX_ARRAY_BYTES)) {
    fail('ERR_MEMORY', where, `${name} needs ${bytes} bytes, more than fits in wasm memory (${MAX_ARRAY_BYTES})`);
  }
  return bytes;
}

/** Checks every [name, count, bytesPer] and their sum before anything is allocated. */
export function checkPlan(where, items) {
  let total = 0;
  for (const [name, count, bytesPer] of items) total += checkBytes(where, name, count, bytesPer);
  if (total > MAX_CALL_BYTES) {
    fail('ERR_MEMORY', where, `${items.map(([name]) => name).join(', ')} need ${total} bytes together, more than fits in wasm memory`);
  }
}

/** A JS Float32Array / Uint8Array of `count` entries, through the size check. */
export const newF32 = (where, name, count) => new Float32Array(checkBytes(where, name, count, 4) / 4);
export const newU8 = (where, name, count) => new Uint8Array(checkBytes(where, name, count, 1));

/** "name [rows x cols]" for messages. */
export const shapeOf = (name, M) => `${name} [${M.rows}x${M.cols}]`;

/**
 * The handle of one instance: the Emscripten module and what is read from it
 * once (status codes and texts, mask field ids); kernels selected.
 */
export function createCore(mod, kernels) {
  const str = (p) => mod.UTF8ToString(p);
  const count = mod._attn_status_count();
  const c = {
    mod,
    /** Status code strings, index = numeric status ('OK' first). */
    statusCodes: Object.freeze(Array.from({ length: count }, (_, s) => str(mod._attn_status_code(s)))),
    statusTexts: Array.from({ length: count }, (_, s) => str(mod._attn_status_str(s))),
    /** Mask spec field name -> id. */
    maskFields: new Map(),
    version: str(mod._attn_version()),
    sourceHash: str(mod._attn_source_hash()),
  };
  for (let id = 0, name; (name = mod._attn_mask_field_name(id)) !== 0; id++) c.maskFields.set(str(name), id);
  // The name lists were read from the core at build time; a core that disagrees is a stale build.
  const stale = (what) => fail('ERR_KIND', 'createAttn', `wasm/build/names.js does not match the core (${what}): rebuild with npm run build`);
  if (NAMES.VERSION !== c.version) stale('VERSION');
  for (const [list, query] of Object.entries(NAME_QUERIES)) {
    const names = NAMES[list];
    for (let id = 0; id <= names.length; id++) {
      const p = mod[`_attn_${query}`](id);
      if ((p === 0 ? undefined : str(p)) !== names[id]) stale(`${list}[${id}]`);
    }
  }
  // So were the named defaults: the same names in the same order, the same values.
  const names = Object.keys(DEFAULTS);
  for (let id = 0; id <= names.length; id++) {
    const p = mod._attn_default_name(id);
    if ((p === 0 ? undefined : str(p)) !== names[id] || (p !== 0 && mod._attn_default_value(id) !== DEFAULTS[names[id]])) {
      fail('ERR_KIND', 'createAttn', `wasm/build/defaults.js does not match the core (${names[id] ?? `default ${id}`}): rebuild with npm run build`);
    }
  }
  const simd = KERNELS.indexOf('simd');
  const want = kernels === 'simd' && mod._attn_simd_available() === 1 ? simd : KERNELS.indexOf('scalar');
  check(c, 'createAttn', mod._attn_use_kernels(want), 'attn_use_kernels', `kernels '${kernels}'`);
  c.simd = mod._attn_kernels_in_use() === simd;
  return c;
}

/**
 * Throws AttnError for a non-zero status from core function `fn`, with a
 * message naming the function the user called and the arguments involved.
 * `what` is a string, or a function of the status giving either
 * { argument: 'n 65536' } — the one argument the core named (its spec
 * checks: attn_mask_spec_check, attn_feature_spec_check), which the message
 * then gives alone — or a string describing every argument.
 */
export function check(c, where, status, fn, what) {
  if (status === 0) return;
  const code = c.statusCodes[status] ?? 'ERR_UNKNOWN';
  const text = c.statusTexts[status] ?? `status ${status}`;
  const described = typeof what === 'function' ? what(status) : what;
  if (described && typeof described === 'object') throw new AttnError(code, `${where}: ${described.argument}: ${text}`);
  throw new AttnError(code, `${where}: ${described}: ${text} (${fn})`);
}

/** Marks where a size_t out-parameter goes in heap.size's arguments when it is not the last. */
export const OUT = Symbol('size_t out-parameter');

/**
 * Runs fn(heap) with an allocator over wasm memory; everything allocated is
 * freed afterwards, whatever happens. Heap views are read from the module at
 * every use, because memory growth replaces them.
 */
export function run(c, where, fn) {
  const mod = c.mod;
  if (!mod) fail('ERR_DISPOSED', where, 'this instance was disposed');
  const pointers = [];
  const heap = {
    /** `bytes` of wasm memory named `name` (for the message when it does not fit). */
    alloc: (bytes, name = 'an array') => {
      checkBytes(where, name, bytes, 1);
      const p = mod._malloc(Math.max(bytes, 1)) >>> 0;
      if (p === 0) fail('ERR_MEMORY', where, `out of wasm memory allocating ${bytes} bytes for ${name}`);
      pointers.push(p);
      return p;
    },
    f32: (values, name) => {
      const p = heap.alloc(values.length * 4, name);
      mod.HEAPF32.set(values, p >>> 2);
      return p;
    },
    u8: (values, name) => {
      const p = heap.alloc(values.length, name);
      mod.HEAPU8.set(values, p);
      return p;
    },
    i32: (values, name) => {
      const p = heap.alloc(values.length * 4, name);
      mod.HEAP32.set(values, p >>> 2);
      return p;
    },
    readF32: (p, n) => mod.HEAPF32.slice(p >>> 2, (p >>> 2) + n),
    readF64: (p, n) => mod.HEAPF64.slice(p >>> 3, (p >>> 3) + n),
    readI32: (p, n) => mod.HEAP32.slice(p >>> 2, (p >>> 2) + n),
    readU8: (p, n) => mod.HEAPU8.slice(p, p + n),
    readU32: (p) => mod.HEAPU32[p >>> 2],
    /** The name of the argument a core check names through a `const char **` out-parameter (null if none). */
    argument: (fn, ...args) => {
      const out = heap.alloc(4, 'a name');
      mod.HEAPU32[out >>> 2] = 0;
      mod[`_attn_${fn}`](...args, out);
      const p = mod.HEAPU32[out >>> 2];
      return p === 0 ? null : mod.UTF8ToString(p);
    },
    /** Calls attn_<fn>(...args) and throws for a non-zero status; `what` names the arguments. */
    call: (fn, what, ...args) => check(c, where, mod[`_attn_${fn}`](...args), `attn_${fn}`, what),
    /** A size_t out-parameter: calls attn_<fn>(...args, &out) (or with &out where args has OUT) and returns out. */
    size: (fn, what, ...args) => {
      const out = heap.alloc(4, 'a size');
      heap.call(fn, what, ...(args.includes(OUT) ? args.map((a) => (a === OUT ? out : a)) : [...args, out]));
      return mod.HEAPU32[out >>> 2];
    },
    /** Calls the workspace query attn_<fn>(...args, &floats) and allocates that many floats. */
    workspace: (fn, what, ...args) => {
      const floats = heap.size(fn, what, ...args);
      return { ptr: heap.alloc(checkBytes(where, 'the workspace', floats, 4), 'the workspace'), floats };
    },
  };
  try {
    return fn(heap, mod);
  } finally {
    for (const p of pointers) mod._free(p);
  }
}

/** A seed (integer in [0, 2^53)) as the two 32-bit halves that a uint64_t parameter takes from JS. */
export const seedWords = (seed) => [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];

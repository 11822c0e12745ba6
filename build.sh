#!/usr/bin/env bash
# Build the WebAssembly module and the classic-script bundles from source.
#
#   wasm/build/attn-core.mjs   the C core (src/*.c), Emscripten -O3 -msimd128, one
#                              ES module with the wasm inlined: Node and browsers
#   wasm/build/names.js        the core's name lists, read from the built core
#   wasm/build/defaults.js     the core's named defaults, read from the built core
#   wasm/build/attnlab.umd.js  the JS API and the core as one classic script
#   wasm/build/attnlab.cjs     the same as CommonJS (require('attnlab')), and
#   wasm/build/attnlab.d.cts   its types (a copy of wasm/attn.d.ts)
#   web/dist/*.js              the lab page and its worker; attn-figure.js, the
#                              <attn-figure> element and its worker in one file
# wasm/build/ and web/dist/ hold only these generated files.
#
# Needs Debian's emscripten (apt-get install emscripten) and `npm ci`.
set -euo pipefail
cd "$(dirname "$0")"

# Debian's emcc finds its JS dependencies (acorn) under /usr/share/nodejs.
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
command -v emcc >/dev/null || { echo "build.sh: emcc not found (apt-get install emscripten)" >&2; exit 1; }
[ -d node_modules/esbuild ] || { echo "build.sh: run npm ci first" >&2; exit 1; }

hash=$(node tools/source-hash.mjs)

# Every public function declared in the manual is exported.
exports=$(grep -oE '\battn_[a-z0-9_]+\(' src/attn.h | tr -d '(' | sort -u | sed 's/^/_/' | paste -sd, -)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
emcc src/*.c -o "$tmp/attn-core.mjs" \
  -std=c11 -Wall -Wextra -Werror -O3 -msimd128 \
  -DATTN_SOURCE_HASH="\"$hash\"" \
  -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createAttnCore \
  -sENVIRONMENT=web -sSINGLE_FILE=1 -sFILESYSTEM=0 \
  -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB \
  -sEXPORTED_FUNCTIONS="_malloc,_free,$exports" \
  -sEXPORTED_RUNTIME_METHODS=UTF8ToString

node tools/build-js.mjs "$tmp/attn-core.mjs"

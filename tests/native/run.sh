#!/usr/bin/env bash
# Build the C core natively with the strict warning set and run its tests
# under AddressSanitizer and UBSan; then, when emcc is installed, the same
# tests as wasm32 (32-bit size_t, simd128) under UBSan in Node, where a size
# that wraps or a double converted past SIZE_MAX would show
# (ATTN_NATIVE_WASM=0 skips that part).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${TMPDIR:-/tmp}/attnlab-native
mkdir -p "$out"
CC=${CC:-gcc}
flags=(-std=c11 -Wall -Wextra -Werror -g -O1
       -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
for test in test_core test_kernels test_inputs test_backward_linear test_backward_softmax test_layers; do
  "$CC" "${flags[@]}" -I"$root/src" "$root"/src/*.c "$here/$test.c" -lm -o "$out/$test"
  echo "# $test:"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 "$out/$test"
done

if [ "${ATTN_NATIVE_WASM:-1}" != 0 ] && command -v emcc >/dev/null; then
  export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
  for test in test_core test_kernels test_inputs test_backward_linear test_backward_softmax test_layers; do
    emcc -std=c11 -Wall -Wextra -Werror -O1 -msimd128 -fsanitize=undefined -fno-sanitize-recover=all \
      -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB -sENVIRONMENT=node -sSINGLE_FILE=1 \
      -I"$root/src" "$root"/src/*.c "$here/$test.c" -o "$out/${test}_wasm32.js"
    echo "# $test, wasm32 (32-bit size_t), UBSan:"
    node "$out/${test}_wasm32.js"
  done
fi

#!/usr/bin/env bash
# Build the C core natively with the strict warning set and run its tests
# under AddressSanitizer and UBSan.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${TMPDIR:-/tmp}/attnlab-native
mkdir -p "$out"
CC=${CC:-gcc}
flags=(-std=c11 -Wall -Wextra -Werror -g -O1
       -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
"$CC" "${flags[@]}" -I"$root/src" "$root"/src/*.c "$here/test_core.c" -lm -o "$out/test_core"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 "$out/test_core"

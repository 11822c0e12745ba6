#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz/ (clang, ASan + UBSan, the core
# compiled with the same sanitizers) and run them.
#
#   bash tests/fuzz/run.sh               fixed runs, fixed seed (npm test, CI)
#   bash tests/fuzz/run.sh [seconds]     time-bounded hunting, seconds per run
#   FUZZ_SECONDS=600 bash tests/fuzz/run.sh
#   bash tests/fuzz/run.sh 10 softmax    only the named targets
#   FUZZ_SEED=3 FUZZ_NO_SETARCH=1 bash tests/fuzz/run.sh   fixed runs as on
#                                        a machine without setarch -R
#
# Default (no seconds given): deterministic. Each fuzzing run executes a
# fixed number of inputs (per target, about 5 s each on an idle core; the
# whole step about 40 s + the build on 2 cores) from -seed=$FUZZ_SEED
# (default 1), addresses not randomised (setarch -R, where allowed), so the
# same tree gives the same inputs and the same verdict:
# `npm test` and CI never go red at random. FUZZ_RUNS_SCALE=k multiplies
# the counts. Random, time-bounded hunting is for developers: give seconds.
#
# Each target runs
#   1. on every file of tests/fuzz/regressions/<target>/ once, oracle on
#      (saved findings: each must pass once the core is fixed);
#   2. fuzzing from tests/fuzz/corpus/<target>/ with the oracle on
#      (ATTN_FUZZ_ORACLE=1: non-finite outputs with ATTN_OK, paths that
#      disagree, see fuzz.h);
#   3. fuzzing with the oracle off (sanitizers only), so that memory errors
#      are still looked for when the oracle stops at once.
# Runs go FUZZ_JOBS (default 2) at a time. New corpus entries go to $TMPDIR,
# never into the repository. Any finding (crash, sanitizer report, oracle
# failure, timeout) makes the script exit 1 after the summary; its input is
# kept in $TMPDIR/attnlab-fuzz/findings/ (copy it to
# tests/fuzz/regressions/<target>/ to keep it).
#
# If clang's libFuzzer runtime is missing (a developer machine without
# libclang-rt-14-dev) the step is skipped with a message; with
# FUZZ_REQUIRED=1 (set by .ci/run) that is an error instead.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-${FUZZ_SECONDS:-}}  # empty: the fixed, seeded runs
seed=${FUZZ_SEED:-1}
scale=${FUZZ_RUNS_SCALE:-1}
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(softmax masks linear fastweight gallery)
jobs_max=${FUZZ_JOBS:-2}
out=${TMPDIR:-/tmp}/attnlab-fuzz
CC=${FUZZ_CC:-clang}
case $seconds in *[!0-9]*) echo "fuzz: seconds must be a whole number, got '$seconds'" >&2; exit 2 ;; esac
case $seed$scale in '' | *[!0-9]*) echo "fuzz: FUZZ_SEED and FUZZ_RUNS_SCALE must be whole numbers" >&2; exit 2 ;; esac
[ "$seconds" != 0 ] || { echo "fuzz: seconds must be at least 1 (0 would mean no limit)" >&2; exit 2; }
# Inputs per fuzzing run in the fixed mode: about 5 s each on an idle core.
runs_of() {
  case $1 in
    softmax | fastweight) echo $((500 * scale)) ;;
    linear) echo $((800 * scale)) ;;
    masks) echo $((1500 * scale)) ;;
    *) echo $((4000 * scale)) ;;
  esac
}

rm -rf "$out/findings" "$out/logs" "$out/results" "$out/work"
mkdir -p "$out/core" "$out/findings" "$out/logs" "$out/results" "$out/work"

# ---- is libFuzzer there?
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$out/probe.c"
if ! command -v "$CC" >/dev/null || ! "$CC" -fsanitize=fuzzer,address,undefined "$out/probe.c" -o "$out/probe" 2>"$out/probe.log"; then
  msg="fuzz: clang with its libFuzzer runtime is not available ($CC -fsanitize=fuzzer failed; on Debian: apt-get install clang libclang-rt-14-dev)"
  if [ "${FUZZ_REQUIRED:-0}" = 1 ]; then echo "$msg" >&2; cat "$out/probe.log" >&2; exit 1; fi
  echo "$msg: SKIPPED"
  exit 0
fi

# ---- build: the core once (instrumented for coverage), then each target
san=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
cflags=(-std=c11 -Wall -Wextra -Werror -g -O1 "${san[@]}" -I"$root/src")
start=$(date +%s)
pids=()
for src in "$root"/src/*.c; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  "$CC" "${cflags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$out/core/$(basename "$src" .c).o" &
  pids+=($!)
done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
[ $fail = 0 ] || { echo "fuzz: building the core failed" >&2; exit 1; }
pids=()
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  "$CC" "${cflags[@]}" -fsanitize=fuzzer "$here/fuzz_$t.c" "$out"/core/*.o -lm -o "$out/fuzz_$t" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
[ $fail = 0 ] || { echo "fuzz: building a target failed" >&2; exit 1; }
if [ -n "$seconds" ]; then
  echo "fuzz: built ${#targets[@]} targets in $(( $(date +%s) - start )) s; $seconds s per run (random), $jobs_max at a time"
else
  echo "fuzz: built ${#targets[@]} targets in $(( $(date +%s) - start )) s; fixed runs from seed $seed, $jobs_max at a time"
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
common=(-max_len=4096 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1)

# Fixed mode: addresses without randomisation (setarch -R) where possible,
# so that the SIMD kernels see the same alignments, coverage is the same and
# libFuzzer mutates the same inputs from run to run.
# libFuzzer's timers (-timeout's alarm, the -rss_limit_mb thread) also make
# runs differ: off in fixed mode (malloc_limit_mb still bounds memory), with
# a wall-clock bound from coreutils' timeout instead.
fixed_addr=()
if [ -z "$seconds" ]; then
  common=(-max_len=4096 -timeout=0 -rss_limit_mb=0 -malloc_limit_mb=2048 -print_final_stats=1)
  ! command -v timeout >/dev/null || fixed_addr=(timeout 600)
  # FUZZ_NO_SETARCH=1: randomised addresses, as where setarch -R is refused
  # (containers): to check that the verdict does not depend on them.
  [ "${FUZZ_NO_SETARCH:-0}" = 1 ] || ! setarch "$(uname -m)" -R true 2>/dev/null || fixed_addr+=(setarch "$(uname -m)" -R)
fi

# run <target> <mode>: mode is regress, oracle or plain
run() {
  local t=$1 mode=$2 log="$out/logs/$1-$2.log" rc=0
  case $mode in
    regress)
      local files=("$here/regressions/$t"/*)
      [ -e "${files[0]}" ] || { echo "skip" >"$out/results/$t-$mode"; return; }
      rc=0
      : >"$log"
      for f in "${files[@]}"; do
        if ! ATTN_FUZZ_ORACLE=1 "$out/fuzz_$t" "${common[@]}" "$f" >>"$log" 2>&1; then
          rc=1
          echo "FAILED $f" >>"$log"
        fi
      done
      ;;
    oracle | plain)
      mkdir -p "$out/work/$t-$mode"
      local bound=(-max_total_time="$seconds")
      [ -n "$seconds" ] || bound=(-runs="$(runs_of "$t")" -seed="$seed")
      ATTN_FUZZ_ORACLE=$([ "$mode" = oracle ] && echo 1 || echo 0) "${fixed_addr[@]}" "$out/fuzz_$t" "${common[@]}" \
        "${bound[@]}" -artifact_prefix="$out/findings/$t-$mode-" \
        "$out/work/$t-$mode" "$here/corpus/$t" >"$log" 2>&1 || rc=$?
      ;;
  esac
  echo "$rc" >"$out/results/$t-$mode"
}

for t in "${targets[@]}"; do
  for mode in regress oracle plain; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
    run "$t" "$mode" &
  done
done
wait

# ---- summary
status=0
for t in "${targets[@]}"; do
  for mode in regress oracle plain; do
    r=$(cat "$out/results/$t-$mode" 2>/dev/null || echo missing)
    log="$out/logs/$t-$mode.log"
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" 2>/dev/null | grep -o '[0-9]*$' | tail -1)
    case $r in
      0) printf 'fuzz: %-10s %-7s ok%s\n' "$t" "$mode" "${execs:+ ($execs runs)}" ;;
      skip) printf 'fuzz: %-10s %-7s no saved inputs\n' "$t" "$mode" ;;
      *)
        status=1
        printf 'fuzz: %-10s %-7s FINDING (exit %s); log %s\n' "$t" "$mode" "$r" "$log"
        grep -E '==attnlab-fuzz==|runtime error:|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY:|^FAILED |Test unit written to' "$log" |
          head -n 12 | sed 's/^/      /'
        ;;
    esac
  done
done
if [ $status != 0 ]; then
  echo "fuzz: findings above; inputs in $out/findings/ (rerun one: ATTN_FUZZ_ORACLE=1 $out/fuzz_<target> <file>)"
fi
exit $status

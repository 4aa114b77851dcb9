#!/usr/bin/env bash
# Fuzzes rlpp's parsers of untrusted input with libFuzzer (clang++ -fsanitize=fuzzer,address,undefined).
# Builds fuzz/ (a CMake project of its own) into $BUILD, runs each target for a fixed budget from the
# committed corpus fuzz/corpus/<target>/, and prints executions, coverage and findings per target.
#
#   scripts/fuzz.sh [seconds per target (default 120)] [target ...]   (default: all five)
#   env: BUILD (default build-fuzz), CXX (default clang++-14, else clang++), JOBS (build jobs, default 2),
#        FUZZ_NO_BUILD=1 (skip the build), FUZZ_FORK=0 (one process: stops at the first finding, but
#        spends no time starting jobs, which matters for targets that load LibTorch on a busy machine)
#
# The grown corpus stays in $BUILD/corpus/<target>/ (fuzz/corpus/ is only read); findings (crash-*,
# leak-*, oom-*, timeout-*: the inputs) go to $BUILD/findings/<target>/, the full log to
# $BUILD/logs/<target>.log. Fork mode (-fork=1) goes on after a finding until the budget is spent.
# Needs clang and its runtimes: scripts/setup-deps.sh installs clang-14 and libclang-rt-14-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-120}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(recipe safetensors_header tokenizer_json chat_request game_file)
BUILD=${BUILD:-build-fuzz}
JOBS=${JOBS:-2}
if [ -z "${CXX:-}" ]; then
  if command -v clang++-14 > /dev/null; then CXX=clang++-14; else CXX=clang++; fi
fi
command -v "$CXX" > /dev/null || { echo "fuzz: $CXX not found (scripts/setup-deps.sh installs clang-14)" >&2; exit 2; }

if [ -z "${FUZZ_NO_BUILD:-}" ]; then  # FUZZ_NO_BUILD=1: run the fuzzers already built
  CXX=$CXX cmake -S fuzz -B "$BUILD" -G Ninja > /dev/null
  cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]/#/fuzz_}"
fi

# Inputs up to 64 KiB: enough for every structure the parsers read, small enough to stay fast.
max_len=65536
printf '%-20s %8s %12s %10s %8s %8s %9s\n' target budget_s executions exec/s cov ft findings
for t in "${targets[@]}"; do
  mkdir -p "$BUILD/corpus/$t" "$BUILD/findings/$t" "$BUILD/logs"
  log="$BUILD/logs/$t.log"
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=("-dict=fuzz/dict/$t.dict")
  mode=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  [ "${FUZZ_FORK:-1}" = 0 ] && mode=(-print_final_stats=1)
  "$BUILD/fuzz_$t" "${mode[@]}" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=$max_len \
    -artifact_prefix="$BUILD/findings/$t/" "${dict[@]}" "$BUILD/corpus/$t" "fuzz/corpus/$t" > "$log" 2>&1 || true
  # status lines: "#<execs>: cov: C ft: F corp: N exec/s E ..." (fork mode), "#<execs>\t<event> cov: C
  # ft: F ... exec/s: E ..." (one process)
  last=$(grep -E '^#[0-9]+:?[[:space:]].*cov:' "$log" | tail -1 || true)
  execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<< "$last")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<< "$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<< "$last")
  rate=$(sed -nE 's/.* exec\/s:? ([0-9]+).*/\1/p' <<< "$last")
  found=$(find "$BUILD/findings/$t" -type f | wc -l)
  printf '%-20s %8s %12s %10s %8s %8s %9s\n' "$t" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$found"
done
echo "findings: $BUILD/findings/<target>/ (reproduce: $BUILD/fuzz_<target> <file>); logs: $BUILD/logs/"

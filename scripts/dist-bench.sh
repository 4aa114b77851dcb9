#!/usr/bin/env bash
# Data-parallel throughput: one process against `rlpp launch` with 2 ranks over the same global
# batch (the single process steps twice the copies), CartPole-v1 and Hopper-v4 PPO. Prints
# steps/s (wall clock of the whole command, start-up included, and the trainer's own SPS of the
# last update) and the share of the ranks' update time spent in collectives (perf/comm_share).
#   scripts/dist-bench.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
out=${BENCH_OUT:-$build/bench-results}/dist
mkdir -p "$out"
rlpp="$build/bin/rlpp"
port=$((29700 + RANDOM % 200))

report() {  # run_dir label start end
  python3 - "$@" <<'PY'
import json, sys
run, label, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
rows = [json.loads(l) for l in open(run + "/metrics.jsonl")]
steps = rows[-1]["step"]
share = [r["perf/comm_share"] for r in rows[1:] if "perf/comm_share" in r]
comm = f"{100 * sum(share) / len(share):.0f}%" if share else "-"
print(f"  {label:34s} {steps:>8d} steps {steps / (end - start):>10,.0f} steps/s wall "
      f"{rows[-1]['charts/SPS']:>10,.0f} SPS   comm share {comm}")
PY
}

bench() {  # label recipe steps per_rank_envs
  local label=$1 recipe=$2 steps=$3 n=$4
  local one="$out/$label-1" two="$out/$label-2"
  rm -rf "$one" "$two"
  local t0 t1
  t0=$(date +%s.%N)
  "$rlpp" train "$recipe" --quiet --out "$one" --set run.total_steps="$steps" --set env.num_envs=$((2 * n))
  t1=$(date +%s.%N)
  report "$one" "$label, 1 process x $((2 * n)) copies" "$t0" "$t1"
  t0=$(date +%s.%N)
  "$rlpp" launch --nproc-per-node 2 --master-port "$port" -- train "$recipe" --quiet --out "$two" \
    --set run.total_steps="$steps" --set env.num_envs="$n" 2>/dev/null
  t1=$(date +%s.%N)
  report "$two" "$label, 2 ranks x $n copies" "$t0" "$t1"
}

echo "== data-parallel PPO: 1 process vs 2 ranks (Gloo, loopback), same global batch"
bench cartpole configs/cartpole_ppo.toml 204800 4
if "$rlpp" list envs 2>/dev/null | grep -q Hopper; then
  bench hopper configs/hopper_ppo.toml 40960 1
fi

#!/usr/bin/env bash
# rlpp's benchmarks: micro-benchmarks (Google Benchmark) and end-to-end PPO throughput.
# Prints a short table; the numbers that matter go to docs/results.md with this command.
set -euo pipefail
build=${1:-build}
out=${BENCH_OUT:-$build/bench-results}
mkdir -p "$out"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

echo "== micro-benchmarks (env-only, rollout with policy, PPO minibatch update, objectives)"
"$build/bin/rlpp_bench" --benchmark_min_time=0.3 --benchmark_out="$out/micro.json" \
  --benchmark_out_format=json --benchmark_counters_tabular=true

echo "== objectives + backward, B=256 x L=4096 tokens, relative to ppo_clip"
python3 - "$out/micro.json" <<'PY'
import json, sys
rows = {b["name"].split("/")[1]: b for b in json.load(open(sys.argv[1]))["benchmarks"]
        if b["name"].startswith("Objective/")}
base = rows["ppo_clip"]["real_time"]
print(f"  {'objective':10s} {'ms':>8s} {'x ppo_clip':>10s} {'peak MB':>8s}")
for name, b in sorted(rows.items(), key=lambda kv: kv[1]["real_time"]):
    print(f"  {name:10s} {b['real_time']:8.1f} {b['real_time'] / base:10.2f} {b['peak_MB']:8.0f}")
PY

echo "== end-to-end PPO, CartPole-v1, CleanRL defaults (4 envs x 128 steps, 500k steps)"
for backend in fast torch; do
  run="$out/e2e-cartpole-$backend"
  rm -rf "$run"
  start=$(date +%s.%N)
  "$build/bin/rlpp" train configs/cartpole_ppo.toml --quiet --out "$run" --set policy.backend="\"$backend\""
  end=$(date +%s.%N)
  python3 - "$run" "$start" "$end" "$backend" <<'PY'
import json, sys
run, start, end, backend = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rows = [json.loads(l) for l in open(run + "/metrics.jsonl")]
steps = rows[-1]["step"]
print(f"  backend {backend:5s}: {steps} steps in {end - start:.1f} s wall = {steps / (end - start):,.0f} steps/s "
      f"(trainer SPS {rows[-1]['charts/SPS']:,.0f}); return_mean_100 {rows[-1]['charts/return_mean_100']:.1f}")
PY
done
bash scripts/dist-bench.sh "$build"
bash scripts/offpolicy-bench.sh "$build"
bash scripts/dqn-bench.sh "$build"

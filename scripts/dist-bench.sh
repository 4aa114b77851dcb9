#!/usr/bin/env bash
# Data-parallel throughput: one process against `rlpp launch` with 2 ranks over the same global
# batch (the single process steps twice the copies), CartPole-v1 and Hopper-v4 PPO. Prints
# steps/s (wall clock of the whole command, start-up included, and the trainer's own SPS of the
# last update) and the share of the ranks' update time spent in collectives (perf/comm_share).
# Then the RL step of the demo (rlvr, 8 prompts x 8 responses, from a short SFT of the demo's
# model): RL steps/s and responses/s of one process (1 and 2 torch threads) and of 2 ranks.
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

lm_report() {  # run_dir label
  python3 - "$@" <<'PY'
import json, sys
run, label = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(run + "/metrics.jsonl")]
steps = [r for r in rows if "perf/step_seconds" in r][1:]  # the first step warms up
secs = sum(r["perf/step_seconds"] for r in steps)
resp = sum(r["rl/generated_responses"] for r in steps)
share = [r["perf/comm_share"] for r in steps if "perf/comm_share" in r]
comm = f"{100 * sum(share) / len(share):.0f}%" if share else "-"
print(f"  {label:34s} {len(steps) / secs:>8.3f} RL steps/s {resp / secs:>8.1f} responses/s   comm share {comm}")
PY
}

echo "== data-parallel rlvr (the demo's RL step): 1 process vs 2 ranks, same global batch"
sft="$out/lm-sft"
if [ ! -f "$sft/model/config.json" ]; then
  "$rlpp" train configs/lm_arithmetic.toml --quiet --out "$sft" --set run.total_steps=60
fi
rl=(configs/rlvr_arithmetic.toml --quiet --set model.from=\"$sft/model\" --set run.total_steps=9
    --set rl.accuracy_examples=0 --set rl.eval_every=0)
for threads in 1 2; do
  rm -rf "$out/rlvr-1-$threads"
  "$rlpp" train "${rl[@]}" --set run.torch_threads=$threads --out "$out/rlvr-1-$threads"
  lm_report "$out/rlvr-1-$threads" "rlvr, 1 process, $threads thread(s)"
done
rm -rf "$out/rlvr-2"
"$rlpp" launch --nproc-per-node 2 --master-port "$port" -- train "${rl[@]}" --out "$out/rlvr-2" 2>/dev/null
lm_report "$out/rlvr-2" "rlvr, 2 ranks x 1 thread"

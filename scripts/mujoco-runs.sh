#!/usr/bin/env bash
# MuJoCo learning comparisons for docs/results.md: for each task, the PPO recipe and the PROPS
# recipe over several seeds (one run at a time, niced; PPO runs through the props trainer with
# one batch and no behaviour policy, i.e. PPO with the recipe's CleanRL settings, so that it logs
# the same sampling-error metric), then per recipe a summary line (final
# return_mean_100 = mean stochastic training return of the last 100 episodes, and the last
# sampling error) and plots of return and sampling error vs steps.
# Usage: scripts/mujoco-runs.sh BUILD_DIR OUT_DIR "TASKS" "SEEDS" [TOTAL_STEPS]
#   e.g. scripts/mujoco-runs.sh build runs/mujoco "hopper swimmer" "1 2 3" 1000000
set -euo pipefail
build=${1:-build}
out=${2:-runs/mujoco}
tasks=${3:-"hopper half_cheetah walker2d swimmer ant inverted_pendulum"}
seeds=${4:-"1 2 3"}
steps=${5:-1000000}
mkdir -p "$out"
for task in $tasks; do
  task_dirs=()
  for algo in ppo props; do
    recipe="${task}_${algo}"
    dirs=()
    for s in $seeds; do
      d="$out/$recipe-s$s"
      extra=()
      if [ $algo = ppo ]; then
        extra=(--set 'run.algorithm="props"' --set props.behavior=false --set props.buffer_batches=1)
      fi
      rm -rf "$d"
      nice -n 10 "$build/bin/rlpp" train "configs/$recipe.toml" --quiet --set run.seed=$s \
        --set run.total_steps=$steps "${extra[@]}" --out "$d"
      dirs+=("$d")
      task_dirs+=("$d")
    done
    "$build/bin/rlpp" plot "${dirs[@]}" --metric charts/return_mean_100 --smooth 1 \
      --out "$out/$recipe.png" --title "$recipe: training return (last 100 episodes)" >/dev/null || true
    python3 - "${dirs[@]}" <<'PY'
import json, math, statistics, sys
finals, errs, sps = [], [], []
for d in sys.argv[1:]:
    rows = [json.loads(l) for l in open(d + "/metrics.jsonl")]
    finals.append(rows[-1]["charts/return_mean_100"])
    sps.append(rows[-1]["charts/SPS"])
    e = [r.get("props/sampling_error") for r in rows if r.get("props/sampling_error") is not None]
    e = [x for x in e if not math.isnan(x)]
    if e: errs.append(statistics.mean(e))
name = sys.argv[1].rsplit("/", 1)[-1].rsplit("-s", 1)[0]
line = (f"{name:28s} steps {rows[-1]['step']:>8d}  final return_mean_100: "
        + ", ".join(f"{f:.1f}" for f in finals)
        + f"  mean {statistics.mean(finals):.1f} ± {statistics.pstdev(finals):.1f}  SPS ~{statistics.mean(sps):,.0f}")
if errs: line += f"  mean sampling error {statistics.mean(errs):.4f}"
print(line)
PY
  done
  "$build/bin/rlpp" plot "${task_dirs[@]}" --metric props/sampling_error --out "$out/${task}_sampling_error.png" \
    --title "$task: sampling error KL(pi_D||pi_theta), PPO then PROPS" >/dev/null || true
done

#!/usr/bin/env bash
# MuJoCo learning comparisons for docs/results.md: for each task and seed, the runs of ALGOS
# (default "props ppo"), JOBS runs at a time (each run single-threaded), then a deterministic
# evaluation of each final policy (`rlpp eval`, 20 episodes as the PROPS paper reports, mean action):
#   ppo         configs/TASK_ppo.toml (CleanRL's settings) through the props trainer with one
#               batch and no behaviour policy, so that it logs the same sampling-error metric;
#   props       configs/TASK_props.toml (the PROPS paper's settings, b = 2 batches);
#   ppo_buffer  the PROPS recipe with props.behavior = false (PPO-buffer: same recipe and buffer,
#               data collected by the target policy): the controlled comparison with props.
#
# SETS="--set key=value ..." adds recipe overrides to every run.
# Usage: [ALGOS="props ppo ppo_buffer"] [SETS=...] scripts/mujoco-runs.sh run BUILD_DIR OUT_DIR "TASKS" "SEEDS" [TOTAL_STEPS] [JOBS]
#        [ALGOS=...] scripts/mujoco-runs.sh summary BUILD_DIR OUT_DIR "TASKS" "SEEDS"
#   e.g. scripts/mujoco-runs.sh run build runs/mujoco "hopper swimmer" "1 2 3" 1000000 2
# `run` skips runs whose eval.txt exists (an interrupted set continues where it stopped).
# `summary` prints one line per task and recipe (final return_mean_100 = mean stochastic training
# return of the last 100 episodes; deterministic evaluation; mean sampling error) and writes
# plots of return and sampling error vs steps.
set -euo pipefail
mode=${1:-}
if [ "$mode" != run ] && [ "$mode" != summary ]; then
  echo "usage: scripts/mujoco-runs.sh run|summary BUILD_DIR OUT_DIR TASKS SEEDS [STEPS] [JOBS]" >&2
  exit 2
fi
build=${2:-build}
out=${3:-runs/mujoco}
tasks=${4:-"hopper half_cheetah walker2d swimmer inverted_pendulum ant"}
seeds=${5:-"1 2 3"}
steps=${6:-1000000}
jobs=${7:-2}
algos=${ALGOS:-"props ppo"}
mkdir -p "$out"

one_run() {  # TASK ALGO SEED
  local task=$1 algo=$2 s=$3 d="$out/$1_$2-s$3"
  [ -f "$d/eval.txt" ] && return 0
  local extra=() recipe="configs/${task}_props.toml"
  case "$algo" in
    ppo) recipe="configs/${task}_ppo.toml"
         extra=(--set 'run.algorithm="props"' --set props.behavior=false --set props.buffer_batches=1) ;;
    ppo_buffer) extra=(--set props.behavior=false) ;;
  esac
  local sets=()
  read -ra sets <<< "${SETS:-}"
  rm -rf "$d"
  "$build/bin/rlpp" train "$recipe" --quiet --set run.seed="$s" \
    --set run.total_steps="$steps" --set run.torch_threads=1 "${extra[@]}" "${sets[@]}" --out "$d"
  "$build/bin/rlpp" eval "$d" --episodes 20 --seed 1000 > "$d/eval.tmp" && mv "$d/eval.tmp" "$d/eval.txt"
  echo "done $d: $(cat "$d/eval.txt")"
}

if [ "$mode" = run ]; then
  export -f one_run
  export build out steps
  for task in $tasks; do
    for s in $seeds; do
      for algo in $algos; do echo "$task $algo $s"; done
    done
  done | xargs -P "$jobs" -L 1 bash -c 'one_run "$@"' _
  exit 0
fi

for task in $tasks; do
  task_dirs=()
  for algo in $algos; do
    dirs=()
    for s in $seeds; do
      d="$out/${task}_${algo}-s$s"
      [ -f "$d/metrics.jsonl" ] && dirs+=("$d") && task_dirs+=("$d")
    done
    [ ${#dirs[@]} -eq 0 ] && continue
    python3 - "${dirs[@]}" <<'PY'
import json, math, os, statistics, sys
finals, evals, errs, sps, steps = [], [], [], [], []
for d in sys.argv[1:]:
    rows = [json.loads(l) for l in open(d + "/metrics.jsonl")]
    finals.append(rows[-1]["charts/return_mean_100"])
    sps.append(rows[-1]["charts/SPS"])
    steps.append(rows[-1]["step"])
    if os.path.exists(d + "/eval.txt"):
        evals.append(float(open(d + "/eval.txt").read().split("mean_return")[1].split()[0]))
    e = [r.get("props/sampling_error") for r in rows]
    e = [x for x in e if x is not None and not math.isnan(x)]
    if e: errs.append(statistics.mean(e))
def ms(xs): return f"{statistics.mean(xs):.1f} ± {statistics.pstdev(xs):.1f} ({', '.join(f'{x:.0f}' for x in xs)})"
name = sys.argv[1].rsplit("/", 1)[-1].rsplit("-s", 1)[0]
line = f"{name:26s} steps {min(steps)}–{max(steps)}  train {ms(finals)}"
if evals: line += f"  eval {ms(evals)}"
if errs: line += f"  sampling error {statistics.mean(errs):.4f} ({', '.join(f'{x:.4f}' for x in errs)})"
line += f"  SPS ~{statistics.mean(sps):,.0f}"
print(line)
PY
    "$build/bin/rlpp" plot "${dirs[@]}" --metric charts/return_mean_100 --smooth 1 --xlabel "environment steps" \
      --out "$out/${task}_${algo}.png" --title "${task}_${algo}: training return (last 100 episodes)" >/dev/null || true
  done
  [ ${#task_dirs[@]} -eq 0 ] && continue
  "$build/bin/rlpp" plot "${task_dirs[@]}" --metric charts/return_mean_100 --smooth 1 --xlabel "environment steps" \
    --out "$out/${task}_return.png" --title "$task: training return ($algos)" >/dev/null || true
  "$build/bin/rlpp" plot "${task_dirs[@]}" --metric props/sampling_error --smooth 5 --xlabel "environment steps" \
    --out "$out/${task}_sampling_error.png" --title "$task: sampling error KL(pi_D||pi_theta) ($algos)" >/dev/null || true
done

#!/usr/bin/env bash
# The offline table of docs/results.md ("The offline table: Hopper, HalfCheetah, Walker2d, medium and
# medium-replay"): D4RL-style medium and medium-replay datasets made by rlpp, then every offline
# algorithm on each of them, one run at a time (single-threaded runs).
#
#   datasets  For each task, a PPO run of the shipped recipe (configs/TASK_ppo.toml, seed 1) stopped
#             where its sampled policy scores about a third to a half of the expert reference
#             (Hopper 100k steps, HalfCheetah 200k, Walker2d 300k; D4RL's "medium" is a policy
#             early-stopped at about a third of its expert), every rollout of it recorded
#             ([record] path: TASK-medium-replay.hdf5, D4RL's medium-replay is the replay buffer up
#             to the medium policy), then 100k steps of that policy's sampled actions
#             (TASK-medium.hdf5, `rlpp dataset collect`).
#   runs      ALGOS on every dataset and seed, STEPS gradient steps (evaluation, 10 episodes, every
#             STEPS/2), each with its recipe configs/offline_hopper_ALGO.toml (the papers' settings)
#             and env.name / dataset.path set for the task. A run whose last evaluation is at STEPS
#             is skipped, so an interrupted set continues. TASKS and KINDS narrow the set (default:
#             every task, medium and medium-replay), so two lanes can share OUT_DIR.
#
# Usage: scripts/offline-table.sh datasets BUILD_DIR DATA_DIR
#        [ALGOS="bc td3_bc iql prdc odice a2pr cql"] [STEPS=5000] [TASKS="hopper half_cheetah walker2d"]
#        [KINDS="medium medium-replay"] scripts/offline-table.sh runs BUILD_DIR DATA_DIR OUT_DIR "SEEDS"
#        python3 scripts/offline-table.py OUT_DIR
#   e.g. scripts/offline-table.sh datasets build runs/offline-data/table
#        ALGOS="bc td3_bc iql" scripts/offline-table.sh runs build runs/offline-data/table runs/offline-table "1 2 3"
# CQL runs with its fast critic backend (cql.backend = "fast", tested equal to the LibTorch one).
#
# Both modes pin the CPU kernels (OpenBLAS's Haswell kernels, ATen's AVX2 ones) unless the caller
# sets OPENBLAS_CORETYPE / ATEN_CPU_CAPABILITY: the kernels picked for a CPU's own instruction set
# round differently and a PPO run amplifies the last bits, so unpinned datasets differ between CPU
# kinds (docs/datasets.md, "Reproducing a dataset on another CPU").
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell} ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY:-avx2}
set -euo pipefail
mode=${1:-}
if [ "$mode" != datasets ] && [ "$mode" != runs ]; then
  echo "usage: scripts/offline-table.sh datasets|runs BUILD_DIR DATA_DIR [OUT_DIR SEEDS]" >&2
  exit 2
fi
rlpp=${2:-build}/bin/rlpp
data=${3:-runs/offline-data/table}
tasks="hopper half_cheetah walker2d"
declare -A ENV=([hopper]=Hopper-v4 [half_cheetah]=HalfCheetah-v4 [walker2d]=Walker2d-v4)
declare -A MEDIUM_STEPS=([hopper]=100000 [half_cheetah]=200000 [walker2d]=300000)

if [ "$mode" = datasets ]; then
  mkdir -p "$data"
  for t in $tasks; do
    run=$data/$t-ppo-${MEDIUM_STEPS[$t]}
    "$rlpp" train "configs/${t}_ppo.toml" --set run.total_steps="${MEDIUM_STEPS[$t]}" \
      --set "record.path=\"$data/$t-medium-replay.hdf5\"" --out "$run"
    "$rlpp" dataset collect --policy "$run" --steps 100000 --seed 1 --out "$data/$t-medium.hdf5"
    for k in medium medium-replay; do
      echo "== $t-$k"
      "$rlpp" dataset info "$data/$t-$k.hdf5"
    done
  done
  exit 0
fi

out=${4:-runs/offline-table}
seeds=${5:-"1 2 3"}
mkdir -p "$out"
algos=${ALGOS:-"bc td3_bc iql prdc odice a2pr cql"}
steps=${STEPS:-5000}
run_tasks=${TASKS:-$tasks}
kinds=${KINDS:-"medium medium-replay"}
for s in $seeds; do
  for a in $algos; do
    extra=()
    [ "$a" = cql ] && extra=(--set 'cql.backend="fast"')
    for t in $run_tasks; do
      case " $tasks " in *" $t "*) ;; *) echo "offline-table.sh: unknown task '$t' (tasks: $tasks)" >&2; exit 2 ;; esac
      for k in $kinds; do
        d=$out/$t-$k-$a-s$s
        if [ -f "$d/metrics.jsonl" ] && tail -1 "$d/metrics.jsonl" | grep -q "\"step\":$steps,.*eval/score"; then
          continue
        fi
        rm -rf "$d"
        echo "== $(date +%T) $d"
        "$rlpp" train "configs/offline_hopper_$a.toml" --set run.seed="$s" "${extra[@]}" \
          --set "env.name=\"${ENV[$t]}\"" --set "dataset.path=\"$data/$t-$k.hdf5\"" \
          --set run.total_steps="$steps" --set offline.gradient_steps=$((steps / 2)) \
          --set offline.eval_every=1 --set offline.eval_episodes=10 --set run.checkpoint_every=0 \
          --out "$d" > "$d.log" 2>&1 || { echo "failed: $d (log: $d.log)" >&2; exit 1; }
      done
    done
  done
done

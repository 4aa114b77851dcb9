#!/usr/bin/env bash
# The 1M-step SAC / TD3 table of docs/results.md ("SAC and TD3 at 1M steps against CleanRL"): each
# run is configs/hopper_ALGO.toml (CleanRL's sac_continuous_action.py / td3_continuous_action.py
# settings) with env.name set for the task, the fast backend (tested equal to the LibTorch one) and
# one thread; then a deterministic evaluation of the final policy (`rlpp eval`, 10 episodes).
#
#   run      ALGOS ("td3 sac") on every task and seed, JOBS runs at a time. A run whose eval.txt
#            exists is skipped, and a run stopped part way (Ctrl-C, SIGTERM, a killed process)
#            continues from its newest checkpoint (every 50k steps) with `rlpp resume`, so a set
#            can be spread over several sittings.
#   export   copies each run's curve, one metrics row every 10k steps (step, training return of the
#            last 100 episodes, episodes, SPS, mean Q1 value, SAC's alpha), its eval.txt and its
#            provenance.jsonl (the commit of the binary; builds before it wrote none) to
#            DEST/ALGO-TASK-sSEED/, with the machine and the checkout's commit in
#            DEST/ALGO-TASK-sSEED/machine.txt (written by the first export only). The table is made
#            from DEST, so runs made on different days (each 1M-step run is 2-3 CPU hours here) add
#            up there. A run that
#            did not finish is exported too, as far as it went.
#   summary  the markdown table (python3 scripts/offpolicy-table.py DEST) and a plot per task
#            (docs/images/offpolicy_TASK_return.png).
#
# Usage: [ALGOS="td3 sac"] scripts/offpolicy-table.sh run BUILD_DIR OUT_DIR "TASKS" "SEEDS" [STEPS] [JOBS]
#        scripts/offpolicy-table.sh export BUILD_DIR OUT_DIR [DEST]
#        scripts/offpolicy-table.sh summary BUILD_DIR [DEST]
#   e.g. ALGOS=td3 scripts/offpolicy-table.sh run build runs/offpolicy "hopper half_cheetah" 1 1000000 2
#        scripts/offpolicy-table.sh export build runs/offpolicy
#        scripts/offpolicy-table.sh summary build
# Tasks: hopper, half_cheetah, walker2d. Runs pin the CPU kernels as scripts/offline-table.sh does
# (OPENBLAS_CORETYPE=Haswell, ATEN_CPU_CAPABILITY=avx2 unless set; docs/datasets.md), so a run can be
# remade on another x86-64 machine; each run records the setting in kernels.txt.
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell} ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY:-avx2}
set -euo pipefail
mode=${1:-}
case "$mode" in run|export|summary) ;; *)
  echo "usage: scripts/offpolicy-table.sh run|export|summary BUILD_DIR ..." >&2; exit 2 ;;
esac
build=${2:-build}
declare -A ENV=([hopper]=Hopper-v4 [half_cheetah]=HalfCheetah-v4 [walker2d]=Walker2d-v4)

if [ "$mode" = run ]; then
  out=${3:-runs/offpolicy}
  tasks=${4:-"hopper half_cheetah walker2d"}
  seeds=${5:-"1 2 3"}
  steps=${6:-1000000}
  jobs=${7:-2}
  algos=${ALGOS:-"td3 sac"}
  for t in $tasks; do
    [ -n "${ENV[$t]:-}" ] || { echo "offpolicy-table.sh: unknown task '$t' (hopper half_cheetah walker2d)" >&2; exit 2; }
  done
  for a in $algos; do
    case "$a" in td3|sac) ;; *) echo "offpolicy-table.sh: unknown algorithm '$a' (td3 sac)" >&2; exit 2 ;; esac
  done
  mkdir -p "$out"
  one_run() {  # ALGO TASK ENV_ID SEED
    local a=$1 t=$2 env_id=$3 s=$4 d="$out/$1-$2-s$4"
    [ -f "$d/eval.txt" ] && return 0
    if compgen -G "$d/checkpoints/*" > /dev/null; then
      # an interrupted run continues from its newest checkpoint (resume is exact: the same run)
      echo "== $(date +%T) resume $d"
      "$build/bin/rlpp" resume "$d" --quiet >> "$d.log" 2>&1 || { echo "failed: $d (log: $d.log)" >&2; return 1; }
    else
      rm -rf "$d"
      mkdir -p "$d"
      echo "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE ATEN_CPU_CAPABILITY=$ATEN_CPU_CAPABILITY" > "$d/kernels.txt"
      echo "== $(date +%T) start $d"
      "$build/bin/rlpp" train "configs/hopper_$a.toml" --quiet --set run.seed="$s" \
        --set "env.name=\"$env_id\"" --set "$a.backend=\"fast\"" --set run.torch_threads=1 \
        --set run.total_steps="$steps" --out "$d" > "$d.log" 2>&1 || { echo "failed: $d (log: $d.log)" >&2; return 1; }
    fi
    # Ctrl-C / SIGTERM also exit 0 (after a checkpoint): only a run that reached its last step is
    # evaluated, so a stopped one is resumed next time instead of being taken as done
    local last
    last=$(tail -n 1 "$d/metrics.jsonl" 2>/dev/null | python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["step"])' 2>/dev/null || echo 0)
    if [ "$last" -lt "$steps" ]; then
      echo "== $(date +%T) stopped $d at step $last of $steps (run the script again to continue)"
      return 0
    fi
    "$build/bin/rlpp" eval "$d" --episodes 10 --seed 12345 > "$d/eval.tmp" && mv "$d/eval.tmp" "$d/eval.txt"
    echo "== $(date +%T) done $d: $(cat "$d/eval.txt")"
  }
  export -f one_run
  export build out steps
  for s in $seeds; do
    for t in $tasks; do
      for a in $algos; do echo "$a $t ${ENV[$t]} $s"; done
    done
  done | xargs -P "$jobs" -L 1 bash -c 'one_run "$@"' _
  exit 0
fi

if [ "$mode" = export ]; then
  out=${3:-runs/offpolicy}
  dest=${4:-docs/data/offpolicy-1m}
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
  for d in "$out"/*-s[0-9]*; do
    [ -f "$d/metrics.jsonl" ] || continue
    name=$(basename "$d")
    mkdir -p "$dest/$name"
    python3 - "$d/metrics.jsonl" "$dest/$name/metrics.jsonl" <<'PY'
import json, sys
FIELDS = ("step", "charts/return_mean_100", "charts/episodes", "charts/SPS", "losses/qf1_values", "losses/alpha")
rows = [json.loads(line) for line in open(sys.argv[1])]
keep = [r for r in rows if r["step"] % 10000 == 0 or r is rows[-1]]
with open(sys.argv[2], "w") as f:
    for r in keep:
        f.write(json.dumps({k: r[k] for k in FIELDS if k in r}) + "\n")
PY
    for f in eval.txt kernels.txt provenance.jsonl; do
      [ -f "$d/$f" ] && cp "$d/$f" "$dest/$name/$f"
    done
    # the first export's stamp stays: a later export of the same run does not restamp it
    [ -f "$dest/$name/machine.txt" ] ||
      printf 'exported %s at commit %s\ncpu %s, %s cores\n' "$(date -u +%F)" "$commit" "$cpu" "$(nproc)" \
        > "$dest/$name/machine.txt"
    echo "exported $d -> $dest/$name ($(wc -l < "$dest/$name/metrics.jsonl") rows)"
  done
  exit 0
fi

dest=${3:-docs/data/offpolicy-1m}
python3 scripts/offpolicy-table.py "$dest"
for t in hopper half_cheetah walker2d; do
  dirs=("$dest"/*-"$t"-s[0-9]*)
  [ -d "${dirs[0]}" ] || continue
  "$build/bin/rlpp" plot "${dirs[@]}" --metric charts/return_mean_100 --smooth 1 --xlabel "environment steps" \
    --out "docs/images/offpolicy_${t}_return.png" --title "${ENV[$t]}: SAC / TD3 training return (last 100 episodes)" >/dev/null
  echo "wrote docs/images/offpolicy_${t}_return.png"
done

#!/usr/bin/env bash
# Learning results for docs/results.md: every classic-control recipe over several seeds, then a
# summary (final mean training return of the last 100 episodes) and one plot per task.
# Usage: scripts/learning-runs.sh [BUILD_DIR] [OUT_DIR] [SEEDS]
set -euo pipefail
build=${1:-build}
out=${2:-runs/learning}
seeds=${3:-"1 2 3 4 5"}
mkdir -p "$out"
for recipe in cartpole_ppo acrobot_ppo pendulum_ppo mountaincar_ppo mountaincar_continuous_ppo; do
  dirs=()
  for s in $seeds; do
    d="$out/$recipe-s$s"
    rm -rf "$d"
    "$build/bin/rlpp" train "configs/$recipe.toml" --quiet --set run.seed=$s --out "$d"
    dirs+=("$d")
  done
  "$build/bin/rlpp" plot "${dirs[@]}" --metric charts/return_mean_100 --out "$out/$recipe.png" --title "$recipe: mean training return (last 100 episodes)" >/dev/null
  python3 - "${dirs[@]}" <<'PY'
import json, statistics, sys
finals, sps = [], []
for d in sys.argv[1:]:
    rows = [json.loads(l) for l in open(d + "/metrics.jsonl")]
    finals.append(rows[-1]["charts/return_mean_100"])
    sps.append(rows[-1]["charts/SPS"])
name = sys.argv[1].rsplit("/", 1)[-1].rsplit("-s", 1)[0]
print(f"{name:28s} steps {rows[-1]['step']:>7d}  final return_mean_100 per seed: "
      + ", ".join(f"{f:.1f}" for f in finals)
      + f"  mean {statistics.mean(finals):.1f} ± {statistics.pstdev(finals):.1f}  SPS ~{statistics.mean(sps):,.0f}")
PY
done

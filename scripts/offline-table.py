#!/usr/bin/env python3
"""Markdown table of the offline runs of scripts/offline-table.sh.

Usage: python3 scripts/offline-table.py OUT_DIR [STEPS]

One row per dataset, one column per algorithm: the D4RL-normalised score of the deterministic policy
at the last evaluation (STEPS gradient steps, default 5000; 10 episodes), mean ± sample std over the
seeds found, the seeds' values in brackets. Runs that did not reach STEPS are left out.
"""
import glob
import json
import os
import statistics
import sys

TASKS = ["hopper", "half_cheetah", "walker2d"]
DATASETS = ["medium", "medium-replay"]
ALGOS = ["bc", "td3_bc", "iql", "prdc", "odice", "a2pr", "cql"]


def final_scores(out, steps):
    """{(task, dataset, algo): {seed: score}} from OUT/TASK-DATASET-ALGO-sSEED/metrics.jsonl."""
    found = {}
    for d in glob.glob(os.path.join(out, "*-s*")):
        if not os.path.isdir(d):
            continue
        stem, seed = os.path.basename(d).rsplit("-s", 1)
        task, rest = stem.split("-", 1)
        dataset, algo = rest.rsplit("-", 1)
        rows = [json.loads(line) for line in open(os.path.join(d, "metrics.jsonl"))]
        evals = [r for r in rows if "eval/score" in r]
        if evals and evals[-1]["step"] == steps:
            found.setdefault((task, dataset, algo), {})[int(seed)] = evals[-1]["eval/score"]
    return found


def cell(by_seed):
    if not by_seed:
        return "–"
    values = [by_seed[s] for s in sorted(by_seed)]
    listed = ", ".join(f"{v:.1f}" for v in values)
    if len(values) == 1:
        return f"{values[0]:.1f} [seed {min(by_seed)}]"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f} [{listed}]"


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    found = final_scores(out, steps)
    algos = [a for a in ALGOS if any(k[2] == a for k in found)]
    print("| dataset | " + " | ".join(algos) + " |")
    print("| --- |" + " --- |" * len(algos))
    for task in TASKS:
        for dataset in DATASETS:
            cells = [cell(found.get((task, dataset, a), {})) for a in algos]
            print(f"| {task}-{dataset} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Markdown table of the offline runs of scripts/offline-table.sh.

Usage: python3 scripts/offline-table.py OUT_DIR [STEPS] [--scores CSV ...] [--write-scores CSV]

One row per dataset, one column per algorithm: the D4RL-normalised score of the deterministic policy
at the last evaluation (STEPS gradient steps, default 5000; 10 episodes), mean ± sample std over the
seeds found, the seeds' values in brackets. Runs that did not reach STEPS are left out.

--scores CSV adds recorded final scores (columns task,dataset,algo,seed,score, e.g.
docs/data/offline-table-5k-xeon.csv, the runs behind docs/results.md) to those found in OUT_DIR; a run
found in both must agree to the CSV's 0.1. --write-scores CSV writes every score used (recorded and
found) to CSV, so the table can be remade after OUT_DIR is gone.
"""
import argparse
import csv
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
        if not os.path.isdir(d) or not os.path.exists(os.path.join(d, "metrics.jsonl")):
            continue
        stem, seed = os.path.basename(d).rsplit("-s", 1)
        task, rest = stem.split("-", 1)
        dataset, algo = rest.rsplit("-", 1)
        rows = [json.loads(line) for line in open(os.path.join(d, "metrics.jsonl"))]
        evals = [r for r in rows if "eval/score" in r]
        if evals and evals[-1]["step"] == steps:
            found.setdefault((task, dataset, algo), {})[int(seed)] = evals[-1]["eval/score"]
    return found


def read_scores(path):
    """{(task, dataset, algo): {seed: score}} from a CSV of recorded scores; malformed rows are errors."""
    found = {}
    with open(path, newline="") as f:
        rows = [r for r in f if not r.startswith("#")]
    reader = csv.DictReader(rows)
    need = ["task", "dataset", "algo", "seed", "score"]
    if reader.fieldnames != need:
        raise ValueError(f"{path}: header must be {','.join(need)}, got {reader.fieldnames}")
    for n, r in enumerate(reader, start=2):
        if r["task"] not in TASKS or r["dataset"] not in DATASETS or r["algo"] not in ALGOS:
            raise ValueError(f"{path}:{n}: unknown task, dataset or algo in {r}")
        key = (r["task"], r["dataset"], r["algo"])
        seed = int(r["seed"])
        if seed in found.get(key, {}):
            raise ValueError(f"{path}:{n}: {key} seed {seed} listed twice")
        found.setdefault(key, {})[seed] = float(r["score"])
    return found


def merge(into, more, origin):
    for key, by_seed in more.items():
        for seed, score in by_seed.items():
            old = into.setdefault(key, {}).get(seed)
            if old is not None and abs(old - score) > 0.05 + 1e-9:
                raise ValueError(f"{origin}: {key} seed {seed} scores {score:.2f}, recorded {old:.2f}")
            into[key][seed] = score


def cell(by_seed):
    if not by_seed:
        return "–"
    values = [by_seed[s] for s in sorted(by_seed)]
    listed = ", ".join(f"{v:.1f}" for v in values)
    if len(values) == 1:
        return f"{values[0]:.1f} [seed {min(by_seed)}]"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f} [{listed}]"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out_dir")
    p.add_argument("steps", nargs="?", type=int, default=5000)
    p.add_argument("--scores", action="append", default=[], help="CSV of recorded scores (task,dataset,algo,seed,score)")
    p.add_argument("--write-scores", help="write every score used to this CSV")
    args = p.parse_args()
    try:
        scores = {}
        for path in args.scores:
            merge(scores, read_scores(path), path)
        merge(scores, final_scores(args.out_dir, args.steps), args.out_dir)
    except (OSError, ValueError) as e:
        print(f"offline-table.py: {e}", file=sys.stderr)
        sys.exit(2)
    if args.write_scores:
        with open(args.write_scores, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["task", "dataset", "algo", "seed", "score"])
            for (task, dataset, algo) in sorted(scores, key=lambda k: (TASKS.index(k[0]), DATASETS.index(k[1]), ALGOS.index(k[2]))):
                for seed in sorted(scores[(task, dataset, algo)]):
                    w.writerow([task, dataset, algo, seed, f"{scores[(task, dataset, algo)][seed]:.2f}"])
    algos = [a for a in ALGOS if any(k[2] == a for k in scores)]
    print("| dataset | " + " | ".join(algos) + " |")
    print("| --- |" + " --- |" * len(algos))
    for task in TASKS:
        for dataset in DATASETS:
            cells = [cell(scores.get((task, dataset, a), {})) for a in algos]
            print(f"| {task}-{dataset} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

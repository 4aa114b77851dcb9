#!/usr/bin/env python3
"""Markdown tables of the MuJoCo PPO / PPO-buffer / PROPS runs of scripts/mujoco-runs.sh.

Usage: python3 scripts/mujoco-table.py RUNS_DIR

Per task and method (rows and columns only where runs have finished), mean ± population std over the
seeds found: the final training return (charts/return_mean_100 of the last update), the
deterministic evaluation (eval.txt), the mean sampling error over all updates, the mean of
charts/return_mean_100 over the whole run (area under the training curve / length), the
deterministic evaluation next to the PROPS paper's, and the trainer SPS.
"""
import json
import math
import os
import statistics
import sys

TASKS = [("hopper", "Hopper-v4"), ("half_cheetah", "HalfCheetah-v4"), ("walker2d", "Walker2d-v4"),
         ("swimmer", "Swimmer-v4"), ("ant", "Ant-v4"), ("inverted_pendulum", "InvertedPendulum-v4")]
METHODS = [("ppo", "PPO"), ("ppo_buffer", "PPO-buffer"), ("props", "PROPS")]
# The PROPS paper (Corrado & Hanna, arXiv 2311.08290): deterministic evaluation over 20 episodes at
# about 1M steps, PPO / PPO-buffer / PROPS; it reports no InvertedPendulum number.
PAPER = {"hopper": (3121, 2975, 3181), "half_cheetah": (1968, 1865, 2432), "walker2d": (2534, 3071, 3395),
         "swimmer": (102, 103, 110), "ant": (2567, 3055, 2536)}


def finite(xs):
    return [x for x in xs if x is not None and not math.isnan(x)]


def load(root, task, method):
    """One dict per finished seed (a run directory holding eval.txt)."""
    out = []
    for seed in range(1, 11):
        d = f"{root}/{task}_{method}-s{seed}"
        if not os.path.exists(d + "/eval.txt"):
            continue
        rows = [json.loads(line) for line in open(d + "/metrics.jsonl")]
        text = open(d + "/eval.txt").read()
        out.append({
            "train": rows[-1]["charts/return_mean_100"],
            "eval": float(text.split("mean_return")[1].split()[0]),
            "err": statistics.mean(finite(r.get("props/sampling_error") for r in rows)),
            "auc": statistics.mean(finite(r.get("charts/return_mean_100") for r in rows)),
            "sps": rows[-1]["charts/SPS"],
        })
    return out


def cell(runs, key, fmt="{:,.0f}"):
    xs = [r[key] for r in runs]
    if not xs:
        return "—"
    text = f"{fmt.format(statistics.mean(xs))} ± {fmt.format(statistics.pstdev(xs))}"
    return text + (f" (n = {len(xs)})" if len(xs) < 3 else "")


def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        sys.exit(2)
    root = sys.argv[1]
    data = {(t, m): load(root, t, m) for t, _ in TASKS for m, _ in METHODS}
    methods = [(m, name) for m, name in METHODS if any(data[(t, m)] for t, _ in TASKS)]
    tasks = [(t, title) for t, title in TASKS if any(data[(t, m)] for m, _ in METHODS)]
    table(["task"] + [f"{name} {k}" for _, name in methods for k in ("train", "eval")],
          [[title] + [cell(data[(t, m)], k) for m, _ in methods for k in ("train", "eval")] for t, title in tasks])
    table(["task"] + [f"{name} sampling error" for _, name in methods] + [f"{name} mean return" for _, name in methods],
          [[title] + [cell(data[(t, m)], "err", "{:.4f}") for m, _ in methods] +
           [cell(data[(t, m)], "auc") for m, _ in methods] for t, title in tasks])
    table(["task"] + [f"{name} eval (paper / here)" for _, name in METHODS],
          [[title] + [f"{PAPER[t][i]:,} / {cell(data[(t, m)], 'eval')}" if t in PAPER else f"— / {cell(data[(t, m)], 'eval')}"
                      for i, (m, _) in enumerate(METHODS)] for t, title in tasks])
    table(["task"] + [f"{name} SPS" for _, name in methods],
          [[title] + [cell(data[(t, m)], "sps") for m, _ in methods] for t, title in tasks])


if __name__ == "__main__":
    main()

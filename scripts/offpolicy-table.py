#!/usr/bin/env python3
"""Markdown table of the 1M-step SAC / TD3 runs exported by scripts/offpolicy-table.sh.

Usage: python3 scripts/offpolicy-table.py [DEST]   (default docs/data/offpolicy-1m)

One row per task and algorithm with the runs found in DEST/ALGO-TASK-sSEED/: the environment steps
each run reached, the training return of the last 100 episodes at its last row (mean ± population
std over the seeds), the deterministic evaluation of the final policy (10 episodes each, eval.txt),
and CleanRL's published numbers for the same script settings next to them. Only runs that reached
1M steps enter the means; a run still part way is listed with its steps (marked "part way") and
its return is left out, unless no run of the row has finished yet.
"""
import json
import os
import statistics
import sys

FULL = 1_000_000  # the steps of a finished run

TASKS = [("hopper", "Hopper-v4"), ("half_cheetah", "HalfCheetah-v4"), ("walker2d", "Walker2d-v4")]
ALGOS = [("sac", "SAC"), ("td3", "TD3")]
# CleanRL's benchmark tables (docs/benchmark/sac.md and td3.md, tag pr-424, MuJoCo v4, 3 seeds):
# the training episodic return of sac_continuous_action.py / td3_continuous_action.py at 1M steps.
CLEANRL = {
    ("sac", "half_cheetah"): "9,635 ± 1,424", ("sac", "walker2d"): "3,591 ± 911", ("sac", "hopper"): "2,310 ± 343",
    ("td3", "half_cheetah"): "9,583 ± 126", ("td3", "walker2d"): "4,058 ± 659", ("td3", "hopper"): "3,135 ± 360",
}
# The papers' deterministic evaluations: SAC (Haarnoja et al. 2018, arXiv 1812.05905) read off its
# curves at 1M steps, as CleanRL's SAC page quotes them; TD3 (Fujimoto et al. 2018, Table 1, max
# average return over 1M steps, MuJoCo v1).
PAPER = {
    ("sac", "half_cheetah"): "~11,250", ("sac", "walker2d"): "~4,800", ("sac", "hopper"): "~3,250",
    ("td3", "half_cheetah"): "9,637 ± 859", ("td3", "walker2d"): "4,683 ± 540", ("td3", "hopper"): "3,564 ± 115",
}


def load(dest, algo, task):
    runs = []
    for seed in range(1, 11):
        d = os.path.join(dest, f"{algo}-{task}-s{seed}")
        if not os.path.exists(os.path.join(d, "metrics.jsonl")):
            continue
        rows = [json.loads(line) for line in open(os.path.join(d, "metrics.jsonl"))]
        run = {"seed": seed, "step": rows[-1]["step"], "train": rows[-1]["charts/return_mean_100"], "eval": None}
        ev = os.path.join(d, "eval.txt")
        if os.path.exists(ev):
            run["eval"] = float(open(ev).read().split("mean_return")[1].split()[0])
        runs.append(run)
    return runs


def mean_std(xs):
    if not xs:
        return "—"
    text = f"{statistics.mean(xs):,.0f} ± {statistics.pstdev(xs):,.0f}" if len(xs) > 1 else f"{xs[0]:,.0f}"
    return text + f" (n = {len(xs)})"


def main():
    dest = sys.argv[1] if len(sys.argv) > 1 else "docs/data/offpolicy-1m"
    if not os.path.isdir(dest):
        raise SystemExit(f"offpolicy-table.py: no directory {dest}")
    print("| task | algorithm | seeds (steps reached) | training return, last 100 episodes | "
          "deterministic eval, 10 episodes | CleanRL, training return (3 seeds) | paper, deterministic eval |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for task, env in TASKS:
        for algo, name in ALGOS:
            runs = load(dest, algo, task)
            if not runs:
                continue
            seeds = ", ".join(f"{r['seed']} ({r['step'] // 1000}k{'' if r['step'] >= FULL else ', part way'})"
                              for r in runs)
            done = [r for r in runs if r["step"] >= FULL] or runs
            evals = [r["eval"] for r in done if r["eval"] is not None]
            print(f"| {env} | {name} | {seeds} | {mean_std([r['train'] for r in done])} | {mean_std(evals)} | "
                  f"{CLEANRL[(algo, task)]} | {PAPER[(algo, task)]} |")


if __name__ == "__main__":
    main()

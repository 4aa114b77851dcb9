#!/usr/bin/env python3
"""Side-by-side summary of `rlpp agent-bench` runs (their metrics.json) as markdown tables.

usage: scripts/agent-bench-table.py NAME=RUN_DIR [NAME=RUN_DIR ...]
"""
import json
import sys


def pct(x):
    return f"{100.0 * x:.1f}"


def main(argv):
    runs = []
    for arg in argv:
        name, _, path = arg.rpartition("=")
        if not path:
            sys.exit(f"agent-bench-table: expected NAME=RUN_DIR, got {arg!r}")
        with open(f"{path}/metrics.json") as f:
            runs.append((name, json.load(f)))
    head = "| metric | " + " | ".join(n for n, _ in runs) + " |"
    rule = "| --- |" + " ---: |" * len(runs)
    print(head)
    print(rule)
    rows = [
        ("action accuracy %", lambda m: pct(m["overall"]["action_acc"])),
        ("accuracy with arguments %", lambda m: pct(m["overall"]["args_acc"])),
        ("accomplish progress %", lambda m: pct(m["overall"]["progress"])),
        ("optimal-path rate %", lambda m: pct(m["optimal_path"]["rate"])),
    ]
    for t in ["single_tool", "multi_tool", "clarify", "chat"]:
        rows.append((f"{t}: action / args %",
                     lambda m, t=t: f"{pct(m['by_type'][t]['action_acc'])} / {pct(m['by_type'][t]['args_acc'])}"))
    ks = sorted({int(k) for _, m in runs for k in m["pass_hat_k"]})
    for k in ks:
        rows.append((f"pass^{k} (with arguments)", lambda m, k=k: f"{m['pass_hat_k'][str(k)]:.3f}" if str(k) in m["pass_hat_k"] else "–"))
    kinds = sorted({e for _, m in runs for e in m["errors"]["action"]})
    for e in kinds:
        rows.append((f"action error: {e}", lambda m, e=e: str(m["errors"]["action"].get(e, 0))))
    for e in sorted({e for _, m in runs for e in m["errors"]["argument"]}):
        rows.append((f"argument error: {e}", lambda m, e=e: str(m["errors"]["argument"].get(e, 0))))
    for label, f in rows:
        print(f"| {label} | " + " | ".join(f(m) for _, m in runs) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])

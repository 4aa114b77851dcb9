#!/usr/bin/env bash
# Double DQN's speed side by side on one machine, in one go, every contender on one thread: rlpp's
# LibTorch backend, rlpp's fast backend (dqn.backend = "fast") and the CleanRL-style Python loop
# (python/examples/dqn_cartpole.py: CleanRL's dqn.py with Double DQN's target, PyTorch, Gymnasium's
# CartPole-v1).
#   1. gradient steps/s at batch 128 on CartPole shapes (rlpp_bench BM_DqnUpdate, the Python
#      peer's --bench-updates), the matrix products alone as the floor (BM_DqnGemmBound), and the
#      greedy action of one observation (BM_DqnAct);
#   2. end-to-end CartPole-v1 env steps/s of configs/cartpole_dqn.toml (CleanRL's dqn.py settings)
#      cut to TOTAL_STEPS env steps (learning_starts 10000, a gradient step every 10 env steps,
#      epsilon over half the run), in the training loop (rlpp's charts/SPS, the Python loop's own
#      clock) and for the whole process in wall and CPU seconds.
# Part of `make bench`; the numbers go to docs/results.md ("Off-policy speed", the DQN part).
#   bash scripts/dqn-bench.sh [build-dir]      (TOTAL_STEPS=100000 by default)
set -euo pipefail
build=${1:-build}
total=${TOTAL_STEPS:-100000}
out=${BENCH_OUT:-$build/bench-results}/dqn
py=${PYTHON:-}
if [[ -z "$py" ]]; then
  if [[ -x .venv/bin/python ]]; then py=.venv/bin/python; else py=/usr/bin/python3; fi
fi
mkdir -p "$out"
echo "== DQN speed: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), 1 thread, load $(cut -d' ' -f1-3 /proc/loadavg)"

# Runs a command and prints "wall_s cpu_s" of it (children's user + system time).
timed() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{time.perf_counter() - start:.3f} {r.ru_utime + r.ru_stime:.3f}")
PY
}

echo "== gradient steps/s, batch 128, CartPole shapes (obs 4, 2 actions, 120-84), Double DQN, MSE"
RLPP_BENCH_THREADS=1 "$build/bin/rlpp_bench" --benchmark_filter='BM_Dqn' --benchmark_min_time=1 --benchmark_out="$out/micro.json" \
  --benchmark_out_format=json >"$out/micro.log" 2>&1
"$py" python/examples/dqn_cartpole.py --bench-updates 3000 --threads 1 >"$out/python-updates.json"
python3 - "$out/micro.json" "$out/python-updates.json" <<'PY'
import json, sys
rows = {b["name"].replace("/process_time", ""): b for b in json.load(open(sys.argv[1]))["benchmarks"]}
py = json.loads(open(sys.argv[2]).read())
def per_s(b, key):
    return 1.0 / (b[key] * {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1.0}[b["time_unit"]])
table = [(n, per_s(rows[k], "real_time"), per_s(rows[k], "cpu_time"))
         for n, k in (("rlpp libtorch", "BM_DqnUpdate/libtorch"), ("rlpp fast", "BM_DqnUpdate/fast"),
                      ("matrix products only", "BM_DqnGemmBound"))]
table.insert(2, ("python (PyTorch)", py["updates_per_s"], py["updates_per_cpu_s"]))
base = table[2][2]
print(f"  {'':22s} {'steps/s wall':>12s} {'steps/s CPU':>12s} {'x python (CPU)':>15s}")
for n, wall, cpu in table:
    print(f"  {n:22s} {wall:12.0f} {cpu:12.0f} {cpu / base:15.2f}")
for n in ("libtorch", "fast"):
    b = rows["BM_DqnAct/" + n]
    print(f"  greedy action, {n:9s}: {1e6 / per_s(b, 'cpu_time'):6.1f} us CPU")
PY

echo "== end-to-end CartPole-v1, configs/cartpole_dqn.toml cut to $total env steps"
printf "  %-18s %14s %14s %14s %10s\n" "" "loop steps/s" "process wall" "process CPU" "return100"
for backend in libtorch fast; do
  run="$out/e2e-$backend"
  rm -rf "$run"
  read -r w c < <(timed "$build/bin/rlpp" train configs/cartpole_dqn.toml --quiet --out "$run" --set run.total_steps="$total" \
    --set run.torch_threads=1 --set run.checkpoint_every=0 --set dqn.backend="\"$backend\"")
  python3 - "$run" "$w" "$c" "$total" "rlpp $backend" <<'PY'
import json, sys
run, w, c, total, name = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
last = [json.loads(l) for l in open(run + "/metrics.jsonl")][-1]
print(f"  {name:18s} {last['charts/SPS']:14.0f} {total / w:14.0f} {total / c:14.0f} {last['charts/return_mean_100']:10.1f}")
PY
done
read -r w c < <(timed sh -c "\"\$0\" python/examples/dqn_cartpole.py --total-timesteps $total --threads 1 >'$out/python-e2e.json'" "$py")
python3 - "$out/python-e2e.json" "$w" "$c" "$total" <<'PY'
import json, sys
r, w, c, total = json.load(open(sys.argv[1])), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"  {'python':18s} {r['env_steps_per_s']:14.0f} {total / w:14.0f} {total / c:14.0f} {r['return_mean_100']:10.1f}")
PY

#!/usr/bin/env bash
# SAC's speed side by side on one machine, in one go, every contender on the same thread count
# (THREADS, default 1; LibTorch's and PyTorch's intra-op threads, the fast backend's twin critics on
# two threads when 2): rlpp's LibTorch backend, rlpp's fast backend (sac.backend = "fast") and the
# CleanRL-style Python loop (python/examples/sac_continuous.py, PyTorch on the same MuJoCo Hopper
# through rlpp's Python module).
#   1. gradient steps/s at batch 256 on Hopper shapes (rlpp_bench BM_Sac*, the Python peer's
#      --bench-updates), with the matrix products alone as the floor (BM_SacGemmBound);
#   2. end-to-end Hopper-v4 env steps/s after learning_starts (5000, CleanRL's): a run of
#      5000 + TRAIN_STEPS steps minus a run of 5000 steps, in wall and CPU seconds.
# Part of `make bench`; the numbers go to docs/results.md ("Off-policy speed").
#   bash scripts/offpolicy-bench.sh [build-dir]      (THREADS=1, TRAIN_STEPS=3000 by default: a multiple of 100)
set -euo pipefail
build=${1:-build}
threads=${THREADS:-1}
train_steps=${TRAIN_STEPS:-3000}
out=${BENCH_OUT:-$build/bench-results}/offpolicy
py=${PYTHON:-}
if [[ -z "$py" ]]; then
  if [[ -x .venv/bin/python ]]; then py=.venv/bin/python; else py=/usr/bin/python3; fi
fi
mkdir -p "$out"
echo "== off-policy speed: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $threads thread(s), load $(cut -d' ' -f1-3 /proc/loadavg)"

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

echo "== gradient steps/s, batch 256, Hopper shapes (obs 11, actions 3, 256-256)"
RLPP_BENCH_THREADS="$threads" "$build/bin/rlpp_bench" --benchmark_filter='BM_Sac|BM_Td3' --benchmark_min_time=1 --benchmark_out="$out/micro.json" \
  --benchmark_out_format=json >"$out/micro.log" 2>&1
PYTHONPATH="$build/python" "$py" python/examples/sac_continuous.py --bench-updates 200 --threads "$threads" \
  >"$out/python-updates.json"
python3 - "$out/micro.json" "$out/python-updates.json" <<'PY'
import json, sys
rows = {b["name"].replace("/process_time", ""): b for b in json.load(open(sys.argv[1]))["benchmarks"]}
py = json.loads(open(sys.argv[2]).read())
def unit(b):  # seconds per iteration of 2 gradient steps
    return {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1.0}[b["time_unit"]]
table = [(n, 2 / (rows[k]["real_time"] * unit(rows[k])), 2 / (rows[k]["cpu_time"] * unit(rows[k])))
         for n, k in (("rlpp libtorch", "BM_SacUpdate/libtorch"), ("rlpp fast", "BM_SacUpdate/fast"),
                      ("matrix products only", "BM_SacGemmBound"))]
table.insert(2, ("python (PyTorch)", py["updates_per_s"], py["updates_per_cpu_s"]))
base = table[2][2]
print(f"  {'':22s} {'steps/s wall':>12s} {'steps/s CPU':>12s} {'x python (CPU)':>15s}")
for n, wall, cpu in table:
    print(f"  {n:22s} {wall:12.1f} {cpu:12.1f} {cpu / base:15.2f}")
for n in ("libtorch", "fast"):
    b = rows.get("BM_Td3Update/" + n)
    if b:
        print(f"  {'TD3 rlpp ' + n:22s} {2 / (b['real_time'] * unit(b)):12.1f} {2 / (b['cpu_time'] * unit(b)):12.1f}")
PY

echo "== end-to-end Hopper-v4, learning_starts 5000, then $train_steps env steps (1 gradient step each)"
common=(--quiet --set run.torch_threads="$threads" --set run.checkpoint_every=0 --set offpolicy.learning_starts=5000 --set offpolicy.steps_per_update=100)
read -r w0 c0 < <(timed "$build/bin/rlpp" train configs/hopper_sac.toml --out "$out/warmup" "${common[@]}" \
  --set run.total_steps=5000)
rm -rf "$out/warmup"
for backend in libtorch fast; do
  rm -rf "$out/e2e-$backend"
  read -r w c < <(timed "$build/bin/rlpp" train configs/hopper_sac.toml --out "$out/e2e-$backend" "${common[@]}" \
    --set run.total_steps=$((5000 + train_steps)) --set sac.backend="\"$backend\"")
  python3 -c "import sys; w, c, w0, c0, k = map(float, sys.argv[1:6]); print(f'  rlpp {sys.argv[6]:9s}: {k / (w - w0):6.1f} env steps/s wall, {k / (c - c0):6.1f} per CPU s')" \
    "$w" "$c" "$w0" "$c0" "$train_steps" "$backend"
done
PYTHONPATH="$build/python" "$py" python/examples/sac_continuous.py --total-timesteps $((5000 + train_steps)) \
  --threads "$threads" >"$out/python-e2e.json"
python3 -c "import json, sys; r = json.load(open(sys.argv[1])); print(f\"  python        : {r['env_steps_per_s_after_learning_starts']:6.1f} env steps/s wall, {r['env_steps_per_cpu_s_after_learning_starts']:6.1f} per CPU s\")" \
  "$out/python-e2e.json"

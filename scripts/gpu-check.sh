#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and a CUDA PyTorch: builds rlpp against that PyTorch's LibTorch,
# runs the nn/sample/algo tests (the CUDA ones included) and the LM benchmarks, and prints a short
# table. (The transformer reference fixtures are made on the CPU by the .venv of setup-deps.sh.)
# Packages the machine lacks come as .debs from scripts/gpu-debs.sh (carry .gpu-debs/), unpacked
# into a private prefix, never into /. Not yet run on a GPU machine: expect to adjust it on first use.
#   usage: scripts/gpu-check.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-gpu-out}}
mkdir -p "$out"
prefix=$PWD/.gpu-prefix
if compgen -G ".gpu-debs/*.deb" >/dev/null; then
  mkdir -p "$prefix"
  for f in .gpu-debs/*.deb; do dpkg -x "$f" "$prefix"; done
  export PKG_CONFIG_SYSROOT_DIR=$prefix
  export PKG_CONFIG_PATH=$prefix/usr/lib/x86_64-linux-gnu/pkgconfig:$prefix/usr/share/pkgconfig
  export CMAKE_PREFIX_PATH=$prefix/usr:$prefix/usr/lib/x86_64-linux-gnu/cmake
  export LD_LIBRARY_PATH=$prefix/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
fi
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/gpu.txt"
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DRLPP_TORCH_PREFIX="$torch_prefix" \
  -DRLPP_NATIVE=OFF 2>&1 | tee "$out/configure.log" | tail -5
cmake --build build-gpu -j "$(nproc)" --target rlpp_nn_tests rlpp_sample_tests rlpp_algo_tests rlpp_bench \
  2>&1 | tee "$out/build.log" | tail -3
status=0
for t in nn sample algo; do
  ./build-gpu/rlpp_${t}_tests --gtest_brief=1 >"$out/tests_$t.log" 2>&1 || status=1
  echo "tests $t: $(grep -E '^\[  (PASSED|FAILED) ' "$out/tests_$t.log" | tr '\n' ' ')"
done
./build-gpu/bin/rlpp_bench --benchmark_filter='Lm|Objective/(ppo_clip|hapo)' --benchmark_min_time=1 \
  --benchmark_out="$out/bench.json" --benchmark_out_format=json >"$out/bench.log" 2>&1 || status=1
python3 - "$out/bench.json" <<'PY'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    tps = b.get("items_per_second", 0)
    print(f"  {b['name']:32s} {b['real_time']:10.1f} {b['time_unit']}  {tps:14,.0f} tokens/s  {b.get('TFLOPs', 0):8.1f} TFLOP/s")
PY
exit $status

#!/usr/bin/env bash
# What the default instruction-set flags cost (cmake/CpuFlags.cmake): the fast PPO path's MLP
# forward + backward (src/nn/fast_mlp.cpp, Eigen) built with the old default (-march=native
# -mno-avx512f) and the new one (-march=x86-64-v3 -mtune=generic), run side by side on this
# machine. Prints ns per forward+backward of a 64-64 tanh MLP on a 128-row minibatch (PPO's
# CartPole shape) and on 2048 rows.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/driver.cpp" <<'CPP'
#include <chrono>
#include <cstdio>
#include <vector>
#include "rlpp/nn/fast_mlp.h"
int main() {
  using namespace rlpp::nn;
  for (int rows : {128, 2048}) {
    FastMlp net(4, {64, 64}, 2, Activation::kTanh);
    net.reserve(rows);
    std::vector<float> params(net.num_params()), grads(net.num_params()), x(rows * 4), dout(rows * 2);
    for (size_t i = 0; i < params.size(); ++i) params[i] = 0.01f * static_cast<float>(i % 97) - 0.4f;
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>(i % 13) - 0.6f;
    for (size_t i = 0; i < dout.size(); ++i) dout[i] = 0.05f * static_cast<float>(i % 7) - 0.1f;
    double best = 1e30, sink = 0;
    for (int rep = 0; rep < 7; ++rep) {
      const int iters = rows == 128 ? 4000 : 300;
      const auto t0 = std::chrono::steady_clock::now();
      for (int k = 0; k < iters; ++k) {
        sink += net.forward(params.data(), x.data(), rows)[0];
        net.backward(params.data(), dout.data(), grads.data());
      }
      const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / iters;
      if (ns < best) best = ns;
    }
    std::printf("rows %5d  %10.0f ns per forward+backward  (checksum %.3f)\n", rows, best, sink + grads[0]);
  }
}
CPP
old="-march=native -mno-avx512f"
new="-march=x86-64-v3 -mtune=generic"
for which in old new; do
  g++ -O3 -std=c++17 ${!which} -I"$root/include" -I/usr/include/eigen3 "$tmp/driver.cpp" "$root/src/nn/fast_mlp.cpp" \
    -o "$tmp/bench-$which" 2>"$tmp/cc.log" || { cat "$tmp/cc.log"; exit 1; }
done
# Alternating runs, so that a change in the machine's load hits both builds alike.
for round in 1 2; do
  for which in old new; do
    echo "== round $round: ${!which}"
    "$tmp/bench-$which"
  done
done

#!/usr/bin/env bash
# rlpp's demo: train PPO on CartPole-v1, evaluate the trained policy, draw its learning curve.
set -euo pipefail
build=${1:-build}
rlpp=$build/bin/rlpp
out=runs/demo-cartpole-$(date +%Y%m%d-%H%M%S)
"$rlpp" --version
"$rlpp" train configs/cartpole_ppo.toml --set run.total_steps=200000 --out "$out"
"$rlpp" eval "$out" --episodes 20
"$rlpp" plot "$out" --metric charts/episodic_return --smooth 5 --out "$out/learning_curve.png"
echo "demo: run directory $out (metrics.jsonl, metrics.csv, TensorBoard events, checkpoints, learning_curve.png)"

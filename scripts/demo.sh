#!/usr/bin/env bash
# rlpp's main demo, on CPU: pre-train (SFT) a small Llama-architecture model from scratch on
# generated addition with worked solutions, improve it with RL on the verifiable reward (HAPO), and
# compare the two on 500 fresh problems: greedy accuracy, pass@k (unbiased, 8 samples), maj@8.
set -euo pipefail
build=${1:-build}
rlpp=$build/bin/rlpp
out=runs/demo-$(date +%Y%m%d-%H%M%S)
"$rlpp" --version
echo "== 1/4 SFT from scratch: configs/lm_arithmetic.toml, 150 steps"
"$rlpp" train configs/lm_arithmetic.toml --set run.total_steps=150 --set lm.eval_every=50 --out "$out/sft"
echo "== 2/4 RL with verifiable rewards: configs/rlvr_arithmetic_hapo.toml (HAPO), 150 steps"
"$rlpp" train configs/rlvr_arithmetic_hapo.toml --set model.from="\"$out/sft/model\"" --out "$out/rl-hapo"
echo "== 3/4 evaluation on 500 fresh problems (greedy, and 8 samples at T = 1)"
"$rlpp" eval "$out/sft" --episodes 500 --seed 777 --samples 8 > "$out/eval_before.txt"
"$rlpp" eval "$out/rl-hapo" --episodes 500 --seed 777 --samples 8 --samples-out "$out/rl-hapo/eval_samples.jsonl" \
  > "$out/eval_after.txt"
value() { awk -v k="$1" '{for (i = 1; i < NF; ++i) if ($i == k) print $(i + 1)}' "$2"; }
printf '\n%-14s %16s %8s %8s %8s %8s %8s\n' "policy" "greedy_accuracy" "pass@1" "pass@2" "pass@4" "pass@8" "maj@8"
for row in "before:SFT" "after:SFT+HAPO"; do
  f="$out/eval_${row%%:*}.txt"
  printf '%-14s %16s %8s %8s %8s %8s %8s\n' "${row#*:}" "$(value greedy_accuracy "$f")" "$(value pass@1 "$f")" \
    "$(value pass@2 "$f")" "$(value pass@4 "$f")" "$(value pass@8 "$f")" "$(value maj@8 "$f")"
done
echo "== 4/4 plots"
"$rlpp" plot "$out/rl-hapo" --metric rl/reward_mean --smooth 10 --xlabel "RL steps" --out "$out/rl_reward.png"
"$rlpp" plot "$out/rl-hapo" --metric eval/accuracy --xlabel "RL steps" --out "$out/rl_accuracy.png"
echo "demo: run directory $out (sft/, rl-hapo/ with metrics.jsonl, TensorBoard events, checkpoints, model/;"
echo "      eval samples in rl-hapo/eval_samples.jsonl; plots rl_reward.png, rl_accuracy.png)"

#!/usr/bin/env bash
# rlpp's rlvr next to TRL's GRPOTrainer on the same machine, model, task, batch and steps, one run
# after the other, then Hugging Face `generate` next to rlpp's generator; prints a table.
#
#   scripts/setup-trl.sh            # once: .venv-trl with TRL 0.16.1 (scripts/requirements-trl.txt)
#   scripts/trl-compare.sh          # STEPS=20 PROMPTS=8 GROUP=8 MAX_NEW=32 THREADS=1 LR=1e-4 SEED=1
#                                   # MISMATCH_EVERY=0 MODEL=... OUT=... override the defaults
#   FAST=1 scripts/trl-compare.sh   # rlpp with its hand-written CPU kernels ([model] fast_path = true)
#                                   # in the rlvr run and the generate-only rows (default FAST=0)
#
# Needs build/bin/rlpp, the Python module (build/python), the SFT model MODEL (default
# runs/lm-arith-150/model: rlpp train configs/lm_arithmetic.toml --set run.total_steps=150 --out
# runs/lm-arith-150) and .venv-trl. Writes OUT (default runs/trl-compare): hf/ (the model exported
# by python/examples/hf_export.py), rlpp/ (the rlvr run), trl.json, generate.json, table.md.
#
# Both trainers: P prompts x G responses per step, temperature 1 (no top-k/top-p), MAX_NEW new
# tokens, GRPO advantages (group mean, unbiased std + 1e-4), PPO-clipped loss (0.2) over all the
# batch's tokens, no KL, one optimizer step per batch, Adam lr LR, grad-norm clip 1, THREADS torch
# threads. rlpp's recipe is configs/rlvr_arithmetic.toml with every such setting given on the
# command line; TRL's is python/examples/trl_grpo_arithmetic.py. The problems are drawn from the
# same generator rule but different random streams (python/examples/arith_prompts.py).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
STEPS="${STEPS:-20}" PROMPTS="${PROMPTS:-8}" GROUP="${GROUP:-8}" MAX_NEW="${MAX_NEW:-32}"
THREADS="${THREADS:-1}" LR="${LR:-1e-4}" SEED="${SEED:-1}"
MODEL="${MODEL:-runs/lm-arith-150/model}" OUT="${OUT:-runs/trl-compare}"
# rlpp's sampler/learner mismatch meter costs one extra no-grad forward per metered step; TRL has no
# such diagnostic, so it is off unless MISMATCH_EVERY=1 (the recipe's default) asks for it.
MISMATCH_EVERY="${MISMATCH_EVERY:-0}"
FAST="${FAST:-0}"

usage() { echo "trl-compare: $1" >&2; exit 2; }
[[ "$FAST" =~ ^[01]$ ]] || usage "FAST must be 0 or 1, got '$FAST'"
fast_set=() fast_arg=()
if [ "$FAST" = 1 ]; then fast_set=(--set model.fast_path=true) fast_arg=(--fast-path); fi
[[ "$MISMATCH_EVERY" =~ ^[0-9]+$ ]] || usage "MISMATCH_EVERY must be a non-negative integer, got '$MISMATCH_EVERY'"
for v in STEPS PROMPTS GROUP MAX_NEW THREADS SEED; do
  [[ "${!v}" =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || usage "$v must be a positive integer, got '${!v}'"
done
[ "$GROUP" -ge 2 ] || usage "GROUP must be >= 2 (GRPO's group std), got $GROUP"
[ -x build/bin/rlpp ] || usage "build/bin/rlpp is missing: build the rlpp_cli target first"
[ -d build/python/rlpp ] || usage "build/python/rlpp is missing: build rlpp's Python module first"
[ -x .venv-trl/bin/python ] || usage ".venv-trl is missing: run scripts/setup-trl.sh first"
[ -f "$MODEL/config.json" ] || usage "$MODEL is not a model directory (see the header of this script)"

py=(nice -n 10 env PYTHONPATH="$root/build/python" .venv-trl/bin/python)
mkdir -p "$OUT"
# timed FILE CMD...: runs CMD; writes its wall and CPU (user + sys) seconds to FILE as JSON. CPU time
# is the steadier measure when other work shares the cores.
timed() {
  local file="$1"
  shift
  python3 -c '
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.call(sys.argv[2:])
wall = time.perf_counter() - t0
r = resource.getrusage(resource.RUSAGE_CHILDREN)
json.dump({"wall_seconds": wall, "cpu_seconds": r.ru_utime + r.ru_stime}, open(sys.argv[1], "w"))
sys.exit(rc)' "$file" "$@"
}

echo "== export: $MODEL -> $OUT/hf"
"${py[@]}" python/examples/hf_export.py "$MODEL" "$OUT/hf" | tee "$OUT/export.txt"

echo "== rlpp rlvr: $STEPS steps of $PROMPTS x $GROUP (fast path: $FAST)"
rm -rf "$OUT/rlpp"
timed "$OUT/rlpp_time.json" nice -n 10 build/bin/rlpp train configs/rlvr_arithmetic.toml --out "$OUT/rlpp" \
  --set run.seed="$SEED" --set run.total_steps="$STEPS" --set run.torch_threads="$THREADS" \
  --set model.from="$MODEL" --set rl.prompts_per_step="$PROMPTS" --set sample.num_return_sequences="$GROUP" \
  --set sample.max_new_tokens="$MAX_NEW" --set rl.learning_rate="$LR" --set rl.lr_warmup_steps=0 \
  --set rl.ppo_epochs=1 --set rl.mini_batches=1 --set rl.aggregation=token-mean --set rl.max_grad_norm=1.0 \
  --set rl.weight_decay=0.0 --set rl.entropy_coef=0.0 --set rl.prompt_pool=0 --set rl.dynamic_sampling_rounds=0 \
  --set advantage.name=grpo --set advantage.eps=1e-4 --set objective.name=ppo_clip \
  --set objective.eps_low=0.2 --set objective.eps_high=0.2 --set rl.eval_every=0 --set rl.accuracy_examples=0 \
  --set rl.mismatch_every="$MISMATCH_EVERY" "${fast_set[@]}"

echo "== TRL GRPOTrainer: $STEPS steps of $PROMPTS x $GROUP"
timed "$OUT/trl_time.json" "${py[@]}" python/examples/trl_grpo_arithmetic.py "$OUT/hf" --steps "$STEPS" --prompts "$PROMPTS" \
  --group "$GROUP" --max-new-tokens "$MAX_NEW" --lr "$LR" --threads "$THREADS" --seed "$SEED" \
  --out "$OUT/trl-output" | tee "$OUT/trl.log"
tail -n 1 "$OUT/trl.log" >"$OUT/trl.json"

echo "== generate: Hugging Face vs rlpp"
"${py[@]}" python/examples/hf_generate_bench.py "$MODEL" "$OUT/hf" --prompts "$PROMPTS" --group "$GROUP" \
  --max-new-tokens "$MAX_NEW" --threads "$THREADS" --seed "$SEED" --rounds 10 "${fast_arg[@]}" | tee "$OUT/generate.json"

"${py[@]}" - "$OUT" <<'PY' | tee "$OUT/table.md"
import json, sys
out = sys.argv[1]
rows = [json.loads(l) for l in open(f"{out}/rlpp/metrics.jsonl")]
rows = [r for r in rows if "perf/step_seconds" in r]
rt = json.load(open(f"{out}/rlpp_time.json"))
tt = json.load(open(f"{out}/trl_time.json"))
wall = rt["wall_seconds"]
trl = json.load(open(f"{out}/trl.json"))
trl["wall_seconds"] = tt["wall_seconds"]
gen = json.load(open(f"{out}/generate.json"))
# rlpp: generated tokens per step = mean response length x responses; generation time from its rate.
tok = [r["rl/response_length"] * r["rl/generated_responses"] for r in rows]
gsec = [t / r["perf/gen_tokens_per_s"] for t, r in zip(tok, rows)]
loop = sum(r["perf/step_seconds"] for r in rows)
n = len(rows)
r_steps, t_steps = n / loop, trl["steps"] / trl["train_seconds"]
r_gen, t_gen = sum(tok) / sum(gsec), trl["gen_tokens_per_s"]
r_e2e, t_e2e = n / wall, trl["steps"] / trl["wall_seconds"]
reward_r = sum(r["rl/reward_mean"] for r in rows) / n
fast = " (fast path)" if gen.get("rlpp_fast_path") else ""
print(f"| {n} steps of {trl['batch']} responses, {trl['threads']} thread(s) | rlpp rlvr{fast} | TRL {trl['trl']} GRPOTrainer | rlpp / TRL |")
print("|---|---:|---:|---:|")
print(f"| RL steps/s (training loop) | {r_steps:.2f} | {t_steps:.2f} | {r_steps / t_steps:.2f}x |")
print(f"| RL steps/s end to end (process wall: {wall:.1f} s vs {trl['wall_seconds']:.1f} s) | {r_e2e:.2f} | {t_e2e:.2f} | {r_e2e / t_e2e:.2f}x |")
print(f"| CPU seconds of the whole process (user + sys) | {rt['cpu_seconds']:.1f} | {tt['cpu_seconds']:.1f} | {tt['cpu_seconds'] / rt['cpu_seconds']:.2f}x |")
print(f"| generated tokens/s inside the RL step | {r_gen:.0f} | {t_gen:.0f} | {r_gen / t_gen:.2f}x |")
print(f"| generated tokens/step (mean response length) | {sum(tok) / n:.0f} ({sum(tok) / n / trl['batch']:.1f}) | {trl['gen_tokens'] / trl['steps']:.0f} ({trl['gen_tokens'] / trl['steps'] / trl['batch']:.1f}) | |")
r_g, t_g = sum(gsec) / n, trl["gen_seconds"] / trl["steps"]
r_u, t_u = loop / n - r_g, trl["train_seconds"] / trl["steps"] - t_g
print(f"| seconds per step: generation + the rest (scoring, update) | {r_g:.3f} + {r_u:.3f} | {t_g:.3f} + {t_u:.3f} | {t_g / r_g:.2f}x, {t_u / r_u:.2f}x |")
print(f"| mean reward over the steps | {reward_r:.3f} | {trl['reward_mean']:.3f} | |")
print(f"| forward + backward of {gen['fwd_bwd_shape'][0]} x {gen['fwd_bwd_shape'][1]} tokens, ms | {gen['rlpp_fwd_bwd_ms']:.0f} | transformers {gen['hf_fwd_bwd_ms']:.0f} | {gen['hf_fwd_bwd_ms'] / gen['rlpp_fwd_bwd_ms']:.2f}x |")
print(f"| generate only, {gen['rows_per_batch']} rows x {gen['max_new_tokens']} new tokens, {gen['rounds']} batches: tokens/s | {gen['rlpp_tokens_per_s']:.0f} | HF generate {gen['hf_tokens_per_s']:.0f} | {gen['ratio_rlpp_over_hf']:.2f}x |")
PY

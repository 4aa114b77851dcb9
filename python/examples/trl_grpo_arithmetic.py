"""TRL's GRPOTrainer on the RL recipe of configs/rlvr_arithmetic.toml, for timing against rlpp's rlvr.

The model is rlpp's SFT model exported by hf_export.py; the task is the same arithmetic problems
and exact-match reward (arith_prompts.py). The settings are those scripts/trl-compare.sh gives rlpp:
P prompts x G responses per step (per_device_train_batch_size = P * G, num_generations = G), one
optimizer step per batch (num_iterations = 1, no gradient accumulation), temperature 1 with no
top-k/top-p, max_completion_length new tokens, GRPO advantages (group mean and unbiased std + 1e-4),
the PPO clipped loss (epsilon 0.2) averaged over all tokens of the batch (TRL 0.16's token-mean),
no KL and no reference model (beta = 0), Adam(W) with weight decay 0, constant lr, grad-norm clip 1:

    .venv-trl/bin/python python/examples/trl_grpo_arithmetic.py runs/trl-compare/hf --steps 20

Prints one JSON line: steps, wall seconds of trainer.train(), RL steps/s, generated tokens (each
response up to and including EOS) and their generation seconds, reward of the first and last steps.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arith_prompts  # noqa: E402
import torch113_compat  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hf_dir", help="the SFT model as a Hugging Face directory (hf_export.py)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--prompts", type=int, default=8, help="prompts per step")
    ap.add_argument("--group", type=int, default=8, help="responses per prompt")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="/tmp/trl-grpo-arithmetic", help="TRL's output directory (nothing is saved)")
    args = ap.parse_args()
    for name in ("steps", "prompts", "group", "max_new_tokens", "threads"):
        if getattr(args, name) < 1:
            print(f"trl_grpo_arithmetic: --{name.replace('_', '-')} must be >= 1", file=sys.stderr)
            sys.exit(2)
    if args.group < 2:
        print("trl_grpo_arithmetic: --group must be >= 2 (GRPO's group std)", file=sys.stderr)
        sys.exit(2)

    import torch

    torch113_compat.patch_fsdp_import()
    torch.set_num_threads(args.threads)
    import datasets
    import transformers
    import trl

    tok = transformers.AutoTokenizer.from_pretrained(args.hf_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(args.hf_dir, torch_dtype=torch.float32)
    rows = arith_prompts.problems(args.prompts * args.steps, seed=args.seed)
    data = datasets.Dataset.from_list([{"prompt": p, "answer": a} for p, a in rows])

    def exact_match(prompts, completions, answer, **kwargs):
        return [arith_prompts.grade(c, a) for c, a in zip(completions, answer)]

    config = trl.GRPOConfig(
        output_dir=args.out,
        max_steps=args.steps,
        per_device_train_batch_size=args.prompts * args.group,
        gradient_accumulation_steps=1,
        num_generations=args.group,
        num_iterations=1,
        max_prompt_length=None,
        max_completion_length=args.max_new_tokens,
        temperature=1.0,
        top_k=None,
        top_p=1.0,
        learning_rate=args.lr,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        adam_beta1=0.9,
        adam_beta2=0.999,
        adam_epsilon=1e-8,
        max_grad_norm=1.0,
        beta=0.0,
        epsilon=0.2,
        scale_rewards=True,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=args.seed,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = trl.GRPOTrainer(model=model, reward_funcs=exact_match, args=config, train_dataset=data,
                              processing_class=tok)

    # Generation time and tokens: TRL calls model.generate once per step (no vLLM here).
    gen = {"seconds": 0.0, "tokens": 0, "calls": 0}
    generate = trainer.model.generate
    eos = tok.eos_token_id

    def timed_generate(input_ids=None, **kwargs):
        t0 = time.perf_counter()
        out = generate(input_ids=input_ids, **kwargs)
        gen["seconds"] += time.perf_counter() - t0
        new = out[:, input_ids.size(1):]  # (B, N)
        is_eos = new == eos
        first = torch.where(is_eos.any(1), is_eos.int().argmax(1) + 1,
                            torch.full((new.size(0),), new.size(1), dtype=torch.long))
        gen["tokens"] += int(first.sum())
        gen["calls"] += 1
        return out

    trainer.model.generate = timed_generate
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    rewards = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    lengths = [h["completion_length"] for h in trainer.state.log_history if "completion_length" in h]
    print(json.dumps({
        "trl": trl.__version__, "transformers": transformers.__version__, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "steps": trainer.state.global_step, "generate_calls": gen["calls"],
        "batch": args.prompts * args.group, "train_seconds": round(seconds, 3),
        "steps_per_s": round(trainer.state.global_step / seconds, 4),
        "gen_tokens": gen["tokens"], "gen_seconds": round(gen["seconds"], 3),
        "gen_tokens_per_s": round(gen["tokens"] / max(gen["seconds"], 1e-9), 1),
        "tokens_per_s_of_step": round(gen["tokens"] / seconds, 1),
        "mean_completion_length": round(sum(lengths) / max(len(lengths), 1), 2),
        "reward_first": rewards[0] if rewards else None, "reward_last": rewards[-1] if rewards else None,
        "reward_mean": round(sum(rewards) / max(len(rewards), 1), 4),
    }))


if __name__ == "__main__":
    main()

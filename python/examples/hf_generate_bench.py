"""Hugging Face `generate` against rlpp's generator on the same model, batch and length.

Both sample at temperature 1 (no top-k/top-p), stop a row at EOS (counted as a generated token,
as rlpp counts it) and run in this one process with the same torch thread count. The batch is
`prompts` arithmetic problems x `group` responses each, as an rlvr step generates them:

    PYTHONPATH=build/python .venv-trl/bin/python python/examples/hf_generate_bench.py \
        runs/lm-arith-150/model runs/trl-compare/hf --prompts 8 --group 8 --rounds 5

Prints one JSON line: generated tokens/s of each and their ratio (rlpp / HF), and the milliseconds of
one teacher-forced forward + backward (the core of an RL update) of each on a batch of that size.
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
    ap.add_argument("model_dir", help="rlpp model directory")
    ap.add_argument("hf_dir", help="the same model exported by hf_export.py")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--group", type=int, default=8, help="responses per prompt")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5, help="timed batches (after one warm-up batch each)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fast-path", action="store_true", help="rlpp's hand-written CPU kernels ([model] fast_path)")
    args = ap.parse_args()
    for name in ("prompts", "group", "max_new_tokens", "rounds", "threads"):
        if getattr(args, name) < 1:
            print(f"hf_generate_bench: --{name.replace('_', '-')} must be >= 1", file=sys.stderr)
            sys.exit(2)

    import torch
    import transformers
    import rlpp.lm

    torch113_compat.patch_fsdp_import()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tok = transformers.AutoTokenizer.from_pretrained(args.hf_dir)
    hf = transformers.AutoModelForCausalLM.from_pretrained(args.hf_dir, torch_dtype=torch.float32).eval()
    ours = rlpp.lm.load(args.model_dir)
    ours.fast_path = args.fast_path
    eos = tok.eos_token_id

    def hf_round(prompts):
        rows = [p for p in prompts for _ in range(args.group)]
        enc = tok(rows, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
        with torch.no_grad():
            out = hf.generate(**enc, do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                              max_new_tokens=args.max_new_tokens, pad_token_id=tok.pad_token_id, eos_token_id=eos)
        new = out[:, enc["input_ids"].size(1):]  # (B, N)
        is_eos = new == eos
        first = torch.where(is_eos.any(1), is_eos.int().argmax(1) + 1, torch.full_like(is_eos[:, 0], new.size(1),
                                                                                        dtype=torch.long))
        return int(first.sum())

    def rlpp_round(prompts, seed):
        g = ours.generate(prompts, samplers=[{"name": "temperature", "temperature": 1.0}],
                          generation={"max_new_tokens": args.max_new_tokens, "num_return_sequences": args.group,
                                      "seed": seed})
        return int(g["lengths"].sum())

    batches = [[p for p, _ in arith_prompts.problems(args.prompts, seed=args.seed * 1000 + r)]
               for r in range(args.rounds + 1)]
    result = {"rows_per_batch": args.prompts * args.group, "max_new_tokens": args.max_new_tokens,
              "rounds": args.rounds, "threads": torch.get_num_threads(), "rlpp_fast_path": args.fast_path}
    for name, fn in (("hf", lambda b, r: hf_round(b)), ("rlpp", lambda b, r: rlpp_round(b, args.seed + r))):
        fn(batches[0], 0)  # warm-up
        tokens, t0 = 0, time.perf_counter()
        for r in range(1, args.rounds + 1):
            tokens += fn(batches[r], r)
        seconds = time.perf_counter() - t0
        result[f"{name}_tokens"] = tokens
        result[f"{name}_seconds"] = round(seconds, 3)
        result[f"{name}_tokens_per_s"] = round(tokens / seconds, 1)
        result[f"{name}_tokens_per_row"] = round(tokens / (args.rounds * args.prompts * args.group), 2)
    result["ratio_rlpp_over_hf"] = round(result["rlpp_tokens_per_s"] / result["hf_tokens_per_s"], 2)

    # The update's core on the same batch size: a teacher-forced forward + backward of the summed
    # token log-probs over (rows, prompt + mean response length) random in-alphabet tokens.
    length = 6 + round(result["rlpp_tokens_per_row"])
    ids = torch.randint(3, tok.vocab_size, (args.prompts * args.group, length), generator=torch.Generator().manual_seed(0))
    hf.train()
    ours.train(True)

    def hf_fwd_bwd():
        logits = hf(input_ids=ids).logits[:, :-1]  # (B, L-1, V)
        torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).sum().backward()

    def rlpp_fwd_bwd():
        logp, _ = ours.logprobs(ids)  # (B, L)
        logp.sum().backward()

    for name, fn in (("hf", hf_fwd_bwd), ("rlpp", rlpp_fwd_bwd)):
        fn()  # warm-up
        t0 = time.perf_counter()
        for _ in range(args.rounds):
            fn()
        result[f"{name}_fwd_bwd_ms"] = round((time.perf_counter() - t0) * 1000 / args.rounds, 1)
    result["fwd_bwd_shape"] = [args.prompts * args.group, length]
    print(json.dumps(result))


if __name__ == "__main__":
    main()

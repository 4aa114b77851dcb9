"""An rlpp language-model directory as a Hugging Face one that transformers loads unchanged.

rlpp already writes config.json + model.safetensors (nn/lm/pretrained.h); its character tokenizer
(rlpp_tokenizer.json: special tokens, then one id per alphabet character) becomes a tokenizers
WordLevel model over the same ids, split into single characters, decoded by joining them:

    python python/examples/hf_export.py runs/lm-arith-150/model runs/trl-compare/hf

Then it checks the export: transformers' AutoTokenizer gives rlpp's token ids on the prompts, and
AutoModelForCausalLM's log-probs on a prompt + worked solution equal rlpp's own (rlpp.lm, from
build/python): one line with the max |difference|. Exit code 2 on bad input, 1 when a check fails.
"""
import argparse
import json
import os
import shutil
import sys

PROMPTS = ["<bos>37+85=", "<bos>5+9=", "<bos>12+3="]
# A prompt with a worked solution (the format of configs/lm_arithmetic.toml's SFT data) and EOS.
SEQUENCE = "<bos>37+85=7+5+0=12\n3+8+1=12\n122<eos>"


def fail(message, code=2):
    print(f"hf_export: {message}", file=sys.stderr)
    sys.exit(code)


def write_tokenizer(rlpp_tok, out_dir):
    """tokenizer.json + tokenizer_config.json + special_tokens_map.json for a rlpp-char-tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from tokenizers import AddedToken

    if rlpp_tok.get("format") != "rlpp-char-tokenizer" or rlpp_tok.get("version") != 1:
        fail(f"not an rlpp-char-tokenizer version 1 file (format {rlpp_tok.get('format')!r})")
    specials = list(rlpp_tok["special_tokens"])
    alphabet = list(rlpp_tok["alphabet"])  # one token per code point
    vocab = {tok: i for i, tok in enumerate(specials + alphabet)}
    if len(vocab) != len(specials) + len(alphabet):
        fail("repeated token in rlpp_tokenizer.json")
    unk = rlpp_tok.get("unk_token")
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=unk))
    # Every character its own piece: "[\s\S]" also matches newlines (part of the alphabet).
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tok.save(os.path.join(out_dir, "tokenizer.json"))

    named = {k: rlpp_tok.get(k) for k in ("bos_token", "eos_token", "pad_token", "unk_token")}
    named = {k: v for k, v in named.items() if v is not None}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 1 << 30,
        "clean_up_tokenization_spaces": False,
        "add_bos_token": False,
        "add_eos_token": False,
        "padding_side": "left",
        "model_input_names": ["input_ids", "attention_mask"],  # no token_type_ids: Llama takes none
        **named,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(os.path.join(out_dir, "special_tokens_map.json"), "w") as f:
        json.dump(named, f, indent=1)


def export(model_dir, out_dir):
    for name in ("config.json", "model.safetensors", "rlpp_tokenizer.json"):
        if not os.path.isfile(os.path.join(model_dir, name)):
            fail(f"'{model_dir}' has no {name} (expected an rlpp model directory, e.g. runs/lm-arith-150/model)")
    os.makedirs(out_dir, exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copyfile(os.path.join(model_dir, name), os.path.join(out_dir, name))
    with open(os.path.join(model_dir, "rlpp_tokenizer.json")) as f:
        write_tokenizer(json.load(f), out_dir)


def check(model_dir, out_dir):
    """Token ids and log-probs of the export against rlpp's own; returns the max |logp difference|."""
    import torch
    import transformers
    import rlpp.lm

    hf_tok = transformers.AutoTokenizer.from_pretrained(out_dir)
    hf = transformers.AutoModelForCausalLM.from_pretrained(out_dir, torch_dtype=torch.float32).eval()
    ours = rlpp.lm.load(model_dir)
    for text in PROMPTS + [SEQUENCE]:
        a = hf_tok(text, add_special_tokens=False)["input_ids"]
        b = ours.encode(text)
        if a != b:
            fail(f"token ids differ on {text!r}: transformers {a}, rlpp {b}", code=1)
        if hf_tok.decode(a, skip_special_tokens=True) != ours.decode(b, True):
            fail(f"decoded text differs on {text!r}", code=1)
    ids = torch.tensor([ours.encode(SEQUENCE)])  # (1, L)
    with torch.no_grad():
        logits = hf(input_ids=ids).logits  # (1, L, V)
        hf_logp = torch.log_softmax(logits.double(), -1)[0, :-1].gather(-1, ids[0, 1:, None])[:, 0]  # (L-1)
        rl_logp, _ = ours.logprobs(ids)  # (1, L); column 0 has no prediction
    diff = (hf_logp - rl_logp[0, 1:].double()).abs().max().item()
    print(f"hf_export: {out_dir}: transformers {transformers.__version__} loads it; token ids equal rlpp's on "
          f"{len(PROMPTS) + 1} texts; log-probs of {ids.size(1) - 1} tokens of {SEQUENCE!r}: max |transformers - rlpp| "
          f"= {diff:.2e}")
    return diff


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", help="rlpp model directory (config.json, model.safetensors, rlpp_tokenizer.json)")
    ap.add_argument("out_dir", help="Hugging Face directory to write")
    ap.add_argument("--no-check", action="store_true", help="skip the comparison with rlpp (needs rlpp on PYTHONPATH)")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="largest accepted |logp difference|")
    args = ap.parse_args()
    if os.path.abspath(args.model_dir) == os.path.abspath(args.out_dir):
        fail("out_dir must differ from model_dir")
    export(args.model_dir, args.out_dir)
    if not args.no_check and check(args.model_dir, args.out_dir) > args.tolerance:
        fail(f"log-probs differ by more than {args.tolerance}", code=1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Reference fixtures for rlpp's Llama/Qwen2 transformer (tests/nn/lm/pretrained_test.cpp).

Writes tests/fixtures/lm/<name>/{config.json, model.safetensors | index + shards, reference.json}
for two small random models built, saved and run by Hugging Face transformers itself:
  llama3_gqa          LlamaForCausalLM, GQA (4 heads, 2 kv heads), rope_scaling llama3, untied,
                      float32, one model.safetensors
  qwen2_tied_sharded  Qwen2ForCausalLM, q/k/v biases, tied embeddings, bfloat16 weights, two
                      shards + model.safetensors.index.json
config.json and the safetensors files are transformers' save_pretrained output. reference.json
holds token id sequences and the logits of each sequence run alone (no padding) by the saved
directory loaded back with from_pretrained in float64 (eager attention), and "backend": the transformers and torch versions.

As a cross-check the same logits are recomputed by a float64 numpy implementation of the Hugging
Face forward written below from the papers' formulas; the script stops if the two disagree by more
than float32 rounding.

Needs the venv of scripts/setup-deps.sh (transformers on Debian's torch 1.13):
    .venv/bin/python tests/reference/make_lm_fixtures.py
"""
import json
import math
import os
import shutil
import sys

import numpy as np

# everything is built here from a config: no model hub is ever asked
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "lm")

SEQUENCES = [
    [1, 5, 9, 33, 70, 2, 95, 17, 40, 8, 8, 61],
    [64, 3, 3, 12, 88, 0, 47],
]

COMMON = dict(vocab_size=96, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=128,
              rms_norm_eps=1e-6, hidden_act="silu", initializer_range=0.02)

FIXTURES = {
    "llama3_gqa": dict(
        config=dict(COMMON, model_type="llama", architectures=["LlamaForCausalLM"], rope_theta=10000.0,
                    # head_dim 16, theta 1e4: wavelengths 6.3, 19.9, 62.8, ... against 32/4 and 32/1,
                    # so the kept, blended and divided bands all occur
                    rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                      high_freq_factor=4.0, original_max_position_embeddings=32),
                    attention_bias=False, mlp_bias=False, tie_word_embeddings=False,
                    bos_token_id=1, eos_token_id=[2, 3], pad_token_id=None),
        dtype="float32", shards=1, seed=1234),
    "qwen2_tied_sharded": dict(
        config=dict(COMMON, model_type="qwen2", architectures=["Qwen2ForCausalLM"], rope_theta=1000000.0,
                    rope_scaling=None, tie_word_embeddings=True, use_sliding_window=False,
                    bos_token_id=1, eos_token_id=2),
        dtype="bfloat16", shards=2, seed=4321),
}


# ---- weights ----------------------------------------------------------------------------------
def random_value(name, shape, rng):
    """Weights larger than HF's 0.02 init so that logits vary across the vocabulary."""
    if name.endswith("norm.weight"):
        return rng.uniform(0.5, 1.5, size=shape)
    if name.endswith(".bias"):
        return rng.normal(0.0, 0.1, size=shape)
    return rng.normal(0.0, 0.15, size=shape)


# ---- numpy cross-check ---------------------------------------------------------------------------
def np_inv_freq(cfg):
    d, theta = cfg["head_dim"], cfg["rope_theta"]
    inv = 1.0 / theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    rs = cfg.get("rope_scaling")
    if rs is None:
        return inv
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        return inv / rs["factor"]
    if kind == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        out = np.where(wavelen > old / lo, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        blended = (1 - smooth) * out / factor + smooth * out
        medium = (wavelen >= old / hi) & (wavelen <= old / lo)
        return np.where(medium, blended, out)
    raise ValueError(f"numpy backend: rope type {kind} not implemented")


def np_rms(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def np_forward(cfg, W, ids):
    """Hugging Face LlamaForCausalLM / Qwen2ForCausalLM forward of one unpadded sequence, float64."""
    T = len(ids)
    nh, nkv, d, eps = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], cfg["rms_norm_eps"]
    x = W["model.embed_tokens.weight"][np.asarray(ids)]
    ang = np.outer(np.arange(T, dtype=np.float64), np_inv_freq(cfg))  # (T, d/2)
    emb = np.concatenate([ang, ang], axis=-1)                          # (T, d)
    cos, sin = np.cos(emb), np.sin(emb)

    def lin(name, h):
        y = h @ W[name + ".weight"].T
        return y + W[name + ".bias"] if name + ".bias" in W else y

    def rot(t):  # (heads, T, d): t * cos + rotate_half(t) * sin
        half = d // 2
        return t * cos + np.concatenate([-t[..., half:], t[..., :half]], axis=-1) * sin

    causal = np.triu(np.full((T, T), -np.inf), k=1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = np_rms(x, W[p + "input_layernorm.weight"], eps)
        q = rot(lin(p + "self_attn.q_proj", h).reshape(T, nh, d).transpose(1, 0, 2))
        k = rot(lin(p + "self_attn.k_proj", h).reshape(T, nkv, d).transpose(1, 0, 2))
        v = lin(p + "self_attn.v_proj", h).reshape(T, nkv, d).transpose(1, 0, 2)
        k = np.repeat(k, nh // nkv, axis=0)  # repeat_kv: head i uses kv head i // (nh / nkv)
        v = np.repeat(v, nh // nkv, axis=0)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(d) + causal
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s = s / s.sum(axis=-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(T, nh * d)
        x = x + lin(p + "self_attn.o_proj", o)
        h = np_rms(x, W[p + "post_attention_layernorm.weight"], eps)
        g = lin(p + "mlp.gate_proj", h)
        x = x + lin(p + "mlp.down_proj", g / (1 + np.exp(-g)) * lin(p + "mlp.up_proj", h))
    x = np_rms(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ head.T


# ---- transformers -------------------------------------------------------------------------------
def make(spec, out):
    """Builds, saves and runs one model; returns (transformers logits, numpy logits, backend)."""
    import torch
    import transformers

    cfg = {k: v for k, v in spec["config"].items() if k not in ("model_type", "architectures")}
    if spec["config"]["model_type"] == "llama":
        config, cls = transformers.LlamaConfig(**cfg), transformers.LlamaForCausalLM
    else:
        config, cls = transformers.Qwen2Config(**cfg), transformers.Qwen2ForCausalLM
    # torch 1.13 has no scaled_dot_product_attention; eager is the reference path anyway
    config._attn_implementation = "eager"
    torch.manual_seed(spec["seed"])
    model = cls(config).eval()
    rng = np.random.default_rng(spec["seed"])
    with torch.no_grad():
        for pname, p in model.named_parameters():
            p.copy_(torch.from_numpy(random_value(pname, tuple(p.shape), rng)))
    dtype = torch.bfloat16 if spec["dtype"] == "bfloat16" else torch.float32
    model = model.to(dtype)
    shard = "100KB" if spec["shards"] > 1 else "10GB"
    model.save_pretrained(out, safe_serialization=True, max_shard_size=shard)
    # The reference is transformers' own loader on the saved directory, widened to float64 (the
    # stored weights exactly). Not model.to(float64): after .to(bfloat16) the RoPE inv_freq buffer
    # would be bfloat16-rounded, which no model loaded from disk has.
    ref = cls.from_pretrained(out, torch_dtype=torch.float64, attn_implementation="eager").eval()
    logits = []
    with torch.no_grad():
        for seq in SEQUENCES:
            logits.append(ref(torch.tensor([seq])).logits[0].numpy())
    W = {k: v.numpy() for k, v in ref.state_dict().items()}
    np_cfg = dict(spec["config"])
    np_logits = [np_forward(np_cfg, W, seq) for seq in SEQUENCES]
    return logits, np_logits, f"transformers {transformers.__version__}, torch {torch.__version__}"


def main():
    for name, spec in FIXTURES.items():
        out = os.path.join(ROOT, name)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        logits, np_logits, backend = make(spec, out)
        cross = max(float(np.abs(a - b).max()) for a, b in zip(logits, np_logits))
        scale = max(float(np.abs(a).max()) for a in logits)
        # transformers computes RMSNorm and the RoPE angles in float32 even in a float64 model, so
        # the two agree to float32 rounding only (about 1e-7 relative), far inside the test's 1e-4
        if cross > 1e-5 * scale:
            sys.exit(f"{name}: transformers and the numpy forward differ by {cross:.3g}")
        ref = {"backend": backend, "model": name, "sequences": SEQUENCES,
               "logits": [[[float(f"{v:.9g}") for v in row] for row in lg] for lg in logits]}
        with open(os.path.join(out, "reference.json"), "w") as f:
            json.dump(ref, f, separators=(",", ":"))
        size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
        print(f"{name}: {backend}, {size} bytes, max |logit| {scale:.3f}, "
              f"numpy cross-check max abs diff {cross:.3g}", file=sys.stderr)


if __name__ == "__main__":
    main()

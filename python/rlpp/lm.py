"""rlpp.lm: language models from a model directory (config.json + safetensors + tokenizer).

    m = rlpp.lm.load("runs/demo/sft/model")          # or any Llama/Qwen2 save_pretrained directory
    ids = m.encode("12+34=")
    out = m.generate(["12+34="], samplers=[{"name": "top_p", "top_p": 0.9}, {"name": "temperature"}],
                     generation={"max_new_tokens": 16, "num_return_sequences": 4, "seed": 1})
    out["texts"], out["tokens"], out["logp"]          # torch tensors (B, N)
    logp, entropy = m.logprobs(tokens)                # teacher forcing, differentiable
    params = m.parameters()                           # {name: tensor}, the model's own tensors
"""
from ._rlpp import lm as _lm

Lm = _lm.Lm
load = _lm.load

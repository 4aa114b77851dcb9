"""rlpp.lm against transformers' logits (the fixture of tests/reference/make_lm_fixtures.py)."""
import json
import os

import numpy as np
import pytest
import torch

import rlpp


@pytest.fixture
def model_dir(source_dir):
    return os.path.join(source_dir, "tests", "fixtures", "lm", "llama3_gqa")


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_teacher_forced_logprobs_match_transformers(model_dir):
    m = rlpp.lm.load(model_dir)
    with open(os.path.join(model_dir, "reference.json")) as f:
        ref = json.load(f)
    for seq, logits in zip(ref["sequences"], ref["logits"]):
        tokens = torch.tensor([seq])
        logp, entropy = m.logprobs(tokens)
        lsm = log_softmax(np.asarray(logits, dtype=np.float64))  # (L, V) from transformers
        want = [0.0] + [lsm[t - 1, seq[t]] for t in range(1, len(seq))]
        np.testing.assert_allclose(logp[0].detach().numpy(), want, rtol=1e-4, atol=1e-4)
        h = -(np.exp(lsm) * lsm).sum(-1)
        np.testing.assert_allclose(entropy[0, 1:].detach().numpy(), h[:-1], rtol=1e-4, atol=1e-4)


def test_logprobs_are_differentiable_in_the_models_own_parameters(model_dir):
    m = rlpp.lm.load(model_dir)
    params = m.parameters()
    assert params and all(p.requires_grad for p in params.values())
    logp, _ = m.logprobs(torch.tensor([[1, 5, 9, 33, 70]]))
    (-logp.sum()).backward()
    assert all(p.grad is not None for p in params.values())
    # An optimizer step from Python changes the model rlpp computes with (the same tensors).
    before = m.logprobs(torch.tensor([[1, 5, 9, 33, 70]]))[0].detach()
    torch.optim.SGD(params.values(), lr=0.1).step()
    after = m.logprobs(torch.tensor([[1, 5, 9, 33, 70]]))[0].detach()
    assert after[0, 1:].sum() > before[0, 1:].sum()


def test_generation_agrees_with_teacher_forcing(model_dir):
    m = rlpp.lm.load(model_dir)
    assert not m.has_tokenizer
    out = m.generate([[1, 5, 9], [64, 3]], samplers=[{"name": "top_k", "top_k": 5}, {"name": "temperature", "temperature": 0.8}],
                     generation={"max_new_tokens": 6, "num_return_sequences": 2, "seed": 3, "stop_at_eos": False})
    assert out["tokens"].shape == (4, 6) and out["group_id"].tolist() == [0, 0, 1, 1]
    prompts = [[1, 5, 9], [1, 5, 9], [64, 3], [64, 3]]
    for b in range(4):
        seq = prompts[b] + out["tokens"][b].tolist()
        logp, _ = m.logprobs(torch.tensor([seq]))
        # The KV-cache engine's log pi(token) equals a full teacher-forced forward at T = 1.
        np.testing.assert_allclose(out["logp"][b].numpy(), logp[0, len(prompts[b]):].detach().numpy(), atol=1e-4)
    assert torch.isfinite(out["logp_sample"]).all() and (out["logp_sample"] <= 0).all()
    with pytest.raises(ValueError, match="top_k"):
        m.generate([[1]], samplers=[{"name": "top_k", "top_k": -1}])
    with pytest.raises(ValueError, match="tokenizer"):
        m.encode("hello")
    with pytest.raises(ValueError):
        rlpp.lm.load(os.path.join(model_dir, "missing"))

"""rlpp.algo against NumPy float64 formulas and finite differences; every component callable."""
import numpy as np
import pytest
import torch

import rlpp


def batch(B=6, L=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    logp_old = -torch.rand(B, L, generator=g, dtype=torch.float64) * 3
    logp = (logp_old + 0.4 * torch.randn(B, L, generator=g, dtype=torch.float64)).clamp(max=0)
    adv = torch.randn(B, L, generator=g, dtype=torch.float64)
    mask = (torch.rand(B, L, generator=g) > 0.25).double()
    mask[:, 0] = 1
    return logp, logp_old, adv, mask


def ppo_clip_np(logp, logp_old, adv, eps_low, eps_high):
    r = np.exp(logp - logp_old)
    return np.maximum(-r * adv, -np.clip(r, 1 - eps_low, 1 + eps_high) * adv), r


def token_mean_np(loss, mask):
    return (loss * mask).sum() / mask.sum()


def test_ppo_clip_loss_and_metrics_match_numpy():
    logp, logp_old, adv, mask = batch()
    obj = rlpp.algo.objective("ppo_clip", eps_low=0.2, eps_high=0.28)
    token_loss, metrics = obj(logp=logp, logp_old=logp_old, advantages=adv, mask=mask)
    want, r = ppo_clip_np(logp.numpy(), logp_old.numpy(), adv.numpy(), 0.2, 0.28)
    m = mask.numpy()
    np.testing.assert_allclose(token_loss.detach().numpy(), want * m, rtol=1e-6, atol=1e-9)
    a = adv.numpy()
    low = ((a < 0) & (r < 0.8) & (m > 0)).sum() / m.sum()
    high = ((a > 0) & (r > 1.28) & (m > 0)).sum() / m.sum()
    assert metrics["clipfrac_low"].item() == pytest.approx(low)
    assert metrics["clipfrac_high"].item() == pytest.approx(high)
    k3 = ((r - 1) - np.log(r))
    assert metrics["approx_kl"].item() == pytest.approx(token_mean_np(k3, m), rel=1e-6)


def test_cispo_weight_is_capped_and_the_gradient_flows_through_every_token():
    logp, logp_old, adv, mask = batch(seed=1)
    logp = logp.clone().requires_grad_(True)
    loss, _ = rlpp.algo.objective("cispo", eps_max=1.1).loss(logp=logp, logp_old=logp_old, advantages=adv, mask=mask)
    loss.backward()
    r = np.exp(logp.detach().numpy() - logp_old.numpy())
    w = np.minimum(r, 1.1)  # min_ratio 0: no lower clip
    m = mask.numpy()
    # ℓ = −sg(w)·A·log π, token-mean: dℓ/d log π = −w·A·m / Σm
    np.testing.assert_allclose(logp.grad.numpy(), -w * adv.numpy() * m / m.sum(), rtol=1e-6, atol=1e-12)


# Objectives whose gradient is the derivative of their value (gppo and cispo rescale gradients
# through stop-gradient terms on purpose; their gradients are checked against their formulas).
@pytest.mark.parametrize("name,options", [("ppo_clip", {}), ("dapo", {"eps_high": 0.3}), ("sapo", {}),
                                          ("gspo", {}), ("pg", {})])
def test_objective_gradients_match_finite_differences(name, options):
    logp, logp_old, adv, mask = batch(B=3, L=4, seed=2)
    obj = rlpp.algo.objective(name, **options)
    aggregation = "seq-mean-token-mean" if name in ("gspo", "sapo") else "token-mean"

    def f(lp):
        return obj.loss(logp=lp, logp_old=logp_old, advantages=adv, mask=mask, aggregation=aggregation)[0]

    x = logp.clone().requires_grad_(True)
    f(x).backward()
    h = 1e-6
    fd = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        up, dn = logp.clone(), logp.clone()
        up[idx] += h
        dn[idx] -= h
        fd[idx] = (f(up).item() - f(dn).item()) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), fd, rtol=1e-4, atol=1e-7)


def test_aggregations_match_numpy():
    B, L = 4, 6
    loss = torch.randn(B, L, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]],
                        dtype=torch.float64)
    l, m = loss.numpy(), mask.numpy()
    rows = m.sum(1) > 0
    n_seqs = rows.sum()
    want = {
        "token-mean": (l * m).sum() / m.sum(),
        "token-sum": (l * m).sum(),
        "seq-mean-token-sum": (l * m).sum() / n_seqs,
        "seq-mean-token-mean": ((l * m).sum(1)[rows] / m.sum(1)[rows]).sum() / n_seqs,
        "seq-mean-token-sum-norm": (l * m).sum() / (n_seqs * L),
    }
    for mode, value in want.items():
        assert rlpp.algo.aggregate(loss, mask, mode).item() == pytest.approx(value, rel=1e-12), mode


def test_gae_matches_a_numpy_recursion():
    T, N, gamma, lam = 7, 3, 0.9, 0.8
    g = torch.Generator().manual_seed(4)
    rewards, values = torch.randn(T, N, generator=g), torch.randn(T, N, generator=g)
    term = torch.zeros(T, N)
    term[3, 1] = 1
    trunc = torch.zeros(T, N)
    trunc[5, 2] = 1
    next_value = torch.randn(N, generator=g)
    adv, ret = rlpp.algo.advantage("gae", gamma=gamma, **{"lambda": lam})(
        rewards=rewards, values=values, terminated=term, truncated=trunc, next_value=next_value)
    r, v, d = rewards.double().numpy(), values.double().numpy(), np.maximum(term.numpy(), trunc.numpy())
    want = np.zeros((T, N))
    last = np.zeros(N)
    for t in reversed(range(T)):
        nv = next_value.double().numpy() if t == T - 1 else v[t + 1]
        delta = r[t] + gamma * nv * (1 - d[t]) - v[t]
        last = delta + gamma * lam * (1 - d[t]) * last
        want[t] = last
    np.testing.assert_allclose(adv.numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ret.numpy(), want + v, rtol=1e-5, atol=1e-6)


def test_grpo_matches_group_normalisation_with_the_unbiased_std():
    R = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0])
    gid = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    mask = torch.ones(8, 3)
    adv, _ = rlpp.algo.advantage("grpo", eps=1e-6)(seq_rewards=R, group_ids=gid, mask=mask)
    r = R.double().numpy()
    want = np.zeros(8)
    for k in (0, 1):
        sel = gid.numpy() == k
        want[sel] = (r[sel] - r[sel].mean()) / (r[sel].std(ddof=1) + 1e-6)
    np.testing.assert_allclose(adv.numpy(), np.repeat(want[:, None], 3, 1), rtol=1e-5)


def test_kl_estimators_match_numpy_and_differentiate():
    logp, logp_ref, _, _ = batch(seed=5)
    d = logp.numpy() - logp_ref.numpy()
    want = {"k1": d, "k2": 0.5 * d**2, "k3": np.exp(-d) + d - 1}
    for name, w in want.items():
        np.testing.assert_allclose(rlpp.algo.kl(name, logp, logp_ref).numpy(), w, rtol=1e-9, atol=1e-12)
    x = logp.clone().requires_grad_(True)
    rlpp.algo.kl("k3+", x, logp_ref).sum().backward()  # value of k3, gradient of k2: Δ
    np.testing.assert_allclose(x.grad.numpy(), d, rtol=1e-9, atol=1e-12)


def test_top_k_and_top_p_samplers_keep_the_right_tokens():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0, 2.5]])
    kept = torch.isfinite(rlpp.algo.sampler("top_k", top_k=2)(logits))
    assert kept.tolist() == [[False, True, False, False, True]]
    p = np.exp([1.0, 3.0, 2.0, 0.0, 2.5])
    p /= p.sum()
    order = np.argsort(-p)
    need = np.searchsorted(np.cumsum(p[order]), 0.8) + 1  # the shortest prefix with mass >= 0.8
    want = np.zeros(5, bool)
    want[order[:need]] = True
    assert torch.isfinite(rlpp.algo.sampler("top_p", top_p=0.8)(logits))[0].tolist() == want.tolist()


def test_every_registered_component_is_callable():
    kinds = rlpp.algo.list()
    for kind in ("envs", "tasks", "graders", "algorithms", "advantages", "objectives", "aggregations", "kl",
                 "kl_controllers", "entropy_controls", "selectors", "allocations", "samplers"):
        assert kinds[kind], kind
    B, L = 8, 5
    logp, logp_old, adv, mask = batch(B=B, L=L, seed=6)
    entropy = torch.rand(B, L, dtype=torch.float64)
    for name, _ in kinds["objectives"]:
        x = logp.clone().requires_grad_(True)
        loss, metrics = rlpp.algo.objective(name).loss(logp=x, logp_old=logp_old, advantages=adv, mask=mask,
                                                       entropy=entropy, logp_proxy=logp_old)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(x.grad).all(), name
        assert "clipfrac" in metrics and "approx_kl" in metrics, name
    R = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    gid = torch.arange(B) // 4
    lengths = mask.sum(1)
    for name, _ in kinds["advantages"]:
        a = rlpp.algo.advantage(name)
        if name in ("gae", "mc"):
            out, _ = a(rewards=torch.randn(4, 2), values=torch.randn(4, 2), terminated=torch.zeros(4, 2),
                       truncated=torch.zeros(4, 2), next_value=torch.zeros(2))
        else:
            out, _ = a(seq_rewards=R, group_ids=gid, lengths=lengths, mask=mask.float(), logp=logp.float(),
                       logp_old=logp_old.float())
        assert torch.isfinite(out).all(), name
    for name, _ in kinds["aggregations"]:
        assert torch.isfinite(rlpp.algo.aggregate(adv, mask, name))
    for name, _ in kinds["kl"]:
        assert torch.isfinite(rlpp.algo.kl(name, logp, logp_old)).all()
    for name, _ in kinds["selectors"]:
        out = rlpp.algo.selector(name)(seq_rewards=R, group_ids=gid, lengths=lengths,
                                       truncated=torch.zeros(B, dtype=torch.bool), mask=mask.float(),
                                       advantages=adv.float(), entropy=entropy.float(), logp=logp.float(),
                                       logp_old=logp_old.float(), step=3)
        assert out["row_keep"] is not None and out["row_keep"].shape == (B,), name
    logits = torch.randn(4, 11)
    for name, _ in kinds["samplers"]:
        out = rlpp.algo.sampler(name)(logits)
        assert out.shape == logits.shape and torch.isfinite(out).any(1).all(), name
    for kind in ("objectives", "advantages", "selectors", "samplers"):
        for name, _ in kinds[kind]:
            for o in rlpp.algo.options(kind, name):
                assert set(o) == {"key", "type", "default", "help"}


def test_bad_options_and_names_are_value_errors_with_rlpps_message():
    with pytest.raises(ValueError, match="eps_low"):
        rlpp.algo.objective("ppo_clip", eps_low=1.5)
    with pytest.raises(ValueError, match="eps_lo"):
        rlpp.algo.objective("ppo_clip", eps_lo=0.1)  # unknown key, named
    with pytest.raises(ValueError, match="bapo"):
        rlpp.algo.objective("bappo")  # unknown name: the valid ones listed
    with pytest.raises(ValueError, match="aggregation"):
        rlpp.algo.aggregate(torch.zeros(2, 2), None, "token-median")
    with pytest.raises(ValueError):
        rlpp.algo.objective("ppo_clip", eps_low=[1, "a"])
    with pytest.raises(ValueError, match="kind"):
        rlpp.algo.list("objectivs")


def test_tensors_cross_the_boundary_without_copies():
    # A selector that does not shape rewards hands the caller's reward tensor back: the same memory.
    R = torch.tensor([1.0, 0.0, 1.0, 1.0])
    mask = torch.ones(4, 3)
    out = rlpp.algo.selector("top_entropy", rho=0.5)(seq_rewards=R, mask=mask, entropy=torch.rand(4, 3))
    assert out["seq_rewards"].data_ptr() == R.data_ptr()
    # The loss is built on the caller's logp: its gradient lands in that very tensor.
    lp = torch.zeros(2, 3, requires_grad=True)
    loss, _ = rlpp.algo.objective("pg").loss(logp=lp, advantages=torch.ones(2, 3), mask=torch.ones(2, 3))
    loss.backward()
    assert torch.allclose(lp.grad, torch.full((2, 3), -1.0 / 6))

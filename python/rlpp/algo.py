"""rlpp.algo: rlpp's registered components by name, on torch tensors.

    obj = rlpp.algo.objective("gppo", eps_high=0.28)          # options as keyword arguments
    token_loss, metrics = obj(logp=lp, logp_old=lp0, advantages=a, mask=m)
    loss, metrics = obj.loss(logp=lp, logp_old=lp0, advantages=a, mask=m, aggregation="seq-mean-token-mean")
    adv, _ = rlpp.algo.advantage("grpo")(seq_rewards=r, group_ids=g, mask=m)
    k3 = rlpp.algo.kl("k3", lp, lp_ref)
    out = rlpp.algo.selector("top_entropy", rho=0.2)(mask=m, entropy=h)
    logits = rlpp.algo.sampler("top_p", top_p=0.9)(logits)

Objectives, aggregations and KL estimators are differentiable through `logp`. Shapes: language
batches (B, L) with a 0/1 float mask; control batches (M) or (T, N) without one.
"""
from ._rlpp import algo as _algo

Objective = _algo.Objective
Advantage = _algo.Advantage
Selector = _algo.Selector
Sampler = _algo.Sampler

objective = _algo.objective
advantage = _algo.advantage
aggregate = _algo.aggregate
kl = _algo.kl
selector = _algo.selector
sampler = _algo.sampler
options = _algo.options


def list(kind=None):  # noqa: A001  (mirrors `rlpp list [kind]`)
    """{kind: [(name, summary), ...]} of every registry, or the rows of one kind."""
    everything = _algo.list()
    if kind is None:
        return everything
    if kind not in everything:
        raise ValueError(f"rlpp.algo.list: unknown kind '{kind}'; kinds: {', '.join(sorted(everything))}")
    return everything[kind]

"""rlpp from Python: environments, objectives, trainers and certificates of the rlpp C++ engine.

    import rlpp
    envs = rlpp.envs.make("CartPole-v1", num_envs=64)       # Gymnasium's vector API, zero-copy
    loss, metrics = rlpp.algo.objective("bapo").loss(logp=lp, logp_old=lp0, advantages=a, mask=m)
    run = rlpp.train("configs/cartpole_ppo.toml", overrides={"run.total_steps": 50000})

torch is imported first: the extension links the LibTorch that torch itself loaded, so tensors
cross without copies and autograd flows through rlpp's functions. Errors in what you pass (a bad
option, an unknown name, a missing file) are ValueErrors with rlpp's one-line message.
"""
import torch  # noqa: F401  (must precede the extension: it provides LibTorch and its Python bindings)

from . import _rlpp
from . import algo, certify, envs, lm
from .run import Run, evaluate, resume, train

__version__ = _rlpp.__version__
build_commit = _rlpp.build_commit  # the source commit the extension was built from ("-dirty": changed files)

__all__ = ["algo", "certify", "envs", "lm", "train", "resume", "evaluate", "Run"]

"""rlpp.train / rlpp.resume / rlpp.evaluate: run any trainer as `rlpp train` does.

    run = rlpp.train("configs/cartpole_ppo.toml", overrides={"run.total_steps": 20000}, out="runs/cp")
    run.rows[-1]["charts/episodic_return"]         # the metrics, one dict per logged step
    rlpp.resume(run.run_dir, overrides={"run.total_steps": 40000})
    rlpp.evaluate(run.run_dir, episodes=10)        # {"score_name", "mean", "std", ...}

Ctrl-C (or SIGTERM) during a run behaves as on the command line: the current update finishes, a
checkpoint is written, and the call returns a Run with finished = False and interrupted = True.
"""
import json
import os

from ._rlpp import run as _run


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ValueError(f"override value {v!r}: expected a bool, number, string or list")


def _overrides(overrides):
    """{"section.key": value} or ["section.key=value", ...] -> the --set strings."""
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return [f"{k}={_toml_value(v)}" for k, v in overrides.items()]
    if isinstance(overrides, str):
        raise ValueError("overrides: pass a dict or a list of 'section.key=value' strings, not one string")
    return [str(o) for o in overrides]


class Run:
    """The outcome of a run: its directory, whether it reached run.total_steps, and its metrics."""

    def __init__(self, outcome):
        self.run_dir = outcome["run_dir"]
        self.finished = outcome["finished"]
        self.interrupted = outcome["interrupted"]

    @property
    def rows(self):
        """The metrics logged so far (RUN_DIR/metrics.jsonl), one dict per row."""
        path = os.path.join(self.run_dir, "metrics.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def __repr__(self):
        return f"rlpp.Run({self.run_dir!r}, finished={self.finished})"


def train(recipe, overrides=None, out=None, stop_after_updates=0, quiet=True):
    """Starts a run from a recipe file (`rlpp train RECIPE --set ... --out OUT`)."""
    return Run(_run.start(os.fspath(recipe), _overrides(overrides), os.fspath(out) if out else "",
                          stop_after_updates, quiet))


def resume(run_dir, overrides=None, stop_after_updates=0, quiet=True, skip_damaged=False):
    """Continues a run from its newest intact checkpoint (`rlpp resume RUN_DIR`)."""
    return Run(_run.resume(os.fspath(run_dir), _overrides(overrides), stop_after_updates, quiet, skip_damaged))


def evaluate(target, episodes=10, seed=12345, samples=0, temperature=1.0, samples_path=""):
    """Evaluates a run directory or checkpoint file (`rlpp eval`): a dict of its scores."""
    return _run.evaluate(os.fspath(target), episodes, seed, samples, temperature, os.fspath(samples_path))

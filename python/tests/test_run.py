"""rlpp.train / resume / evaluate from Python, and the run's metrics as rows."""
import json
import os
import signal
import subprocess
import threading

import pytest
import torch

import rlpp


def recipe(source_dir):
    return os.path.join(source_dir, "configs", "cartpole_ppo.toml")


def test_train_resume_and_evaluate(tmp_path, source_dir):
    out = tmp_path / "run"
    small = {"run.total_steps": 2048, "run.checkpoint_every": 1, "ppo.num_steps": 128}
    run = rlpp.train(recipe(source_dir), overrides=small, out=out, stop_after_updates=2)
    assert not run.finished and os.path.isdir(run.run_dir)
    assert [r["step"] for r in run.rows] == [512, 1024]
    whole = rlpp.train(recipe(source_dir), overrides=small, out=tmp_path / "whole")
    assert whole.finished and len(whole.rows) == 4
    resumed = rlpp.resume(out)
    assert resumed.finished
    # Bit-identical resume, seen from Python: the same rows as the uninterrupted run (but the
    # wall-clock speed).
    def timeless(rows):
        return [{k: v for k, v in r.items() if k != "charts/SPS"} for r in rows]

    assert timeless(resumed.rows) == timeless(whole.rows)
    ev = rlpp.evaluate(out, episodes=3, seed=1)
    assert ev["score_name"] == "return" and ev["episodes"] == 3 and ev["mean"] > 0


def test_provenance_names_the_build(tmp_path, source_dir):
    out = tmp_path / "run"
    small = {"run.total_steps": 1024, "run.checkpoint_every": 1, "ppo.num_steps": 128}
    rlpp.train(recipe(source_dir), overrides=small, out=out, stop_after_updates=1)
    rlpp.resume(out)
    with open(out / "provenance.jsonl") as f:
        records = [json.loads(line) for line in f]
    assert [r["command"] for r in records] == ["train", "resume"]
    assert all(r["commit"] == rlpp.build_commit and r["rlpp"] == rlpp.__version__ for r in records)
    assert all(r["libtorch"].split(".")[:2] == torch.__version__.split(".")[:2] for r in records)
    head = rlpp.build_commit.removesuffix("-dirty")
    if head != "unknown" and os.path.isdir(os.path.join(source_dir, ".git")):
        # a commit git knows in this source tree
        subprocess.run(["git", "-C", source_dir, "cat-file", "-e", head + "^{commit}"], check=True)


def test_overrides_and_errors(tmp_path, source_dir):
    with pytest.raises(ValueError, match="ppo.learning_rat"):
        rlpp.train(recipe(source_dir), overrides={"ppo.learning_rat": 1e-3}, out=tmp_path / "bad")
    assert not (tmp_path / "bad").exists()  # nothing written
    with pytest.raises(ValueError, match="no such file"):
        rlpp.train(tmp_path / "missing.toml")
    with pytest.raises(ValueError):
        rlpp.train(recipe(source_dir), overrides="ppo.learning_rate=1")


def test_ctrl_c_checkpoints_and_returns(tmp_path, source_dir):
    out = tmp_path / "stopped"
    # A SIGINT shortly after the start: the run finishes its update, checkpoints and returns.
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    run = rlpp.train(recipe(source_dir), overrides={"run.total_steps": 10_000_000, "run.checkpoint_every": 0},
                     out=out)
    timer.join()
    assert run.interrupted and not run.finished
    assert any(f.endswith(".pt") for f in os.listdir(out / "checkpoints"))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's handler is back

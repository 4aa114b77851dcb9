"""rlpp.certify from a file and from a dict."""
import os

import pytest

import rlpp


def test_certify_a_game_file_and_the_same_game_as_a_dict(source_dir, tmp_path):
    path = os.path.join(source_dir, "configs", "games", "toy.toml")
    a = rlpp.certify.certify(path)
    assert "summary" in a and a["summary"]
    import tomllib
    with open(path, "rb") as f:
        game = tomllib.load(f)
    b = rlpp.certify.certify(game)
    a.pop("summary"), b.pop("summary")
    for k in ("seconds",):
        a.pop(k, None), b.pop(k, None)
    assert a.keys() == b.keys()
    with pytest.raises(ValueError):
        rlpp.certify.certify(os.path.join(source_dir, "configs", "games", "nope.toml"))


def test_simulate_reports_the_measured_contraction(source_dir):
    path = os.path.join(source_dir, "configs", "games", "toy.toml")
    report = rlpp.certify.simulate(path, steps=50, seed=1)
    assert report["summary"] and len(report) > 1
    with pytest.raises(ValueError):
        rlpp.certify.simulate(path, method="leapfrog")

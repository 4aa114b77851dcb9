"""rlpp.certify: the Small-Gain Nash certificate of a game, and simulations of its dynamics.

    cert = rlpp.certify.certify("configs/games/toy.toml")       # or a dict in the game-file format
    cert["certified"], cert["summary"]
    sim = rlpp.certify.simulate(game_dict, steps=500)

A game given as a dict is written to a temporary JSON file in the game-file format (docs/games.md).
"""
import json
import os
import tempfile

from ._rlpp import certify as _certify


def _with_game_file(game, fn):
    with tempfile.TemporaryDirectory(prefix="rlpp-certify-") as d:
        if isinstance(game, dict):
            path = os.path.join(d, "game.json")
            with open(path, "w") as f:
                json.dump(game, f)
        else:
            path = os.fspath(game)
        out = os.path.join(d, "report.json")
        summary = fn(path, out)
        with open(out) as f:
            report = json.load(f)
    report["summary"] = summary
    return report


def certify(game, coupling=None, radius=None, random_points=None, geometry=""):
    """The certificate as a dict (the JSON of `rlpp certify --out`) plus its printed summary."""
    return _with_game_file(game, lambda path, out: _certify.certify(path, out, coupling, radius, random_points, geometry))


def simulate(game, method="", step=None, steps=200, coupling=None, seed=0):
    """The measured-vs-certified report of `rlpp simulate --out` as a dict, plus its summary."""
    return _with_game_file(game, lambda path, out: _certify.simulate(path, out, method, step, steps, coupling, seed, ""))

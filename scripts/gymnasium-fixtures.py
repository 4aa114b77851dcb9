#!/usr/bin/env python3
"""Copies Gymnasium's MuJoCo model files (the ones rlpp's MuJoCo tasks reproduce) into
tests/env/mujoco/fixtures/, where rlpp_env_tests compares them field by field, and step by step,
with rlpp's own models. The test reads the copies, so it needs no Python at run time.

Run with the interpreter of the project's venv (scripts/setup-deps.sh makes it):
    .venv/bin/python scripts/gymnasium-fixtures.py
It refuses a Gymnasium other than the pinned version, so that the fixtures always say which
release they come from."""

import importlib.metadata
import importlib.util
import pathlib
import shutil
import sys

PINNED = "1.1.1"  # keep equal to the pin in scripts/requirements-py.txt
FILES = [
    "ant.xml", "half_cheetah.xml", "hopper.xml", "inverted_double_pendulum.xml",
    "inverted_pendulum.xml", "reacher.xml", "swimmer.xml", "walker2d.xml", "walker2d_v5.xml",
]


def main() -> int:
    try:
        version = importlib.metadata.version("gymnasium")
    except importlib.metadata.PackageNotFoundError:
        print("gymnasium-fixtures: gymnasium is not installed in this interpreter "
              f"({sys.executable}); run scripts/setup-deps.sh and use .venv/bin/python",
              file=sys.stderr)
        return 2
    if version != PINNED:
        print(f"gymnasium-fixtures: gymnasium {version} installed, the fixtures are for {PINNED}",
              file=sys.stderr)
        return 2
    # find_spec locates the package without importing it (importing needs numpy).
    spec = importlib.util.find_spec("gymnasium")
    assets = pathlib.Path(spec.origin).parent / "envs" / "mujoco" / "assets"
    out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "env" / "mujoco" / "fixtures"
    out.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        src = assets / name
        if not src.is_file():
            print(f"gymnasium-fixtures: {src} is missing", file=sys.stderr)
            return 2
        shutil.copyfile(src, out / name)
    (out / "GYMNASIUM_VERSION").write_text(version + "\n")
    print(f"gymnasium-fixtures: copied {len(FILES)} files from gymnasium {version} to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

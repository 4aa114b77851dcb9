"""Shared fixtures of rlpp's Python tests (run by `make test` through CTest, PYTHONPATH=build/python)."""
import os

import pytest

SOURCE_DIR = os.environ.get("RLPP_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))


@pytest.fixture
def source_dir():
    return SOURCE_DIR

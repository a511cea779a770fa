"""The compiled backends a test runs on: the pure-Python one always, NumPy's where it installs."""

import importlib.util

import pytest

BACKENDS = [
    "python",
    pytest.param(
        "numpy",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("numpy") is None, reason='needs numpy: pip install ".[bench]"'
        ),
    ),
]

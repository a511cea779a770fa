"""The `gradengine` command-line application: training runs, their pictures, and graph drawings.

The library (``Value``, ``nn``, ``optim``, ``viz``, ...) never imports this package.
"""

from gradengine.cli.main import main

__all__ = ["main"]

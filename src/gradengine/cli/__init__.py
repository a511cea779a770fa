"""The `gradengine` command-line application: training runs, their pictures, and graph drawings.

``gradengine.cli.main`` is the command itself (``main(["demo"])`` returns the exit code); its
module is gradengine.cli.app, and gradengine.cli.graph is the `graph` command.
The library (``Value``, ``nn``, ``optim``, ``viz``, ...) never imports this package.
"""

from gradengine.cli.app import main

__all__ = ["main"]

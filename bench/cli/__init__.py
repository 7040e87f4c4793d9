"""The ``bench`` command line (:func:`bench.cli.main.main`)."""

from bench.cli.main import main

__all__ = ["main"]

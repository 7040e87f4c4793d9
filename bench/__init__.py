"""proxybench application layer: CLI, data, inputs, runner, store and statistics."""

__version__ = "0.1.0"

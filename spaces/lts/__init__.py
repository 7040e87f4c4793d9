"""The LiteTransformerSearch decoder space (GPT-2 and Transformer-XL families) and its five benchmarks."""

from spaces.lts.space import LtsSpace  # noqa: F401  (registers the space)

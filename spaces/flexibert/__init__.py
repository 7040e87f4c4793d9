"""FlexiBERT search space (Tuli et al. 2023) as sampled by Serianni & Kalita (2023)."""

from spaces.flexibert.arch import FlexiBertArch, LayerSpec, parse_arch
from spaces.flexibert.benchmark import BENCHMARK, BENCHMARK_FILE, GLUE_MEAN, GLUE_TASKS, BenchmarkEntry, load_benchmark
from spaces.flexibert.modeling import FlexiBertConfig, FlexiBertModel
from spaces.flexibert.space import FlexiBertSpace, count_parameters, model_config

__all__ = [
    "BENCHMARK",
    "BENCHMARK_FILE",
    "BenchmarkEntry",
    "FlexiBertArch",
    "FlexiBertConfig",
    "FlexiBertModel",
    "FlexiBertSpace",
    "GLUE_MEAN",
    "GLUE_TASKS",
    "LayerSpec",
    "count_parameters",
    "load_benchmark",
    "model_config",
    "parse_arch",
]

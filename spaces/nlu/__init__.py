"""The NLU search space of W-PCA (Sec. 4, 6.2.1, Appendix E.1): BERT and MobileBERT blocks.

Registers ``nlu-small``, ``nlu-tiny`` and ``nlu-large``; see :mod:`spaces.nlu.space` and
``docs/nlu.md``.
"""

from spaces.nlu.arch import NUM_CHOICES, NluArch, block_type, ffn_width, parse_arch
from spaces.nlu.modeling import NluConfig, NluModel
from spaces.nlu.params import count_parameters, official_param_count
from spaces.nlu.space import NluSpace

__all__ = [
    "NUM_CHOICES",
    "NluArch",
    "NluConfig",
    "NluModel",
    "NluSpace",
    "block_type",
    "count_parameters",
    "ffn_width",
    "official_param_count",
    "parse_arch",
]

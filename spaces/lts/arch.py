"""Architectures of the LiteTransformerSearch (LTS) decoder space.

An architecture is a decoder language model of one of two families,

* ``gpt2``: GPT-2 blocks (pre-LayerNorm, causal softmax attention with learned absolute
  positions, GELU FFN, a final LayerNorm);
* ``transxl``: Transformer-XL blocks (post-LayerNorm, relative positional attention with
  the per-layer biases ``u``/``v`` of Dai et al. 2019, ReLU FFN);

with the heterogeneous per-layer choices of Javaheripi et al. (NeurIPS 2022) and archai's
``transformer_flex`` space: ``n_layer`` in 2..16, ``d_model`` in {64, 128, 256, 512},
per layer ``n_head`` in {2, 4, 8} and ``d_inner`` in 512..2048, the adaptive embedding
width ``d_embed`` in {64, 128, 256, 512} and its ``div_val`` in {1, 2, 4}, and a vocabulary
setup (:data:`VOCABS`: the number of tokens, the adaptive cut-offs, which output
projections are tied to the input ones, and the training segment length).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spaces.errors import SpaceError

FAMILIES: tuple[str, ...] = ("gpt2", "transxl")
LAYERS: tuple[int, ...] = tuple(range(2, 17))
D_MODELS: tuple[int, ...] = (64, 128, 256, 512)
HEADS: tuple[int, ...] = (2, 4, 8)
D_INNER_MIN, D_INNER_MAX = 512, 2048
D_EMBEDS: tuple[int, ...] = (64, 128, 256, 512)
DIV_VALS: tuple[int, ...] = (1, 2, 4)


@dataclass(frozen=True)
class VocabSetup:
    """The vocabulary side of a model: fixed by the training data, not searched.

    Attributes:
        n_token: vocabulary size.
        cutoffs: the adaptive cluster boundaries, ending with ``n_token`` (after archai's
            clean-up: boundaries beyond ``n_token`` dropped).
        tie_projs: per cluster, whether the output projection is the input one.
        tgt_len: the training segment length (GPT-2: the number of learned positions).
    """

    n_token: int
    cutoffs: tuple[int, ...]
    tie_projs: tuple[bool, ...]
    tgt_len: int


def clean_cutoffs(cutoffs: list[int], n_token: int) -> tuple[int, ...]:
    """archai's reading of a configured cut-off list: keep the increasing prefix of
    boundaries up to ``n_token``, and make ``n_token`` the last one."""
    kept = [int(cutoffs[0])] if cutoffs else [n_token]
    for value in cutoffs[1:]:
        if value > n_token:
            break
        kept.append(int(value))
    kept[-1] = min(kept[-1], n_token)
    if kept[-1] < n_token:
        kept.append(n_token)
    return tuple(kept)


#: The four vocabulary setups of the LTS benchmarks: GPT-2's BPE on WikiText-103 and on LM1B
#: (50,264 ids), and the word-level WikiText-103 (267,736) and LM1B (793,470) vocabularies.
VOCABS: dict[str, VocabSetup] = {
    "gpt2-wt103": VocabSetup(50264, clean_cutoffs([19997, 39997, 199997, 50264], 50264), (False, True, True), 192),
    "gpt2-lm1b": VocabSetup(50264, clean_cutoffs([59997, 99997, 639997, 50264], 50264), (False,), 32),
    "wt103": VocabSetup(267736, (19997, 39997, 199997, 267736), (False, True, True, True), 192),
    "lm1b": VocabSetup(793470, (59997, 99997, 639997, 793470), (False, False, False, False), 32),
}


@dataclass(frozen=True)
class LtsArch:
    """One decoder: family, vocabulary setup, and the searched sizes (per layer where heterogeneous)."""

    family: str
    vocab: str
    d_model: int
    n_head: tuple[int, ...]
    d_inner: tuple[int, ...]
    d_embed: int
    div_val: int

    @property
    def n_layer(self) -> int:
        return len(self.n_head)

    @property
    def setup(self) -> VocabSetup:
        return VOCABS[self.vocab]

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "vocab": self.vocab,
            "n_layer": self.n_layer,
            "d_model": self.d_model,
            "n_head": list(self.n_head),
            "d_inner": list(self.d_inner),
            "d_embed": self.d_embed,
            "div_val": self.div_val,
        }

    def describe(self) -> str:
        heads = "/".join(map(str, self.n_head))
        inner = "/".join(map(str, self.d_inner))
        return (f"{self.family} {self.n_layer}L d{self.d_model} e{self.d_embed}/div{self.div_val} "
                f"heads {heads} ffn {inner} ({self.vocab})")


def _choice(name: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    if isinstance(value, bool) or value not in allowed:
        shown = f"{allowed[0]}..{allowed[-1]}" if len(allowed) > 6 else ", ".join(map(str, allowed))
        raise SpaceError(f"{name} {value!r} is not in the LTS space; allowed: {shown}")
    return value


def _per_layer(name: str, value: Any, n_layer: int) -> list[Any]:
    if isinstance(value, list):
        if len(value) != n_layer:
            raise SpaceError(f"{name} lists {len(value)} values for {n_layer} layers")
        return value
    return [value] * n_layer


def parse_arch(obj: Any) -> LtsArch:
    """Validate an architecture written as :meth:`LtsArch.to_json` writes it.

    ``n_head`` and ``d_inner`` are a list with one value per layer, or one value for all
    (archai's homogeneous configs); ``d_embed`` -1 means ``d_model`` (archai's convention).

    Raises:
        SpaceError: naming the field, the bad value and what is allowed.
    """
    if not isinstance(obj, dict):
        raise SpaceError(f"an LTS architecture is a JSON object, got {type(obj).__name__}")
    missing = [k for k in ("family", "vocab", "n_layer", "d_model", "n_head", "d_inner", "d_embed", "div_val") if k not in obj]
    if missing:
        raise SpaceError(f"an LTS architecture needs {', '.join(missing)}")
    family = _choice("family", obj["family"], FAMILIES)
    vocab = _choice("vocab", obj["vocab"], tuple(VOCABS))
    n_layer = _choice("n_layer", obj["n_layer"], LAYERS)
    d_model = _choice("d_model", obj["d_model"], D_MODELS)
    heads = tuple(_choice(f"n_head of layer {i}", h, HEADS) for i, h in enumerate(_per_layer("n_head", obj["n_head"], n_layer)))
    inner = []
    for i, width in enumerate(_per_layer("d_inner", obj["d_inner"], n_layer)):
        if isinstance(width, bool) or not isinstance(width, int) or not D_INNER_MIN <= width <= D_INNER_MAX:
            raise SpaceError(f"d_inner of layer {i} {width!r} is not in the LTS space; allowed: integers {D_INNER_MIN}..{D_INNER_MAX}")
        inner.append(width)
    d_embed = d_model if obj["d_embed"] == -1 else _choice("d_embed", obj["d_embed"], D_EMBEDS)
    div_val = _choice("div_val", obj["div_val"], DIV_VALS)
    return LtsArch(family, vocab, d_model, heads, tuple(inner), d_embed, div_val)

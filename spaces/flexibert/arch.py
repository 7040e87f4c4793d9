"""FlexiBERT architectures as used by the Serianni & Kalita (2023) benchmark (paper Table 6).

An architecture has one hidden size for all layers and 2 or 4 encoder layers; each layer
chooses an operation with its parameter, a number of operation heads, a feed-forward
dimension and a number of stacked feed-forward layers:

=====================  ===========================================
hidden size            128, 256
encoder layers         2, 4
operation (parameter)  SA (SDP, WMA), LT (DFT, DCT), DSC (5, 9)
operation heads        2, 4
feed-forward dim       512, 1024
feed-forward stacks    1, 3
=====================  ===========================================

so a layer has 6 · 2 · 2 · 2 = 48 choices and the space holds
2 · (48² + 48⁴) = 10,621,440 architectures.

The JSON form is the benchmark's own: ``{"hidden_size": 256, "encoder_layers": [{"operation_type":
"SA", "operation_parameter": "WMA", "num_operation_heads": 4, "feed_forward_dimension": 1024,
"num_feed_forward": 3}, ...]}``; the benchmark's nesting under ``"nas_config"`` is accepted too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spaces.errors import SpaceError

HIDDEN_SIZES: tuple[int, ...] = (128, 256)
DEPTHS: tuple[int, ...] = (2, 4)
OPERATIONS: tuple[tuple[str, str | int], ...] = (
    ("SA", "SDP"),
    ("SA", "WMA"),
    ("LT", "DFT"),
    ("LT", "DCT"),
    ("DSC", 5),
    ("DSC", 9),
)
HEADS: tuple[int, ...] = (2, 4)
FF_DIMS: tuple[int, ...] = (512, 1024)
FF_STACKS: tuple[int, ...] = (1, 3)

_OPERATION_PARAMETERS: dict[str, tuple[str | int, ...]] = {}
for _op, _param in OPERATIONS:
    _OPERATION_PARAMETERS.setdefault(_op, ())
    _OPERATION_PARAMETERS[_op] += (_param,)

#: Number of distinct layer configurations.
LAYER_CHOICES = len(OPERATIONS) * len(HEADS) * len(FF_DIMS) * len(FF_STACKS)


@dataclass(frozen=True)
class LayerSpec:
    """One encoder layer.

    Attributes:
        operation: ``"SA"`` (self-attention), ``"LT"`` (linear transform) or ``"DSC"``
            (dynamic span-based convolution).
        parameter: ``"SDP"``/``"WMA"`` for SA, ``"DFT"``/``"DCT"`` for LT, kernel 5/9 for DSC.
        heads: number of operation heads.
        ff_dim: width of the stacked feed-forward layers.
        ff_stacks: number of feed-forward layers before the output projection.
    """

    operation: str
    parameter: str | int
    heads: int
    ff_dim: int
    ff_stacks: int

    def to_json(self) -> dict[str, Any]:
        return {
            "operation_type": self.operation,
            "operation_parameter": self.parameter,
            "num_operation_heads": self.heads,
            "feed_forward_dimension": self.ff_dim,
            "num_feed_forward": self.ff_stacks,
        }

    def choice_index(self) -> int:
        """Index of this layer among the :data:`LAYER_CHOICES` layer configurations."""
        digits = (
            (OPERATIONS.index((self.operation, self.parameter)), len(OPERATIONS)),
            (HEADS.index(self.heads), len(HEADS)),
            (FF_DIMS.index(self.ff_dim), len(FF_DIMS)),
            (FF_STACKS.index(self.ff_stacks), len(FF_STACKS)),
        )
        index = 0
        for digit, base in digits:
            index = index * base + digit
        return index

    @classmethod
    def from_choice_index(cls, index: int) -> "LayerSpec":
        index, stacks = divmod(index, len(FF_STACKS))
        index, ff_dim = divmod(index, len(FF_DIMS))
        operation, heads = divmod(index, len(HEADS))
        op, param = OPERATIONS[operation]
        return cls(op, param, HEADS[heads], FF_DIMS[ff_dim], FF_STACKS[stacks])


@dataclass(frozen=True)
class FlexiBertArch:
    """A FlexiBERT architecture: a hidden size and a tuple of layers."""

    hidden_size: int
    layers: tuple[LayerSpec, ...]

    def to_json(self) -> dict[str, Any]:
        return {"hidden_size": self.hidden_size, "encoder_layers": [layer.to_json() for layer in self.layers]}

    @property
    def depth(self) -> int:
        return len(self.layers)

    def describe(self) -> str:
        """A short human-readable form, e.g. ``h256 SA-WMA/4/1024x3 LT-DCT/2/512x3``."""
        parts = [f"{l.operation}-{l.parameter}/{l.heads}/{l.ff_dim}x{l.ff_stacks}" for l in self.layers]
        return f"h{self.hidden_size} " + " ".join(parts)


def _allowed(values: tuple) -> str:
    return ", ".join(str(v) for v in values)


def _check_choice(where: str, field: str, value: Any, allowed: tuple) -> None:
    if isinstance(value, bool) or value not in allowed:
        raise SpaceError(f"{where}: {field} {value!r} is not in the FlexiBERT space; allowed: {_allowed(allowed)}")


def parse_layer(obj: Any, where: str) -> LayerSpec:
    """Validate one layer in the benchmark's JSON form."""
    if not isinstance(obj, dict):
        raise SpaceError(f"{where}: expected an object with the layer's fields, got {type(obj).__name__}")
    fields = ("operation_type", "operation_parameter", "num_operation_heads", "feed_forward_dimension", "num_feed_forward")
    missing = [f for f in fields if f not in obj]
    if missing:
        raise SpaceError(f"{where}: missing field(s) {', '.join(missing)}; a layer needs {', '.join(fields)}")
    unknown = sorted(set(obj) - set(fields))
    if unknown:
        raise SpaceError(f"{where}: unknown field(s) {', '.join(unknown)}; a layer has {', '.join(fields)}")
    operation = obj["operation_type"]
    _check_choice(where, "operation_type", operation, tuple(_OPERATION_PARAMETERS))
    parameter = obj["operation_parameter"]
    if operation == "DSC" and isinstance(parameter, str) and parameter.isdigit():
        parameter = int(parameter)
    _check_choice(where, f"operation_parameter for {operation}", parameter, _OPERATION_PARAMETERS[operation])
    _check_choice(where, "num_operation_heads", obj["num_operation_heads"], HEADS)
    _check_choice(where, "feed_forward_dimension", obj["feed_forward_dimension"], FF_DIMS)
    _check_choice(where, "num_feed_forward", obj["num_feed_forward"], FF_STACKS)
    return LayerSpec(operation, parameter, obj["num_operation_heads"], obj["feed_forward_dimension"], obj["num_feed_forward"])


def parse_arch(obj: Any) -> FlexiBertArch:
    """Validate an architecture in the benchmark's JSON form.

    Raises:
        SpaceError: naming the offending field (and layer) and the allowed values.
    """
    if not isinstance(obj, dict):
        raise SpaceError(f"a FlexiBERT architecture is a JSON object, got {type(obj).__name__}")
    if "nas_config" in obj:
        nas = obj["nas_config"]
        if not isinstance(nas, dict) or "encoder_layers" not in nas:
            raise SpaceError("nas_config must be an object with an 'encoder_layers' list")
        obj = {"hidden_size": obj.get("hidden_size"), "encoder_layers": nas["encoder_layers"]}
    for field in ("hidden_size", "encoder_layers"):
        if obj.get(field) is None:
            raise SpaceError(f"architecture: missing field {field!r}; needs hidden_size and encoder_layers")
    _check_choice("architecture", "hidden_size", obj["hidden_size"], HIDDEN_SIZES)
    layers = obj["encoder_layers"]
    if not isinstance(layers, list):
        raise SpaceError("architecture: encoder_layers must be a list of layers")
    _check_choice("architecture", "number of encoder layers", len(layers), DEPTHS)
    return FlexiBertArch(obj["hidden_size"], tuple(parse_layer(layer, f"layer {i}") for i, layer in enumerate(layers)))

"""Encoders seen through one interface, and the task heads put on top of them.

Both the student (an :class:`~spaces.nlu.NluModel` from the NLU space's builder) and the
teacher (a BERT-family ``transformers`` encoder) are wrapped so that one call returns the
:class:`~bench.train.distill.Features` the KD loss reads:

* student: the embedding output and every block output from ``output_hidden_states``; the
  MHA sub-layer outputs from forward hooks on the modules marked ``proxy_role="mixer"``
  (:func:`spaces.taps.modules_with_role`), or the attention maps from the
  ``attention_probs`` taps (:meth:`NluModel.proxy_taps`);
* teacher: ``hidden_states`` (index 0 the embeddings), the MHA outputs from hooks on
  ``encoder.layer[j].attention`` and the maps from ``output_attentions`` (the model is
  loaded with ``attn_implementation="eager"`` so that maps are returned).

Hooks are installed for one forward pass and removed after it, also on error.

Heads (one per task, on the encoder's last hidden state):

* :class:`ClassificationHead`: the first token ([CLS]) through a pooler
  ``tanh(W_p h_0 + b_p)``, dropout 0.1 and a linear classifier (one output for regression);
  the pooler and classifier are the "GLUE pooler and classifier" of the reference code.
* :class:`SpanHead`: a linear map of every token to a start and an end logit.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import torch
from torch import nn

from bench.train.distill import Features
from spaces.taps import modules_with_role, recording


class ClassificationHead(nn.Module):
    """``W_c Drop(tanh(W_p h_[CLS] + b_p)) + b_c`` → ``(B, num_labels)``."""

    kind = "classification"

    def __init__(self, hidden: int, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.pooler = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden, num_labels)
        for layer in (self.pooler, self.classifier):
            nn.init.normal_(layer.weight, std=0.02)
            nn.init.zeros_(layer.bias)
        if num_labels == 1:
            self.kind = "regression"

    def forward(self, last_hidden: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(torch.tanh(self.pooler(last_hidden[:, 0]))))


class SpanHead(nn.Module):
    """``W h_t + b`` → ``(B, T, 2)`` start and end logits of every token."""

    kind = "span"

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.span = nn.Linear(hidden, 2)
        nn.init.normal_(self.span.weight, std=0.02)
        nn.init.zeros_(self.span.bias)

    def forward(self, last_hidden: torch.Tensor) -> torch.Tensor:
        return self.span(last_hidden)


@contextlib.contextmanager
def _hooked(modules: list[nn.Module], pick: Callable[[Any], torch.Tensor]) -> Iterator[list[torch.Tensor]]:
    """The outputs of ``modules`` (through ``pick``) in forward order, appended while the block
    runs; the hooks are removed when it exits, also on error (:func:`spaces.taps.recording`)."""
    found: list[torch.Tensor] = []
    with recording(modules, lambda _module, out: found.append(pick(out))):
        yield found


class _Encoder(nn.Module):
    """The part both encoders share: the wrapped model, its width, and a plain forward pass
    (``attn_target=None``: only the last hidden state, no hooks) or :meth:`_features`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    def forward(self, batch: dict[str, torch.Tensor], attn_target: str | None = None) -> Features:
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
        if attn_target is None:
            last = self.model(**inputs).last_hidden_state
            return Features(last, [], [], last)
        return self._features(inputs, attn_target)

    def _features(self, inputs: dict[str, torch.Tensor], attn_target: str) -> Features:
        raise NotImplementedError


class StudentEncoder(_Encoder):
    """An NLU-space encoder returning :class:`Features` (see the module docstring)."""

    def _features(self, inputs: dict[str, torch.Tensor], attn_target: str) -> Features:
        modules = list(self.model.proxy_taps().get("attention_probs", [])) if attn_target == "probs" else modules_with_role(self.model, "mixer")
        with _hooked(modules, lambda out: out) as attention:
            out = self.model(**inputs, output_hidden_states=True)
        states = list(out.hidden_states)
        return Features(states[0], states[1:], list(attention), out.last_hidden_state)


class TeacherEncoder(_Encoder):
    """A BERT-family ``transformers`` encoder returning :class:`Features`.

    Raises:
        ValueError: when the model has no ``encoder.layer[i].attention`` modules.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        layers = getattr(getattr(model, "encoder", None), "layer", None)
        if layers is None or not all(hasattr(layer, "attention") for layer in layers):
            raise ValueError(f"{type(model).__name__} is not a BERT-family encoder (encoder.layer[i].attention)")
        self._attention_modules = [layer.attention for layer in layers]

    def _features(self, inputs: dict[str, torch.Tensor], attn_target: str) -> Features:
        probs = attn_target == "probs"
        with _hooked([] if probs else self._attention_modules, lambda out: out[0] if isinstance(out, tuple) else out) as attention:
            out = self.model(**inputs, output_hidden_states=True, output_attentions=probs)
        states = list(out.hidden_states)
        maps = list(out.attentions) if probs else list(attention)
        return Features(states[0], states[1:], maps, out.last_hidden_state)


class TaskModel(nn.Module):
    """An encoder with a task head: ``forward`` returns the head's logits and the encoder's features."""

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, batch: dict[str, torch.Tensor], attn_target: str | None = None) -> tuple[torch.Tensor, Features]:
        features = self.encoder(batch, attn_target)
        return self.head(features.last), features


def make_head(kind: str, hidden: int, num_labels: int = 2) -> nn.Module:
    """A fresh head: ``classification`` (``num_labels`` outputs; 1 = regression) or ``span``."""
    if kind == "span":
        return SpanHead(hidden)
    return ClassificationHead(hidden, num_labels)


def count_parameters(module: nn.Module) -> int:
    """Number of parameter elements of ``module``."""
    return sum(p.numel() for p in module.parameters())


def move_batch(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """``batch`` with every tensor on ``device``."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

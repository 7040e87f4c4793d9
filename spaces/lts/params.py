"""Analytic parameter counts of LTS decoders, grouped as archai's ``params_summary.yaml``.

With ``d = d_model``, ``e = d_embed``, ``f_l = d_inner`` of layer ``l``, ``L`` layers and the
clusters ``[c_{i-1}, c_i)`` of the vocabulary setup (widths ``e_i = e / div_val^i``):

* ``AdaEmb``: the adaptive input embedding, ``Σ_i (c_i − c_{i−1})·e_i`` plus the projections
  ``d·e_i`` (every cluster when ``div_val > 1``; the one ``d·e`` only when ``d ≠ e`` with
  ``div_val = 1``); GPT-2 adds its ``tgt_len·d`` learned positions;
* ``Attn`` per layer: GPT-2 ``4d² + 4d`` (fused QKV and output projections with biases);
  Transformer-XL ``5d² + 2d`` (bias-free Q/K/V, position and output projections, and the
  attention LayerNorm);
* ``FFN`` per layer: ``2·d·f_l + f_l + d``;
* ``nonembedding``: every parameter of the decoder layers: ``Attn + FFN`` plus the LayerNorms
  (GPT-2: two per layer and the final one; Transformer-XL: the FFN LayerNorm and the
  relative-position biases ``u, v`` of ``n_head·d_head = d`` each, together ``4d`` per layer
  with the attention LayerNorm counted in ``Attn``);
* ``total``: every parameter once (tied tensors once), which adds the output softmax's own
  tensors: the cluster weights and biases ``(n_clusters)·(e + 1)``, the per-token output biases
  ``n_token``, and the output projections that are not tied to the input ones.

These equal archai's counts for all 885 models of the five released sets (``tests/test_lts.py``).
"""

from __future__ import annotations

from spaces.lts.arch import LtsArch

GROUPS: tuple[str, ...] = ("AdaEmb", "Attn", "FFN", "nonembedding", "total")


def cluster_widths(arch: LtsArch) -> list[tuple[int, int]]:
    """``(tokens, width)`` of every cluster of the adaptive embedding."""
    bounds = (0, *arch.setup.cutoffs)
    if arch.div_val == 1:
        return [(arch.setup.n_token, arch.d_embed)]
    return [(bounds[i + 1] - bounds[i], arch.d_embed // arch.div_val**i) for i in range(len(bounds) - 1)]


def has_projection(arch: LtsArch, width: int) -> bool:
    """Whether a cluster of ``width`` is projected to ``d_model`` (always when ``div_val > 1``)."""
    return arch.div_val > 1 or width != arch.d_model


def breakdown(arch: LtsArch) -> dict[str, int]:
    """The parameter groups of :data:`GROUPS` (see the module docstring)."""
    d, setup = arch.d_model, arch.setup
    clusters = cluster_widths(arch)
    embedding = sum(tokens * width + (d * width if has_projection(arch, width) else 0) for tokens, width in clusters)
    if arch.family == "gpt2":
        embedding += setup.tgt_len * d
        attention = arch.n_layer * (4 * d * d + 4 * d)
        norms = (2 * arch.n_layer + 1) * 2 * d
    else:
        attention = arch.n_layer * (5 * d * d + 2 * d)
        norms = arch.n_layer * 4 * d
    ffn = sum(2 * d * f + f + d for f in arch.d_inner)
    nonembedding = attention + ffn + norms
    n_clusters = len(setup.cutoffs) - 1
    softmax = n_clusters * (arch.d_embed + 1) + setup.n_token
    softmax += sum(d * width for width, tied in output_projections(arch) if not tied and has_projection(arch, width))
    return {"AdaEmb": embedding, "Attn": attention, "FFN": ffn, "nonembedding": nonembedding, "total": embedding + nonembedding + softmax}


def output_projections(arch: LtsArch) -> list[tuple[int, bool]]:
    """``(width, tied)`` of every cluster of the output softmax: its input width and whether its
    projection to ``d_model`` is the input embedding's (``tie_projs``). With ``div_val = 1``
    every cluster reads the one embedding width ``e``, and an untied cluster has its own ``d·e``
    projection when ``d ≠ e``."""
    ties = arch.setup.tie_projs[: len(arch.setup.cutoffs)]
    if arch.div_val == 1:
        return [(arch.d_embed, tied) for tied in ties]
    return [(arch.d_embed // arch.div_val**i, tied) for i, tied in enumerate(ties)]

"""Size baselines against plain computations."""

from __future__ import annotations

import pytest

import proxies
from proxies.capture import score
from spaces.flexibert.arch import FlexiBertArch, LayerSpec


def test_size_baselines(space, tiny_batch):
    arch = FlexiBertArch(128, (LayerSpec("SA", "SDP", 2, 512, 1), LayerSpec("SA", "SDP", 4, 1024, 1)))
    model = space.build_model(arch, seed=0)
    values = {r.proxy: r.value for r in score(model, tiny_batch, proxies.select_proxies(["params*", "layers*", "hidden-size", "flops"]))[0]}
    embedding_params = (30522 + 512 + 2) * 128 + 2 * 128  # tables + LayerNorm; no projection at width 128
    assert values["params"] - values["params-nonemb"] == embedding_params
    assert values["layers"] == 2 and values["hidden-size"] == 128 and values["layers-x-hidden"] == 256
    # FLOPs by hand: 2·(multiply-adds) of every matrix product of the forward pass
    batch, tokens = tiny_batch["input_ids"].shape
    n, h, f = batch * tokens, 128, 4 * 128
    linear = 4 * n * h * h + n * h * f + n * f * h  # Q, K, V, output; FFN in and out
    attention = 2 * batch * tokens * tokens * h  # scores and weighted values over all heads
    assert values["flops"] == pytest.approx(2 * (2 * linear + 2 * attention))


def test_flops_are_counted_only_when_asked(space, tiny_batch):
    arch = FlexiBertArch(128, (LayerSpec("SA", "SDP", 2, 512, 1), LayerSpec("SA", "SDP", 2, 512, 1)))
    ctx = proxies.capture(space.build_model(arch, seed=0), tiny_batch, [proxies.get_proxy("v-pca")])
    assert ctx.flops is None

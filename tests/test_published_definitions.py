"""The benchmark authors' published proxy definitions against plain computations, and the comparison
with their published values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from torch import nn

import proxies
from bench.analysis.published import PUBLISHED_COLUMNS, published_comparison
from proxies.capture import score
from proxies.losses import proxy_loss
from spaces.flexibert.arch import FlexiBertArch, LayerSpec

PUBLISHED = [s.name for s in proxies.select_proxies(["published-*"])]


@pytest.fixture(scope="module")
def model(space):
    """The published variant (hidden 256, FFN 1024) of an SA-WMA, LT-DFT, DSC-9 architecture."""
    arch = FlexiBertArch(256, (
        LayerSpec("SA", "WMA", 4, 1024, 2),
        LayerSpec("LT", "DFT", 2, 512, 1),
        LayerSpec("DSC", 9, 4, 1024, 1),
    ))
    return space.build_model(arch, seed=1, variant="published").eval()


@pytest.fixture(scope="module")
def values(model, tiny_batch):
    results, _ = score(model, tiny_batch, [proxies.get_proxy(n) for n in PUBLISHED])
    assert all(r.status == "ok" for r in results), [(r.proxy, r.error) for r in results]
    return {r.proxy: r.value for r in results}


@pytest.fixture(scope="module")
def grads(model, tiny_batch):
    """Parameter name -> (weight, gradient) as numpy, from a fresh token-ce backward."""
    model.zero_grad(set_to_none=True)
    proxy_loss(model, model(**tiny_batch).last_hidden_state, tiny_batch, "token-ce", 0).backward()
    out = {n: (p.detach().double().numpy(), p.grad.double().numpy()) for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return out


def _linear_weights(model, prefixes):
    names = {f"{n}.weight" for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.startswith(prefixes)}
    assert names
    return names


def test_published_definitions_are_registered_outside_all():
    assert len(PUBLISHED) == 8 and set(PUBLISHED) <= set(PUBLISHED_COLUMNS)
    everything = {s.name for s in proxies.select_proxies(["all"])}
    assert not everything & set(PUBLISHED) and "params" in everything


def test_published_synaptic_measures_read_their_weight_sets(model, grads, values):
    mixers = tuple(f"layers.{i}.mixer" for i in range(3))  # the operations and their output projections
    names = _linear_weights(model, mixers)
    assert not any("key_conv" in n for n in names)  # convolutions are not nn.Linear
    expected = sum(np.linalg.norm(grads[n][0], "nuc") * np.linalg.norm(grads[n][1], "nuc") for n in names if n in grads)
    assert values["published-synaptic-diversity"] == pytest.approx(expected, rel=1e-6)
    ffn = _linear_weights(model, tuple(f"layers.{i}.ffn" for i in range(3)))
    assert len(ffn) == 3 + 1 + 3  # num_feed_forward linears and the output dense per layer
    assert values["published-synaptic-saliency"] == pytest.approx(sum(np.abs(grads[n][0] * grads[n][1]).sum() for n in ffn), rel=1e-6)


def test_published_head_importance_keeps_projections_of_at_least_128_outputs(model, grads, values):
    operations = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear) and ".mixer." in n}
    wide = [f"{n}.weight" for n, m in operations.items() if m.out_features >= 128]
    assert any("conv_kernel" in n for n in operations) and not any("conv_kernel" in n for n in wide)
    expected = sum(np.abs(grads[n][0] * grads[n][1]).sum() for n in wide if n in grads)
    assert values["published-head-importance"] == pytest.approx(expected, rel=1e-6)


def test_published_jacobian_scores_read_the_position_embedding_gradient(grads, values):
    g = grads["embeddings.position_embeddings.weight"][1]  # (positions, embedding dims)
    rows = g.T
    eig = np.linalg.eigvalsh(np.corrcoef(rows))
    assert values["published-jacov"] == pytest.approx(-np.sum(np.log(eig + 1e-5) + 1 / (eig + 1e-5)), rel=1e-6)
    normed = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    cos = normed @ normed.T
    np.fill_diagonal(cos, 0.0)
    n = len(rows)
    assert values["published-jacobian-cosine"] == pytest.approx(1 - np.sum(np.abs(cos) ** (1 / 20)) / 2 / (n * n - n), rel=1e-6)


def test_published_forward_measures_match_hooks_by_hand(model, tiny_batch, values):
    activations, projections, probs, lt_inputs = [], [], [], []
    handles = []
    for layer in model.layers:
        handles += [tap.register_forward_hook(lambda _m, _i, o: activations.append(o.detach())) for tap in layer.ffn.activation_taps]
        for name in ("query", "key", "value", "input", "weight"):
            module = getattr(layer.mixer, name, None)
            if isinstance(module, nn.Linear):
                handles.append(module.register_forward_hook(lambda _m, _i, o: projections.append(o.detach())))
        if hasattr(layer.mixer, "probs_tap"):
            handles.append(layer.mixer.probs_tap.register_forward_hook(lambda _m, _i, o: probs.append(o.detach())))
        else:
            heads = layer.mixer.heads
            handles.append(layer.mixer.input.register_forward_hook(lambda _m, _i, o, h=heads: lt_inputs.append((o.detach(), h))))
    with torch.no_grad():
        model(**tiny_batch)
    for handle in handles:
        handle.remove()
    assert len(activations) == 4 and len(projections) == 4 + 1 + 3 and len(probs) == 2 and len(lt_inputs) == 1
    sums = []
    for out in activations:
        x = (out[0].numpy() > 0).astype(np.float64)
        sums.append(np.sum(x @ x.T + (1 - x) @ (1 - x).T))
    assert values["published-activation-distance"] == pytest.approx(np.mean(sums), rel=1e-9)
    confidence = sum(torch.max(p, 1)[0].double().mean().item() for p in projections)
    assert values["published-head-confidence"] == pytest.approx(confidence, rel=1e-9)
    softmax = sum(p.double().max(dim=1)[0].mean().item() for p in probs)
    for projected, heads in lt_inputs:
        b, t, width = projected.shape
        per_head = projected.view(b, t, heads, width // heads).permute(0, 2, 1, 3)  # (B, H, T, d)
        mixed = torch.fft.fft2(per_head.double(), dim=(-2, -1)).real
        softmax += torch.softmax(mixed, dim=-1).max(dim=1)[0].mean().item()
    assert values["published-softmax-confidence"] == pytest.approx(softmax, rel=1e-6)


def test_published_definitions_refuse_a_model_that_is_not_flexibert(tiny_batch):
    from spaces import get_space

    space = get_space("nlu-tiny")
    built = space.build_model(space.arch_at(0), seed=0)
    result = score(built, tiny_batch, [proxies.get_proxy("published-synaptic-saliency")])[0][0]
    assert result.status == "error" and "not a FlexiBERT model" in result.error


def test_published_comparison_matches_scipy_and_counts_missing_values():
    rng = np.random.default_rng(1)
    n = 30
    truth = pd.DataFrame({"bench_id": np.arange(n), "arch_hash": [f"h{i}" for i in range(n)], "task": "glue", "score": rng.normal(size=n)})
    theirs = rng.normal(size=n)
    ours = theirs + rng.normal(scale=0.5, size=n)
    ours[3] = math.nan
    rows = pd.DataFrame({"arch_hash": truth["arch_hash"], "proxy": "published-head-confidence", "seed": 0, "value": ours})
    published = pd.DataFrame({"ID": np.arange(n), "Head Confidence": theirs})
    frame = published_comparison(rows, truth, published, seed=0)
    assert list(frame["proxy"]) == ["published-head-confidence"]
    row = frame.iloc[0]
    keep = np.isfinite(ours)
    assert row["n"] == n - 1 and row["n_missing"] == 1
    assert row["spearman_rho"] == pytest.approx(stats.spearmanr(ours[keep], theirs[keep]).statistic)
    assert row["kendall_tau"] == pytest.approx(stats.kendalltau(ours[keep], theirs[keep]).statistic)
    assert row["published_rho_glue"] == pytest.approx(stats.spearmanr(theirs[keep], truth["score"][keep]).statistic)

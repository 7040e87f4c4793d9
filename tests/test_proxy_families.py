"""Gradient, activation, Jacobian and head proxies against plain computations on small models."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import proxies
from proxies.activation import activation_kernel
from proxies.capture import capture, score
from proxies.jacobian import jacobian_cosine_score
from proxies.losses import proxy_loss, target_positions
from spaces.flexibert.arch import FlexiBertArch, LayerSpec


@pytest.fixture(scope="module")
def mixed_model(space):
    """h128, 4 layers covering SA-WMA, LT-DCT, DSC-5 and SA-SDP, built with the named operations."""
    arch = FlexiBertArch(128, (
        LayerSpec("SA", "WMA", 4, 512, 1),
        LayerSpec("LT", "DCT", 2, 512, 3),
        LayerSpec("DSC", 5, 4, 1024, 1),
        LayerSpec("SA", "SDP", 2, 512, 1),
    ))
    return space.build_model(arch, seed=3, variant="flexibert")


def _reference_gradients(model, batch, seed=0):
    """Gradients of the token-ce loss computed with a fresh plain forward/backward pass."""
    model.eval()
    model.zero_grad(set_to_none=True)
    embeddings_out = {}
    heads_out = []

    def keep_embeddings(module, inputs, output):
        output.retain_grad()
        embeddings_out["x"] = output

    def keep_heads(module, inputs, output):
        output.retain_grad()
        heads_out.append(output)

    handles = [model.embeddings.tap.register_forward_hook(keep_embeddings)]
    handles += [layer.mixer.heads_tap.register_forward_hook(keep_heads) for layer in model.layers]
    last = model(**batch).last_hidden_state
    proxy_loss(model, last, batch, "token-ce", seed).backward()
    for handle in handles:
        handle.remove()
    return embeddings_out["x"], heads_out


def test_token_ce_loss_targets_are_seeded_and_cover_every_sequence(tiny_batch):
    a, b = target_positions(tiny_batch, 4), target_positions(tiny_batch, 4)
    assert torch.equal(a, b) and a.any(dim=1).all()
    assert not a[:, 0].any() and not a[:, -1].any()


def test_token_ce_loss_equals_plain_cross_entropy(mixed_model, tiny_batch):
    with torch.no_grad():
        last = mixed_model(**tiny_batch).last_hidden_state
        loss = proxy_loss(mixed_model, last, tiny_batch, "token-ce", 0)
        positions = target_positions(tiny_batch, 0)
        project = mixed_model.embeddings.project
        hidden = last[positions] if project is None else last[positions] @ project.weight
        logits = hidden @ mixed_model.embeddings.word_embeddings.weight.T
        log_probs = torch.log_softmax(logits.double(), dim=-1)
        expected = -log_probs[torch.arange(len(logits)), tiny_batch["input_ids"][positions]].mean()
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)


def test_ones_loss_has_no_gradient_through_the_last_layernorm(mixed_model, tiny_batch):
    mixed_model.zero_grad(set_to_none=True)
    last = mixed_model(**tiny_batch).last_hidden_state
    proxy_loss(mixed_model, last, tiny_batch, "ones", 0).backward()
    weight = mixed_model.layers[0].ffn.linears[0].weight
    assert float(weight.grad.abs().max()) < 1e-5 * float(weight.detach().abs().max())


def test_synaptic_saliency_and_diversity_match_plain_sums(mixed_model, tiny_batch):
    results = {r.proxy: r.value for r in score(mixed_model, tiny_batch, proxies.select_proxies(["synaptic-*"]))[0]}
    _reference_gradients(mixed_model, tiny_batch)
    saliency, diversity = 0.0, 0.0
    for layer in mixed_model.layers:
        mixer_params = [p for p in layer.mixer.parameters() if p.ndim >= 2] + [layer.mixer_output.weight]
        ffn_params = [l.weight for l in layer.ffn.linears] + [layer.ffn.output.weight]
        for p in mixer_params + ffn_params:
            saliency += float((p.grad.double() * p.detach().double()).abs().sum())
        for p in mixer_params:
            w = p.detach().double().reshape(p.shape[0], -1).numpy()
            g = p.grad.double().reshape(p.shape[0], -1).numpy()
            diversity += np.linalg.svd(w, compute_uv=False).sum() * np.linalg.svd(g, compute_uv=False).sum()
    assert results["synaptic-saliency"] == pytest.approx(saliency, rel=1e-6)
    assert results["synaptic-diversity"] == pytest.approx(diversity, rel=1e-6)


def test_synaptic_diversity_covers_every_operation(mixed_model):
    from spaces.taps import role_weights

    names = [name for name, _ in role_weights(mixed_model, "mixer")]
    assert "weight.weight" in names  # WMA matrix
    assert "input.weight" in names  # LT projection
    assert "key_conv.depthwise.weight" in names and "conv_kernel.weight" in names  # DSC


def test_activation_distance_matches_hamming_kernel_by_hand(mixed_model, tiny_batch):
    ctx = capture(mixed_model, tiny_batch, [proxies.get_proxy("activation-distance")])
    acts = ctx.captured["ffn_activation"]
    assert len(acts) == 1 + 3 + 1 + 1  # one per FFN layer, stacks included
    codes = np.concatenate([(a > 0).numpy().reshape(a.shape[0], -1) for a in acts], axis=1).astype(int)
    n = codes.shape[0]
    hamming = np.array([[np.sum(codes[i] != codes[j]) for j in range(n)] for i in range(n)])
    kernel = codes.shape[1] - hamming
    np.testing.assert_allclose(activation_kernel(acts, None).numpy(), kernel)
    ones = torch.ones(acts[0].shape[:2], dtype=torch.long)  # a mask without padding reads the codes as no mask
    np.testing.assert_allclose(activation_kernel(acts, ones).numpy(), kernel)
    expected = np.linalg.slogdet(kernel.astype(float))[1]
    value = score(mixed_model, tiny_batch, [proxies.get_proxy("activation-distance")])[0][0].value
    assert value == pytest.approx(expected, rel=1e-9)


def test_activation_kernel_with_identical_codes_is_singular():
    act = torch.ones(3, 2, 4)
    kernel = activation_kernel([act], None)
    sign, _ = torch.linalg.slogdet(kernel)
    assert float(sign) == 0.0 or not torch.isfinite(torch.linalg.slogdet(kernel)[1])


def test_jacobian_cosine_matches_the_formula(mixed_model, tiny_batch):
    value = score(mixed_model, tiny_batch, [proxies.get_proxy("jacobian-cosine")])[0][0].value
    embeddings, _ = _reference_gradients(mixed_model, tiny_batch)
    jac = embeddings.grad.reshape(embeddings.shape[0], -1).double().numpy()
    unit = jac / np.linalg.norm(jac, axis=1, keepdims=True)
    n = len(unit)
    total = sum(abs(unit[i] @ unit[j]) ** (1 / 20) for i in range(n) for j in range(n) if i != j)
    assert value == pytest.approx(1 - total / (n * n - n), rel=1e-9)


def test_jacobian_cosine_known_values():
    identical = torch.ones(4, 3)
    assert jacobian_cosine_score(identical) == pytest.approx(0.0)
    orthogonal = torch.eye(4)
    assert jacobian_cosine_score(orthogonal) == pytest.approx(1.0)
    assert math.isnan(jacobian_cosine_score(torch.zeros(3, 2)))


def test_head_proxies_match_loops(mixed_model, tiny_batch):
    chosen = proxies.select_proxies(["head-*", "softmax-confidence"])
    results = {r.proxy: r.value for r in score(mixed_model, tiny_batch, chosen)[0]}
    _, heads = _reference_gradients(mixed_model, tiny_batch)
    confidence = importance = 0.0
    for layer_heads in heads:
        b, t, h, d = layer_heads.shape
        a, g = layer_heads.detach().double(), layer_heads.grad.double()
        confidence += np.mean([np.mean([abs(float(a[i, j, k].max())) for i in range(b) for j in range(t)]) for k in range(h)])
        importance += np.mean([np.mean([abs(float((a[i, :, k] * g[i, :, k]).sum())) for i in range(b)]) for k in range(h)])
    ctx = capture(mixed_model, tiny_batch, [proxies.get_proxy("softmax-confidence")])
    softmax = sum(float(p.amax(-1).double().mean()) for p in ctx.captured["attention_probs"])
    assert len(ctx.captured["attention_probs"]) == 3  # WMA, DSC and SDP layers; LT has none
    assert results["head-confidence"] == pytest.approx(confidence, rel=1e-9)
    assert results["head-importance"] == pytest.approx(importance, rel=1e-6)
    assert results["softmax-confidence"] == pytest.approx(softmax, rel=1e-9)


def test_dsc_layer_reports_attention_and_convolution_heads(mixed_model, tiny_batch):
    ctx = capture(mixed_model, tiny_batch, [proxies.get_proxy("head-confidence")])
    shapes = [tuple(h.shape[2:]) for h in ctx.captured["mixer_heads"]]
    assert shapes == [(4, 32), (2, 64), (4, 32), (2, 64)]  # DSC-5 with 4 heads: 2 attention + 2 convolution


def test_softmax_confidence_without_attention_is_an_error(space, tiny_batch):
    arch = FlexiBertArch(128, (LayerSpec("LT", "DFT", 2, 512, 1), LayerSpec("LT", "DCT", 4, 512, 1)))
    model = space.build_model(arch, seed=0, variant="flexibert")
    result = score(model, tiny_batch, [proxies.get_proxy("softmax-confidence")])[0][0]
    assert result.status == "error" and "no softmax attention head" in result.error


def test_all_ten_paper_proxies_are_registered():
    names = {s.name for s in proxies.list_proxies()}
    assert {
        "synaptic-saliency", "synaptic-diversity", "activation-distance", "jacobian-cosine", "head-importance",
        "head-confidence", "softmax-confidence", "params", "v-pca", "w-pca",
    } <= names
    gradient_free = {s.name for s in proxies.list_proxies() if s.gradient_free}
    assert {"activation-distance", "head-confidence", "softmax-confidence", "params", "v-pca", "w-pca"} <= gradient_free
    assert not {"synaptic-saliency", "synaptic-diversity", "jacobian-cosine", "head-importance"} & gradient_free


def test_activation_kernel_with_padding_counts_only_shared_positions():
    torch.manual_seed(0)
    act = torch.randn(3, 5, 4)
    act[0, 1, 2] = 0.0  # an exact zero (ReLU) is inactive
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]])
    codes = (act > 0).numpy()
    m = mask.numpy().astype(bool)
    expected = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            both = m[i] & m[j]
            expected[i, j] = np.sum(codes[i][both] == codes[j][both])
    np.testing.assert_allclose(activation_kernel([act], mask).numpy(), expected)

"""The standard zero-cost proxies against plain computations on a small mixed model.

Each reference below recomputes a proxy from its equation with its own forward/backward pass,
module surgery instead of hooks where the proxy rewrites the network, and numpy for the sums.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

import proxies
from proxies.capture import score
from proxies.jacobian import epe_nas_score, jacov_score
from proxies.losses import proxy_loss
from proxies.zico import zico_score
from spaces.flexibert.arch import FlexiBertArch, LayerSpec

ZOO = ("grad-norm", "snip", "plain", "l2-norm", "grasp", "fisher", "jacov", "synflow", "zen", "epe-nas", "zico", "meco", "lpzero")


@pytest.fixture(scope="module")
def model(space):
    """h128, 3 layers covering SA-WMA, DSC-5 (with its Conv1d layers) and LT-DFT."""
    arch = FlexiBertArch(128, (
        LayerSpec("SA", "WMA", 2, 512, 1),
        LayerSpec("DSC", 5, 4, 1024, 1),
        LayerSpec("LT", "DFT", 2, 512, 2),
    ))
    return space.build_model(arch, seed=5, variant="flexibert")


def _value(model, batch, name, **kwargs):
    result = score(model, batch, [proxies.get_proxy(name)], **kwargs)[0][0]
    assert result.status == "ok", result.error
    return result.value


def _layers(model):
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]


def _plain_backward(model, batch, seed=0):
    """(W, ∂L/∂W) of every Linear/Conv layer as float64 numpy arrays, from a fresh token-ce backward."""
    model.eval()
    model.zero_grad(set_to_none=True)
    proxy_loss(model, model(**batch).last_hidden_state, batch, "token-ce", seed).backward()
    pairs = []
    for layer in _layers(model):
        grad = layer.weight.grad if layer.weight.grad is not None else torch.zeros_like(layer.weight)
        pairs.append((layer.weight.detach().double().numpy(), grad.double().numpy()))
    model.zero_grad(set_to_none=True)
    return pairs


def test_every_zoo_proxy_is_registered_under_its_common_name_and_aliases():
    for name in ZOO:
        spec = proxies.get_proxy(name)
        assert spec.name == name and spec.description
    for alias, name in [("grad_norm", "grad-norm"), ("l2_norm", "l2-norm"), ("jacob_cov", "jacov"), ("epe_nas", "epe-nas")]:
        assert proxies.get_proxy(alias).name == name
    assert proxies.get_proxy("snip").name == "snip" != proxies.get_proxy("synaptic-saliency").name
    own = {s.name for s in proxies.select_proxies(["all"]) if s.own_pass}
    assert own == {"grasp", "fisher", "synflow", "zen", "zico", "meco", "lpzero"}
    gradient_free = {s.name for s in proxies.list_proxies() if s.gradient_free}
    assert {"l2-norm", "zen", "meco", "lpzero"} <= gradient_free
    assert not {"grad-norm", "snip", "plain", "grasp", "fisher", "jacov", "synflow", "epe-nas", "zico"} & gradient_free


def test_layer_measures_match_numpy_sums(model, tiny_batch):
    pairs = _plain_backward(model, tiny_batch)
    assert len(pairs) >= 10  # attention projections, FFN linears, the DSC convolutions
    assert _value(model, tiny_batch, "grad-norm") == pytest.approx(sum(np.linalg.norm(g) for _, g in pairs), rel=1e-6)
    assert _value(model, tiny_batch, "snip") == pytest.approx(sum(np.abs(w * g).sum() for w, g in pairs), rel=1e-6)
    assert _value(model, tiny_batch, "plain") == pytest.approx(sum((w * g).sum() for w, g in pairs), rel=1e-5, abs=1e-9)
    assert _value(model, tiny_batch, "l2-norm") == pytest.approx(sum(np.linalg.norm(w) for w, _ in pairs), rel=1e-9)


def test_grasp_matches_a_finite_difference_hessian_gradient_product(model, tiny_batch):
    twin = copy.deepcopy(model).double().eval()
    weights = [layer.weight for layer in _layers(twin)]

    def gradients():
        twin.zero_grad(set_to_none=True)
        proxy_loss(twin, twin(**tiny_batch).last_hidden_state.double(), tiny_batch, "token-ce", 0).backward()
        return [w.grad.clone() if w.grad is not None else torch.zeros_like(w) for w in weights]

    g = gradients()
    eps = 1e-3 / math.sqrt(sum(float((x * x).sum()) for x in g))
    with torch.no_grad():
        for w, x in zip(weights, g):
            w.add_(eps * x)
    plus = gradients()
    with torch.no_grad():
        for w, x in zip(weights, g):
            w.sub_(2 * eps * x)
    minus = gradients()
    with torch.no_grad():
        for w, x in zip(weights, g):
            w.add_(eps * x)
    hg = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
    expected = sum(float((-w.detach() * h).sum()) for w, h in zip(weights, hg))
    assert _value(twin, tiny_batch, "grasp") == pytest.approx(expected, rel=2e-2)


def test_fisher_matches_per_channel_sums_by_hand(model, tiny_batch):
    outputs = []

    def keep(module, _inputs, output):
        output.retain_grad()
        outputs.append((module, output))

    handles = [layer.register_forward_hook(keep) for layer in _layers(model)]
    model.eval()
    proxy_loss(model, model(**tiny_batch).last_hidden_state, tiny_batch, "token-ce", 0).backward()
    for handle in handles:
        handle.remove()
    model.zero_grad(set_to_none=True)
    expected = 0.0
    for layer, out in outputs:
        a, g = out.detach().double().numpy(), out.grad.double().numpy()
        if isinstance(layer, nn.Linear):
            per_sequence = np.einsum("btk,btk->bk", a, g)
        else:
            per_sequence = np.einsum("bkt,bkt->bk", a, g)
        delta = 0.5 * (per_sequence ** 2).mean(axis=0)
        expected += np.prod(layer.weight.shape[1:]) * np.abs(delta).sum()
    assert _value(model, tiny_batch, "fisher") == pytest.approx(expected, rel=1e-6)


def test_jacov_and_epe_nas_match_numpy_on_known_matrices():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(6, 40))
    eig = np.linalg.eigvalsh(np.corrcoef(rows))
    assert jacov_score(torch.tensor(rows)) == pytest.approx(-np.sum(np.log(eig + 1e-5) + 1 / (eig + 1e-5)), rel=1e-9)
    identity_like = np.eye(4, 40)
    assert jacov_score(torch.tensor(identity_like)) > jacov_score(torch.tensor(np.vstack([rows[0]] * 3 + [rows[1]])))
    one_class = abs(np.sum(np.log(np.abs(np.corrcoef(rows)) + 1e-5)))
    assert epe_nas_score(torch.tensor(rows)) == pytest.approx(one_class, rel=1e-9)
    labels = np.array([0, 0, 1, 1, 1, 2])
    by_class = sum(
        abs(np.sum(np.log(np.abs(np.atleast_2d(np.corrcoef(rows[labels == c]))) + 1e-5))) for c in range(3)
    )
    assert epe_nas_score(torch.tensor(rows), torch.tensor(labels)) == pytest.approx(by_class, rel=1e-9)
    many = np.arange(120) % 101  # 101 classes: normalised per-class scores, mean pairwise distance
    wide = rng.normal(size=(120, 8))
    s = []
    for c in range(101):
        try:  # the reference's loop: len() of a class of one's 0-d correlation fails and the class is skipped
            corr = np.corrcoef(wide[many == c])
            s.append(np.sum(np.log(np.abs(corr) + 1e-5)) / len(corr))
        except TypeError:
            continue
    assert len(s) == 19
    expected = sum(abs(a - b) for a in s for b in s) / len(s)
    assert epe_nas_score(torch.tensor(wide), torch.tensor(many)) == pytest.approx(expected, rel=1e-9)
    assert math.isnan(jacov_score(torch.tensor(np.vstack([rows[:3], np.ones((1, 40))]))))


def test_jacobian_proxies_read_the_loss_gradient_of_the_encoder_input(model, tiny_batch):
    seen = {}

    def keep(_module, _inputs, output):
        output.retain_grad()
        seen["x"] = output

    handle = model.embeddings.tap.register_forward_hook(keep)
    model.eval()
    proxy_loss(model, model(**tiny_batch).last_hidden_state, tiny_batch, "token-ce", 0).backward()
    handle.remove()
    model.zero_grad(set_to_none=True)
    rows = seen["x"].grad.reshape(len(tiny_batch["input_ids"]), -1).double().numpy()
    eig = np.linalg.eigvalsh(np.corrcoef(rows))
    assert _value(model, tiny_batch, "jacov") == pytest.approx(-np.sum(np.log(eig + 1e-5) + 1 / (eig + 1e-5)), rel=1e-5)
    assert _value(model, tiny_batch, "epe-nas") == pytest.approx(abs(np.sum(np.log(np.abs(np.corrcoef(rows)) + 1e-5))), rel=1e-5)


class _Constant(nn.Module):
    """Stands in for a module: returns ``value`` (broadcast to the input's shape)."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return self.value(x) if callable(self.value) else self.value.expand_as(x).to(x.dtype)


def test_synflow_matches_surgery_on_an_absolute_float64_copy(model, tiny_batch):
    twin = copy.deepcopy(model).double()
    with torch.no_grad():
        for p in twin.parameters():
            p.abs_()
    for module in list(twin.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.LayerNorm):
                setattr(module, name, nn.Identity())
    twin.embeddings.tap = _Constant(lambda x: torch.ones_like(x))
    twin.eval()
    one = {k: v[:1] for k, v in tiny_batch.items()}
    one["attention_mask"] = torch.ones_like(one["attention_mask"])
    twin(**one).last_hidden_state.sum().backward()
    expected = sum(
        np.abs(layer.weight.detach().numpy() * layer.weight.grad.numpy()).sum() for layer in _layers(twin) if layer.weight.grad is not None
    )
    model.zero_grad(set_to_none=True)
    value = _value(model, tiny_batch, "synflow")
    assert value == pytest.approx(expected, rel=1e-9)
    assert value > 1e6  # |θ| products compound with depth; float64 keeps them
    assert all(p.grad is None for p in model.parameters())
    assert model.embeddings.LayerNorm.weight.dtype == torch.float32  # the scored model is untouched


def test_zen_matches_surgery_with_the_same_gaussian_draws(model, tiny_batch):
    generator = torch.Generator().manual_seed(0)
    b, t = tiny_batch["input_ids"].shape
    x = torch.randn((b, t, 128), generator=generator)
    eps = torch.randn((b, t, 128), generator=generator)
    twin = copy.deepcopy(model).eval()
    variances = []
    norms = [m for m in twin.modules() if isinstance(m, nn.LayerNorm) and m is not twin.embeddings.LayerNorm]  # x enters after it
    handles = [n.register_forward_pre_hook(lambda _m, inp: variances.append(inp[0].reshape(-1, inp[0].shape[-1]).double().var(0, unbiased=False).mean().item())) for n in norms]
    full = dict(tiny_batch, attention_mask=torch.ones_like(tiny_batch["attention_mask"]))
    with torch.no_grad():
        twin.embeddings.tap = _Constant(x)
        clean = twin(**full).last_hidden_state.double()
        for handle in handles:
            handle.remove()
        twin.embeddings.tap = _Constant(x + 0.01 * eps)
        mixed = twin(**full).last_hidden_state.double()
    assert len(variances) == 2 * 3  # the mixer and FFN LayerNorms of three layers
    delta = (clean - mixed).abs().reshape(b, -1).sum(1).mean().item()
    expected = math.log(delta) + sum(0.5 * math.log(v) for v in variances)
    assert _value(model, tiny_batch, "zen") == pytest.approx(expected, rel=1e-6)


def test_non_finite_values_stay_non_finite():
    from proxies.meco import min_correlation_eigenvalue
    from proxies.zen import _log

    assert math.isnan(zico_score([torch.full((2, 5), math.nan)]))
    assert math.isnan(zico_score([torch.tensor([[1.0, math.inf], [2.0, 3.0]])]))
    assert math.isnan(min_correlation_eigenvalue(torch.full((4, 6), math.nan)))
    assert min_correlation_eigenvalue(torch.ones(4, 6)) == 0.0  # constant rows: correlations set to 0, as the reference
    with pytest.raises(ValueError, match="at least two unpadded tokens"):
        min_correlation_eigenvalue(torch.ones(1, 6))
    assert math.isnan(_log(math.nan)) and _log(0.0) == -math.inf


def test_meco_drops_padding_and_zen_synflow_ignore_it(model, tiny_batch):
    padded = {k: v.clone() for k, v in tiny_batch.items()}
    padded["attention_mask"][0, -5:] = 0
    assert _value(model, padded, "meco") != _value(model, tiny_batch, "meco")
    for name in ("zen", "synflow"):  # their inputs are their own, every position attended
        assert _value(model, padded, name) == _value(model, tiny_batch, name)


def test_zico_matches_numpy_statistics_of_two_half_batches(model, tiny_batch):
    halves = [{k: v[:2] for k, v in tiny_batch.items()}, {k: v[2:] for k, v in tiny_batch.items()}]
    grads = [[g.reshape(-1) for _, g in _plain_backward(model, half)] for half in halves]
    expected = 0.0
    for g1, g2 in zip(*grads):
        stack = np.stack([g1, g2])
        std = stack.std(axis=0)
        nonzero = std > 0
        ratio = np.sum(np.abs(stack).mean(axis=0)[nonzero] / std[nonzero])
        expected += np.log(ratio) if ratio else 0.0
    assert _value(model, tiny_batch, "zico") == pytest.approx(expected, rel=1e-6)
    assert zico_score([torch.zeros(2, 5)]) == 0.0  # a layer no entry of which varies adds nothing


def test_meco_matches_numpy_eigenvalues_of_each_layer(model, tiny_batch):
    outputs = []
    handles = [layer.register_forward_hook(lambda m, _i, out: outputs.append((m, out.detach()))) for layer in _layers(model)]
    first = {k: v[:1] for k, v in tiny_batch.items()}
    model.eval()
    with torch.no_grad():
        model(**first)
    for handle in handles:
        handle.remove()
    keep = first["attention_mask"][0].bool().numpy()
    expected = 0.0
    for layer, out in outputs:
        f = out[0].double().numpy()
        f = f if isinstance(layer, nn.Linear) else f.T
        corr = np.nan_to_num(np.corrcoef(f[keep]), nan=0.0, posinf=0.0, neginf=0.0)
        expected += np.linalg.eigvalsh(corr)[0]
    assert _value(model, tiny_batch, "meco") == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_own_pass_proxies_leave_the_shared_pass_values_and_gradients_alone(model, tiny_batch):
    shared = [proxies.get_proxy(n) for n in ("synaptic-saliency", "snip", "jacov", "head-importance")]
    own = [proxies.get_proxy(n) for n in ("grasp", "zico", "synflow", "fisher")]
    alone, _ = score(model, tiny_batch, shared, train_mode=True, dropout_seed=3)
    mixed, _ = score(model, tiny_batch, own[:2] + shared + own[2:], train_mode=True, dropout_seed=3)
    assert [r.proxy for r in mixed] == [s.name for s in own[:2] + shared + own[2:]]
    by_name = {r.proxy: r.value for r in mixed}
    assert all(by_name[r.proxy] == r.value for r in alone)
    again, _ = score(model, tiny_batch, own, train_mode=True, dropout_seed=3)
    assert all(by_name[r.proxy] == r.value for r in again)  # seeded: the same scores every time
    assert all(p.grad is None for p in model.parameters()) and not model.training


def test_zoo_proxies_run_on_decoder_and_nlu_models(data_dir, tiny_batch):
    from bench.inputs import proxy_batch
    from spaces import get_space

    for name in ("lts", "nlu-tiny"):
        space = get_space(name)
        rng = np.random.default_rng(0)
        arch = min((space.sample(rng) for _ in range(8)), key=space.param_count)  # the smallest of a few draws
        built = space.build_model(arch, seed=0)
        batch = proxy_batch(4, 16, seed=0, data_dir=str(data_dir), tokenizer=space.tokenizer)
        results, _ = score(built, batch, [proxies.get_proxy(n) for n in ZOO], loss=space.default_loss)
        bad = [(r.proxy, r.error) for r in results if r.status != "ok"]
        if name == "lts":  # GPT-2 / Transformer-XL attention has no query projection of its own for LPZero to read
            assert [p for p, _ in bad] == ["lpzero"] and "no query or input projection" in bad[0][1]
        else:
            assert not bad, bad


def test_lpzero_is_the_mean_squared_query_projection_over_layers(model, tiny_batch):
    outputs = []
    projections = [layer.mixer.query if hasattr(layer.mixer, "query") else layer.mixer.input for layer in model.layers]
    handles = [p.register_forward_hook(lambda _m, _i, out: outputs.append(out.detach().double().numpy())) for p in projections]
    model.eval()
    with torch.no_grad():
        model(**tiny_batch)
    for handle in handles:
        handle.remove()
    assert len(outputs) == 3
    expected = np.mean([np.mean(np.square(-o)) for o in outputs])
    assert _value(model, tiny_batch, "lpzero") == pytest.approx(expected, rel=1e-9)

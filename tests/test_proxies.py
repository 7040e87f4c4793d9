"""Proxy values on small models against plain, independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import proxies
from proxies.capture import capture, score
from proxies.pca import pca_dim
from spaces.taps import recording

ALL = proxies.select_proxies(["all"])


@pytest.fixture(scope="module")
def model(space, benchmark):
    return space.build_model(benchmark[2].arch, seed=0)  # h128, 4 layers (one with 3 FFN stacks)


def test_params_counts_every_parameter(model, tiny_batch):
    results, _ = score(model, tiny_batch, [proxies.get_proxy("params")])
    assert results[0].value == sum(p.numel() for p in model.parameters()) == 5_291_264


def _independent_pca_dim(rows: np.ndarray, eta: float) -> int:
    covariance = np.cov(rows, rowvar=False)  # N-1 normalisation, as the reference code
    eigenvalues = np.sort(np.linalg.eigvalsh(covariance))[::-1]
    share = np.cumsum(eigenvalues) / eigenvalues.sum()
    for k, value in enumerate(share, start=1):
        if value > eta:
            return k
    raise AssertionError("unreachable")


def _ffn_inputs_by_hand(model, batch) -> list[np.ndarray]:
    """Recompute every layer's first FFN linear output from the layer modules directly."""
    model.eval()
    rows = []
    with torch.no_grad():
        x = model.embeddings(batch["input_ids"], batch["token_type_ids"])
        for layer in model.layers:
            mixed = layer.mixer(x, None)
            mixed = layer.mixer_norm(x + layer.mixer_output(mixed))
            first = layer.ffn.linears[0](mixed)
            rows.append(first.reshape(-1, first.shape[-1]).double().numpy())
            x = layer(x, None)
    return rows


@pytest.mark.parametrize("eta", [0.5, 0.9, 0.99])
def test_v_pca_and_w_pca_match_an_independent_computation(model, tiny_batch, eta):
    options = {"v-pca": {"eta": eta, "reduce": "sum"}, "w-pca": {"eta": eta, "reduce": "sum"}}
    results, _ = score(model, tiny_batch, proxies.select_proxies(["v-pca", "w-pca"]), options)
    by_name = {r.proxy: r.value for r in results}
    dims = [_independent_pca_dim(rows, eta) for rows in _ffn_inputs_by_hand(model, tiny_batch)]
    assert by_name["v-pca"] == sum(dims)
    assert by_name["w-pca"] == sum(dims) * sum(p.numel() for p in model.parameters())


def test_v_pca_mean_reduction(model, tiny_batch):
    results, _ = score(model, tiny_batch, [proxies.get_proxy("v-pca")], {"v-pca": {"eta": 0.99, "reduce": "mean"}})
    dims = [_independent_pca_dim(rows, 0.99) for rows in _ffn_inputs_by_hand(model, tiny_batch)]
    assert results[0].value == pytest.approx(sum(dims) / len(dims))


def test_pca_dim_on_known_spectra():
    rng = np.random.default_rng(0)
    # three directions with variances 100, 10, 1 in 5-D: 100/111 = 0.90.. , 110/111 = 0.991
    basis = np.linalg.qr(rng.normal(size=(5, 5)))[0][:, :3]
    rows = (rng.normal(size=(20000, 3)) * np.sqrt([100.0, 10.0, 1.0])) @ basis.T
    rows = torch.tensor(rows, dtype=torch.float32)
    assert pca_dim(rows, 0.5) == 1
    assert pca_dim(rows, 0.95) == 2
    assert pca_dim(rows, 0.995) == 3
    assert math.isnan(pca_dim(torch.ones(10, 4), 0.9))


def _numpy_covariance_eigenvalues(rows: np.ndarray) -> np.ndarray:
    return np.sort(np.linalg.eigvalsh(np.cov(rows, rowvar=False)))[::-1]


@pytest.mark.parametrize("case", ["plain", "layernorm-input", "rank-deficient-weight"])
def test_factored_covariance_has_the_spectrum_of_the_linear_output(case):
    from proxies.pca import factored_eigenvalues

    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(300, 16)) @ rng.normal(size=(16, 16))
    weight = rng.normal(size=(48, 16)) / 4.0
    if case == "layernorm-input":  # rows sum to zero: the input covariance is singular
        inputs = (inputs - inputs.mean(1, keepdims=True)) / inputs.std(1, keepdims=True)
    if case == "rank-deficient-weight":  # WᵀW is singular: the eigenvector square root is used
        weight[:, 3] = weight[:, 5]
    outputs = inputs @ weight.T + rng.normal(size=48)  # the bias does not change the covariance
    expected = _numpy_covariance_eigenvalues(outputs)
    found = np.sort(factored_eigenvalues(torch.tensor(inputs, dtype=torch.float32), torch.tensor(weight, dtype=torch.float32)).numpy())[::-1]
    assert found.shape == (16,)
    np.testing.assert_allclose(found, expected[:16], rtol=1e-4, atol=1e-4 * expected[0])
    np.testing.assert_allclose(expected[16:], 0.0, atol=1e-8 * expected[0])


def test_factored_and_direct_paths_give_the_same_dims_and_the_cheaper_is_chosen(model, tiny_batch):
    from proxies.pca import factored_is_cheaper, pca_dim_factored, token_rows

    ctx = capture(model, tiny_batch, [proxies.get_proxy("v-pca")])
    outputs, inputs, taps = ctx.captured["ffn_first_linear"], ctx.captured["ffn_input"], ctx.captured_taps["ffn_input"]
    assert len(outputs) == len(inputs) == len(taps) == 4
    for x, h, tap in zip(outputs, inputs, taps):
        torch.testing.assert_close(tap.reader(h), x)  # the tap's reader is the layer that made x
        for eta in (0.5, 0.9, 0.99):
            assert pca_dim_factored(token_rows(h, None), tap.reader.weight, eta) == pca_dim(token_rows(x, None), eta)
    assert factored_is_cheaper(4096, 256, 1024) and not factored_is_cheaper(4096, 768, 512)
    assert not factored_is_cheaper(4096, 512, 512)


def test_a_reader_reference_adds_nothing_to_the_model(model):
    tap = model.proxy_taps()["ffn_input"][0]
    assert tap.reader is model.layers[0].ffn.linears[0]
    assert not any(name.startswith("ffn_input") or ".input_tap." in name for name in model.state_dict())
    assert sum(p.numel() for p in model.parameters()) == 5_291_264


def test_padding_rows_are_left_out(model, tiny_batch):
    batch = dict(tiny_batch)
    mask = torch.ones_like(batch["attention_mask"])
    mask[:, -4:] = 0
    batch["attention_mask"] = mask
    ctx = capture(model, batch, [proxies.get_proxy("v-pca")])
    first = ctx.captured["ffn_first_linear"][0]
    from proxies.pca import token_rows

    assert token_rows(first, mask).shape[0] == int(mask.sum())


@pytest.mark.parametrize("spec", ALL, ids=[s.name for s in ALL])
def test_every_proxy_is_finite_and_deterministic(space, benchmark, tiny_batch, spec):
    values = []
    for _ in range(2):
        model = space.build_model(benchmark[5].arch, seed=11)
        results, _ = score(model, tiny_batch, [spec])
        assert results[0].status == "ok", results[0].error
        values.append(results[0].value)
    assert math.isfinite(values[0]) and values[0] == values[1]


def test_values_do_not_depend_on_which_other_proxies_share_the_pass(model, tiny_batch):
    together = {r.proxy: r.value for r in score(model, tiny_batch, ALL)[0]}
    for spec in ALL:
        alone = score(model, tiny_batch, [spec])[0][0]
        assert alone.value == together[spec.name], spec.name


def test_hooks_are_removed_after_every_pass(model, tiny_batch):
    for _ in range(3):
        score(model, tiny_batch, ALL)
    assert all(not m._forward_hooks for m in model.modules())


def test_recording_keeps_forward_order_and_removes_its_hooks_also_on_error():
    first, second = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    net = torch.nn.Sequential(first, torch.nn.ReLU(), second)
    x = torch.ones(1, 2)
    with recording([second, first], lambda module, out: (module, out.detach())) as seen:
        net(x)
        net(x)
    assert [m for m, _ in seen] == [first, second, first, second]
    assert all(picked[0] is module for module, picked in seen)
    assert torch.equal(seen[3][1][1], net(x).detach())
    with pytest.raises(RuntimeError, match="boom"):
        with recording([first]):
            raise RuntimeError("boom")
    assert not first._forward_hooks and not second._forward_hooks


def test_hooks_are_removed_when_the_pass_fails(model, tiny_batch):
    with pytest.raises(Exception):
        capture(model, tiny_batch, ALL, loss="no-such-loss")  # fails after the forward pass, with every tap hooked
    assert all(not m._forward_hooks for m in model.modules())


def test_failing_and_nan_proxies_are_recorded_not_dropped(model, tiny_batch):
    @proxies.register_proxy("test-raises")
    def raises(ctx):
        raise RuntimeError("boom")

    @proxies.register_proxy("test-nan")
    def nan(ctx):
        return float("nan")

    try:
        results = {r.proxy: r for r in score(model, tiny_batch, proxies.select_proxies(["test-raises", "test-nan", "params"]))[0]}
    finally:
        proxies.registry.REGISTRY.unregister("test-raises")
        proxies.registry.REGISTRY.unregister("test-nan")
    assert results["test-raises"].status == "error" and "RuntimeError: boom" in results["test-raises"].error
    assert math.isnan(results["test-raises"].value)
    assert results["test-nan"].status == "nan" and math.isnan(results["test-nan"].value)
    assert results["params"].status == "ok"


def test_gradient_free_selection_runs_without_autograd(model, tiny_batch):
    model.zero_grad(set_to_none=True)
    ctx = capture(model, tiny_batch, proxies.select_proxies(["v-pca"]))
    assert ctx.loss is None
    assert all(p.grad is None for p in model.parameters())
    assert not ctx.captured["ffn_first_linear"][0].requires_grad

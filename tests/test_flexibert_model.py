"""FlexiBERT models: parameter counts, operations against plain computations, gradients, HF round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft
import torch

from spaces.flexibert import FlexiBertModel, count_parameters, model_config
from spaces.flexibert.arch import FlexiBertArch, LayerSpec
from spaces.flexibert.operations import DynamicConvolution, LinearTransform, SelfAttention, dct_2d

V, P, E = 30522, 512, 128  # vocabulary, positions, embedding width


def _numel(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def hand_count_trained(hidden: int, layers: list[tuple[int, int, int]]) -> int:
    """Independent count for the 'trained' variant: (heads, ff_dim, ff_stacks) per layer, SDP attention."""
    h = hidden
    total = (V + P + 2) * E + 2 * E  # embeddings and their LayerNorm
    if E != h:
        total += E * h + h  # embeddings_project
    for _heads, ff_dim, stacks in layers:
        total += 4 * (h * h + h) + 2 * h  # q, k, v, attention output + LayerNorm
        widths = [4 * h] + [ff_dim] * (stacks - 1)
        prev = h
        for w in widths:
            total += prev * w + w
            prev = w
        total += prev * h + h + 2 * h  # FFN output + LayerNorm
    return total


@pytest.mark.parametrize(
    "hidden, layers, expected",
    [
        # h=128, 2 layers, 1 FFN each: embeddings 31,036·128 + 256 = 3,972,864;
        # per layer: attention 4·16,512 + 256 = 66,304, FFN 66,048 + 65,664 + 256 = 131,968
        (128, [(2, 512, 1), (4, 1024, 1)], 3_972_864 + 2 * (66_304 + 131_968)),
        (256, [(4, 1024, 3), (2, 512, 3), (4, 512, 3), (4, 1024, 1)], None),
        (128, [(2, 512, 3), (2, 1024, 3), (4, 512, 1), (4, 1024, 3)], None),
    ],
)
def test_trained_variant_parameter_count_matches_hand_formula(space, hidden, layers, expected):
    arch = FlexiBertArch(hidden, tuple(LayerSpec("LT", "DFT", heads, ff, st) for heads, ff, st in layers))
    count = hand_count_trained(hidden, layers)
    if expected is not None:
        assert count == expected
    model = space.build_model(arch, seed=0, variant="trained")
    assert _numel(model) == count == space.param_count(arch, "trained")


def test_benchmark_model_zero_has_the_expected_size(space, benchmark):
    # id 0: h256, SA-WMA/4/1024x3, LT-DCT/2/512x3, SA-SDP/4/512x3, SA-SDP/4/1024x1
    arch = benchmark[0].arch
    layers = [(l.heads, l.ff_dim, l.ff_stacks) for l in arch.layers]
    assert space.param_count(arch, "trained") == hand_count_trained(256, layers) == 10_576_896


@pytest.mark.parametrize("variant", ["trained", "flexibert", "published"])
def test_analytic_count_equals_module_count(space, benchmark, variant):
    for entry in benchmark[:12]:
        model = space.build_model(entry.arch, seed=1, variant=variant)
        assert _numel(model) == space.param_count(entry.arch, variant), entry.arch.describe()


def test_flexibert_operation_parameters_by_hand():
    h = 128
    # WMA adds one bias-free h x h matrix to SDP
    sdp = SelfAttention(h, 2, weighted=False, dropout=0.0, layer=0)
    wma = SelfAttention(h, 2, weighted=True, dropout=0.0, layer=0)
    assert _numel(wma) - _numel(sdp) == h * h
    assert _numel(LinearTransform(h, 4, "DCT", 0)) == h * h + h
    # DSC, 4 heads, kernel 9: 2 attention + 2 conv heads of size 32, inner width 64
    inner, heads, k = 64, 2, 9
    expected = 3 * (h * inner + inner) + (h * k + h * inner + inner) + (inner * heads * k + heads * k) + (h * inner + inner)
    dsc = DynamicConvolution(h, 4, k, 0.0, 0)
    assert _numel(dsc) == expected and dsc.out_width == h


def test_dct_matches_scipy():
    x = torch.randn(3, 2, 7, 5, dtype=torch.float64)
    expected = scipy.fft.dctn(x.numpy(), type=2, axes=(-2, -1), norm=None)
    np.testing.assert_allclose(dct_2d(x).numpy(), expected, rtol=1e-10, atol=1e-10)


def test_dft_mixer_matches_numpy_fft2():
    torch.manual_seed(0)
    mixer = LinearTransform(8, 2, "DFT", 0).double()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    projected = mixer.input(x).detach().numpy().reshape(2, 5, 2, 4).transpose(0, 2, 1, 3)
    expected = np.fft.fft2(projected, axes=(-2, -1)).real.transpose(0, 2, 1, 3).reshape(2, 5, 8)
    np.testing.assert_allclose(mixer(x, None).detach().numpy(), expected, atol=1e-10)


def test_wma_with_identity_weight_equals_sdp():
    torch.manual_seed(0)
    wma = SelfAttention(16, 4, weighted=True, dropout=0.0, layer=0)
    sdp = SelfAttention(16, 4, weighted=False, dropout=0.0, layer=0)
    sdp.load_state_dict({k: v for k, v in wma.state_dict().items() if not k.startswith("weight")})
    with torch.no_grad():
        wma.weight.weight.copy_(torch.eye(16))
    x = torch.randn(2, 6, 16)
    torch.testing.assert_close(wma(x, None), sdp(x, None))


def test_sdp_attention_matches_plain_loop():
    torch.manual_seed(1)
    att = SelfAttention(8, 2, weighted=False, dropout=0.0, layer=0).eval()
    x = torch.randn(1, 4, 8)
    q, k, v = att.query(x)[0], att.key(x)[0], att.value(x)[0]
    out = torch.zeros(4, 8)
    for head in range(2):
        cols = slice(4 * head, 4 * head + 4)
        for i in range(4):
            scores = torch.stack([q[i, cols] @ k[j, cols] / 2.0 for j in range(4)])
            weights = torch.softmax(scores, 0)
            out[i, cols] = sum(weights[j] * v[j, cols] for j in range(4))
    torch.testing.assert_close(att(x, None)[0], out, atol=1e-6, rtol=1e-5)


def test_dynamic_convolution_conv_heads_match_plain_loop():
    torch.manual_seed(2)
    hidden, heads, kernel, tokens = 8, 2, 5, 6
    dsc = DynamicConvolution(hidden, heads, kernel, 0.0, 0).eval()
    x = torch.randn(1, tokens, hidden)
    out = dsc(x, None)[0]  # (T, 8): first 4 = attention head, last 4 = convolution head
    query = dsc.query(x)[0]
    # depthwise 'same' convolution then pointwise projection, written out
    depth = dsc.key_conv.depthwise.weight[:, 0, :]  # (hidden, kernel)
    padded = torch.nn.functional.pad(x[0].T, (kernel // 2, kernel // 2))
    depthwise = torch.stack([(padded[:, t : t + kernel] * depth).sum(1) for t in range(tokens)])  # (T, hidden)
    span_keys = depthwise @ dsc.key_conv.pointwise.weight[:, :, 0].T + dsc.key_conv.bias
    kernels = torch.softmax(dsc.conv_kernel(span_keys * query), dim=-1)  # one head: (T, kernel)
    values = dsc.conv_out(x)[0]
    half = kernel // 2
    for t in range(tokens):
        mixed = torch.zeros(4)
        for j in range(kernel):
            source = t - half + j
            if 0 <= source < tokens:
                mixed += kernels[t, j] * values[source]
        torch.testing.assert_close(out[t, 4:], mixed, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("variant", ["trained", "flexibert", "published"])
def test_forward_shapes_no_nan_and_every_parameter_gets_a_gradient(space, benchmark, variant):
    ops_seen = set()
    for entry in benchmark[:20]:
        ops_seen |= {(l.operation, l.parameter) for l in entry.arch.layers}
        if len(ops_seen) == 6:
            break
    assert len(ops_seen) == 6, "the sample should cover every operation"
    ids = torch.randint(1000, 2000, (2, 12))
    for entry in benchmark[:20]:
        model = space.build_model(entry.arch, seed=0, variant=variant)
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        hidden = 256 if variant == "published" else entry.arch.hidden_size
        assert out.shape == (2, 12, hidden)
        assert torch.isfinite(out).all()
        # a random projection: the plain sum of a LayerNorm output has zero gradient at init
        (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(0))).sum().backward()
        for name, param in model.named_parameters():
            assert param.grad is not None, name
            if "word_embeddings" in name or "position_embeddings" in name or "token_type" in name:
                continue  # only looked-up rows receive gradient
            assert param.grad.abs().sum() > 0, f"{name} gets no gradient"


def test_initialisation_is_a_function_of_the_seed(space, benchmark):
    arch = benchmark[3].arch
    a, b, c = (space.build_model(arch, seed=s) for s in (5, 5, 6))
    for (name, pa), (_, pb), (_, pc) in zip(a.named_parameters(), b.named_parameters(), c.named_parameters()):
        assert torch.equal(pa, pb), name
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


def test_attention_mask_hides_padding(space, benchmark):
    model = space.build_model(benchmark[0].arch, seed=0).eval()
    ids = torch.randint(1000, 2000, (1, 10))
    mask = torch.ones_like(ids)
    mask[0, 7:] = 0
    changed = ids.clone()
    changed[0, 7:] = 5
    with torch.no_grad():
        a = model(input_ids=ids, attention_mask=mask).last_hidden_state[0, :7]
        b = model(input_ids=changed, attention_mask=mask).last_hidden_state[0, :7]
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_save_and_from_pretrained_round_trip(space, benchmark, tmp_path):
    model = space.build_model(benchmark[1].arch, seed=0, variant="flexibert").eval()
    model.save_pretrained(tmp_path)
    loaded = FlexiBertModel.from_pretrained(tmp_path).eval()
    assert loaded.config.layers == model.config.layers
    ids = torch.randint(1000, 2000, (2, 9))
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=ids).last_hidden_state, model(input_ids=ids).last_hidden_state)


def test_trained_variant_uses_sdp_attention_and_electra_ffn(benchmark):
    arch = benchmark[0].arch  # first layer SA-WMA/4/1024x3
    config = model_config(arch, "trained")
    assert config.layers[0] == {"operation": "SA", "parameter": "SDP", "heads": 4, "ffn_widths": [1024, 1024, 1024], "output_projection": True}
    assert model_config(arch, "flexibert").layers[1]["ffn_widths"] == [512, 512, 512]
    published = model_config(arch, "published")
    assert published.hidden_size == 256 and published.layers[1]["ffn_widths"] == [1024] * 3
    assert published.layers[1]["output_projection"] is False  # LT layer
    assert count_parameters(config) > 0 and math.isfinite(count_parameters(config))

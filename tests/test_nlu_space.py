"""The W-PCA NLU search spaces: sizes, enumeration, parsing, parameter counts, models, taps."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from spaces import arch_hash, get_space, list_spaces
from spaces.errors import SpaceError
from spaces.nlu import NluArch, NluModel, official_param_count
from spaces.nlu.arch import block_type, ffn_width
from spaces.nlu.params import bert_block_params, mobilebert_block_params

V, P, E = 30522, 512, 128  # vocabulary, positions, word-embedding width
MIXED_TINY = [0, 5, 6, 11, 3, 8]  # both block families, smallest and largest widths


@pytest.fixture(scope="module")
def small():
    return get_space("nlu-small")


@pytest.fixture(scope="module")
def tiny():
    return get_space("nlu-tiny")


@pytest.fixture(scope="module")
def large():
    return get_space("nlu-large")


@pytest.fixture(scope="module")
def mixed_model(tiny):
    return tiny.build_model(MIXED_TINY, seed=0)


def _numel(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _ids(batch: int = 2, tokens: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.randint(1000, 2000, (batch, tokens), generator=torch.Generator().manual_seed(seed))


# --- the space -----------------------------------------------------------------------------


def test_spaces_are_registered_with_sizes_and_limits(small, tiny, large):
    assert {"nlu-small", "nlu-tiny", "nlu-large"} <= set(list_spaces())
    assert (small.size(), tiny.size(), large.size()) == (12**12, 12**6, 12**12)
    assert small.size() == 8_916_100_448_256 and tiny.size() == 2_985_984
    assert (small.param_limit, tiny.param_limit, large.param_limit) == (15_700_000, 10_000_000, 67_000_000)
    for space, name in ((small, "nlu-small"), (tiny, "nlu-tiny"), (large, "nlu-large")):
        assert space.name == name and space.variants == ("default",)
    assert (small.hidden_size, tiny.hidden_size, large.hidden_size) == (528, 528, 1056)


def test_block_families_and_widths():
    assert [block_type(i) for i in range(12)] == ["bert"] * 6 + ["mobilebert"] * 6
    assert [ffn_width(i, 132) for i in range(12)] == [132 * k for k in range(1, 7)] * 2
    assert ffn_width(5, 264) == 1584 and ffn_width(6, 264) == 264
    assert NluArch((0, 5, 6, 11)).describe() == "B1 B6 M1 M6"


def test_enumeration_is_base_12_with_the_first_block_most_significant(small, tiny):
    assert small.arch_at(0).blocks == (0,) * 12
    assert small.arch_at(1).blocks == (0,) * 11 + (1,)
    assert small.arch_at(12).blocks == (0,) * 10 + (1, 0)
    assert small.arch_at(small.size() - 1).blocks == (11,) * 12
    assert tiny.arch_at(3 * 12**5 + 7).blocks == (3, 0, 0, 0, 0, 7)
    assert tiny.index_of(NluArch((3, 0, 0, 0, 0, 7))) == 3 * 12**5 + 7


@pytest.mark.parametrize("name", ["nlu-small", "nlu-tiny", "nlu-large"])
def test_enumeration_and_sampling_round_trip(name):
    space = get_space(name)
    rng = np.random.default_rng(0)
    for index in [0, 1, space.size() // 2, space.size() - 1, *rng.integers(0, space.size(), 50).tolist()]:
        arch = space.arch_at(int(index))
        assert space.index_of(arch) == index
        assert space.parse(arch.to_json()) == arch
    sampled = [space.sample(rng) for _ in range(50)]
    assert all(space.arch_at(space.index_of(a)) == a for a in sampled)
    assert len({a.blocks for a in sampled}) > 45


def test_exhaustive_round_trip_on_a_prefix(tiny):
    archs = [tiny.arch_at(i) for i in range(2000)]
    assert len(set(archs)) == 2000
    assert [tiny.index_of(a) for a in archs] == list(range(2000))


def test_arch_at_rejects_out_of_range_indices(tiny):
    for bad in (-1, tiny.size(), True, 1.0):
        with pytest.raises(SpaceError, match="out of range"):
            tiny.arch_at(bad)


def test_arch_json_and_hash(small):
    arch = small.parse([6, 6, 7, 11, 0, 3, 8, 8, 9, 10, 11, 11])
    assert arch.to_json() == [6, 6, 7, 11, 0, 3, 8, 8, 9, 10, 11, 11]
    assert all(type(v) is int for v in arch.to_json())
    assert small.parse(json.loads(json.dumps(arch.to_json()))) == arch
    assert hash(arch) == hash(NluArch(tuple(arch.to_json())))
    assert NluArch([1, 2]) == NluArch((1, 2))  # lists are stored as tuples
    assert len(arch_hash(arch)) == 12
    assert {arch: 1}[small.parse(list(arch.blocks))] == 1


@pytest.mark.parametrize(
    "obj, message",
    [
        ([0] * 11, "expected 12 block indices, got 11"),
        ([0] * 13, "expected 12 block indices, got 13"),
        ([0, 1, 2, 14] + [0] * 8, "position 3: block index 14 is out of range; allowed: 0..11"),
        ([-1] + [0] * 11, "position 0: block index -1 is out of range; allowed: 0..11"),
        ([0] * 11 + [12], "position 11: block index 12 is out of range; allowed: 0..11"),
        ([0, 0, "3"] + [0] * 9, "position 2: block index '3' is not an integer; allowed: 0..11"),
        ([0, 2.0] + [0] * 10, "position 1: block index 2.0 is not an integer; allowed: 0..11"),
        ([True] + [0] * 11, "position 0: block index True is not an integer; allowed: 0..11"),
        ({"blocks": [0] * 12}, "a list of 12 block indices in 0..11, got dict"),
        ("0,0,0", "a list of 12 block indices in 0..11, got str"),
    ],
)
def test_parse_errors_name_the_position_and_the_allowed_values(small, obj, message):
    with pytest.raises(SpaceError) as info:
        small.parse(obj)
    assert message in str(info.value)


def test_parse_checks_the_depth_of_the_space(tiny, small):
    with pytest.raises(SpaceError, match="expected 6 block indices, got 12"):
        tiny.parse([0] * 12)
    with pytest.raises(SpaceError, match="expected 12 block indices, got 6"):
        small.index_of(NluArch((0,) * 6))
    assert tiny.parse(np.array([1, 2, 3, 4, 5, 6]).tolist()).blocks == (1, 2, 3, 4, 5, 6)
    assert tiny.parse([np.int64(3)] * 6).blocks == (3,) * 6


def test_unknown_variant_is_refused(tiny):
    with pytest.raises(SpaceError, match="unknown model variant"):
        tiny.param_count(NluArch((0,) * 6), "trained")


# --- parameter counts ----------------------------------------------------------------------


def test_official_counts_of_the_reference_code(small):
    assert official_param_count([6] * 12) == 9_496_752
    assert official_param_count([0] * 12) == 19_783_248
    assert official_param_count([5] * 12) == 28_154_688
    assert small.official_param_count(NluArch((6,) * 12)) == 9_496_752
    # per-block terms of the reference accounting at H = 528
    for index in range(6):
        f = 132 * (index + 1)
        assert bert_block_params(528, f) == 1_119_888 + 1_057 * f
        assert mobilebert_block_params(528, 132, f, count_nonorm=False) == 367_224 + 265 * f
        assert mobilebert_block_params(528, 132, f) - mobilebert_block_params(528, 132, f, count_nonorm=False) == 1_584
    embeddings = V * E + (P + 2) * 528 + (3 * E * 528 + 528) + 2 * 528
    assert embeddings == 4_382_544
    assert official_param_count([]) == embeddings + 279_312 + 8_448


def test_built_model_counts_of_the_three_reference_architectures(small):
    # official − built = pooler + classifiers − NoNorm parameters of the MobileBERT blocks
    for blocks, built in (([6] * 12, 9_228_000), ([0] * 12, 19_495_488), ([5] * 12, 27_866_928)):
        mobile = sum(block_type(b) == "mobilebert" for b in blocks)
        assert small.param_count(blocks) == built
        assert official_param_count(blocks) - built == 279_312 + 8_448 - 1_584 * mobile


def test_large_space_doubles_hidden_size_and_ffn_unit(large):
    h, b = 1056, 264
    embeddings = V * E + (P + 2) * h + (3 * E * h + h) + 2 * h
    expected = embeddings + 12 * mobilebert_block_params(h, b, 264, count_nonorm=False) + (h * h + h) + 16 * h
    assert large.official_param_count([6] * 12) == expected == 25_262_304
    assert large.param_count([6] * 12) == expected - (h * h + h) - 16 * h + 12 * (4 * b + 2 * h)


@pytest.mark.parametrize("name, count", [("nlu-small", 5), ("nlu-tiny", 8), ("nlu-large", 3)])
def test_analytic_count_equals_the_built_models_parameters(name, count):
    space = get_space(name)
    rng = np.random.default_rng(1)
    archs = [space.arch_at(0), space.arch_at(space.size() - 1)]
    archs += [space.sample(rng) for _ in range(count)]
    if name != "nlu-large":
        archs.append(space.parse([5] * space.depth))
    for arch in archs:
        model = space.build_model(arch, seed=0)
        assert _numel(model) == space.param_count(arch), arch.describe()
        assert space.official_param_count(arch) == space.param_count(arch) + (
            space.hidden_size**2 + space.hidden_size + 16 * space.hidden_size
        ) - sum(block_type(b) == "mobilebert" for b in arch.blocks) * (4 * space.bottleneck_size + 2 * space.hidden_size)


def test_feasibility_uses_the_official_count(small, tiny, large):
    assert small.is_feasible(NluArch((6,) * 12))
    assert not small.is_feasible(NluArch((0,) * 12))
    assert tiny.is_feasible(NluArch((6,) * 6))  # 7,083,528
    assert not tiny.is_feasible(NluArch((5,) * 6))  # 16,412,496
    assert large.is_feasible(NluArch((0,) * 12))  # 66,325,920
    assert not large.is_feasible(NluArch((5,) * 12))
    # the limit is inclusive, as in the reference search
    arch = NluArch((6,) * 12)
    limit, small.param_limit = small.param_limit, official_param_count(arch)
    try:
        assert small.is_feasible(arch)
        small.param_limit -= 1
        assert not small.is_feasible(arch)
    finally:
        small.param_limit = limit


# --- the model -----------------------------------------------------------------------------


def test_forward_shapes_no_nan_and_every_parameter_gets_a_gradient(tiny):
    model = tiny.build_model(MIXED_TINY, seed=0)
    ids = _ids()
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    assert out.shape == (2, 8, 528)
    assert torch.isfinite(out).all()
    # a random projection: the plain sum of a LayerNorm output has zero gradient at init
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(0))).sum().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        if "word_embeddings" in name or "position_embeddings" in name or "token_type" in name:
            continue  # only looked-up rows receive gradient
        if name.endswith("key.bias"):
            continue  # adds the same score to every key of a query: softmax removes it
        assert param.grad.abs().sum() > 0, f"{name} gets no gradient"


def test_hidden_states_and_tuple_output(mixed_model):
    ids = _ids()
    with torch.no_grad():
        out = mixed_model.eval()(input_ids=ids, output_hidden_states=True)
        plain = mixed_model(input_ids=ids, return_dict=False)
    assert len(out.hidden_states) == 7
    torch.testing.assert_close(out.hidden_states[-1], out.last_hidden_state)
    torch.testing.assert_close(plain[0], out.last_hidden_state)


def test_large_forward(large):
    model = large.build_model([6, 0] * 6, seed=0).eval()
    with torch.no_grad():
        out = model(input_ids=_ids(2, 5)).last_hidden_state
    assert out.shape == (2, 5, 1056) and torch.isfinite(out).all()
    taps = model.proxy_taps()
    assert taps["mixer_heads"][0].layer == 0
    assert model.layers[0].attention.head_size == 22 and model.layers[1].attention.head_size == 88
    assert model.layers[0].ffn.first.out_features == 264 and model.layers[1].ffn.first.out_features == 264


def test_initialisation_is_a_function_of_the_seed(tiny):
    a, b, c = (tiny.build_model(MIXED_TINY, seed=s) for s in (5, 5, 6))
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(pa, pb), name
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))
    state = torch.random.get_rng_state()
    tiny.build_model(MIXED_TINY, seed=7)
    assert torch.equal(state, torch.random.get_rng_state())  # the global generator is left alone


def test_bert_style_initialisation(mixed_model):
    params = {name: p.detach() for name, p in mixed_model.named_parameters()}
    assert abs(float(params["layers.0.attention.query.weight"].std()) - 0.02) < 1e-3
    assert float(params["layers.0.ffn.first.bias"].abs().max()) == 0.0
    assert torch.equal(params["layers.2.norm.weight"], torch.ones(528))  # NoNorm
    assert torch.equal(params["layers.2.attention.norm.bias"], torch.zeros(132))
    assert torch.equal(params["layers.0.ffn.norm.weight"], torch.ones(528))  # LayerNorm
    assert float(params["embeddings.word_embeddings.weight"][0].abs().sum()) > 0  # as the reference: every row drawn


def test_attention_mask_hides_padding(mixed_model):
    model = mixed_model.eval()
    ids = _ids(1, 12)
    mask = torch.ones_like(ids)
    mask[0, 7:] = 0
    changed = ids.clone()
    changed[0, 8:] = 5  # position 7 stays: it is the next token in position 6's trigram
    with torch.no_grad():
        a = model(input_ids=ids, attention_mask=mask).last_hidden_state[0, :7]
        b = model(input_ids=changed, attention_mask=mask).last_hidden_state[0, :7]
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_trigram_embedding_matches_a_plain_computation(mixed_model):
    emb = mixed_model.embeddings.eval()
    ids = _ids(1, 5)
    with torch.no_grad():
        words = emb.word_embeddings.weight[ids[0]]  # (5, 128)
        rows = []
        for t in range(5):
            following = words[t + 1] if t + 1 < 5 else torch.zeros(128)
            preceding = words[t - 1] if t > 0 else torch.zeros(128)
            rows.append(torch.cat([following, words[t], preceding]))
        x = emb.trigram_projection(torch.stack(rows)) + emb.position_embeddings.weight[:5] + emb.token_type_embeddings.weight[0]
        expected = emb.LayerNorm(x)
        torch.testing.assert_close(emb(ids, None)[0], expected)


def test_mobilebert_block_matches_its_equations(mixed_model):
    block = mixed_model.layers[2].eval()  # index 6: MobileBERT, FFN width 132
    x = torch.randn(1, 4, 528, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        att = block.attention
        heads = []
        for h in range(12):
            cols = slice(11 * h, 11 * h + 11)
            q, k, v = att.query(x)[0, :, cols], att.key(x)[0, :, cols], att.value(x)[0, :, cols]
            heads.append(torch.softmax(q @ k.T / math.sqrt(11), dim=-1) @ v)
        a = block.bottleneck_in(x)[0] + att.output(torch.cat(heads, dim=-1))
        a = a * att.norm.weight + att.norm.bias
        c = a + block.ffn.second(torch.relu(block.ffn.first(a)))
        c = c * block.ffn.norm.weight + block.ffn.norm.bias
        y = (x[0] + block.bottleneck_out(c)) * block.norm.weight + block.norm.bias
        torch.testing.assert_close(block(x, None)[0], y, atol=1e-5, rtol=1e-5)


def test_bert_block_uses_tanh_gelu_and_layernorm(mixed_model):
    block = mixed_model.layers[0].eval()
    x = torch.randn(1, 3, 528, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        a = block.attention(x, x, None)
        hidden = block.ffn.first(a)
        gelu = 0.5 * hidden * (1 + torch.tanh(math.sqrt(2 / math.pi) * (hidden + 0.044715 * hidden**3)))
        expected = torch.nn.functional.layer_norm(a + block.ffn.second(gelu), (528,), eps=1e-5)
        torch.testing.assert_close(block(x, None), expected, atol=1e-5, rtol=1e-5)


# --- taps, LM decoder, serialisation --------------------------------------------------------


def test_taps_have_the_right_kinds_shapes_layers_and_block_types(mixed_model):
    model = mixed_model.eval()
    taps = model.proxy_taps()
    assert set(taps) == {"embeddings", "mixer_heads", "attention_probs", "ffn_input", "ffn_first_linear", "ffn_activation", "block_output"}
    assert len(taps["embeddings"]) == 1
    for kind in ("mixer_heads", "attention_probs", "ffn_input", "ffn_first_linear", "ffn_activation", "block_output"):
        assert [t.layer for t in taps[kind]] == list(range(6)), kind
    expected_types = [block_type(b) for b in MIXED_TINY]
    assert [t.block_type for t in taps["ffn_first_linear"]] == expected_types
    assert [t.block_index for t in taps["ffn_first_linear"]] == MIXED_TINY
    captured: dict[str, list[torch.Tensor]] = {}
    handles = [
        tap.register_forward_hook(lambda m, i, o, kind=kind: captured.setdefault(kind, []).append(o))
        for kind, kind_taps in taps.items()
        for tap in kind_taps
    ]
    try:
        with torch.no_grad():
            model(input_ids=_ids(2, 8))
    finally:
        for handle in handles:
            handle.remove()
    assert captured["embeddings"][0].shape == (2, 8, 528)
    for layer, index in enumerate(MIXED_TINY):
        head = 44 if block_type(index) == "bert" else 11
        width = ffn_width(index, 132)
        assert captured["mixer_heads"][layer].shape == (2, 8, 12, head)
        probs = captured["attention_probs"][layer]
        assert probs.shape == (2, 12, 8, 8)
        torch.testing.assert_close(probs.sum(-1), torch.ones(2, 12, 8))
        assert captured["ffn_first_linear"][layer].shape == (2, 8, width)
        reader = taps["ffn_input"][layer].reader  # the FFN's first linear layer, fed the hidden size or the bottleneck
        assert captured["ffn_input"][layer].shape == (2, 8, 528 if block_type(index) == "bert" else reader.in_features)
        torch.testing.assert_close(reader(captured["ffn_input"][layer]), captured["ffn_first_linear"][layer])
        assert captured["ffn_activation"][layer].shape == (2, 8, width)
        assert captured["block_output"][layer].shape == (2, 8, 528)
    # the activation tap is the activation of the first-linear tap
    relu_layer = MIXED_TINY.index(6)
    torch.testing.assert_close(captured["ffn_activation"][relu_layer], torch.relu(captured["ffn_first_linear"][relu_layer]))


def test_lm_logits_are_tied_to_the_word_embeddings(mixed_model):
    model = mixed_model.eval()
    hidden = torch.randn(2, 8, 528, generator=torch.Generator().manual_seed(5))
    logits = model.lm_logits(hidden)
    assert logits.shape == (2, 8, 30522)
    assert model.lm_logits(hidden[0]).shape == (8, 30522)
    projection = model.embeddings.trigram_projection.weight[:, E : 2 * E]  # a token's own embedding
    token = 1234
    expected = hidden @ (projection @ model.embeddings.word_embeddings.weight[token])
    torch.testing.assert_close(logits[..., token], expected, atol=1e-5, rtol=1e-4)
    # gradients flow into the shared weights only
    model.zero_grad(set_to_none=True)
    model.lm_logits(hidden).logsumexp(-1).sum().backward()
    assert model.embeddings.word_embeddings.weight.grad is not None
    assert model.embeddings.trigram_projection.weight.grad is not None
    model.zero_grad(set_to_none=True)


def test_save_and_from_pretrained_round_trip(tiny, tmp_path):
    model = tiny.build_model(MIXED_TINY, seed=3).eval()
    model.save_pretrained(tmp_path)
    loaded = NluModel.from_pretrained(tmp_path).eval()
    assert loaded.config.model_type == "proxybench-nlu"
    assert loaded.config.blocks == MIXED_TINY
    assert (loaded.config.hidden_size, loaded.config.bottleneck_size, loaded.config.ffn_unit) == (528, 132, 132)
    ids = _ids(2, 9)
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=ids).last_hidden_state, model(input_ids=ids).last_hidden_state)
    assert [t.block_type for t in loaded.proxy_taps()["ffn_first_linear"]] == [block_type(b) for b in MIXED_TINY]


# --- position-seeded initialisation (the contract prefix reuse and SPOS rely on) ---------------


def test_block_weights_depend_only_on_seed_position_and_block_index(tiny):
    a = tiny.build_model([0, 5, 6, 11, 3, 8], seed=4)
    b = tiny.build_model([0, 5, 7, 11, 2, 8], seed=4)
    for position in (0, 1, 3, 5):  # same block index at the same position
        for (name, pa), (_, pb) in zip(a.layers[position].named_parameters(), b.layers[position].named_parameters()):
            assert torch.equal(pa, pb), (position, name)
    for (name, pa), (_, pb) in zip(a.embeddings.named_parameters(), b.embeddings.named_parameters()):
        assert torch.equal(pa, pb), name
    # the same block index at another position, or another seed, gets other weights
    c = tiny.build_model([5, 0, 6, 11, 3, 8], seed=4)
    assert not torch.equal(a.layers[1].ffn.first.weight, c.layers[0].ffn.first.weight)
    d = tiny.build_model([0, 5, 6, 11, 3, 8], seed=5)
    assert not torch.equal(a.layers[0].ffn.first.weight, d.layers[0].ffn.first.weight)
    assert not torch.equal(a.embeddings.word_embeddings.weight, d.embeddings.word_embeddings.weight)


def test_shared_prefix_gives_identical_hidden_states(tiny):
    ids = _ids(2, 8)
    a = tiny.build_model([6, 0, 9, 1, 2, 3], seed=0).eval()
    b = tiny.build_model([6, 0, 9, 7, 8, 11], seed=0).eval()
    with torch.no_grad():
        ha = a(input_ids=ids, output_hidden_states=True).hidden_states
        hb = b(input_ids=ids, output_hidden_states=True).hidden_states
    for k in range(4):  # embeddings and the three shared blocks: bitwise equal
        assert torch.equal(ha[k], hb[k]), k
    assert not torch.equal(ha[4], hb[4])


def test_build_block_and_build_embeddings_are_the_models_parts(tiny):
    model = tiny.build_model(MIXED_TINY, seed=9)
    block = tiny.build_block(2, MIXED_TINY[2], seed=9)
    assert type(block) is type(model.layers[2])
    for (name, pa), (_, pb) in zip(block.named_parameters(), model.layers[2].named_parameters()):
        assert torch.equal(pa, pb), name
    for (name, pa), (_, pb) in zip(tiny.build_embeddings(9).named_parameters(), model.embeddings.named_parameters()):
        assert torch.equal(pa, pb), name
    with pytest.raises(SpaceError, match="position 1: block index 12 is out of range; allowed: 0..11"):
        tiny.build_block(1, 12, seed=0)
    with pytest.raises(SpaceError, match="layer position 6 is out of range; allowed: 0..5"):
        tiny.build_block(6, 0, seed=0)


def test_check_feasible_names_the_position_and_the_allowed_blocks(small, tiny):
    assert small.check_feasible([6] * 12) == NluArch((6,) * 12)
    with pytest.raises(SpaceError) as info:
        tiny.check_feasible([4, 11, 11, 11, 5, 11])
    message = str(info.value)
    assert "over the nlu-tiny limit of 10,000,000" in message
    assert "largest block is at position 4 (block index 5)" in message
    assert [c for c in range(12) if tiny.is_feasible(NluArch((4, 11, 11, 11, c, 11)))] == list(range(6, 12))
    assert message.endswith("allowed there with the other layers unchanged: 6..11")
    with pytest.raises(SpaceError, match="no block there alone brings it under the limit"):
        small.check_feasible([0] * 12)

"""FlexiBERT space: size, enumeration, sampling, parsing, the benchmark file."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from spaces import SpaceError, arch_hash, arch_json, get_space, list_spaces
from spaces.flexibert import GLUE_TASKS, FlexiBertArch, LayerSpec


def test_space_size_matches_table_6(space):
    assert space.size() == 10_621_440
    # independent count: 2 hidden sizes x (2-layer + 4-layer models), 48 choices per layer
    per_layer = 6 * 2 * 2 * 2
    assert space.size() == 2 * (per_layer**2 + per_layer**4)


def test_registry_lists_flexibert():
    assert "flexibert" in list_spaces()
    with pytest.raises(SpaceError, match="unknown search space 'flexi'.*flexibert"):
        get_space("flexi")


@pytest.mark.parametrize("index", [0, 1, 2303, 2304, 5_310_719, 5_310_720, 10_621_439, 4_242_424])
def test_enumeration_round_trips(space, index):
    arch = space.arch_at(index)
    assert space.index_of(arch) == index
    assert space.parse(json.loads(arch_json(arch))) == arch


def test_enumeration_boundaries(space):
    assert space.arch_at(0).hidden_size == 128 and space.arch_at(0).depth == 2
    assert space.arch_at(2304).depth == 4
    assert space.arch_at(5_310_720).hidden_size == 256
    with pytest.raises(SpaceError, match="out of range; allowed: 0 .. 10621439"):
        space.arch_at(10_621_440)


def test_sampling_is_seeded_and_uniform_over_index(space):
    a = [space.sample(np.random.default_rng(3)) for _ in range(5)]
    b = [space.sample(np.random.default_rng(3)) for _ in range(5)]
    rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)
    assert [space.sample(rng1) for _ in range(5)] == [space.sample(rng2) for _ in range(5)]
    assert a[0] == b[0]
    rng = np.random.default_rng(0)
    draws = [space.sample(rng) for _ in range(4000)]
    hidden = Counter(d.hidden_size for d in draws)
    assert abs(hidden[128] / 4000 - 0.5) < 0.04  # each hidden size holds half the space
    ops = Counter(layer.operation for d in draws for layer in d.layers)
    total = sum(ops.values())
    for op, share in (("SA", 1 / 3), ("LT", 1 / 3), ("DSC", 1 / 3)):
        assert abs(ops[op] / total - share) < 0.03


def test_hash_is_stable_and_distinguishes(space):
    a, b = space.arch_at(7), space.arch_at(8)
    assert arch_hash(a) == arch_hash(space.arch_at(7)) and len(arch_hash(a)) == 12
    assert arch_hash(a) != arch_hash(b)
    assert len({a, space.arch_at(7)}) == 1  # hashable, equal by value


GOOD_LAYER = {"operation_type": "SA", "operation_parameter": "SDP", "num_operation_heads": 2, "feed_forward_dimension": 512, "num_feed_forward": 1}


def _arch(**layer_overrides):
    return {"hidden_size": 128, "encoder_layers": [dict(GOOD_LAYER, **layer_overrides), dict(GOOD_LAYER)]}


@pytest.mark.parametrize(
    "obj, message",
    [
        (_arch(operation_type="XX"), "layer 0: operation_type 'XX' is not in the FlexiBERT space; allowed: SA, LT, DSC"),
        (_arch(operation_parameter="DFT"), "layer 0: operation_parameter for SA 'DFT' is not in the FlexiBERT space; allowed: SDP, WMA"),
        (_arch(operation_type="DSC", operation_parameter=7), "allowed: 5, 9"),
        (_arch(num_operation_heads=3), "layer 0: num_operation_heads 3 is not in the FlexiBERT space; allowed: 2, 4"),
        (_arch(feed_forward_dimension=2048), "feed_forward_dimension 2048 .* allowed: 512, 1024"),
        (_arch(num_feed_forward=2), "num_feed_forward 2 .* allowed: 1, 3"),
        ({"hidden_size": 512, "encoder_layers": [GOOD_LAYER] * 2}, "hidden_size 512 .* allowed: 128, 256"),
        ({"hidden_size": 128, "encoder_layers": [GOOD_LAYER] * 3}, "number of encoder layers 3 .* allowed: 2, 4"),
        ({"hidden_size": 128}, "missing field 'encoder_layers'"),
        ({"hidden_size": 128, "encoder_layers": [{"operation_type": "SA"}, GOOD_LAYER]}, "layer 0: missing field"),
        ([1, 2], "is a JSON object, got list"),
    ],
)
def test_invalid_architectures_name_field_and_allowed_values(space, obj, message):
    with pytest.raises(SpaceError, match=message):
        space.parse(obj)


def test_parse_accepts_benchmark_nesting_and_string_kernel(space):
    arch = space.parse({"hidden_size": 256, "nas_config": {"encoder_layers": [dict(GOOD_LAYER, operation_type="DSC", operation_parameter="9")] * 2}})
    assert arch.layers[0] == LayerSpec("DSC", 9, 2, 512, 1)


def test_benchmark_loads_all_500(benchmark, space):
    assert len(benchmark) == 500
    assert sorted(e.id for e in benchmark) == list(range(500))
    assert Counter(e.arch.depth for e in benchmark) == {4: 261, 2: 239}
    assert Counter(e.arch.hidden_size for e in benchmark) == {128: 251, 256: 249}
    for entry in benchmark:
        assert isinstance(entry.arch, FlexiBertArch)
        assert space.index_of(entry.arch) < space.size()
        mean = sum(entry.scores[t] for t in GLUE_TASKS) / len(GLUE_TASKS)
        assert entry.scores["glue"] == pytest.approx(mean, abs=1e-6)
    assert len({arch_hash(e.arch) for e in benchmark}) == 491  # nine architectures appear twice

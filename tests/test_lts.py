"""The LTS decoder space: parameter counts against archai's for all 885 models, the models'
structure (causality, relative attention, adaptive softmax) against direct computations,
enumeration, validation, the five benchmarks, and a run with every proxy."""

from __future__ import annotations

import collections
import math

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from torch.nn import functional as F

from bench import data
from bench.cli.main import main
from bench.inputs import text_lines, word_rank_stream
from proxies.capture import count_parameters
from proxies.losses import proxy_loss
from spaces import SpaceError, get_space
from spaces.lts.arch import parse_arch
from spaces.lts.benchmark import SETS, load_set
from spaces.lts.modeling import RelativeAttention, sinusoid
from spaces.lts.params import GROUPS, breakdown

SPACE = get_space("lts")
COUNTS = {"gpt2-wt103": 200, "gpt2-lm1b": 200, "transxl-wt103": 200, "transxl-lm1b": 183, "transxl-wt103-homogeneous": 98}


@pytest.fixture(scope="module")
def entries():
    return {s.name: load_set(s, data.resolve(s.index_file)) for s in SETS}


def test_parameter_counts_equal_archais_for_all_885_models():
    checked = 0
    for lts_set in SETS:
        summary = yaml.safe_load(data.resolve(f"lts/{lts_set.folder}/params_summary.yaml").read_text())
        for key, reference in summary.items():
            config_name, job = key.rsplit("_", 1)
            config = yaml.safe_load(data.resolve(f"lts/{lts_set.folder}/{config_name}/{job}/model_config.yaml").read_text())
            arch = parse_arch({**config, "family": lts_set.family, "vocab": lts_set.vocab})
            assert breakdown(arch) == {group: int(reference[group]) for group in GROUPS}, (lts_set.name, key)
            checked += 1
    assert checked == 885


def test_built_models_have_the_analytic_counts_and_groups(entries):
    for name, found in entries.items():
        for entry in sorted(found, key=lambda e: SPACE.param_count(e.arch))[:2]:
            model = SPACE.build_model(entry.arch, seed=0)
            groups = breakdown(entry.arch)
            assert count_parameters(model) == groups["total"] == SPACE.param_count(entry.arch), name
            assert sum(p.numel() for p in model.embeddings.parameters()) == groups["AdaEmb"], name
            layers = sum(p.numel() for p in model.layers.parameters())
            layers += sum(p.numel() for p in model.final_norm.parameters()) if model.final_norm is not None else 0
            assert layers == groups["nonembedding"], name


def test_benchmarks_hold_the_models_with_a_perplexity(entries):
    assert {name: len(found) for name, found in entries.items()} == COUNTS
    for name, found in entries.items():
        assert len({e.id for e in found}) == len(found)
        assert all(e.scores["neg_valid_ppl"] < 0 and e.scores["neg_test_ppl"] < 0 for e in found)
    reference = yaml.safe_load(data.resolve("lts/random_GPT2_wt103/ppl_summary.yaml").read_text())
    first = next(e for e in entries["gpt2-wt103"] if e.id == 0)
    assert first.scores["neg_valid_ppl"] == -reference["config_0_j0"]["valid_ppl"]
    assert first.arch.family == "gpt2" and first.arch.n_head == (2, 4, 4, 8, 8) and first.arch.d_embed == 256
    assert {e.arch.family for e in entries["gpt2-lm1b"]} == {"transxl"}  # see spaces/lts/benchmark.py


def test_enumeration_is_a_bijection_and_the_size_is_exact():
    per_layer = 3 * (2048 - 512 + 1)
    assert SPACE.size() == 2 * 4 * (4 * 4 * 3) * sum(per_layer**n for n in range(2, 17))
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = SPACE.sample(rng)
        assert SPACE.arch_at(SPACE.index_of(arch)) == arch
        assert SPACE.parse(arch.to_json()) == arch
    assert SPACE.arch_at(0).n_layer == 2 and SPACE.arch_at(SPACE.size() - 1).n_layer == 16
    assert SPACE.index_of(SPACE.arch_at(SPACE.size() - 1)) == SPACE.size() - 1


@pytest.mark.parametrize(("change", "message"), [
    ({"family": "lstm"}, "family 'lstm' is not in the LTS space; allowed: gpt2, transxl"),
    ({"d_inner": [512, 4096]}, "d_inner of layer 1 4096 is not in the LTS space; allowed: integers 512..2048"),
    ({"n_head": [2, 4, 8]}, "n_head lists 3 values for 2 layers"),
    ({"d_model": 96}, "d_model 96 is not in the LTS space; allowed: 64, 128, 256, 512"),
    ({"vocab": "bpe"}, "vocab 'bpe' is not in the LTS space; allowed: gpt2-wt103, gpt2-lm1b, wt103, lm1b"),
])
def test_bad_architectures_name_the_field_and_what_is_allowed(change, message):
    good = {"family": "gpt2", "vocab": "gpt2-wt103", "n_layer": 2, "d_model": 64, "n_head": [2, 4], "d_inner": [512, 600], "d_embed": 128, "div_val": 2}
    parse_arch(good)
    with pytest.raises(SpaceError, match="^" + message.replace("[", r"\[").replace(".", r"\.") + "$"):
        parse_arch({**good, **change})


def _arch(family: str, vocab: str, div_val: int, d_embed: int = 64) -> object:
    return parse_arch({"family": family, "vocab": vocab, "n_layer": 2, "d_model": 64, "n_head": [2, 4], "d_inner": [512, 520],
                       "d_embed": d_embed, "div_val": div_val})


@pytest.mark.parametrize("family", ["gpt2", "transxl"])
def test_decoders_are_causal(family):
    model = SPACE.build_model(_arch(family, "gpt2-wt103", 2), seed=1).eval()
    ids = torch.randint(0, 50264, (2, 10), generator=torch.Generator().manual_seed(0))
    changed = ids.clone()
    changed[:, 6:] = (changed[:, 6:] + 7) % 50264
    with torch.no_grad():
        a, b = model(input_ids=ids).last_hidden_state, model(input_ids=changed).last_hidden_state
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-6)
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_relative_attention_scores_match_the_definition():
    """Score of query i, key j: ((q_i + u)·k_j + (q_i + v)·W_r R_{i-j}) / sqrt(d_head), masked for j > i."""
    torch.manual_seed(0)
    attention = RelativeAttention(d_model=8, heads=2, dropatt=0.0, dropout=0.0, eps=1e-5, layer=0).eval()
    x = torch.randn(1, 5, 8)
    u, v = torch.randn(2, 4), torch.randn(2, 4)
    tokens = 5
    positions = sinusoid(torch.arange(tokens - 1, -1, -1), 8)
    causal = torch.full((tokens, tokens), float("-inf")).triu(1)[None, None]
    seen = {}
    attention.probs_tap.register_forward_hook(lambda _m, _i, out: seen.setdefault("probs", out))
    attention(x, positions, u, v, causal)
    q, k, _ = (t.view(1, tokens, 2, 4) for t in attention.qkv(x).chunk(3, dim=-1))
    r = attention.position(sinusoid(torch.arange(tokens).float(), 8)).view(tokens, 2, 4)  # r[dist]
    expected = torch.full((2, tokens, tokens), float("-inf"))
    for h in range(2):
        for i in range(tokens):
            for j in range(i + 1):
                expected[h, i, j] = ((q[0, i, h] + u[h]) @ k[0, j, h] + (q[0, i, h] + v[h]) @ r[i - j, h]) / 2.0
    assert torch.allclose(seen["probs"][0], torch.softmax(expected, dim=-1), atol=1e-5)


@pytest.mark.parametrize(("vocab", "div_val", "d_embed"), [("gpt2-lm1b", 1, 128), ("gpt2-wt103", 1, 64), ("wt103", 2, 64), ("lm1b", 4, 128)])
def test_the_adaptive_softmax_is_a_distribution_and_its_nll_reads_it(vocab, div_val, d_embed):
    model = SPACE.build_model(_arch("transxl", vocab, div_val, d_embed), seed=2)
    n_token = model.config.n_token
    hidden = torch.randn(6, 64, generator=torch.Generator().manual_seed(3))
    log_probs = model.lm_logits(hidden)
    assert log_probs.shape == (6, n_token)
    assert torch.allclose(log_probs.logsumexp(dim=-1), torch.zeros(6), atol=1e-4)
    targets = torch.tensor([0, 5, 19996, 19997, 45000, n_token - 1])
    assert torch.allclose(model.lm_nll(hidden, targets), -log_probs.gather(1, targets[:, None]).squeeze(1), atol=1e-4)
    if vocab == "gpt2-lm1b":  # one cluster: a plain softmax of h P E^T + b, P its own (untied) d x e projection
        table, projection = model.embeddings.words.tables[0].weight, model.lm_head.own_projections["0"].weight
        assert not torch.equal(projection, model.embeddings.words.projections[0].weight)
        direct = F.log_softmax((hidden @ projection) @ table.T + model.lm_head.bias, dim=-1)
        assert torch.allclose(log_probs, direct, atol=1e-5)


def test_next_token_loss_is_the_mean_cross_entropy_of_the_following_token():
    model = SPACE.build_model(_arch("gpt2", "gpt2-wt103", 2), seed=4)
    ids = torch.randint(0, 30000, (2, 7), generator=torch.Generator().manual_seed(5))
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    hidden = model(**batch).last_hidden_state
    expected = torch.stack([-model.lm_logits(hidden[b, t : t + 1])[0, ids[b, t + 1]] for b in range(2) for t in range(6)]).mean()
    assert torch.allclose(proxy_loss(model, hidden, batch, "next-token", 0), expected, atol=1e-5)


def test_word_rank_ids_are_frequency_ranks_of_the_text():
    stream = word_rank_stream("wikitext-2")
    words = [w for line in text_lines(data.resolve("text/wikitext-2/valid.txt")) for w in line.split()]
    counts = collections.Counter(words)
    assert len(stream) == len(words)
    assert stream.max() == len(counts) - 1 < 50264
    most = counts.most_common(1)[0][0]
    assert all(stream[i] == 0 for i, w in enumerate(words[:2000]) if w == most)
    ranks = pd.Series(stream).value_counts()
    assert ranks.index[0] == 0 and ranks.iloc[0] == counts[most]


def test_a_run_scores_every_proxy_on_both_families(tmp_path, entries):
    out = tmp_path / "run"
    assert main(["run", "--space", "lts", "--archs", "benchmark:transxl-wt103", "--limit", "3", "--proxies", "all",
                 "--batch-size", "2", "--seq-len", "12", "--out", str(out), "--no-progress"]) == 0
    rows = pd.read_csv(out / "rows.csv")
    failed = rows[rows["status"] == "error"]  # LPZero's FlexiBERT expression reads a query projection the fused-QKV decoders lack
    assert set(failed["proxy"]) == {"lpzero"} and failed["error"].str.contains("no query or input projection").all(), failed.to_dict("records")
    overflowed = rows[(rows["status"] != "ok") & (rows["status"] != "error")]  # synflow past the float64 range is recorded as such
    assert set(overflowed["proxy"]) <= {"synflow"}
    assert rows.groupby("arch_hash").size().nunique() == 1 and rows["arch_hash"].nunique() == 3
    truth = pd.read_csv(out / "ground_truth.csv")
    assert set(truth["task"]) == {"neg_valid_ppl", "neg_test_ppl"}
    import json

    config = json.loads((out / "manifest.json").read_text())["config"]
    assert config["loss"] == "next-token" and config["archs"]["benchmark"] == "lts/random_TransXL_wt103/ppl_summary.yaml"
    nonemb = rows[rows["proxy"] == "params-nonemb"].set_index("arch_hash")["value"]
    by_hash = {_hash(e.arch): breakdown(e.arch)["nonembedding"] for e in entries["transxl-wt103"]}
    assert all(math.isclose(value, by_hash[h]) for h, value in nonemb.items())
    gpt = tmp_path / "gpt"
    assert main(["run", "--space", "lts", "--archs", "benchmark:gpt2-wt103", "--limit", "2", "--proxies", "all",
                 "--batch-size", "2", "--seq-len", "12", "--out", str(gpt), "--no-progress"]) == 0
    gpt_rows = pd.read_csv(gpt / "rows.csv")
    assert set(gpt_rows.loc[gpt_rows["status"] != "ok", "proxy"]) <= {"lpzero", "synflow"}


def _hash(arch) -> str:
    from spaces import arch_hash

    return arch_hash(arch)


def test_an_unknown_benchmark_name_lists_the_allowed_ones(capsys, tmp_path):
    assert main(["run", "--space", "lts", "--archs", "benchmark:gpt3", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown benchmark 'gpt3' of space 'lts'; allowed: gpt2-wt103, gpt2-lm1b, transxl-wt103, transxl-lm1b, transxl-wt103-homogeneous" in err


def test_the_tokenizer_ablation_changes_only_the_input_and_is_recorded(tmp_path):
    import json

    from bench.inputs import bpe_rank_stream

    stream = bpe_rank_stream("wikitext-2")
    assert stream.min() == 0 and np.bincount(stream)[0] == np.bincount(stream).max()
    assert np.array_equal(stream, bpe_rank_stream.__wrapped__("wikitext-2"))  # deterministic training
    base = ["run", "--space", "lts", "--archs", "benchmark:gpt2-wt103", "--limit", "2", "--proxies", "params,v-pca",
            "--batch-size", "2", "--seq-len", "12", "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "words")]) == 0
    assert main([*base, "--tokenizer", "bpe-rank", "--out", str(tmp_path / "bpe")]) == 0
    assert "tokenizer" not in json.loads((tmp_path / "words" / "manifest.json").read_text())["config"]
    assert json.loads((tmp_path / "bpe" / "manifest.json").read_text())["config"]["tokenizer"] == "bpe-rank"
    words, bpe = (pd.read_csv(tmp_path / d / "rows.csv").set_index(["arch_hash", "proxy"])["value"] for d in ("words", "bpe"))
    assert words.xs("params", level="proxy").equals(bpe.xs("params", level="proxy"))
    assert main([*base, "--tokenizer", "sentencepiece", "--out", str(tmp_path / "x")]) == 2

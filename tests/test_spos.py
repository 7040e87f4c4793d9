"""The SPOS baseline: supernet structure, masking, smoke training with resume, and the search with its fitness."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from bench.cli.main import main
from bench.scoring.score import init_seed
from bench.oneshot.fitness import SposFitness
from bench.oneshot.mlm import mask_tokens, mlm_windows
from bench.oneshot.supernet import Supernet
from bench.oneshot.training import SPOS_SCALES, learning_rate, train_supernet
from spaces import get_space

TINY_ARCHS = [[6, 0, 9, 1, 2, 3], [6, 0, 9, 1, 2, 4], [11, 5, 6, 7, 8, 9]]


@pytest.fixture(scope="module")
def tiny():
    return get_space("nlu-tiny")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A smoke supernet trained in two sessions (2 + 2 steps) and one trained without interruption."""
    root = tmp_path_factory.mktemp("spos")
    first = train_supernet("nlu-tiny", root / "resumed", scale="smoke", stop_after=2, progress=False)
    assert not first["complete"] and first["step"] == 2
    second = train_supernet("nlu-tiny", root / "resumed", scale="smoke", progress=False)
    assert second["complete"] and second["step"] == 4 and len(second["sessions"]) == 2
    train_supernet("nlu-tiny", root / "straight", scale="smoke", progress=False)
    return root


def test_supernet_paths_at_initialisation_are_the_models_bench_run_builds(tiny):
    supernet = Supernet(tiny, seed=3).eval()
    ids = torch.randint(1000, 2000, (2, 7), generator=torch.Generator().manual_seed(0))
    for blocks in TINY_ARCHS:
        model = tiny.build_model(blocks, init_seed(tiny, 3, "any")).eval()
        with torch.no_grad():
            expected = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
            got = supernet(blocks, ids, torch.ones_like(ids))
            assert torch.equal(got, expected)
            torch.testing.assert_close(supernet.lm_logits(got[:, :2]), model.lm_logits(expected[:, :2]))
    assert len(supernet.choices) == 6 and all(len(layer) == 12 for layer in supernet.choices)
    per_position = sum(p.numel() for p in supernet.choices[0].parameters())
    assert per_position == sum(sum(p.numel() for p in tiny.build_block(0, c, 0).parameters()) for c in range(12))


def test_masking_follows_bert(tiny):
    train, heldout = mlm_windows(16, None)
    assert train.shape[1] == heldout.shape[1] == 16
    assert abs(len(heldout) - (len(train) + len(heldout)) / 10) <= 1
    assert not set(map(tuple, heldout[:50].tolist())) & set(map(tuple, train[-50:].tolist()))
    ids = np.concatenate([train[:200]])
    inputs, targets, labels = mask_tokens(ids, np.random.default_rng(0))
    again = mask_tokens(ids, np.random.default_rng(0))
    assert all(torch.equal(a, b) for a, b in zip((inputs, targets, labels), again))
    assert not targets[:, 0].any() and not targets[:, -1].any() and targets.any(dim=1).all()
    share = float(targets.float().mean() * 16 / 14)
    assert 0.12 < share < 0.19
    masked = (inputs == 103) & targets
    assert 0.7 < float(masked.sum() / targets.sum()) < 0.9
    assert torch.equal(inputs[~targets], labels[~targets]) and torch.equal(labels, torch.from_numpy(ids))


def test_learning_rate_warms_up_then_decays():
    rates = [learning_rate(s, 100, 1e-3) for s in range(100)]
    assert rates[0] == pytest.approx(1e-4) and max(rates) == pytest.approx(1e-3) and rates.index(max(rates)) == 9
    assert all(a >= b for a, b in zip(rates[9:], rates[10:])) and rates[-1] == pytest.approx(1e-3 / 90)


def test_training_resumes_to_the_uninterrupted_result(trained):
    a = torch.load(trained / "resumed" / "checkpoint.pt", weights_only=False)
    b = torch.load(trained / "straight" / "checkpoint.pt", weights_only=False)
    assert a["step"] == b["step"] == SPOS_SCALES["smoke"].steps
    for name, tensor in b["model"].items():
        assert torch.equal(a["model"][name], tensor), name
    log_a = pd.read_csv(trained / "resumed" / "train_log.csv")
    log_b = pd.read_csv(trained / "straight" / "train_log.csv")
    pd.testing.assert_frame_equal(log_a.drop(columns="seconds"), log_b.drop(columns="seconds"))
    assert list(log_a["step"]) == [0, 1, 2, 3] and log_a["path"].nunique() == 4
    cost = json.loads((trained / "resumed" / "cost.json").read_text())
    assert cost["complete"] and cost["cpu_seconds"] > 0 and len(cost["sessions"]) == 2
    # only the sampled blocks moved
    paths = [json.loads(p) for p in log_a["path"]]
    touched = {(p, c) for path in paths for p, c in enumerate(path)}
    init = Supernet(get_space("nlu-tiny"), 0).state_dict()
    untouched = [(p, c) for p in range(6) for c in range(12) if (p, c) not in touched]
    p, c = untouched[0]
    assert torch.equal(a["model"][f"choices.{p}.{c}.ffn.first.weight"], init[f"choices.{p}.{c}.ffn.first.weight"])
    p, c = sorted(touched)[0]
    assert not torch.equal(a["model"][f"choices.{p}.{c}.ffn.first.weight"], init[f"choices.{p}.{c}.ffn.first.weight"])


def test_fitness_with_prefix_reuse_equals_full_forward_passes(trained, tiny):
    fitness = SposFitness(trained / "resumed", prefix_budget_mb=1)
    for blocks in TINY_ARCHS:
        arch = tiny.parse(blocks)
        row = fitness.score(arch)[0]
        assert row["status"] == "ok" and row["value"] == fitness.uncached_value(arch)
        assert 5.0 < row["value"] < 12.0  # a masked-LM cross-entropy over 30,522 tokens
    assert fitness.runner.stats()["layers_reused"] > 0


def test_spos_search_runs_and_minimises_the_held_out_loss(trained, tmp_path, capsys):
    out = tmp_path / "search"
    assert main(["spos", "search", "--supernet", str(trained / "resumed"), "--population", "4", "--generations", "2", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "SPOS held-out MLM loss (lower is better)" in printed and "supernet training: 4 steps" in printed
    rows = pd.read_csv(out / "rows.csv")
    summary = json.loads((out / "summary.json").read_text())
    assert len(rows) == 8 and (rows["status"] == "ok").all() and (rows["proxy"] == "spos-mlm-loss").all()
    assert summary["best"]["fitness"] == rows["value"].min()
    assert summary["cost"]["supernet_training"]["total_steps"] == 4 and summary["cost"]["supernet_training"]["cpu_seconds"] > 0
    best = get_space("nlu-tiny").parse(json.loads((out / "best_arch.json").read_text()))
    assert get_space("nlu-tiny").is_feasible(best)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["fitness"]["kind"] == "spos" and len(manifest["config"]["fitness"]["version"]) == 16


def test_spos_errors(capsys, tmp_path, trained):
    assert main(["spos", "train", "--space", "nlu-tiny", "--scale", "smoke", "--stop-after", "1", "--out", str(tmp_path / "half"), "--no-progress"]) == 0
    capsys.readouterr()
    for argv, message in [
        (["spos", "search", "--supernet", str(tmp_path / "half"), "--out", str(tmp_path / "x")], "has not finished training; rerun `bench spos train`"),
        (["spos", "search", "--supernet", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")], "is not a run directory"),
        (["spos", "train", "--scale", "huge", "--out", str(tmp_path / "y")], "unknown SPOS scale 'huge'; allowed: smoke, cpu, paper"),
        (["spos", "train", "--device", "tpu", "--out", str(tmp_path / "y")], "unknown device 'tpu'; allowed: cpu, cuda, cuda:N"),
        (["spos", "train", "--space", "flexibert", "--out", str(tmp_path / "y")], "space 'flexibert' cannot be searched"),
    ]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, err
    if not torch.cuda.is_available():
        assert main(["spos", "train", "--device", "cuda", "--out", str(tmp_path / "z")]) == 2
        assert "no CUDA device is available here" in capsys.readouterr().err


def test_spos_help_has_examples(capsys):
    for action in ("train", "search"):
        with pytest.raises(SystemExit) as info:
            main(["spos", action, "--help"])
        assert info.value.code == 0 and "examples:" in capsys.readouterr().out

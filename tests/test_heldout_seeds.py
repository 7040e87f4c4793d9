"""scripts/heldout_seeds.py: one row per finished general-distillation run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "heldout_seeds.py"


@pytest.fixture(scope="module")
def heldout_seeds():
    spec = importlib.util.spec_from_file_location("heldout_seeds", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_run(root: Path, name: str, seed: int, loss: float | None, arch: list[int] | None = None) -> Path:
    run = root / name
    (run / "general").mkdir(parents=True)
    config = {"name": name, "space": "nlu-tiny", "arch": arch or [1, 2, 3, 4, 5, 6], "seed": seed}
    (run / "manifest.json").write_text(json.dumps({"config": config, "device": "cpu", "git_revision": "abc", "command": ["bench", "train", "--seed", str(seed)]}))
    if loss is not None:
        (run / "general" / "heldout.json").write_text(json.dumps({"loss": loss, "attn": loss / 2, "hidd": loss / 4, "embd": 0.1}))
        (run / "general" / "done.json").write_text(json.dumps({"steps": 300, "seconds": 12.5}))
    return run


def test_rows_per_finished_run(tmp_path, heldout_seeds, caplog):
    runs = [make_run(tmp_path, "m-seed1", 1, 4.5), make_run(tmp_path, "m", 0, 4.25), make_run(tmp_path, "m-seed2", 2, None)]
    out = tmp_path / "out" / "heldout.csv"
    assert heldout_seeds.main([*map(str, runs), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table["seed"]) == [0, 1]
    assert list(table["heldout_kd_loss"]) == [4.25, 4.5]
    assert list(table["attn"]) == [2.125, 2.25]
    assert set(table["arch"]) == {"[1, 2, 3, 4, 5, 6]"}
    assert list(table["command"]) == ["bench train --seed 0", "bench train --seed 1"]
    assert "m-seed2: no finished general-distillation stage" in caplog.text


def test_no_finished_run_is_an_error(tmp_path, heldout_seeds):
    run = make_run(tmp_path, "m", 0, None)
    assert heldout_seeds.main([str(run), "--out", str(tmp_path / "x.csv")]) == 2
    assert not (tmp_path / "x.csv").exists()


def test_paired_comparison_against_scipy(tmp_path, heldout_seeds):
    ours = [4.10, 4.20, 4.15]
    other = [4.14, 4.21, 4.25]
    runs = [make_run(tmp_path, f"a-seed{i}", i, v) for i, v in enumerate(ours)]
    runs += [make_run(tmp_path, f"b-seed{i}", i, v, arch=[0, 0, 0, 0, 0, 0]) for i, v in enumerate(other)]
    runs.append(make_run(tmp_path, "b-seed7", 7, 3.0, arch=[0, 0, 0, 0, 0, 0]))  # no partner seed: not paired
    out = tmp_path / "heldout.csv"
    assert heldout_seeds.main([*map(str, runs), "--out", str(out), "--against", "a"]) == 0
    paired = pd.read_csv(tmp_path / "heldout-paired.csv")
    row = paired.iloc[0]
    assert (row["model"], row["against"], row["seeds"], row["wins_of_against"]) == ("b", "a", 3, 3)
    diffs = [b - a for a, b in zip(ours, other)]
    assert row["mean_diff"] == pytest.approx(sum(diffs) / 3)
    assert row["p_paired_t"] == pytest.approx(stats.ttest_rel(other, ours).pvalue)


def test_unknown_reference_model_is_an_error(tmp_path, heldout_seeds, caplog):
    run = make_run(tmp_path, "a-seed0", 0, 4.0)
    assert heldout_seeds.main([str(run), "--out", str(tmp_path / "x.csv"), "--against", "nope"]) == 2
    assert "--against 'nope' names no collected run; models: ['a']" in caplog.text
    assert not (tmp_path / "x.csv").exists()

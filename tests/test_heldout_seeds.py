"""scripts/heldout_seeds.py: one row per finished general-distillation run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "heldout_seeds.py"


@pytest.fixture(scope="module")
def heldout_seeds():
    spec = importlib.util.spec_from_file_location("heldout_seeds", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_run(root: Path, name: str, seed: int, loss: float | None) -> Path:
    run = root / name
    (run / "general").mkdir(parents=True)
    config = {"name": name, "space": "nlu-tiny", "arch": [1, 2, 3, 4, 5, 6], "seed": seed}
    (run / "manifest.json").write_text(json.dumps({"config": config, "device": "cpu", "git_revision": "abc"}))
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
    assert "m-seed2: no finished general-distillation stage" in caplog.text


def test_no_finished_run_is_an_error(tmp_path, heldout_seeds):
    run = make_run(tmp_path, "m", 0, None)
    assert heldout_seeds.main([str(run), "--out", str(tmp_path / "x.csv")]) == 2
    assert not (tmp_path / "x.csv").exists()

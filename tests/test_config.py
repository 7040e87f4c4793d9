"""The typed run config: one translation from arguments, to and from the manifest."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.cli.main import build_parser
from bench.config import RunConfig
from bench.errors import UserError


def _from(argv: list[str]) -> RunConfig:
    return RunConfig.from_args(build_parser().parse_args(["run", *argv]))


def test_arguments_become_one_typed_config():
    config = _from(["--proxies", "params,w-pca", "--proxy-option", "w-pca.eta=0.95", "--archs", "benchmark", "--limit", "5",
                    "--seed", "0-2", "--scale", "cpu", "--mode", "train", "--jobs", "2"])
    assert config.proxies == ("params", "w-pca")
    assert config.options["w-pca"]["eta"] == 0.95
    assert config.seeds == (0, 1, 2) and config.limit == 5 and config.mode == "train" and config.jobs == 2
    settings = config.settings()
    assert (settings.batch_size, settings.seq_len) == (32, 128)  # the cpu scale
    assert settings.train_mode and settings.variant == "trained" and settings.threads >= 1


def test_manifest_round_trip_gives_the_same_config():
    config = _from(["--proxies", "w-pca,head-confidence", "--archs", "deciles", "--seed", "3", "--batch-size", "4", "--init", "xavier-uniform"])
    settings = config.settings()
    stored = config.to_manifest(settings, {"deciles": "flexibert/BERT_benchmark.json", "limit": None}, 10, {"f": "0" * 64})
    assert stored["batch_size"] == 4 and stored["seq_len"] == 32 and stored["init"] == "xavier-uniform"
    again = RunConfig.from_manifest(stored, jobs=1)
    assert again == replace(config, variant="trained", seq_len=32)  # the manifest stores the resolved sizes
    assert again.to_manifest(again.settings(), stored["archs"], 10, stored["data"]) == stored


def test_default_init_is_not_recorded_and_old_manifests_read():
    config = _from(["--proxies", "params"])
    stored = config.to_manifest(config.settings(), {"sample": 3, "limit": None}, 3, {})
    assert "init" not in stored
    del stored["loss"]  # manifests written before the loss option
    assert RunConfig.from_manifest(stored).loss == "token-ce"
    assert RunConfig.from_manifest(stored).archs == "3"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("text", "wiki", "unknown text source 'wiki'"),
    ("loss", "mse", "unknown loss 'mse'"),
    ("init", "zeros", "unknown initialisation 'zeros'"),
    ("backend", "ray", "unknown backend 'ray'"),
    ("scale", "huge", "unknown scale 'huge'"),
    ("seq_len", 600, "sequence length 600 exceeds"),
])
def test_bad_settings_are_user_errors(field, value, message):
    config = replace(_from(["--proxies", "params"]), **{field: value})
    with pytest.raises(UserError, match=message):
        config.settings()

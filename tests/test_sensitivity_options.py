"""Initialisation schemes and input text sources used by the sensitivity studies."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from bench.cli.main import main
from bench.init_schemes import INIT_SCHEMES, reinitialise
from bench.inputs import proxy_batch, text_lines


@pytest.mark.parametrize("scheme", [s for s in INIT_SCHEMES if s != "default"])
def test_reinitialisation_is_seeded_and_changes_linear_weights(space, benchmark, scheme):
    a = reinitialise(space.build_model(benchmark[0].arch, seed=0), scheme, seed=7)
    b = reinitialise(space.build_model(benchmark[0].arch, seed=0), scheme, seed=7)
    base = space.build_model(benchmark[0].arch, seed=0)
    for (name, pa), (_, pb), (_, p0) in zip(a.named_parameters(), b.named_parameters(), base.named_parameters()):
        assert torch.equal(pa, pb), name
    weight = a.layers[0].ffn.linears[0].weight.detach()
    assert not torch.equal(weight, base.layers[0].ffn.linears[0].weight)
    assert torch.equal(a.layers[0].ffn.LayerNorm.weight, torch.ones_like(a.layers[0].ffn.LayerNorm.weight))
    if scheme == "xavier-uniform":
        bound = (6.0 / sum(weight.shape)) ** 0.5
        assert float(weight.abs().max()) <= bound and float(weight.abs().max()) > 0.9 * bound
        assert torch.equal(a.layers[0].ffn.linears[0].bias, torch.zeros_like(weight[:, 0]))


def test_unknown_scheme_is_rejected(capsys, tmp_path):
    assert main(["run", "--init", "orthogonal", "--limit", "2", "--out", str(tmp_path / "x")]) == 2
    assert "unknown initialisation 'orthogonal'; allowed: default, xavier-uniform" in capsys.readouterr().err


def test_glue_sentences_as_input_text(data_dir):
    sentences = text_lines(data_dir / "glue" / "SST-2" / "train.tsv")
    assert len(sentences) > 60000 and sentences[0].startswith("hide new secretions")
    batch = proxy_batch(3, 12, seed=0, text="glue-sst2", data_dir=str(data_dir))
    assert batch["input_ids"].shape == (3, 12)


def test_init_and_text_are_recorded_in_the_config(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--proxies", "v-pca", "--limit", "3", "--batch-size", "2", "--seq-len", "8", "--init", "xavier-uniform", "--text", "glue-sst2", "--out", str(out), "--no-progress"]) == 0
    manifest = pd.read_json(out / "manifest.json", typ="series")
    assert manifest["config"]["init"] == "xavier-uniform" and manifest["config"]["text"] == "glue-sst2"
    assert "glue/SST-2/train.tsv" in manifest["config"]["data"]

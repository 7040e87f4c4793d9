"""Every committed result directory records its kind, and the migration script agrees with it."""

from __future__ import annotations

import json
from pathlib import Path

from bench.store import schema

REPO = Path(__file__).resolve().parent.parent


def test_every_committed_manifest_records_a_known_kind():
    manifests = sorted((REPO / "results").rglob(schema.MANIFEST))
    assert len(manifests) >= 40
    for path in manifests:
        assert schema.kind_of(json.loads(path.read_text())) is not None, path


def test_migration_infers_each_kind_and_changes_nothing_twice(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("migrate_manifests", REPO / "scripts" / "migrate_manifests.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    layouts = {
        "run": ({}, [schema.ROWS]),
        "search": ({"kind": "search"}, [schema.ROWS, schema.TRACE]),
        "supernet": ({"kind": "spos-supernet"}, [schema.COST]),
        "eval": ({}, [schema.METRICS]),
        "train": ({}, [schema.MODEL_INFO]),
        "odd": ({}, ["notes.txt"]),
    }
    for name, (config, files) in layouts.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / schema.MANIFEST).write_text(json.dumps({"config": config}))
        for file in files:
            (tmp_path / name / file).write_text("")
    assert module.migrate([tmp_path], check=True) == (5, 1)
    assert module.migrate([tmp_path]) == (5, 1)
    kinds = {name: json.loads((tmp_path / name / schema.MANIFEST).read_text()).get("kind") for name in layouts}
    assert kinds == {"run": "proxy-run", "search": "search", "supernet": "spos-supernet", "eval": "evaluation", "train": "training", "odd": None}
    assert module.migrate([tmp_path]) == (0, 1)


def test_migration_adds_the_benchmark_of_old_benchmark_runs(tmp_path):
    import importlib.util
    import shutil

    spec = importlib.util.spec_from_file_location("migrate_manifests", REPO / "scripts" / "migrate_manifests.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("regression-smoke", "regression-smoke-lts-gpt2-wt103"):
        shutil.copytree(REPO / "results" / name, tmp_path / name)
        (tmp_path / name / schema.BENCHMARK_INFO).unlink(missing_ok=True)
    assert module.add_benchmark_info([tmp_path], check=True) == 2
    assert module.add_benchmark_info([tmp_path]) == 2
    info = {name: json.loads((tmp_path / name / schema.BENCHMARK_INFO).read_text()) for name in ("regression-smoke", "regression-smoke-lts-gpt2-wt103")}
    assert (info["regression-smoke"]["main_task"], info["regression-smoke"]["main_label"]) == ("glue", "GLUE mean")
    assert info["regression-smoke-lts-gpt2-wt103"]["name"] == "gpt2-wt103"
    assert info["regression-smoke-lts-gpt2-wt103"]["tasks"][0] == info["regression-smoke-lts-gpt2-wt103"]["main_task"] == "neg_valid_ppl"
    assert module.add_benchmark_info([tmp_path]) == 0

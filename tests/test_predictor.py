"""Few-shot predictors: the encoding, deterministic splits, curves on synthetic data, and `bench predictor`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from bench.analysis.predictor import encode, predictor_curves, smallest_k, splits, summarise
from bench.cli.main import main


def test_encoding_flattens_numbers_one_hots_strings_and_marks_absent_positions():
    archs = [
        json.dumps({"hidden": 128, "layers": [{"op": "SA", "ff": 512}, {"op": "LT", "ff": 1024}]}),
        json.dumps({"hidden": 256, "layers": [{"op": "SA", "ff": 256}]}),
    ]
    frame = encode(archs)
    assert frame["hidden"].tolist() == [128.0, 256.0]
    assert frame["layers.len"].tolist() == [2.0, 1.0]
    assert frame["layers[1].ff"].tolist() == [1024.0, -1.0]
    assert frame["layers[0].op_SA"].tolist() == [1.0, 1.0]
    assert frame["layers[1].op_LT"].tolist() == [1.0, 0.0] and frame["layers[1].op_absent"].tolist() == [0.0, 1.0]


def test_splits_are_deterministic_disjoint_and_sized():
    one = list(splits(30, 7, 4, seed=3))
    two = list(splits(30, 7, 4, seed=3))
    assert all((a[1] == b[1]).all() and (a[2] == b[2]).all() for a, b in zip(one, two))
    for _, train, test in one:
        assert len(train) == 7 and len(test) == 23 and not set(train) & set(test)
    assert not (one[0][1] == list(splits(30, 7, 1, seed=4))[0][1]).all()


def _synthetic(n: int = 120):
    rng = np.random.default_rng(0)
    target = rng.normal(0, 1, n)
    archs = [json.dumps({"width": int(w), "kind": str(k)}) for w, k in zip(rng.integers(0, 5, n), rng.choice(["a", "b"], n))]
    proxies = pd.DataFrame({"good": target + rng.normal(0, 0.3, n), "inverse": -target + rng.normal(0, 0.3, n), "noise": rng.normal(0, 1, n)})
    return archs, proxies, target


def test_curves_are_deterministic_and_a_predictor_learns_what_the_proxies_know():
    archs, proxies, target = _synthetic()
    curves = predictor_curves(archs, proxies, target, ks=(10, 60), repeats=3, seed=1, n_trees=20, directions={"inverse": False})
    assert len(curves) == 2 * 3 * (3 + 3)
    pd.testing.assert_frame_equal(curves, predictor_curves(archs, proxies, target, ks=(10, 60), repeats=3, seed=1, n_trees=20, directions={"inverse": False}))
    mean = curves.groupby(["k", "method"])["kendall_tau"].mean()
    assert mean[(60, "proxies")] > 0.6 and abs(mean[(60, "encoding")]) < 0.2  # the encoding here carries no signal
    assert mean[(60, "proxy:inverse")] > 0.6, "a lower-is-better proxy is negated"
    assert predictor_curves(archs, proxies, target, ks=(118,), repeats=2, seed=1, n_trees=5).empty, "k leaving fewer than 3 test points is skipped"


def test_summary_and_smallest_k():
    rows = []
    for k, predictor, proxy in ((5, 0.1, 0.5), (10, 0.6, 0.5), (20, 0.4, 0.5), (50, 0.7, 0.5), (100, 0.8, 0.5)):
        for repeat in range(2):
            rows += [{"k": k, "repeat": repeat, "method": m, "n_test": 100, "kendall_tau": v} for m, v in (("encoding", predictor), ("proxies", 0.0), ("encoding+proxies", predictor), ("proxy:p", proxy))]
    summary = summarise(pd.DataFrame(rows), "p", None)
    assert summary[summary["method"] == "encoding"]["beats_best_proxy"].tolist() == [False, True, False, True, True]
    assert smallest_k(summary, "beats_best_proxy") == {"encoding": 50, "proxies": None, "encoding+proxies": 50}
    assert not summary["beats_best_size"].any()


def test_bench_predictor_stores_the_curves(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--proxies", "params,w-pca", "--limit", "20", "--batch-size", "2", "--seq-len", "8", "--no-progress", "--out", str(out)]) == 0
    assert main(["predictor", str(out), "--k", "5,10", "--repeats", "2", "--trees", "5"]) == 0
    summary = pd.read_csv(out / "predictor.csv")
    assert set(summary["method"]) == {"encoding", "proxies", "encoding+proxies", "proxy:w-pca", "proxy:params"}
    assert set(summary["k"]) == {5, 10} and (summary["repeats"] == 2).all()
    assert len(pd.read_csv(out / "predictor-splits.csv")) == 2 * 2 * (3 + 2)
    assert "smallest k from which on the predictor beats W-PCA" in capsys.readouterr().out
    assert main(["predictor", str(out), "--k", "five"]) == 2
    assert main(["predictor", str(out), "--k", "18,19"]) == 2

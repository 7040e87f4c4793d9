"""Combination proxies from stored values, and the comparison subcommands."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.cli.main import main
from bench.analysis.combine import evaluate, names_in, parse
from bench.errors import UserError

SMALL = ["--batch-size", "2", "--seq-len", "8", "--no-progress"]


def _table():
    return pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [4.0, 1.0, 2.0, np.nan], "c": [10.0, 20.0, 30.0, 40.0]})


def test_expressions_evaluate_like_plain_arithmetic():
    t = _table()
    np.testing.assert_allclose(evaluate(parse("a * c"), t), t["a"] * t["c"])
    np.testing.assert_allclose(evaluate(parse("a + c / 2"), t), t["a"] + t["c"] / 2)
    np.testing.assert_allclose(evaluate(parse("log(a) + 0.5 * log(c)"), t), np.log(t["a"]) + 0.5 * np.log(t["c"]))
    np.testing.assert_allclose(evaluate(parse("(a + c) * 2"), t), (t["a"] + t["c"]) * 2)
    ranks = evaluate(parse("mean_rank(a, c)"), t)
    np.testing.assert_allclose(ranks, (stats.rankdata(t["a"]) / 4 + stats.rankdata(t["c"]) / 4) / 2)
    assert names_in(parse("mean_rank(a, log(b)) * c")) == {"a", "b", "c"}


def test_nan_inputs_give_nan_not_made_up_values():
    t = _table()
    values = evaluate(parse("a * b"), t)
    assert np.isnan(values[3]) and np.isfinite(values[:3]).all()
    assert np.isnan(evaluate(parse("borda(a, b)"), t)[3])


def test_borda_orders_like_mean_rank_without_ties():
    rng = np.random.default_rng(0)
    t = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30)})
    borda, mean_rank = evaluate(parse("borda(a, b)"), t), evaluate(parse("mean_rank(a, b)"), t)
    np.testing.assert_allclose(borda, mean_rank * 2 * 30)  # Borda points are the ascending ranks


@pytest.mark.parametrize("text, message", [
    ("a - b", "unexpected '-'"),
    ("foo(a)", "unknown function 'foo'"),
    ("a * ", "expected more"),
    ("(a + b", "expected \\)"),
    ("a $ b", "cannot read the expression"),
])
def test_syntax_errors_are_user_errors(text, message):
    with pytest.raises(UserError, match=message):
        parse(text)


def test_unknown_proxy_in_expression():
    with pytest.raises(UserError, match="has no values of proxy 'zzz'; it has: a, b, c"):
        evaluate(parse("zzz * 2"), _table())


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("combine") / "run"
    assert main(["run", "--proxies", "params,params-nonemb,v-pca,w-pca,layers,hidden-size", "--limit", "16", *SMALL, "--out", str(out)]) == 0
    return out


def test_combine_writes_derived_rows_that_correlate_reads(run_dir, tmp_path, capsys):
    work = tmp_path / "run"
    shutil.copytree(run_dir, work)
    assert main(["combine", str(work), "--name", "mix", "--expr", "log(w-pca) + 0.5 * log(params-nonemb)", "--label", "Mix"]) == 0
    derived = pd.read_csv(work / "derived.csv")
    rows = pd.read_csv(work / "rows.csv")
    table = rows.pivot_table(index="arch_hash", columns="proxy", values="value")
    expected = np.log(table["w-pca"]) + 0.5 * np.log(table["params-nonemb"])
    got = derived.set_index("arch_hash")["value"]
    np.testing.assert_allclose(got.loc[expected.index], expected)
    assert (derived["proxy_version"].str.startswith("expr-")).all()
    capsys.readouterr()
    assert main(["correlate", str(work), "--bootstrap", "0"]) == 0
    assert "Mix" in capsys.readouterr().out
    assert main(["combine", str(work), "--names", "vpca-x-nonemb"]) == 0  # replaces nothing, adds one
    assert set(pd.read_csv(work / "derived.csv")["proxy"]) == {"mix", "vpca-x-nonemb"}


def test_compare_and_stratify_commands(run_dir, capsys):
    assert main(["compare", "w-pca", "params", str(run_dir), "--bootstrap", "200"]) == 0
    out = capsys.readouterr().out
    assert "difference [95% CI]" in out and "kendall_tau" in out
    assert main(["stratify", str(run_dir), "--bootstrap", "50"]) == 0
    assert "stratified Kendall tau" in capsys.readouterr().out
    assert main(["compare", "w-pca", "nope", str(run_dir)]) == 2


def test_combo_search_reports_held_out_numbers(run_dir, tmp_path, capsys):
    out = tmp_path / "search"
    assert main(["combo-search", str(run_dir), "--out", str(out), "--bootstrap", "50"]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["test"]["n"] == 8 and result["candidates"] > 20
    assert result["best_size_descriptor"]["proxy"] in ("params", "params-nonemb", "layers", "hidden-size")
    assert set(result["targets"]) == {"rho_beats_best_size_descriptor_with_ci_excluding_zero", "stratified_tau_above_0.3"}
    candidates = pd.read_csv(out / "candidates.csv")
    assert candidates["tune_spearman"].dropna().is_monotonic_decreasing

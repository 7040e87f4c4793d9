"""Few-shot predictors: is a proxy worth more than a few trained architectures?

For each training-set size ``k`` and each of ``repeats`` random splits (seeded by the split
seed, ``k`` and the repeat), ``k`` benchmark entries are the training set and the rest the test
set. A random forest (scikit-learn, ``n_trees`` trees, seeded by the split) is fitted to the
main task's score on one of three feature sets and ranked on the test set by Kendall τ:

* ``encoding``: the architecture alone (:func:`encode`: the architecture's JSON flattened into
  one column per path; numbers as they are, strings one-hot, positions an architecture does
  not have as −1), the same for every space;
* ``proxies``: the stored values of every proxy of the runs, through the order-preserving
  sign(x)·log(1 + |x|) so that values up to 1e308 (synflow) fit the forest's float32 (a forest
  splits on order alone, so its predictions are those of the raw values); NaN kept and ±∞ made
  NaN (the forest handles NaN; both are failed values);
* ``encoding+proxies``: both.

On the same test sets, the Kendall τ of every single proxy is recorded, so a predictor is
compared with the best single proxy and the best size descriptor on equal ground. Which proxy
is "best" is chosen on all architectures (an oracle choice that favours the proxies).
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from bench.analysis.stats import kendall, percentile_interval
from bench.seeding import derive_rng, derive_seed

DEFAULT_KS: tuple[int, ...] = (5, 10, 20, 50, 100, 200)
FEATURE_SETS: tuple[str, ...] = ("encoding", "proxies", "encoding+proxies")


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for key in sorted(value):
            _flatten(value[key], f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, (list, tuple)):
        out[f"{prefix}.len"] = len(value)
        for position, item in enumerate(value):
            _flatten(item, f"{prefix}[{position}]", out)
    else:
        out[prefix] = value


def encode(arch_jsons: Sequence[str]) -> pd.DataFrame:
    """One numeric row per architecture JSON: paths flattened, strings one-hot, absent paths −1."""
    records = []
    for text in arch_jsons:
        flat: dict[str, Any] = {}
        _flatten(json.loads(text), "", flat)
        records.append(flat)
    frame = pd.DataFrame.from_records(records)
    columns = []
    for name in frame.columns:
        column = frame[name]
        if all(isinstance(v, (int, float, bool, np.integer, np.floating)) for v in column.dropna()):
            columns.append(column.astype(float).fillna(-1.0).rename(name))
        else:
            columns.append(pd.get_dummies(column.astype(str).where(column.notna(), "absent"), prefix=name, dtype=float))
    return pd.concat(columns, axis=1) if columns else pd.DataFrame(index=frame.index)


def splits(n: int, k: int, repeats: int, seed: int) -> Iterable[tuple[int, np.ndarray, np.ndarray]]:
    """``(repeat, train, test)`` index sets: ``k`` of ``n`` for training, the rest for testing."""
    for repeat in range(repeats):
        order = derive_rng(seed, "predictor-split", k, repeat).permutation(n)
        yield repeat, np.sort(order[:k]), np.sort(order[k:])


def order_preserving(values: np.ndarray) -> np.ndarray:
    """sign(x)·log(1 + |x|) of ``values``, non-finite entries NaN: the same order, float32-safe."""
    out = np.sign(values) * np.log1p(np.abs(values))
    out[~np.isfinite(values)] = np.nan
    return out


def fit_predict(features: np.ndarray, target: np.ndarray, train: np.ndarray, test: np.ndarray, seed: int, n_trees: int) -> np.ndarray:
    """Predictions of a seeded random forest fitted on ``train``, for ``test``."""
    from sklearn.ensemble import RandomForestRegressor

    model = RandomForestRegressor(n_estimators=n_trees, random_state=seed % (2**32), n_jobs=1)
    model.fit(features[train], target[train])
    return model.predict(features[test])


def predictor_curves(
    arch_jsons: Sequence[str],
    proxy_values: pd.DataFrame,
    target: np.ndarray,
    ks: Sequence[int] = DEFAULT_KS,
    repeats: int = 20,
    seed: int = 0,
    n_trees: int = 100,
    directions: Mapping[str, bool] | None = None,
) -> pd.DataFrame:
    """Kendall τ on the test set of every split: one row per (k, repeat, method).

    ``method`` is a feature set (:data:`FEATURE_SETS`) or ``proxy:NAME`` (the proxy's own
    ranking, negated when lower is better). ``k`` values that leave fewer than 3 test
    architectures are skipped.
    """
    directions = directions or {}
    encoding = encode(arch_jsons).to_numpy(float)
    proxies = order_preserving(proxy_values.to_numpy(float))
    feature_sets = {"encoding": encoding, "proxies": proxies, "encoding+proxies": np.hstack([encoding, proxies])}
    target = np.asarray(target, dtype=float)
    records = []
    for k in ks:
        if len(target) - k < 3:
            continue
        for repeat, train, test in splits(len(target), k, repeats, seed):
            split_seed = derive_seed(seed, "predictor-forest", k, repeat)
            for name, features in feature_sets.items():
                predicted = fit_predict(features, target, train, test, split_seed, n_trees)
                records.append({"k": k, "repeat": repeat, "method": name, "n_test": len(test), "kendall_tau": kendall(predicted, target[test])})
            for column in proxy_values.columns:
                values = proxy_values[column].to_numpy(float)[test]
                sign = 1.0 if directions.get(column, True) else -1.0
                finite = np.isfinite(values)
                tau = kendall(sign * values[finite], target[test][finite]) if finite.sum() >= 3 else math.nan
                records.append({"k": k, "repeat": repeat, "method": f"proxy:{column}", "n_test": int(finite.sum()), "kendall_tau": tau})
    return pd.DataFrame.from_records(records)


def summarise(curves: pd.DataFrame, best_proxy: str, best_size: str | None) -> pd.DataFrame:
    """Mean and 95% percentile interval of τ over the splits, per (k, method), for the feature
    sets, the best proxy and the best size descriptor; ``beats_best_proxy`` / ``beats_best_size``
    say whether a feature set's mean τ exceeds theirs at that ``k``."""
    keep = [*FEATURE_SETS, f"proxy:{best_proxy}"] + ([f"proxy:{best_size}"] if best_size else [])
    records = []
    for (k, method), group in curves[curves["method"].isin(keep)].groupby(["k", "method"], sort=True):
        taus = group["kendall_tau"].to_numpy(float)
        finite = taus[np.isfinite(taus)]
        lo, hi = percentile_interval(finite) if len(finite) else (math.nan, math.nan)
        role = "predictor" if method in FEATURE_SETS else ("best proxy" if method == f"proxy:{best_proxy}" else "best size descriptor")
        records.append({"k": int(k), "method": method, "role": role, "repeats": len(group), "n_test": int(group["n_test"].median()),
                        "kendall_tau": float(finite.mean()) if len(finite) else math.nan, "kendall_lo": lo, "kendall_hi": hi})
    table = pd.DataFrame.from_records(records)
    means = table.set_index(["k", "method"])["kendall_tau"]
    table["beats_best_proxy"] = [
        bool(r.role == "predictor" and r.kendall_tau > means.get((r.k, f"proxy:{best_proxy}"), math.inf)) for r in table.itertuples()
    ]
    table["beats_best_size"] = [
        bool(r.role == "predictor" and best_size is not None and r.kendall_tau > means.get((r.k, f"proxy:{best_size}"), math.inf)) for r in table.itertuples()
    ]
    return table


def smallest_k(summary: pd.DataFrame, column: str) -> dict[str, int | None]:
    """Per feature set, the smallest ``k`` from which on its mean τ beats the reference at every larger ``k``."""
    out: dict[str, int | None] = {}
    for method in FEATURE_SETS:
        rows = summary[summary["method"] == method].sort_values("k")
        found = None
        for k, beats in zip(rows["k"], rows[column]):
            if beats and found is None:
                found = int(k)
            elif not beats:
                found = None
        out[method] = found
    return out

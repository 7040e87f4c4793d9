"""Plain-text tables for the terminal, built from stored result tables."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import pandas as pd


def _fmt(value: float, digits: int = 3) -> str:
    return "nan" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:+.{digits}f}"


def with_ci(value: float, low: float, high: float) -> str:
    """``+0.513 [+0.470, +0.552]``, or the value alone when no interval was computed."""
    if math.isnan(low) or math.isnan(high):
        return _fmt(value)
    return f"{_fmt(value)} [{_fmt(low)}, {_fmt(high)}]"


def render(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned text columns with a rule under the header."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)
    return "\n".join(lines)


def correlation_text(table: pd.DataFrame, task: str, labels: Mapping[str, str] | None = None) -> str:
    """One task's correlations: proxy, n, excluded, Kendall τ and Spearman ρ with 95% CIs."""
    labels = labels or {}
    part = table[table["task"] == task]
    rows = [
        (
            labels.get(r.proxy, r.proxy),
            str(r.n),
            str(r.n_excluded),
            with_ci(r.kendall_tau, r.kendall_lo, r.kendall_hi),
            with_ci(r.spearman_rho, r.spearman_lo, r.spearman_hi),
        )
        for r in part.itertuples()
    ]
    return render(("proxy", "n", "excluded (NaN/failed)", "Kendall tau [95% CI]", "Spearman rho [95% CI]"), rows)


def task_matrix_text(table: pd.DataFrame, statistic: str = "kendall_tau", labels: Mapping[str, str] | None = None) -> str:
    """Proxies × tasks matrix of one statistic (point values)."""
    labels = labels or {}
    pivot = table.pivot(index="proxy", columns="task", values=statistic)
    rows = [(labels.get(p, p), *(_fmt(v) for v in pivot.loc[p])) for p in pivot.index]
    return render(("proxy", *pivot.columns), rows)

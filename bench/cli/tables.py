"""Plain-text tables for the terminal, from stored or just computed result tables.

The number formats are those of the HTML report (:mod:`reports.tables`) and the paper's
values those it prints (:mod:`reports.paper_values`), so the terminal and the report agree.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import pandas as pd

from reports.paper_values import TABLE1, TABLE1_ORDER
from reports.tables import signed, with_ci

__all__ = ["render", "correlation_text", "top_k_text", "task_matrix_text", "table1_frame", "table1_text", "ablation_text", "signed", "with_ci"]


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


def top_k_text(table: pd.DataFrame, task: str, labels: Mapping[str, str] | None = None) -> str:
    """Pearson r, precision at top 5%/10% and the best true rank among the proxy's top 5%/10%."""
    labels = labels or {}
    part = table[table["task"] == task]

    def cell(r, name: str, digits: int = 2, sign: bool = False) -> str:
        value, low, high = getattr(r, name), getattr(r, f"{name}_lo"), getattr(r, f"{name}_hi")
        if math.isnan(value):
            return "nan"
        fmt = f"{{:+.{digits}f}}" if sign else f"{{:.{digits}f}}"
        text = fmt.format(value)
        return text if math.isnan(low) else f"{text} [{fmt.format(low)}, {fmt.format(high)}]"

    rows = [
        (
            labels.get(r.proxy, r.proxy),
            with_ci(r.pearson_r, r.pearson_lo, r.pearson_hi),
            cell(r, "precision_at_5"),
            cell(r, "precision_at_10"),
            cell(r, "best_rank_at_5", 0),
            cell(r, "best_rank_at_10", 0),
        )
        for r in part.itertuples()
    ]
    return render(("proxy", "Pearson r [95% CI]", "precision@5%", "precision@10%", "best true rank in top 5%", "in top 10%"), rows)


def task_matrix_text(table: pd.DataFrame, statistic: str = "kendall_tau", labels: Mapping[str, str] | None = None) -> str:
    """Proxies × tasks matrix of one statistic (point values)."""
    labels = labels or {}
    pivot = table.pivot(index="proxy", columns="task", values=statistic)
    rows = [(labels.get(p, p), *(signed(v) for v in pivot.loc[p])) for p in pivot.index]
    return render(("proxy", *pivot.columns), rows)


def table1_frame(
    correlations: pd.DataFrame,
    labels: Mapping[str, str],
    gradient_free: Mapping[str, bool],
    costs: Mapping[str, Any] | None,
    task: str = "glue",
) -> pd.DataFrame:
    """Table 1 rows: our τ/ρ against ``task`` (the GLUE mean by default) with CIs, time, gradient-free
    flag, and the paper's values (FlexiBERT's; none for another task)."""
    glue = correlations[correlations["task"] == task].set_index("proxy")
    order = [p for p in TABLE1_ORDER if p in glue.index] + sorted(p for p in glue.index if p not in TABLE1_ORDER)
    times = (costs or {}).get("time_1000_evaluations_s", {})
    records = []
    for proxy in order:
        row = glue.loc[proxy]
        paper = TABLE1.get(proxy) if task == "glue" else None
        records.append({
            "proxy": proxy,
            "label": labels.get(proxy, proxy),
            "time_1000_s": times.get(proxy, math.nan),
            "gradient_free": gradient_free.get(proxy, False),
            "n": int(row["n"]),
            "n_excluded": int(row["n_excluded"]),
            "kendall_tau": row["kendall_tau"], "kendall_lo": row["kendall_lo"], "kendall_hi": row["kendall_hi"],
            "spearman_rho": row["spearman_rho"], "spearman_lo": row["spearman_lo"], "spearman_hi": row["spearman_hi"],
            "paper_time_1000_s": paper[0] if paper else math.nan,
            "paper_kendall_tau": paper[2] if paper else math.nan,
            "paper_spearman_rho": paper[3] if paper else math.nan,
        })
    return pd.DataFrame.from_records(records)


def table1_text(frame: pd.DataFrame) -> str:
    """Table 1 in the paper's layout, our numbers first, the paper's beside them."""
    def number(value: float, digits: int = 3) -> str:
        return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"

    rows = [
        (
            r.label,
            "-" if math.isnan(r.time_1000_s) else f"{r.time_1000_s:.0f} s",
            "yes" if r.gradient_free else "no",
            with_ci(r.kendall_tau, r.kendall_lo, r.kendall_hi),
            with_ci(r.spearman_rho, r.spearman_lo, r.spearman_hi),
            str(r.n_excluded),
            number(r.paper_kendall_tau),
            number(r.paper_spearman_rho),
        )
        for r in frame.itertuples()
    ]
    return render(("Proxy", "Time (1,000)", "grad-free", "Kendall tau [95% CI]", "Spearman rho [95% CI]", "excluded", "paper tau", "paper rho"), rows)


def ablation_text(table: pd.DataFrame) -> str:
    """Proxy rows × setting columns of ``τ / ρ``."""
    settings = list(dict.fromkeys(table["setting"]))
    proxies = list(dict.fromkeys(table["proxy"]))
    keyed = table.set_index(["proxy", "setting"])
    rows = []
    for proxy in proxies:
        cells = []
        for setting in settings:
            if (proxy, setting) in keyed.index:
                r = keyed.loc[(proxy, setting)]
                cells.append(f"{signed(r['kendall_tau'])} / {signed(r['spearman_rho'])}")
            else:
                cells.append("-")
        rows.append((proxy, *cells))
    tasks = ", ".join(dict.fromkeys(table["task"])) if "task" in table else "the main task"
    return f"Kendall tau / Spearman rho against {tasks}\n" + render(("proxy", *settings), rows)

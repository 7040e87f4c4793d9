"""Number formats shared by the HTML/PDF report and the terminal tables (:mod:`bench.cli.tables`)."""

from __future__ import annotations

import math


def number(value: float | None, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals, or ``—`` when it is missing (None or NaN)."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 3) -> str:
    """``value`` with a sign and ``digits`` decimals, or ``nan`` when it is missing."""
    return "nan" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:+.{digits}f}"


def with_ci(value: float, low: float, high: float) -> str:
    """``+0.513 [+0.470, +0.552]``, or the value alone when no interval was computed."""
    if math.isnan(low) or math.isnan(high):
        return signed(value)
    return f"{signed(value)} [{signed(low)}, {signed(high)}]"

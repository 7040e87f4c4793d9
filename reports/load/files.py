"""Reading stored files that another process may still be writing; and how a stored table was made.

Readers never modify a file: a torn last line (a row being appended) is ignored, an
unparsable optional table is logged and treated as absent.

Tables that ``bench report`` computed from stored rows and stored itself (see
docs/reports.md) record so in their own columns: :data:`WRITTEN_BY` (= :data:`BY_REPORT`),
:data:`N_BOOT` and, for bootstrapped tables, :data:`BOOT_SEED`. Tables written by the
analysis commands (``bench correlate``, ``bench stability``, ``bench ablation``) lack
``written_by``.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from bench.store.runs import read_row_table

log = logging.getLogger(__name__)

#: Column naming the command that stored a table (absent: the analysis command itself).
WRITTEN_BY = "written_by"
#: The value of :data:`WRITTEN_BY` in tables that ``bench report`` stored.
BY_REPORT = "bench report"
#: Column with the number of bootstrap resamples behind a table's intervals.
N_BOOT = "n_boot"
#: Column with the seed of that resampling.
BOOT_SEED = "bootstrap_seed"


def written_by_report(table: pd.DataFrame | None) -> bool:
    """Whether ``bench report`` stored ``table`` (its :data:`WRITTEN_BY` column says so)."""
    return table is not None and WRITTEN_BY in table.columns and len(table) > 0 and str(table[WRITTEN_BY].iloc[0]) == BY_REPORT


def bootstrap_settings(table: pd.DataFrame) -> tuple[int | None, int | None]:
    """(resamples, seed) recorded in ``table``; ``None`` for a setting it does not record."""
    def first(column: str) -> int | None:
        return int(table[column].iloc[0]) if column in table.columns and len(table) and pd.notna(table[column].iloc[0]) else None

    return first(N_BOOT), first(BOOT_SEED)


def read_json(path: Path) -> Any:
    """The parsed JSON file (raises ``json.JSONDecodeError`` / ``OSError``)."""
    return json.loads(path.read_text(encoding="utf-8"))


def read_complete_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    """A CSV another process may be appending to: everything after the last newline is ignored.

    The file is not modified (the writers cut a torn line themselves when they reopen it).
    """
    content = path.read_bytes()
    content = content[: content.rfind(b"\n") + 1]
    return pd.read_csv(io.BytesIO(content), **kwargs) if content.strip() else pd.DataFrame()


def read_rows(path: Path) -> pd.DataFrame:
    """Complete rows of a ``rows.csv`` another process may be appending to.

    Everything after the last newline (a row being written) is ignored; the file is not
    modified. Columns and types as :func:`bench.store.runs.read_row_table`.
    """
    return read_row_table(path, complete_only=True)


def optional_csv(path: Path, **kwargs: Any) -> pd.DataFrame | None:
    """The table at ``path``, or ``None`` when it is absent, empty or cannot be parsed (logged)."""
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None
    return frame if not frame.empty else None


def csv_header(path: Path) -> set[str]:
    """The column names of a CSV's first line (empty when it cannot be read)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return {part.strip() for part in handle.readline().strip().split(",")}
    except (OSError, UnicodeDecodeError):
        return set()

"""Append-only CSV files: one ``write`` + ``fsync`` per batch of rows, torn last lines cut on reopen.

Used for a stage's ``log.csv`` and an evaluation directory's ``metrics.csv``. A kill
during a write leaves at most one incomplete last line, which
:func:`bench.store.runs.repair_tail` removes before the file is read or appended to again.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from bench.store.runs import repair_tail


def read_rows(path: Path) -> list[dict[str, str]]:
    """All complete rows of ``path`` as dicts of strings (none when it does not exist)."""
    repair_tail(path)
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _format(value: Any) -> Any:
    return repr(value) if isinstance(value, float) else value


def append_rows(path: Path, fields: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Append complete rows (header first when the file is new) with one write and an fsync."""
    rows = list(rows)
    if not rows:
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n")
    if not path.is_file() or path.stat().st_size == 0:
        writer.writeheader()
    for row in rows:
        writer.writerow({k: _format(row.get(k, "")) for k in fields})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, buffer.getvalue().encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)

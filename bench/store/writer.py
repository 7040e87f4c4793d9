"""The one writer of stored results: atomic whole files and append-only CSV tables.

* :func:`write_atomic` replaces a file through a temporary file, ``fsync`` and ``rename``:
  a reader sees the old or the new content, never a mix.
* :func:`append_rows` appends complete rows with one ``write`` and an ``fsync`` under an
  exclusive lock on ``<file>.lock``, so two processes never interleave their rows. A kill
  during the write leaves at most one incomplete last line; :func:`repair_tail` cuts it off
  before the file is read or appended to again (``append_rows`` repairs first).
* A writer killed between the two steps leaves a ``.<name>.*.tmp`` file and the old
  ``<name>``; :func:`remove_temporaries` deletes such leftovers.
* Floats are written with ``repr``, so a value read back is bit-identical.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from bench.store.lock import exclusive_lock


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, prefix=temporary_prefix(path), suffix=".tmp", encoding="utf-8") as tmp:
        tmp.write(text)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, path)


def temporary_prefix(path: Path) -> str:
    """Name prefix of the temporary files through which ``path`` is written: ``.<name>.``."""
    return f".{Path(path).name}."


def remove_temporaries(path: Path) -> list[Path]:
    """Delete temporaries of ``path`` left by a writer that was killed; return them.

    Only for a caller that is the one writer of ``path`` at this moment.
    """
    path = Path(path)
    stale = sorted(path.parent.glob(f"{temporary_prefix(path)}*.tmp")) if path.parent.is_dir() else []
    for leftover in stale:
        leftover.unlink(missing_ok=True)
    return stale


def repair_tail(path: Path) -> None:
    """Cut an incomplete last line (from a kill during a write) off ``path``."""
    path = Path(path)
    if not path.is_file():
        return
    with open(path, "rb+") as handle:
        content = handle.read()
        if content and not content.endswith(b"\n"):
            handle.truncate(content.rfind(b"\n") + 1)


def _cell(value: Any) -> Any:
    return repr(value) if isinstance(value, float) else value


def lock_path(path: Path) -> Path:
    """The lock file guarding appends to ``path``."""
    return path.with_name(path.name + ".lock")


def append_rows(path: Path, fields: Sequence[str], rows: Iterable[Mapping[str, Any]], *, locked: bool = False) -> None:
    """Append complete rows (a header first when the file is new) with one write and an fsync.

    Missing fields are written empty; fields not in ``fields`` are ignored. ``locked=True``
    says the caller already holds ``exclusive_lock(lock_path(path))`` (e.g. to read the
    stored keys and append in one step); otherwise the lock is taken here.
    """
    rows = list(rows)
    if not rows:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if locked:
        _append(path, fields, rows)
        return
    with exclusive_lock(lock_path(path)):
        _append(path, fields, rows)


def _append(path: Path, fields: Sequence[str], rows: list[Mapping[str, Any]]) -> None:
    repair_tail(path)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n", extrasaction="ignore")
    if not path.is_file() or path.stat().st_size == 0:
        writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k, "")) for k in fields})
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, buffer.getvalue().encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_rows(path: Path) -> list[dict[str, str]]:
    """All complete rows of ``path`` as dicts of strings (none when it does not exist); repairs a torn tail."""
    path = Path(path)
    repair_tail(path)
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def rewrite_rows(path: Path, fields: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Replace ``path`` atomically with exactly ``rows`` (used to drop rows past a checkpoint)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k, "")) for k in fields})
    write_atomic(path, buffer.getvalue())

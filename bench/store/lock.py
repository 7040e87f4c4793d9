"""Exclusive locks on files, shared by processes that write the same directory."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bench.errors import UserError


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if absent) for the ``with`` block.

    A second process asking for the same lock waits until the first leaves its block; the
    operating system drops the lock when its holder dies, so a killed process never leaves
    the lock held.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def held_or_refused(path: Path, owner: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` for the block, or refuse at once if another process holds it.

    The holder's pid is written into the file, so the refusal names it.

    Raises:
        UserError: naming ``owner`` and the other process when the lock is held.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise UserError(f"{owner} is in use by another process (pid {holder}); wait for it to finish, or use another directory") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

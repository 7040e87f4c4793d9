"""Argument types shared by the command modules, and the reader of architecture JSON files.

Each type raises :class:`argparse.ArgumentTypeError` naming the bad value and what is allowed,
so argparse prints a one-line usage error instead of a traceback.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.errors import UserError


def csv_list(text: str) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]``."""
    return [part.strip() for part in text.split(",") if part.strip()]


def proxy_option(text: str) -> tuple[str, str]:
    """``PROXY.OPTION=VALUE`` → ``("PROXY.OPTION", "VALUE")``."""
    key, sep, value = text.partition("=")
    if not sep or "." not in key:
        raise argparse.ArgumentTypeError(f"expected PROXY.OPTION=VALUE, got {text!r}")
    return key.strip(), value.strip()


def positive_int(text: str) -> int:
    """An integer ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def read_arch_json(path: Path, flag: str) -> Any:
    """The parsed JSON of an architecture file given with ``flag``.

    Raises:
        UserError: when the file does not exist or is not valid JSON.
    """
    if not path.is_file():
        raise UserError(f"{flag} {str(path)!r} is not an existing JSON file")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read architectures from {path}: {exc}") from exc


def add_common_options(parser: argparse.ArgumentParser, *, device: bool = False) -> None:
    """The options several commands share: ``--data-dir``, ``--no-progress`` and, with
    ``device``, ``--device``."""
    if device:
        parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto (a GPU when one is visible)")
    parser.add_argument("--data-dir", default=None, help="reference data directory (else $PROXYBENCH_DATA, ../shared/data, or download)")
    parser.add_argument("--no-progress", action="store_true", help="do not draw progress bars")


def seed_list(text: str) -> list[int]:
    from bench.seeding import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad seed list {text!r} ({exc}); use 0, 0,3,5 or 0-9") from None

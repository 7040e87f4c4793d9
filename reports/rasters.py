"""Figures rendered once to PNG, shared by the HTML and the PDF, and cached by their inputs.

A figure of the report is deferred (:func:`reports.figures.defer`): its figure function, its
arguments and their fingerprint (:func:`fingerprint`), SHA-256 over the function's name, its
arguments (data frames and arrays by their values, dtypes, index and column names; numbers and
strings by type and ``repr``) and a salt: the source of :mod:`reports.figures` and of this
module, the library versions and the style. Equal fingerprints mean equal inputs to the same
code, hence equal pictures, so :func:`render` reads a PNG from the cache when one is stored
under the fingerprint and draws and renders (in parallel when there are many) only the others.
The cache is a folder of ``<fingerprint>-<dpi>.png`` files (with a ``.pt`` file holding the
figure's smallest font size), written atomically: ``$PROXYBENCH_FIGURE_CACHE``, else
``$XDG_CACHE_HOME/proxybench/figures``, else ``~/.cache/proxybench/figures``. Deleting it loses
nothing but time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from reports.model import Report

log = logging.getLogger(__name__)

#: Resolution of every figure's PNG (shown at its physical size in the HTML, 7 in = 672 px;
#: printed at this resolution in the PDF).
DPI = 144
#: Below this many figures to render, no worker processes are started.
PARALLEL_FROM = 6


@dataclass
class Deferred:
    """A figure not drawn yet: a figure function of :mod:`reports.figures`, its arguments and their
    fingerprint (:func:`reports.figures.defer`). Drawn only when its PNG is not in the cache."""

    function: Callable[..., Figure]
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None

    def build(self) -> Figure:
        return self.function(*self.args, **self.kwargs)


class Unhashable(TypeError):
    """An argument of a figure function that has no stable fingerprint."""


def _feed_values(digest: Any, values: Any) -> None:
    """An array's or a column's values: numbers by their bytes, anything else by type and ``repr``."""
    array = np.asarray(values)
    if array.dtype.kind in "biufcmM":
        digest.update(b"array" + repr((str(array.dtype), array.shape)).encode() + np.ascontiguousarray(array).tobytes())
        return
    items = array.ravel().tolist()
    if not all(item is None or isinstance(item, (bool, int, float, str, np.generic)) for item in items):
        raise Unhashable(f"no fingerprint for an array of {array.dtype}")
    digest.update(b"objects" + repr((array.shape, [(type(item).__name__, item) for item in items])).encode())


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, pd.DataFrame):
        digest.update(b"frame" + repr((list(map(str, value.columns)), list(map(str, value.dtypes)), list(value.index.names),
                                       value.columns.name)).encode())
        _feed_values(digest, value.index.to_numpy())
        for column in value.columns:
            _feed_values(digest, value[column].to_numpy())
    elif isinstance(value, pd.Series):
        digest.update(b"series" + repr((str(value.name), str(value.dtype), list(value.index.names))).encode())
        _feed_values(digest, value.index.to_numpy())
        _feed_values(digest, value.to_numpy())
    elif isinstance(value, np.ndarray):
        _feed_values(digest, value)
    elif isinstance(value, Mapping):
        digest.update(b"map%d" % len(value))
        for key, item in value.items():
            _feed(digest, key)
            _feed(digest, item)
    elif isinstance(value, (list, tuple)):
        digest.update(b"seq%d" % len(value))
        for item in value:
            _feed(digest, item)
    elif value is None or isinstance(value, (bool, int, float, str, np.generic)):
        digest.update(type(value).__name__.encode() + repr(value).encode())
    else:
        raise Unhashable(f"no fingerprint for a {type(value).__name__}")


def fingerprint(name: str, args: Sequence[Any], kwargs: Mapping[str, Any], salt: bytes) -> str | None:
    """The fingerprint of ``name(*args, **kwargs)``; ``None`` when an argument has none."""
    digest = hashlib.sha256(salt + name.encode())
    try:
        _feed(digest, list(args))
        _feed(digest, dict(sorted(kwargs.items())))
    except (Unhashable, TypeError) as error:
        log.debug("figure %s is not cached: %s", name, error)
        return None
    return digest.hexdigest()


def cache_dir() -> Path:
    """Where rendered figures are kept (see the module docstring)."""
    if os.environ.get("PROXYBENCH_FIGURE_CACHE"):
        return Path(os.environ["PROXYBENCH_FIGURE_CACHE"])
    base = Path(os.environ["XDG_CACHE_HOME"]) if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "proxybench" / "figures"


def _png(item: Figure | Deferred, dpi: int) -> tuple[bytes, float]:
    from reports.figures import png_bytes

    figure = item.build() if isinstance(item, Deferred) else item
    try:
        return png_bytes(figure, dpi=dpi), min_font_pt(figure)
    finally:
        if isinstance(item, Deferred):
            figure.clear()


def _store(path: Path, data: bytes) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except OSError as error:  # a read-only or full cache costs time, not the report
        log.warning("figure cache %s not written: %s", path.parent, error)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _cached(cache: Path | None, item: Figure | Deferred, dpi: int) -> tuple[Path, Path] | None:
    """Where the figure's PNG and its smallest font size are cached: ``<fingerprint>-<dpi>.png`` and
    ``.pt``; ``None`` without a cache or a fingerprint."""
    key = item.fingerprint if isinstance(item, Deferred) else None
    if cache is None or key is None:
        return None
    return cache / f"{key}-{dpi}.png", cache / f"{key}-{dpi}.pt"


def render(figures: Sequence[Figure | Deferred], dpi: int = DPI, cache: Path | None = None, jobs: int = 2) -> list[tuple[bytes, float]]:
    """``(PNG bytes, smallest font size in points)`` of each figure, in order: from ``cache`` where
    stored (``<fingerprint>-<dpi>.png`` and its ``.pt`` file), else rendered.

    Args:
        figures: deferred figures (:func:`reports.figures.defer`); a drawn ``Figure`` has no fingerprint and is rendered, not cached.
        dpi: resolution.
        cache: the cache folder; ``None`` renders everything and stores nothing.
        jobs: worker processes for the figures not in the cache (from :data:`PARALLEL_FROM`).
    """
    out: list[tuple[bytes, float] | None] = [None] * len(figures)
    todo: list[int] = []
    paths = [_cached(cache, figure, dpi) for figure in figures]
    for index, found in enumerate(paths):
        try:
            if found is None:
                raise FileNotFoundError
            png, pt = found
            out[index] = (png.read_bytes(), float(pt.read_text()))
        except (OSError, ValueError):
            todo.append(index)
    log.info("figures: %d from the cache, %d to render", len(figures) - len(todo), len(todo))
    if len(todo) >= PARALLEL_FROM and jobs > 1:
        from joblib import Parallel, delayed

        from joblib.externals.loky import get_reusable_executor

        rendered = Parallel(n_jobs=jobs)(delayed(_png)(figures[i], dpi) for i in todo)
        get_reusable_executor().shutdown(wait=True)  # no worker-manager threads left when the PDF forks
    else:
        rendered = [_png(figures[i], dpi) for i in todo]
    for index, (data, smallest) in zip(todo, rendered):
        out[index] = (data, smallest)
        found = paths[index]
        if found is not None:
            _store(found[1], f"{smallest!r}\n".encode())
            _store(found[0], data)
    return [item for item in out if item is not None]  # every index was filled above


def min_font_pt(figure: Figure) -> float:
    """The smallest font size (points) of the figure's visible, non-empty texts (0 when it has none)."""
    from matplotlib.text import Text

    sizes = [float(t.get_fontsize()) for t in figure.findobj(Text)
             if t.get_visible() and t.get_text().strip() and (t.axes is None or t.axes.get_visible())]
    return min(sizes, default=0.0)


def attach(report: Report, cache: Path | None = None, jobs: int = 2) -> None:
    """Give every figure block of ``report`` its PNG (:func:`render`) and smallest font size, for the
    HTML and the PDF alike."""
    blocks = [block for block in report.figures() if not block.png]
    for block, (data, smallest) in zip(blocks, render([block.figure for block in blocks], cache=cache, jobs=jobs)):
        block.png, block.min_font_pt = data, smallest

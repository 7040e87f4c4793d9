"""The report's figures, drawn from stored numbers only (matplotlib + seaborn).

One style for every figure (:data:`STYLE`): 7 inches wide (the text width of an A4 or
Letter page), 8–9 pt text, seaborn's colour-blind-safe ``colorblind`` palette for
categories and the diverging ``RdBu_r`` map (blue–red, safe for red–green colour
blindness) for correlations. Figures are ``matplotlib.figure.Figure`` objects built without
``pyplot`` (no global state, no GUI backend); :func:`png_bytes` renders one for the HTML
report and :mod:`reports.pdf` draws the same objects into the PDF.

Figures:

* :func:`scatter_figure` (paper Fig. 2): each proxy's value against the GLUE score, one
  panel per proxy, Kendall τ / Spearman ρ in the panel titles.
* :func:`stability_figure` (paper Fig. 4): per proxy, one box per architecture over the
  initialisation seeds, values min–max normalised per proxy.
* :func:`cost_figure`: time of 1,000 evaluations per proxy, log scale, ours and the paper's.
* :func:`heatmap_figure`: Spearman ρ between proxies (and the GLUE score) over architectures.
* :func:`trace_figure`: best and mean fitness per generation of genetic searches.
* :func:`predictor_figure`: few-shot predictors' Kendall τ against the number of trained
  architectures k, with the best proxy and the best size descriptor as reference lines.
* :func:`nlu_architecture_figure` (paper Fig. 5): NLU architectures as rows of blocks,
  coloured by block type, sized by FFN width.
"""

from __future__ import annotations

import functools
import io
import logging
import math
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar

import numpy as np
import pandas as pd
import matplotlib
import seaborn as sns
from cycler import cycler
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from reports import rasters

logging.getLogger("matplotlib.category").setLevel(logging.WARNING)  # numeric-looking box labels are meant as categories

#: Width of a figure in inches (fits the text width of A4/Letter at 100%).
WIDTH = 7.0
#: Width of the panel grids (Figure 2): the text width of an A4 landscape page, 1,008 px in the HTML.
WIDE = 10.5
#: Categorical palette (seaborn's colour-blind-safe palette).
PALETTE: list[tuple[float, float, float]] = [tuple(c) for c in sns.color_palette("colorblind", 10)]
#: Diverging colour map for correlations (blue-red; safe for red-green colour blindness).
DIVERGING = "RdBu_r"
STYLE: dict[str, object] = {
    "font.size": 8.5,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "figure.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "axes.prop_cycle": cycler(color=PALETTE),
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,
    "svg.fonttype": "none",
}
#: Block colours of the NLU drawing: BERT and MobileBERT blocks.
BLOCK_COLOURS = {"bert": PALETTE[0], "mobilebert": PALETTE[1]}


F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def _salt() -> bytes:
    """What a figure's picture depends on besides its arguments: this module, the libraries, the style."""
    import PIL

    sources = Path(__file__).read_bytes() + Path(rasters.__file__).read_bytes()
    return sources + f"{matplotlib.__version__} {sns.__version__} {np.__version__} {pd.__version__} {PIL.__version__} {STYLE!r}".encode()


def defer(function: Callable[..., Figure], *args: Any, **kwargs: Any) -> rasters.Deferred:
    """``function(*args, **kwargs)`` (a figure function of this module), to be drawn only when its
    PNG is not in the figure cache."""
    name = getattr(function, "__qualname__", repr(function))
    return rasters.Deferred(function, args, kwargs, rasters.fingerprint(name, args, kwargs, _salt()))


def styled(function: F) -> F:
    """Run a figure function inside :data:`STYLE` (rc settings apply when artists are made)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _figure(height: float, width: float = WIDTH) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (no timestamp: the same figure gives the same bytes)."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _grid(n: int, columns: int = 4, row_height: float = 1.9) -> tuple[Figure, list]:
    cols = max(1, min(columns, n))
    rows = max(1, math.ceil(n / cols))
    fig = _figure(row_height * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _log_axis(values: np.ndarray) -> bool:
    """Log scale when every value is positive and they span more than two decades."""
    finite = values[np.isfinite(values)]
    return bool(finite.size and finite.min() > 0 and finite.max() / finite.min() > 100)


def _compact(value: float, _position: object = None) -> str:
    """A short tick label, three significant digits: ``2k``, ``2.5M``, ``1M`` (for 999,600), ``0.08``."""
    rounded = float(f"{value:.3g}")
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(rounded) >= scale:
            return f"{rounded / scale:.3g}{suffix}"
    return f"{rounded:.3g}"


@styled
def scatter_figure(
    panels: Sequence[tuple[str, pd.DataFrame, float, float]],
    ylabel: str = "GLUE score",
    title: str | None = None,
    size_label: str | None = None,
    columns: int = 8,
) -> Figure:
    """Fig. 2: per proxy, its value (x) against the ground-truth score (y, upper panel) and, when
    ``size_label`` is given, against the model size (y, lower panel, log scale) on the same x axis.

    Args:
        panels: ``(label, frame, tau, rho)`` per proxy; ``frame`` has columns ``value`` and
            ``score`` (one row per benchmark entry) and, with ``size_label``, ``size``;
            non-finite values are not drawn.
        ylabel: the score's name.
        title: figure title.
        size_label: the size descriptor's name (e.g. ``#Params``); ``None``: score panels only.
        columns: proxies per row.

    The x axis is logarithmic when a proxy's values are positive and span more than two
    decades (it says so in the axis label). A lower panel's title is the Spearman ρ between
    the proxy and the size: near ±1, the proxy ranks models as their size does.
    """
    cols = max(1, min(columns, len(panels)))
    blocks = max(1, math.ceil(len(panels) / cols))
    per_proxy = 2 if size_label else 1
    fig = _figure(blocks * per_proxy * 1.3 + 0.3, WIDE)
    grid = fig.subplots(blocks * per_proxy, cols, squeeze=False)
    for ax in grid.ravel():
        ax.set_visible(False)
    for index, (label, frame, tau, rho) in enumerate(panels):
        row, col = divmod(index, cols)
        top = grid[row * per_proxy, col]
        x = frame["value"].to_numpy(dtype=float)
        y = frame["score"].to_numpy(dtype=float)
        keep = np.isfinite(x) & np.isfinite(y)
        log_x = _log_axis(x[keep])
        tau_text = "n/a" if not np.isfinite(tau) else f"{tau:+.3f}"
        rho_text = "n/a" if not np.isfinite(rho) else f"{rho:+.3f}"
        top.set_visible(True)
        top.scatter(x[keep], y[keep], s=4, alpha=0.55, color=PALETTE[0], edgecolors="none", rasterized=True)
        top.set_title(f"{label}\nτ {tau_text}  ρ {rho_text}", fontsize=7.5)
        if col == 0:
            top.set_ylabel(ylabel, fontsize=7.5)
        axes = [top]
        if size_label:
            low = grid[row * per_proxy + 1, col]
            low.set_visible(True)
            size = frame["size"].to_numpy(dtype=float)
            both = np.isfinite(x) & np.isfinite(size)
            low.scatter(x[both], size[both], s=4, alpha=0.55, color=PALETTE[2], edgecolors="none", rasterized=True)
            log_size = bool(both.sum() > 1 and np.all(size[both] > 0))
            if log_size:
                low.set_yscale("log")
            size_rho = frame.loc[both, ["value", "size"]].corr(method="spearman").iloc[0, 1] if both.sum() > 2 else float("nan")
            low.set_title(f"ρ with {size_label} " + ("n/a" if not np.isfinite(size_rho) else f"{size_rho:+.2f}"), fontsize=7.5, color="#333333")
            if col == 0:
                low.set_ylabel(f"{size_label} (log)" if log_size else size_label, fontsize=7.5)
            top.sharex(low)
            top.tick_params(labelbottom=False)
            axes.append(low)
        if log_x:
            axes[-1].set_xscale("log")
        axes[-1].set_xlabel(f"{label} (log)" if log_x else label, fontsize=7)
        for ax in axes:
            ax.tick_params(labelsize=7)
            if not log_x:
                ax.xaxis.set_major_locator(MaxNLocator(3))
                ax.xaxis.set_major_formatter(FuncFormatter(_compact))
            if ax.get_yscale() != "log":
                ax.yaxis.set_major_locator(MaxNLocator(4))
            else:
                ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                ax.yaxis.set_major_formatter(FuncFormatter(_compact))
                ax.yaxis.set_minor_formatter(NullFormatter())
    if title:
        fig.suptitle(title)
    return fig


def normalise_minmax(values: pd.Series) -> pd.Series:
    """Min-max normalisation to [0, 1] over all given values (constant values -> 0.5)."""
    low, high = values.min(), values.max()
    if not np.isfinite(low) or not np.isfinite(high) or high == low:
        return pd.Series(0.5, index=values.index)
    return (values - low) / (high - low)


@styled
def stability_figure(
    panels: Sequence[tuple[str, pd.DataFrame, str]],
    arch_labels: Sequence[str],
    title: str | None = None,
) -> Figure:
    """Fig. 4: per proxy, one box per architecture over the initialisation seeds.

    Args:
        panels: ``(label, frame, subtitle)`` per proxy; ``frame`` has columns ``arch`` (one of
            ``arch_labels``), ``seed`` and ``value``.
        arch_labels: architectures in x order (ordered by GLUE score, lowest first).
        title: figure title.

    Values are min–max normalised per proxy over all its architectures and seeds, so a
    box's height is the seed spread relative to the proxy's range across architectures:
    where boxes of neighbouring architectures overlap, the seed can reorder them.
    """
    fig, axes = _grid(len(panels), columns=4, row_height=1.75)
    for index, (ax, (label, frame, subtitle)) in enumerate(zip(axes, panels)):
        data = frame.assign(norm=normalise_minmax(frame["value"].astype(float)))
        sns.boxplot(
            data=data, x="arch", y="norm", order=list(arch_labels), ax=ax, color=PALETTE[0],
            width=0.6, linewidth=0.6, fliersize=1.5, whis=1.5,
        )
        ax.set_title(f"{label}\n{subtitle}" if subtitle else label)
        ax.set_xlabel("architecture (GLUE decile)" if index >= len(panels) - 4 else "")
        ax.set_ylabel("normalised value" if index % 4 == 0 else "")
        ax.set_ylim(-0.05, 1.05)
        ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    if title:
        fig.suptitle(title)
    return fig


@styled
def cost_figure(
    ours: Mapping[str, float],
    paper: Mapping[str, float],
    gradient_free: Mapping[str, bool | None],
    machine: str,
) -> Figure:
    """Time of 1,000 evaluations per proxy (log scale): ours, and the paper's beside it.

    Args:
        ours: label -> seconds measured here.
        paper: label -> seconds the paper reports (its hardware); labels absent are not drawn.
        gradient_free: label -> whether the proxy is gradient-free (marked in the tick label).
        machine: where ours were measured.
    """
    labels = list(ours)
    fig = _figure(0.32 * len(labels) + 1.0)
    ax = fig.subplots()
    y = np.arange(len(labels))
    height = 0.38
    ax.barh(y - height / 2, [ours[k] for k in labels], height, color=PALETTE[0], label=f"ours ({machine})")
    paper_values = [paper.get(k, np.nan) for k in labels]
    ax.barh(y + height / 2, paper_values, height, color=PALETTE[1], hatch="//", edgecolor="white", linewidth=0, label="paper (its hardware)")
    for yi, value in zip(y, [ours[k] for k in labels]):
        ax.text(value * 1.08, yi - height / 2, f"{value:,.0f} s" if value >= 10 else f"{value:.2g} s", va="center", fontsize=7)
    ax.set_yticks(y, [f"{k} (∇-free)" if gradient_free.get(k) else k for k in labels])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("time of 1,000 evaluations (s, log scale)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    ax.grid(axis="y", visible=False)
    return fig


def _short(value: float) -> str:
    """``.85``, ``-.12``, ``1.0``: a correlation in four characters."""
    if not np.isfinite(value):
        return ""
    text = f"{value:.2f}"
    return "1.0" if text == "1.00" else "-1.0" if text == "-1.00" else text.replace("0.", ".", 1)


@styled
def heatmap_figure(matrix: pd.DataFrame, title: str | None = None) -> Figure:
    """Spearman ρ between proxies (rows × columns of ``matrix``), annotated (``.85``), in [-1, 1]."""
    n = len(matrix)
    fig = _figure(max(2.8, 0.27 * n + 1.5))
    ax = fig.subplots()
    labels = matrix.map(_short)
    sns.heatmap(
        matrix, ax=ax, vmin=-1, vmax=1, center=0, cmap=DIVERGING, annot=labels.to_numpy(), fmt="",
        annot_kws={"fontsize": 7}, square=True, linewidths=0.4, linecolor="white",
        cbar_kws={"label": "Spearman ρ", "shrink": 0.8},
    )
    ax.grid(False)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", labelrotation=45)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
    if title:
        ax.set_title(title)
    return fig


@styled
def predictor_figure(curves: Sequence[tuple[str, pd.DataFrame]], references: Sequence[tuple[str, pd.DataFrame]], ylabel: str = "Kendall τ on the held-out architectures") -> Figure:
    """Few-shot predictors against proxies: τ per k (log x axis), one line per feature set with
    its 95% interval shaded; each reference (a single proxy scored on the same test sets) as a
    dashed line.

    Args:
        curves: ``(label, frame)`` per feature set; ``frame`` has ``k``, ``kendall_tau``,
            ``kendall_lo`` and ``kendall_hi``.
        references: ``(label, frame)`` per reference proxy, same columns.
    """
    fig = _figure(2.9)
    ax = fig.subplots()
    for index, (label, frame) in enumerate(curves):
        frame = frame.sort_values("k")
        colour = PALETTE[index % len(PALETTE)]
        ax.plot(frame["k"], frame["kendall_tau"], marker="o", markersize=3, color=colour, label=label)
        ax.fill_between(frame["k"], frame["kendall_lo"], frame["kendall_hi"], color=colour, alpha=0.15, linewidth=0)
    for index, (label, frame) in enumerate(references):
        frame = frame.sort_values("k")
        colour = PALETTE[(len(curves) + index) % len(PALETTE)]
        ax.plot(frame["k"], frame["kendall_tau"], linestyle="--", linewidth=1.2, color=colour, label=label)
    ax.set_xscale("log")
    ks = sorted({int(k) for _, frame in curves for k in frame["k"]})
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel("trained architectures the predictor learns from (k, log scale)")
    ax.set_ylabel(ylabel)
    ax.legend(loc="lower right", frameon=False)
    return fig


@styled
def trace_figure(traces: Sequence[tuple[str, pd.DataFrame]]) -> Figure:
    """Genetic-search traces: best and mean fitness per generation, one panel per search.

    Args:
        traces: ``(label, frame)``; ``frame`` has ``generation``, ``best_fitness`` (best so
            far) and, optionally, ``generation_mean`` (the generation's mean fitness).
    """
    fig, axes = _grid(len(traces), columns=3, row_height=2.0)
    for index, (ax, (label, frame)) in enumerate(zip(axes, traces)):
        ax.plot(frame["generation"], frame["best_fitness"], color=PALETTE[0], marker="o", markersize=2, linewidth=1.2, label="best so far")
        if "generation_mean" in frame:
            ax.plot(frame["generation"], frame["generation_mean"], color=PALETTE[1], linestyle="--", linewidth=1.0, label="generation mean")
        ax.set_title(label)
        ax.set_xlabel("generation")
        if index % 3 == 0:
            ax.set_ylabel("fitness")
        if index == 0:
            ax.legend(frameon=False)
    return fig


def decode_nlu_blocks(indices: Sequence[int], unit: int) -> list[tuple[str, int]]:
    """Block type and FFN width of NLU block indices (the rule of ``spaces/nlu/arch.py``).

    Index ``i`` in 0..5 is a BERT block of FFN width ``unit·(i+1)``; 6..11 a MobileBERT
    block of width ``unit·(i−5)``. Repeated here because reports import no space.

    Raises:
        ValueError: for an index outside 0..11.
    """
    blocks = []
    for position, index in enumerate(indices):
        index = int(index)
        if not 0 <= index <= 11:
            raise ValueError(f"position {position}: block index {index} is out of range; allowed: 0..11")
        blocks.append(("bert", unit * (index + 1)) if index < 6 else ("mobilebert", unit * (index - 5)))
    return blocks


@styled
def nlu_architecture_figure(archs: Sequence[tuple[str, Sequence[tuple[str, int]]]], title: str | None = None) -> Figure:
    """Fig. 5: NLU architectures, one row each, layer 1 on the left.

    Each block is a box coloured by type (BERT / MobileBERT) whose height is proportional
    to its FFN width (relative to the widest block drawn), with the width written in it.

    Args:
        archs: ``(label, blocks)`` with ``blocks`` a list of ``(type, ffn_width)``, type
            ``"bert"`` or ``"mobilebert"``.
    """
    depth = max(len(blocks) for _, blocks in archs)
    widest = max(f for _, blocks in archs for _, f in blocks)
    fig = _figure(0.45 * len(archs) + 0.9)
    ax = fig.subplots()
    for row, (label, blocks) in enumerate(archs):
        base = len(archs) - 1 - row
        for layer, (kind, ffn) in enumerate(blocks):
            height = 0.18 + 0.62 * ffn / widest
            ax.add_patch(Rectangle((layer + 0.06, base + 0.5 - height / 2), 0.88, height, facecolor=BLOCK_COLOURS[kind], edgecolor="black", linewidth=0.4))
            ax.text(layer + 0.5, base + 0.5, str(ffn), ha="center", va="center", fontsize=7, color="white" if kind == "bert" else "black")
    ax.set_xlim(0, depth)
    ax.set_ylim(0, len(archs))
    ax.set_xticks(np.arange(depth) + 0.5, [str(i + 1) for i in range(depth)])
    ax.set_yticks(np.arange(len(archs)) + 0.5, [label for label, _ in reversed(archs)])
    ax.set_xlabel("layer (number in a block: FFN width d)")
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    ax.legend(
        handles=[Patch(facecolor=BLOCK_COLOURS["bert"], edgecolor="black", label="BERT block"), Patch(facecolor=BLOCK_COLOURS["mobilebert"], edgecolor="black", label="MobileBERT block")],
        loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False,
    )
    if title:
        ax.set_title(title)
    return fig

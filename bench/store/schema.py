"""The result schema: run kinds, file names and row columns of every stored result.

Every result directory has a ``manifest.json`` whose ``kind`` says what the directory
holds; readers (statistics, reports) dispatch on it and never guess from names or files.

=================  ==========================  ==============================================
kind               made by                     files besides ``manifest.json``
=================  ==========================  ==============================================
``proxy-run``      ``bench run``               ``rows.csv`` (:data:`ROW_FIELDS`),
                                               ``failures.csv`` (same columns, retried),
                                               ``proxies.json``, ``ground_truth.csv``; the
                                               analyses add ``correlations*.csv``,
                                               ``table1.csv``, ``stability.csv``,
                                               ``stratified-*.csv``, ``derived*.csv``
``search``         ``bench search``,           ``rows.csv`` (the evaluation cache),
                   ``bench spos search``       ``trace.csv``, ``population.csv``,
                                               ``summary.json``, ``best_arch.json``,
                                               ``top_archs.json``
``spos-supernet``  ``bench spos train``        ``checkpoint.pt``, ``train_log.csv``,
                                               ``cost.json``
``training``       ``bench train``             ``model.json``, one folder per stage
                                               (``log.csv``, ``checkpoint.pt``, ``done.json``)
``evaluation``     ``bench evaluate``          ``metrics.csv`` (:data:`METRIC_FIELDS`),
                                               ``training/`` (copied training manifests)
=================  ==========================  ==============================================
"""

from __future__ import annotations

from typing import Any, Mapping

# --- run kinds -------------------------------------------------------------------------------

PROXY_RUN = "proxy-run"
SEARCH = "search"
SUPERNET = "spos-supernet"
TRAINING = "training"
EVALUATION = "evaluation"
KINDS: tuple[str, ...] = (PROXY_RUN, SEARCH, SUPERNET, TRAINING, EVALUATION)

# --- file names ------------------------------------------------------------------------------

MANIFEST = "manifest.json"
#: Held by the one process writing a run directory (see :meth:`bench.store.runs.RunStore.hold`).
DIR_LOCK = ".lock"
ROWS = "rows.csv"
#: A finished run's rows, gzip-compressed (``gzip rows.csv``): read like ``rows.csv``, and unpacked back to it when the run resumes.
ROWS_GZ = "rows.csv.gz"
#: Rows that failed for a reason that may not recur (status ``transient``, see
#: :func:`proxies.capture.is_transient`), kept for the record; they are not results, so a
#: rerun scores them again.
FAILURES = "failures.csv"
PROXY_INFO = "proxies.json"
GROUND_TRUTH = "ground_truth.csv"
#: The benchmark the ground truth comes from (name, main task and its label, tasks).
BENCHMARK_INFO = "benchmark.json"
DERIVED = "derived.csv"
DERIVED_INFO = "derived_info.csv"
TABLE1 = "table1.csv"
PUBLISHED_COMPARISON = "published-comparison.csv"
STABILITY = "stability.csv"
CEILINGS = "ceilings.csv"
CEILING_SHARES = "ceiling-shares.csv"
PREDICTOR = "predictor.csv"
PREDICTOR_SPLITS = "predictor-splits.csv"
TRACE = "trace.csv"
POPULATION = "population.csv"
SUMMARY = "summary.json"
BEST = "best_arch.json"
TOP = "top_archs.json"
CHECKPOINT = "checkpoint.pt"
TRAIN_LOG = "train_log.csv"
COST = "cost.json"
METRICS = "metrics.csv"
TRAINING_COPIES = "training"
MODEL_INFO = "model.json"
STAGE_LOG = "log.csv"
HELDOUT = "heldout.json"
DONE = "done.json"
FINAL_WEIGHTS = "final.safetensors"
COMBO_CANDIDATES = "candidates.csv"
COMBO_RESULT = "result.json"
#: The ablation table ``bench report`` stores when no ``bench ablation`` table exists.
REPORT_ABLATION = "report-ablation.csv"


def correlations_file(split: str = "all") -> str:
    """``correlations.csv`` for all architectures, ``correlations-<split>.csv`` for a split half."""
    return "correlations.csv" if split == "all" else f"correlations-{split}.csv"


def stratified_file(split: str) -> str:
    """The stratified correlations of a split (``stratified-<split>.csv``)."""
    return f"stratified-{split}.csv"


# --- row columns -----------------------------------------------------------------------------

#: One proxy value: architecture × proxy × seed (``rows.csv`` of runs and searches).
ROW_FIELDS: tuple[str, ...] = (
    "space", "arch_id", "arch_hash", "arch", "proxy", "proxy_version", "seed",
    "value", "seconds", "pass_seconds", "status", "error",
)
#: The identity of a proxy row; a rerun skips keys already stored.
KEY_FIELDS: tuple[str, ...] = ("space", "arch_hash", "proxy", "proxy_version", "seed")
#: Read types of ``rows.csv`` columns (everything else as pandas infers it).
ROW_DTYPES: dict[str, type] = {"arch_hash": str, "proxy_version": str, "error": str}
#: One evaluation metric of a trained model (``metrics.csv``).
METRIC_FIELDS: tuple[str, ...] = (
    "model", "task", "metric", "value", "split", "seed", "steps", "n", "status", "note",
    "space", "arch", "teacher", "train_dir",
)
#: Ground truth of benchmark architectures (``ground_truth.csv``).
TRUTH_FIELDS: tuple[str, ...] = ("bench_id", "arch_hash", "task", "score")
#: A search's per-generation trace (``trace.csv``).
TRACE_FIELDS: tuple[str, ...] = (
    "generation", "evaluations", "best_fitness", "best_arch", "generation_best", "generation_mean",
    "generation_failed", "parents", "bred", "infeasible_resampled", "duplicate_resampled", "random_fill",
    "computed", "cache_hits", "seconds",
)
#: Every architecture a search proposed (``population.csv``).
POPULATION_FIELDS: tuple[str, ...] = ("generation", "arch", "arch_hash", "origin", "fitness", "status")
#: One supernet training step (``train_log.csv``).
SUPERNET_LOG_FIELDS: tuple[str, ...] = ("step", "epoch", "path", "loss", "lr", "seconds")
#: One distillation step (a stage's ``log.csv``).
STAGE_LOG_FIELDS: tuple[str, ...] = ("step", "loss", "attn", "hidd", "embd", "pred", "lr", "seconds")
#: An ablation table (``bench ablation --out``): the columns that identify one.
ABLATION_COLUMNS = frozenset({"run", "setting", "proxy", "kendall_tau", "spearman_rho"})
#: A seed table of held-out distillation losses (``scripts/heldout_seeds.py``).
HELDOUT_COLUMNS = frozenset({"model", "space", "seed", "heldout_kd_loss"})
#: The cross-benchmark table of ``bench across`` (its summary is ``<stem>-summary.csv`` beside it).
ACROSS_COLUMNS = frozenset({"benchmark", "proxy", "kendall_tau", "stratified_tau", "best_size", "delta_tau", "rank"})


def proxy_row(space: str, arch_id: int, arch_hash: str, arch_json: str, seed: int, result: Any, pass_seconds: float) -> dict[str, Any]:
    """The ``rows.csv`` row of one proxy result (a :class:`proxies.capture.ProxyResult`:
    ``proxy``, ``version``, ``value``, ``seconds``, ``status``, ``error``)."""
    return {
        "space": space, "arch_id": arch_id, "arch_hash": arch_hash, "arch": arch_json,
        "proxy": result.proxy, "proxy_version": result.version, "seed": seed,
        "value": result.value, "seconds": result.seconds, "pass_seconds": pass_seconds,
        "status": result.status, "error": result.error,
    }


def kind_of(manifest: Mapping[str, Any]) -> str | None:
    """The run kind a manifest records (``None`` for a manifest written before kinds existed)."""
    kind = manifest.get("kind")
    return kind if kind in KINDS else None

"""CI regression check: the committed smoke-scale correlations must still hold.

``results/regression-smoke`` is a committed run of every proxy on 24 benchmark
architectures at the smoke scale. This test reruns its config and fails with the list of
every Kendall τ / Spearman ρ (per proxy and GLUE task) that moved by more than the stated
tolerance, or of every proxy whose definition version changed. Regenerate the reference
after an intended change with:

    rm -rf results/regression-smoke
    bench run --proxies all --space flexibert --archs benchmark --limit 24 --scale smoke --out results/regression-smoke
"""

from __future__ import annotations

from pathlib import Path

from bench.analysis.verify import DEFAULT_TOLERANCE, summary, verify

REFERENCE = Path(__file__).resolve().parent.parent / "results" / "regression-smoke"


def test_committed_smoke_correlations_hold():
    assert (REFERENCE / "manifest.json").is_file(), f"missing committed reference {REFERENCE}"
    drifts, changed = verify(REFERENCE, DEFAULT_TOLERANCE)
    assert not drifts and not changed, summary(drifts, changed, REFERENCE, DEFAULT_TOLERANCE)

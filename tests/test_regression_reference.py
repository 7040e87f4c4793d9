"""CI regression check: the committed smoke-scale correlations must still hold.

``results/regression-smoke`` is a committed run of every proxy on 24 FlexiBERT benchmark
architectures at the smoke scale, and ``results/regression-smoke-lts-{gpt2-wt103,transxl-wt103}``
the same on 10 architectures of each LTS decoder family. This test reruns each config and fails
with the list of every Kendall τ / Spearman ρ (per proxy and task) that moved by more than the
stated tolerance, or of every proxy whose definition version changed. Regenerate a reference
after an intended change with:

    rm -rf results/regression-smoke
    bench run --proxies all --space flexibert --archs benchmark --limit 24 --scale smoke --out results/regression-smoke
    bench run --proxies all --space lts --archs benchmark:gpt2-wt103 --limit 10 --scale smoke --out results/regression-smoke-lts-gpt2-wt103
    bench run --proxies all --space lts --archs benchmark:transxl-wt103 --limit 10 --scale smoke --out results/regression-smoke-lts-transxl-wt103
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.analysis.verify import DEFAULT_TOLERANCE, summary, verify

RESULTS = Path(__file__).resolve().parent.parent / "results"


@pytest.mark.parametrize("name", ["regression-smoke", "regression-smoke-lts-gpt2-wt103", "regression-smoke-lts-transxl-wt103"])
def test_committed_smoke_correlations_hold(name):
    reference = RESULTS / name
    assert (reference / "manifest.json").is_file(), f"missing committed reference {reference}"
    drifts, changed = verify(reference, DEFAULT_TOLERANCE)
    assert not drifts and not changed, summary(drifts, changed, reference, DEFAULT_TOLERANCE)

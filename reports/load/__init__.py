"""Find and read stored results for a report, without changing anything on disk.

A report is built from result directories only (never by recomputing a proxy).
:func:`discover` walks the given paths and reads each result directory by the ``kind`` its
manifest records (:mod:`reports.load.discover`), and result files outside directories by
their content (:mod:`reports.load.loose`). Files another process is still writing are read
as they are: a torn last line of ``rows.csv`` is ignored (not repaired), a directory whose
manifest cannot be parsed yet is listed in :attr:`Results.skipped` with the reason.
``docs/reports.md`` documents every file name and column.

Example:
    >>> results = discover(["results"])            # doctest: +SKIP
    >>> [run.name for run in results.runs]         # doctest: +SKIP
    ['table1-trained-cpu', 'seed-stability-trained-cpu']
"""

from reports.load.discover import MIGRATE_COMMAND, Results, discover, read_result_dir
from reports.load.files import read_complete_csv, read_rows, written_by_report
from reports.load.loose import AblationFile, AcrossFile, CostFile, HeldoutSeedsFile, read_ablation, read_loose_file
from reports.load.nlu import EvaluationResult, SearchResult, load_evaluation, load_search
from reports.load.runs import ProxyRun, join_companions, load_run, proxy_labels

__all__ = [
    "MIGRATE_COMMAND", "Results", "discover", "read_result_dir", "read_complete_csv", "read_rows", "written_by_report",
    "AblationFile", "AcrossFile", "CostFile", "HeldoutSeedsFile", "read_ablation", "read_loose_file",
    "EvaluationResult", "SearchResult", "load_evaluation", "load_search", "ProxyRun", "join_companions", "load_run", "proxy_labels",
]

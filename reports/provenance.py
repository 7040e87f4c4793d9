"""Provenance lines of stored results: command, config, versions, revision, device."""

from __future__ import annotations

import json
import shlex
from typing import Any, Mapping

from reports.load import CostFile, ProxyRun, SearchResult, EvaluationResult
from reports.model import Provenance


def _one_command(command: Any) -> str | None:
    if isinstance(command, list) and command:
        return shlex.join(str(part) for part in command)
    if isinstance(command, str) and command:
        return command
    return None


def _command(manifest: Mapping[str, Any]) -> str:
    """The command that started the run, then (``; then:``) each later one that resumed it."""
    first = _one_command(manifest.get("command")) or "not recorded"
    later = [_one_command(entry.get("command")) for entry in manifest.get("later_commands", []) if isinstance(entry, dict)]
    return "; then: ".join([first, *(text for text in later if text)])


def versions_text(versions: Mapping[str, Any] | None) -> str:
    """``name version, ...`` of the recorded package versions, or ``not recorded``."""
    if not versions:
        return "not recorded"
    return ", ".join(f"{name} {value}" for name, value in versions.items())


def _options(config: Mapping[str, Any]) -> str:
    parts = []
    for proxy, spec in sorted(config.get("proxies", {}).items()):
        options = spec.get("options") if isinstance(spec, dict) else None
        if options:
            parts.append(f"{proxy}(" + ", ".join(f"{k}={v}" for k, v in sorted(options.items())) + ")")
    return "; ".join(parts)


def config_summary(config: Mapping[str, Any]) -> str:
    """One line: space, variant, architectures, scale and batch, mode, loss, seeds, options."""
    archs = config.get("archs", {})
    if isinstance(archs, dict):
        what = ", ".join(f"{k} {v}" for k, v in archs.items() if v is not None and k not in ("benchmark",)) or ""
        source = "benchmark" if "benchmark" in archs else next(iter(archs), "archs")
        arch_text = f"{source}{' (' + what + ')' if what else ''}"
    else:
        arch_text = str(archs)
    seeds = config.get("seeds", [])
    seed_text = (f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)) else ",".join(map(str, seeds)))
    parts = [
        f"space {config.get('space', '?')} (variant {config.get('variant', '?')})",
        f"archs {arch_text}, {config.get('num_archs', '?')} architectures",
        f"scale {config.get('scale', '?')}: batch {config.get('batch_size', '?')} x {config.get('seq_len', '?')} tokens of {config.get('text', '?')}",
        f"{config.get('mode', '?')} mode",
        f"loss {config.get('loss', 'token-ce')}",
        f"seeds {seed_text}",
        f"sample seed {config.get('sample_seed', '?')}",
    ]
    options = _options(config)
    if options:
        parts.append(f"options {options}")
    return "; ".join(parts)


def run_provenance(run: ProxyRun, derived: str = "") -> Provenance:
    """Provenance of a ``bench run`` directory, with its completeness; of a joined run
    (:attr:`reports.load.ProxyRun.parts`), every part's source, command and status."""
    if run.parts:
        parts = [run_provenance(part) for part in run.parts]
        head = parts[0]
        return Provenance(
            source=" + ".join(p.source for p in parts),
            command=" ; ".join(p.command for p in parts),
            config=head.config + " (the same for every part except its proxies)",
            config_json=head.config_json,
            versions=head.versions,
            git_revision=" ; ".join(dict.fromkeys(p.git_revision for p in parts)),
            device=" ; ".join(dict.fromkeys(p.device for p in parts)),
            started=" ; ".join(p.started for p in parts),
            status=" ; ".join(f"{part.name}: {p.status}" for part, p in zip(run.parts, parts)),
            derived=derived,
        )
    manifest = run.manifest
    planned = run.n_archs_planned
    proxies = len(run.proxies)
    seeds = len(run.seeds)
    expected = planned * proxies * seeds if planned is not None else None
    if expected is None:
        status = f"{len(run.rows)} rows ({run.n_archs_scored} architectures)"
    elif len(run.rows) >= expected:
        status = f"complete: {run.n_archs_scored} of {planned} architectures x {proxies} proxies x {seeds} seed(s)"
    else:
        status = (f"INCOMPLETE: {len(run.rows)} of {expected} rows ({run.n_archs_scored} of {planned} architectures started); "
                  f"the run is in progress or was interrupted; rerun `{_one_command(manifest.get('command')) or 'its command'}` to finish it")
    failed = run.rows[run.rows["status"] != "ok"] if "status" in run.rows else run.rows.iloc[0:0]
    if len(failed):
        counts = failed.groupby(["proxy", "status"]).size()
        status += "; not ok: " + ", ".join(f"{p} {s} x{n}" for (p, s), n in counts.items())
    return Provenance(
        source=str(run.path),
        command=_command(manifest),
        config=config_summary(run.config),
        config_json=json.dumps(run.config, sort_keys=True),
        versions=versions_text(manifest.get("versions")),
        git_revision=str(manifest.get("git_revision", "not recorded")),
        device=str(manifest.get("device", "not recorded")),
        started=str(manifest.get("started", "not recorded")),
        status=status,
        derived=derived,
    )


def cost_provenance(cost: CostFile) -> Provenance:
    """Provenance of a ``proxy_cost.json`` (the script does not record its arguments)."""
    data = cost.data
    batch = data.get("batch", ["?", "?"])
    config = (f"scale {data.get('scale', '?')}: batch {batch[0]} x {batch[1]}; variant {data.get('variant', '?')}; "
              f"benchmark architectures {data.get('archs', '?')}; {data.get('repeats', '?')} repeats (median)")
    return Provenance(
        source=str(cost.path),
        command="python scripts/benchmark_proxies.py (arguments not recorded in the file)",
        config=config,
        config_json=json.dumps({k: v for k, v in data.items() if k in ("scale", "batch", "variant", "archs", "repeats")}, sort_keys=True),
        versions=versions_text(data.get("versions")),
        git_revision=str(data.get("git_revision", "not recorded")),
        device=f"{cost.machine} ({data.get('platform', 'platform not recorded')})",
        started=str(data.get("started", "not recorded")),
    )


def result_provenance(result: SearchResult | EvaluationResult, derived: str = "") -> Provenance:
    """Provenance of a search or evaluation directory (from its manifest)."""
    manifest = result.manifest
    return Provenance(
        source=str(result.path),
        command=_command(manifest),
        config=", ".join(f"{k} {v}" for k, v in sorted(manifest.get("config", {}).items()) if not isinstance(v, (dict, list))),
        config_json=json.dumps(manifest.get("config", {}), sort_keys=True),
        versions=versions_text(manifest.get("versions")),
        git_revision=str(manifest.get("git_revision", "not recorded")),
        device=str(manifest.get("device", "not recorded")),
        started=str(manifest.get("started", "not recorded")),
        derived=derived,
    )

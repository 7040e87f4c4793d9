"""The typed config of a scoring run (``bench run``, ``bench verify``, proxy searches).

:class:`RunConfig` is what the user asked for; it is made once from the command line
(:meth:`RunConfig.from_args`) or from a stored manifest (:meth:`RunConfig.from_manifest`),
resolved into the :class:`ScoringSettings` workers receive (:meth:`RunConfig.settings`), and
written to the manifest as the dict a rerun must match to resume
(:meth:`RunConfig.to_manifest`). No other code translates between these forms.

Example:
    >>> config = RunConfig(space="flexibert", proxies=("params",), options={"params": {}})
    >>> config.settings().batch_size   # the smoke scale's batch  # doctest: +SKIP
    8
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from bench.errors import UserError

BACKENDS = ("joblib", "dask")
MODES = ("eval", "train")


@dataclass(frozen=True)
class ScoringSettings:
    """Everything a worker needs to score one architecture (picklable).

    Attributes:
        space, variant: the search space and its model variant.
        proxies: the proxies to compute; ``options`` their resolved options.
        batch_size, seq_len, sample_seed, text: the proxy input batch.
        train_mode: run the pass in ``train()`` mode (seeded dropout).
        loss: the loss of gradient-based proxies; ``init``: the weight initialisation.
        plugins: modules that register proxies, imported in every worker.
        data_dir: the reference data directory (``None``: the default resolution).
        threads: torch threads per worker (0: leave torch's default).
        tokenizer: how the proxy input is tokenized (``None``: the space's own).
        device: where the model, the batch and the pass live (``cpu``, ``cuda:N``).
    """

    space: str
    variant: str
    proxies: tuple[str, ...]
    options: dict[str, dict[str, Any]]
    batch_size: int
    seq_len: int
    sample_seed: int
    text: str
    train_mode: bool
    loss: str = "token-ce"
    init: str = "default"
    plugins: tuple[str, ...] = ()
    data_dir: str | None = None
    threads: int = 0
    tokenizer: str | None = None
    device: str = "cpu"


@dataclass(frozen=True)
class RunConfig:
    """A scoring run as the user asked for it.

    Attributes:
        space: search space name; ``variant`` its model variant (``None``: the space's first).
        proxies: canonical proxy names; ``options`` each one's resolved options.
        archs: ``benchmark``, ``deciles``, a count ``N`` or a JSON file; ``limit`` keeps K.
        seeds: initialisation seeds; ``sample_seed`` seeds the batch and sampled architectures.
        scale: ``smoke``/``cpu``/``paper``; ``batch_size``/``seq_len`` override it.
        text, mode, loss, init: the input text, model mode, gradient loss, initialisation.
        plugins: proxy plug-in modules; ``data_dir``: reference data directory.
        jobs, backend, scheduler: how the work runs (not part of the manifest's config).
        device: ``cpu`` (default), ``cuda``, ``cuda:N`` or ``auto``; recorded in the config when not
            the CPU, since values on a GPU agree with the CPU's only within a tolerance.
    """

    space: str = "flexibert"
    proxies: tuple[str, ...] = ()
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    archs: str = "benchmark"
    limit: int | None = None
    seeds: tuple[int, ...] = (0,)
    scale: str = "smoke"
    batch_size: int | None = None
    seq_len: int | None = None
    sample_seed: int = 0
    text: str = "wikitext-2"
    mode: str = "eval"
    loss: str = "token-ce"
    init: str = "default"
    tokenizer: str | None = None
    variant: str | None = None
    plugins: tuple[str, ...] = ()
    data_dir: str | None = None
    jobs: int = 1
    backend: str = "joblib"
    scheduler: str | None = None
    device: str = "cpu"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "RunConfig":
        """The config of ``bench run``'s parsed arguments (plug-ins are imported to resolve proxies).

        Raises:
            ProxyError: for an unknown proxy, pattern, option or plug-in.
        """
        from bench.cli.argtypes import csv_list
        from proxies import load_plugins, resolve_options, select_proxies

        load_plugins(args.plugin)
        specs = select_proxies(csv_list(args.proxies), csv_list(args.exclude))
        return cls(
            space=args.space,
            proxies=tuple(s.name for s in specs),
            options=resolve_options(specs, dict(args.proxy_option)),
            archs=args.archs,
            limit=args.limit,
            seeds=tuple(args.seed),
            scale=args.scale,
            batch_size=args.batch_size,
            seq_len=args.seq_len,
            sample_seed=args.sample_seed,
            text=args.text,
            mode=args.mode,
            loss=args.loss if args.loss is not None else _space_default_loss(args.space),
            init=args.init,
            tokenizer=getattr(args, "tokenizer", None),
            variant=args.variant,
            plugins=tuple(args.plugin),
            data_dir=args.data_dir,
            jobs=args.jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            device=getattr(args, "device", "cpu"),
        )

    @classmethod
    def from_manifest(cls, config: Mapping[str, Any], **execution: Any) -> "RunConfig":
        """The config a manifest's ``config`` records, with ``execution`` (jobs, backend, data_dir) added."""
        spec = config["archs"]
        if "benchmark" in spec or "deciles" in spec:
            from bench.scoring.benchmarks import default_benchmark, run_benchmark
            from spaces import get_space

            kind = "benchmark" if "benchmark" in spec else "deciles"
            benchmark = run_benchmark(config)
            archs = kind if benchmark is default_benchmark(get_space(config["space"])) else f"{kind}:{benchmark.name}"
        elif "sample" in spec:
            archs = str(spec["sample"])
        else:
            archs = spec["file"]
        return cls(
            space=config["space"],
            proxies=tuple(config["proxies"]),
            options={name: dict(item["options"]) for name, item in config["proxies"].items()},
            archs=archs,
            limit=spec.get("limit"),
            seeds=tuple(config["seeds"]),
            scale=config["scale"],
            batch_size=config["batch_size"],
            seq_len=config["seq_len"],
            sample_seed=config["sample_seed"],
            text=config["text"],
            mode=config["mode"],
            loss=config.get("loss", "token-ce"),
            init=config.get("init", "default"),
            tokenizer=config.get("tokenizer"),
            variant=config["variant"],
            plugins=tuple(config.get("plugins", [])),
            **{"device": config.get("device", "cpu"), **execution},
        )

    def check(self) -> None:
        """Raises UserError for a setting out of range (before anything is built or written)."""
        if self.backend not in BACKENDS:
            raise UserError(f"unknown backend {self.backend!r}; allowed: {', '.join(BACKENDS)}")
        if self.mode not in MODES:
            raise UserError(f"unknown mode {self.mode!r}; allowed: {', '.join(MODES)}")
        if self.jobs < 1:
            raise UserError(f"--jobs must be a positive integer, got {self.jobs}")

    def settings(self) -> ScoringSettings:
        """The worker settings: the scale's batch and sequence length unless given, one torch
        thread per worker when ``jobs > 1``.

        Raises:
            UserError: for an unknown space, scale, variant, text, loss or initialisation,
                or a sequence longer than 512.
        """
        from bench.init_schemes import INIT_SCHEMES
        from bench.inputs import TEXT_FILES
        from bench.scales import get_scale
        from bench.train.device import resolve_device
        from proxies.losses import LOSSES
        from spaces import get_space

        self.check()
        space = get_space(self.space)
        scale = get_scale(self.scale)
        if self.text not in TEXT_FILES:
            raise UserError(f"unknown text source {self.text!r}; allowed: {', '.join(TEXT_FILES)}")
        if self.loss not in LOSSES:
            raise UserError(f"unknown loss {self.loss!r}; allowed: {', '.join(LOSSES)}")
        if self.init not in INIT_SCHEMES:
            raise UserError(f"unknown initialisation {self.init!r}; allowed: {', '.join(INIT_SCHEMES)}")
        from bench.inputs import TOKENIZERS

        if self.tokenizer is not None and self.tokenizer not in TOKENIZERS:
            raise UserError(f"unknown tokenizer {self.tokenizer!r}; allowed: {', '.join(TOKENIZERS)}")
        settings = ScoringSettings(
            space=space.name,
            variant=space.check_variant(self.variant),
            proxies=tuple(self.proxies),
            options={name: dict(self.options.get(name, {})) for name in self.proxies},
            batch_size=self.batch_size or scale.batch_size,
            seq_len=self.seq_len or scale.seq_len,
            sample_seed=self.sample_seed,
            text=self.text,
            train_mode=self.mode == "train",
            loss=self.loss,
            init=self.init,
            plugins=tuple(self.plugins),
            data_dir=self.data_dir,
            threads=max(1, (os.cpu_count() or 1) // self.jobs) if self.jobs > 1 else 0,
            tokenizer=None if self.tokenizer == space.tokenizer else self.tokenizer,
            device=str(resolve_device(self.device)),
        )
        if settings.seq_len > 512:
            raise UserError(f"sequence length {settings.seq_len} exceeds the models' 512 positions")
        return settings

    def to_manifest(self, settings: ScoringSettings, archs: Mapping[str, Any], num_archs: int, data: Mapping[str, str]) -> dict[str, Any]:
        """The config recorded in the manifest; a rerun must match it to resume.

        Args:
            settings: :meth:`settings` of this config.
            archs: the description of the selected architectures (spec, limit, file digest).
            num_archs: how many architectures were selected.
            data: checksums of the data files the run reads.
        """
        from proxies import get_proxy

        return {
            "space": settings.space,
            "variant": settings.variant,
            "archs": dict(archs),
            "num_archs": num_archs,
            "sample_seed": settings.sample_seed,
            "seeds": list(self.seeds),
            "proxies": {name: {"version": get_proxy(name).version, "options": settings.options[name]} for name in settings.proxies},
            "scale": self.scale,
            "batch_size": settings.batch_size,
            "seq_len": settings.seq_len,
            "text": settings.text,
            "mode": "train" if settings.train_mode else "eval",
            "loss": settings.loss,
            **({"init": settings.init} if settings.init != "default" else {}),
            **({"tokenizer": settings.tokenizer} if settings.tokenizer is not None else {}),
            **({"device": settings.device} if settings.device != "cpu" else {}),
            "plugins": list(settings.plugins),
            "data": dict(data),
        }


def _space_default_loss(space: str) -> str:
    """The gradient loss of a space's models when the user chose none (``token-ce`` if the space is unknown;
    validation names it)."""
    from spaces import SpaceError, get_space

    try:
        return get_space(space).default_loss
    except SpaceError:
        return "token-ce"

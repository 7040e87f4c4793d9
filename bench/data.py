"""Reference data: where it is found, how it is verified, how it is fetched.

Every file the harness reads is listed in :data:`DATA_FILES` with its published
sha256 and a public source. :func:`resolve` looks for a file, in this order:

1. the directory given with ``--data-dir``;
2. the directory in the ``PROXYBENCH_DATA`` environment variable;
3. ``../shared/data`` beside the current directory or beside the project checkout;
4. the download cache (``PROXYBENCH_CACHE``, default ``~/.cache/proxybench/data``),
   filled from the public source on first use unless ``PROXYBENCH_OFFLINE=1``.

A file that is found is always checked against its sha256; a mismatch is an error, not
a reason to look elsewhere. Missing or corrupt data raises :class:`~bench.errors.UserError`
with one message saying where the harness looked and how to fix it.

Example:
    >>> path = resolve("flexibert/BERT_benchmark.json")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UserError

log = logging.getLogger(__name__)

ENV_DATA = "PROXYBENCH_DATA"
ENV_CACHE = "PROXYBENCH_CACHE"
ENV_OFFLINE = "PROXYBENCH_OFFLINE"

_SERIANNI = "https://raw.githubusercontent.com/aaronserianni/training-free-nas/2d76e01b9586cad7340e8268dadba3056efd070b"
_WIKITEXT = "https://raw.githubusercontent.com/pytorch/examples/main/word_language_model/data/wikitext-2"
_GLUE = "https://raw.githubusercontent.com/F0restL1n/BERT/0d0288b/glue_data"
_SQUAD = "https://raw.githubusercontent.com/pulakdas1999/QnA_using_BERT/c911506578f3d144550cfb164cd96cf8fb0d46da/dev-v1.1.json.zip"


@dataclass(frozen=True)
class DataFile:
    """One published reference file.

    Attributes:
        sha256: the published checksum of the file's bytes.
        url: where the file can be downloaded.
        archive_member: when ``url`` is a zip archive, the member that holds the file.
    """

    sha256: str
    url: str
    archive_member: str | None = None


DATA_FILES: dict[str, DataFile] = {
    "flexibert/BERT_benchmark.json": DataFile(
        "fa2ff7198dcd71e0b8021ed2ace1c221672c33cc56931b6dff31fda3d044784f",
        f"{_SERIANNI}/data/BERT_benchmark.json",
    ),
    # the benchmark authors' published proxy values (BERT_metrics.ipynb), 500 architectures
    "flexibert/BERT_results_activation.csv": DataFile(
        "95fb60a0e702102d6b09a60d13745068270aa28183b7cc8dacb79d5ec6a4b36d",
        f"{_SERIANNI}/data/BERT_results_activation.csv",
    ),
    "text/wikitext-2/valid.txt": DataFile(
        "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8", f"{_WIKITEXT}/valid.txt"
    ),
    "text/wikitext-2/test.txt": DataFile(
        "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0", f"{_WIKITEXT}/test.txt"
    ),
    "squad/dev-v1.1.json": DataFile(
        "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9", _SQUAD, "dev-v1.1.json"
    ),
}
_GLUE_SUMS = {
    "CoLA/dev.tsv": "8c013e21dc39957cac37378d87bebe225b694a0d5fe13eded66c2856628833fd",
    "CoLA/train.tsv": "cb368ebeb9f27d7ad03720d27ddc95687a311bdb100781a2fe59a5f5b1bc0624",
    "MRPC/dev.tsv": "9e8f284788040f7c9ecde2e1b3c07237c756f926bd9ef8548ef5d34b56f69f17",
    "MRPC/train.tsv": "f178bcc72ab4c2c1c778b480912e0c8e1dba3ead150dc1d490d70682ab888c1e",
    "QNLI/dev.tsv": "ac19409dcb04631eaaa094bdebdcf621086bc352503dfb6a1a648b614986f4fd",
    "RTE/dev.tsv": "80230dfa1347282e7b532b06a1004a76a710087541189bf874223ddf0e3819fb",
    "RTE/train.tsv": "41e3a9b063433392343fad9e962cf2f58b681c78d8f71592f4186f0837246c5c",
    "SST-2/dev.tsv": "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
    "SST-2/train.tsv": "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
    "STS-B/dev.tsv": "fe7dc0632a5033562f3cadff991f6e8d9b9b6311861660e78c3c82eb7db67f59",
    "STS-B/train.tsv": "41c4d978b6162abdcada7e49a982211954cca5459c228db478af333124b257a2",
    "WNLI/dev.tsv": "cba00490596dd14be8cf53b4f53bb744abe3a7b89f81ab210528d80225338ed5",
    "WNLI/train.tsv": "9a88e9d54b6861cc796a088e9acf4f5f65064a9ef65ae6fa7a688b28391e5c9a",
}
DATA_FILES.update(
    {f"glue/{name}": DataFile(digest, f"{_GLUE}/{name}") for name, digest in _GLUE_SUMS.items()}
)


def _checksum_list(name: str) -> dict[str, DataFile]:
    """Files listed in ``bench/checksums/<name>.sha256``.

    The list's ``# source URL`` line gives the download prefix; each ``<sha256>  <relpath>``
    line a file, downloaded from the prefix joined with ``relpath`` less its first folder.
    """
    listed: dict[str, DataFile] = {}
    prefix = ""
    for line in (Path(__file__).parent / "checksums" / f"{name}.sha256").read_text().splitlines():
        if line.startswith("# source "):
            prefix = line.removeprefix("# source ").strip()
        elif line and not line.startswith("#"):
            digest, relpath = line.split(maxsplit=1)
            listed[relpath] = DataFile(digest, f"{prefix}/{relpath.split('/', 1)[1]}")
    return listed


#: the LiteTransformerSearch sets: per set two summaries and one model_config.yaml per model
DATA_FILES.update(_checksum_list("lts"))

_HOW_TO_FIX = (
    "pass --data-dir DIR (or set PROXYBENCH_DATA=DIR) pointing to a copy of the reference "
    "data laid out as in its README (e.g. DIR/flexibert/BERT_benchmark.json), or allow "
    "network access so it can be downloaded"
)


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_dir() -> Path:
    """Directory that holds downloaded reference files."""
    return Path(os.environ.get(ENV_CACHE, Path.home() / ".cache" / "proxybench" / "data"))


def candidate_dirs(data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Directories searched for reference data, in order, each with a label."""
    found: list[tuple[str, Path]] = []
    if data_dir is not None:
        found.append(("--data-dir", Path(data_dir)))
    if os.environ.get(ENV_DATA):
        found.append((f"${ENV_DATA}", Path(os.environ[ENV_DATA])))
    project_root = Path(__file__).resolve().parent.parent
    for base in (Path.cwd(), project_root):
        shared = (base / ".." / "shared" / "data").resolve()
        if shared.is_dir() and all(shared != d for _, d in found):
            found.append(("../shared/data", shared))
    found.append(("download cache", cache_dir()))
    return found


def resolve(relpath: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Find, verify and return the local path of one reference file.

    Args:
        relpath: the file's path inside the data directory, a key of :data:`DATA_FILES`.
        data_dir: the directory given with ``--data-dir``, if any.

    Returns:
        The path of a file whose sha256 matches the published one.

    Raises:
        UserError: the file is unknown, corrupt, or could not be found or downloaded.
    """
    if relpath not in DATA_FILES:
        raise UserError(f"unknown data file {relpath!r}; known: {', '.join(sorted(DATA_FILES))}")
    spec = DATA_FILES[relpath]
    searched = candidate_dirs(data_dir)
    for _label, directory in searched:
        path = directory / relpath
        if path.is_file():
            _verify(path, spec)
            return path
    target = cache_dir() / relpath
    problem = _download(spec, target)
    if problem is None:
        _verify(target, spec)
        return target
    looked = "; ".join(f"{label}: {directory / relpath}" for label, directory in searched)
    raise UserError(
        f"reference data file {relpath!r} not found (looked in {looked}) and {problem}; "
        f"to fix: {_HOW_TO_FIX}"
    )


def _verify(path: Path, spec: DataFile) -> None:
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise UserError(
            f"checksum mismatch for {path}: expected sha256 {spec.sha256}, found {actual}; "
            f"the file is corrupt or a different version: restore it or delete it so it is "
            f"downloaded again from {spec.url}"
        )


def _download(spec: DataFile, target: Path) -> str | None:
    """Download ``spec`` into ``target``; return None on success, else why it failed."""
    if os.environ.get(ENV_OFFLINE, "") not in ("", "0"):
        return f"downloads are disabled by {ENV_OFFLINE}"
    log.info("downloading %s", spec.url)
    try:
        with urllib.request.urlopen(spec.url, timeout=60) as response:
            payload = response.read()
    except OSError as exc:
        return f"the download from {spec.url} failed ({exc})"
    if spec.archive_member is not None:
        try:
            with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                payload = archive.read(spec.archive_member)
        except (zipfile.BadZipFile, KeyError) as exc:
            return f"the archive from {spec.url} could not be read ({exc})"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(payload)
    if hashlib.sha256(payload).hexdigest() != spec.sha256:
        os.unlink(tmp.name)
        return f"the file downloaded from {spec.url} does not match the published sha256"
    shutil.move(tmp.name, target)
    return None


def data_checksums(relpaths: list[str]) -> dict[str, str]:
    """The published checksums of the files a run reads, for its manifest."""
    return {relpath: DATA_FILES[relpath].sha256 for relpath in relpaths}

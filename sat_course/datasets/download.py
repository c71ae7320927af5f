"""Dataset downloads: ``python -m sat_course download --dataset flickr8k --data-dir data``.

Each dataset goes to ``<data_dir>/<name>/``: its archives, and their contents extracted in the
layout the readers expect. Downloads resume from a ``.part`` file with HTTP Range requests. An
archive is checked against its sha256 where the real value is known; otherwise the value is
computed, printed and written to ``<archive>.sha256``. A marker file records each finished
extraction, so a rerun downloads and extracts nothing. Flickr30k's terms do not allow an automatic
download: for it the command prints how to request it.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import sys
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .. import __version__

CHUNK_BYTES = 1 << 20
TIMEOUT_S = 60
ATTEMPTS = 3  # tries per file; each one resumes where the previous one stopped
USER_AGENT = f"sat-course/{__version__}"


class DownloadError(RuntimeError):
    """A download or extraction that cannot finish; the message says what to do next."""


@dataclass(frozen=True)
class Source:
    """One zip archive of a dataset.

    ``sha256`` is None where the real value is not known (never a guess). ``extract_to`` is the
    folder, relative to ``<data_dir>/<name>``, that the archive is extracted into; ``expect`` lists
    paths, relative to the same folder, that the extraction must produce.
    """

    url: str
    filename: str
    sha256: str | None = None
    approx_size: str | None = None
    extract_to: str = "."
    expect: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset the course knows: its archives, or ``manual`` steps where it cannot be fetched for the user.

    ``manual`` may use ``{root}`` (the dataset's folder) and ``{data_dir}``.
    """

    title: str
    sources: tuple[Source, ...] = ()
    manual: str | None = None


_FLICKR8K = "https://github.com/jbrownlee/Datasets/releases/download/Flickr8k/"
_COCO = "http://images.cocodataset.org/zips/"

_FLICKR30K_STEPS = """\
Flickr30k cannot be downloaded automatically: its terms of use ask every user to request it.
  1. Request it with the form at https://shannon.cs.illinois.edu/DenotationGraph/
     (non-commercial research and education; the images stay under Flickr's terms of use).
  2. Download the images archive from the link you are sent and extract it into {root}/
     so that the images lie at {root}/flickr30k-images/<number>.jpg
  3. Captions and splits come from Karpathy's dataset_flickr30k.json:
       python -m sat_course download --dataset karpathy --data-dir {data_dir}
     then load_karpathy("{data_dir}/karpathy/dataset_flickr30k.json", "{root}/flickr30k-images")"""

DATASETS: dict[str, DatasetInfo] = {
    "flickr8k": DatasetInfo(
        "Flickr8k (Hodosh, Young & Hockenmaier 2013): about 8,000 images with 5 captions each, "
        "in the official layout",
        sources=(
            Source(_FLICKR8K + "Flickr8k_Dataset.zip", "Flickr8k_Dataset.zip", approx_size="1 GB",
                   expect=("Flicker8k_Dataset",)),
            Source(_FLICKR8K + "Flickr8k_text.zip", "Flickr8k_text.zip", approx_size="3 MB",
                   extract_to="Flickr8k_text",
                   expect=("Flickr8k_text/Flickr8k.token.txt", "Flickr8k_text/Flickr_8k.trainImages.txt")),
        ),
    ),
    "flickr30k": DatasetInfo("Flickr30k (Young et al. 2014): about 31,000 images", manual=_FLICKR30K_STEPS),
    "coco": DatasetInfo(
        "COCO 2014 images (Lin et al. 2014); captions and splits come from Karpathy's dataset_coco.json",
        sources=(
            Source(_COCO + "train2014.zip", "train2014.zip", approx_size="13 GB", expect=("train2014",)),
            Source(_COCO + "val2014.zip", "val2014.zip", approx_size="6 GB", expect=("val2014",)),
        ),
    ),
    "karpathy": DatasetInfo(
        "Karpathy's splits of Flickr8k, Flickr30k and COCO (Karpathy & Fei-Fei 2015)",
        sources=(
            Source("https://cs.stanford.edu/people/karpathy/deepimagesent/caption_datasets.zip",
                   "caption_datasets.zip",
                   expect=("dataset_flickr8k.json", "dataset_flickr30k.json", "dataset_coco.json")),
        ),
    ),
}


def _info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}") from None


def instructions(name: str, data_dir: str | Path = "data") -> str:
    """How to get dataset ``name`` into ``<data_dir>/<name>``: the manual steps, or what the command fetches."""
    info = _info(name)
    root = Path(data_dir) / name
    if info.manual:
        return info.manual.format(root=root, data_dir=data_dir)
    lines = [info.title, f"python -m sat_course download --dataset {name} --data-dir {data_dir} fetches:"]
    for source in info.sources:
        size = f" ({source.approx_size})" if source.approx_size else ""
        lines.append(f"  {source.url}{size}, extracted into {root / source.extract_to}")
    return "\n".join(lines)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, expected: str, name: Path) -> None:
    """Delete ``path`` and raise unless its sha256 is ``expected``."""
    actual = _sha256_file(path)
    if actual != expected.lower():
        path.unlink()
        raise DownloadError(
            f"{name}: sha256 mismatch (expected {expected}, got {actual}): "
            "the file was deleted; run the download again"
        )


def _fetch(url: str, part: Path, progress: bool) -> None:
    """One try at completing ``part``: resumes it when the server honours Range, else starts again.

    Raises ConnectionError (or TimeoutError, http.client.HTTPException) when the transfer stops early.
    """
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            if err.headers.get("Content-Range") == f"bytes */{offset}":
                return  # the part already holds the whole file
            part.unlink()
            raise ConnectionError("the server cannot resume this partial file; starting again") from None
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise ConnectionError(f"cannot reach the server ({err.reason})") from None
    with response:
        resumed = offset > 0 and response.status == 206
        if not resumed:
            offset = 0  # no resume asked for, or the server ignored Range: write from byte 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length else None
        with open(part, "ab" if resumed else "wb") as f, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
            desc=part.name.removesuffix(".part"), disable=not progress,
        ) as bar:
            while chunk := response.read(CHUNK_BYTES):
                f.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size < total:
        raise ConnectionError(f"the connection closed after {size} of {total} bytes")


def download_file(
    url: str, dest: Path, sha256: str | None = None, progress: bool = True, attempts: int = ATTEMPTS
) -> Path:
    """Download ``url`` to ``dest`` unless ``dest`` exists; returns ``dest``.

    Bytes arrive in ``<dest>.part``, which a later call (or one of ``attempts`` tries) resumes. With
    ``sha256`` the file is verified (also an existing one) and deleted on a mismatch; without it the
    computed value is printed and written to ``<dest>.sha256``.
    """
    dest = Path(dest)
    if dest.exists():
        if sha256:
            _verify(dest, sha256, dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    for attempt in range(1, attempts + 1):
        try:
            _fetch(url, part, progress)
            break
        except (ConnectionError, TimeoutError, http.client.HTTPException) as err:
            reason = str(err) or type(err).__name__
            if attempt == attempts:
                raise DownloadError(
                    f"{url}: {reason}; gave up after {attempts} tries. "
                    f"{part} keeps what arrived: run the download again to resume"
                ) from None
            print(f"{dest.name}: {reason}; resuming (try {attempt + 1} of {attempts})", file=sys.stderr)
    if sha256:
        _verify(part, sha256, dest)
    else:
        digest = _sha256_file(part)
        dest.with_name(dest.name + ".sha256").write_text(f"{digest}  {dest.name}\n")
        print(f"{dest.name}: sha256 {digest} (no published value to check against; saved in {dest.name}.sha256)")
    part.replace(dest)
    return dest


def _extract(archive: Path, root: Path, source: Source) -> None:
    """Unzip ``archive`` into ``root / source.extract_to`` (macOS ``__MACOSX`` folders left out) and check the result."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.namelist() if not m.startswith("__MACOSX/")]
            zf.extractall(root / source.extract_to, members)
    except zipfile.BadZipFile as err:
        archive.unlink()
        raise DownloadError(f"{archive}: not a valid zip archive ({err}); it was deleted, run the download again") from None
    missing = [path for path in source.expect if not (root / path).exists()]
    if missing:
        raise DownloadError(f"{archive}: extracting it into {root} did not produce {', '.join(missing)}")


def download_dataset(
    name: str, data_dir: Path, sources: dict[str, tuple[Source, ...]] | None = None, progress: bool = True
) -> Path:
    """Download and extract dataset ``name`` into ``<data_dir>/<name>``, which is returned.

    ``sources`` maps dataset names to archives that replace those in :data:`DATASETS` (tests point
    them at a local server). A dataset without archives (Flickr30k) gets its instructions printed.
    """
    info = _info(name)
    root = Path(data_dir) / name
    archives = (sources or {}).get(name, info.sources)
    if not archives:
        print(instructions(name, data_dir))
        return root
    for source in archives:
        marker = root / f".{source.filename}.extracted"
        if marker.exists():
            print(f"{name}: {source.filename} already extracted")
            continue
        archive = download_file(source.url, root / source.filename, source.sha256, progress)
        print(f"{name}: extracting {source.filename} into {root / source.extract_to}")
        _extract(archive, root, source)
        marker.write_text(f"{source.filename} extracted; delete this file to extract it again\n")
    return root


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``download`` command's options."""
    parser.add_argument("--dataset", required=True, metavar="NAME",
                        help=f"one of: {', '.join(DATASETS)} (flickr30k prints how to request it)")
    parser.add_argument("--data-dir", type=Path, default=Path("data"),
                        help="where datasets go, one folder each (default: data)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run_download(args: argparse.Namespace) -> int:
    """Run the ``download`` command; returns the exit status (errors are one line on stderr)."""
    try:
        root = download_dataset(args.dataset, args.data_dir, progress=not args.no_progress)
    except (ValueError, DownloadError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if _info(args.dataset).sources:
        print(f"{args.dataset}: ready in {root}")
    return 0

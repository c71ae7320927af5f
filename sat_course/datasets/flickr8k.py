"""Flickr8k in its official layout.

    <root>/Flicker8k_Dataset/<image>.jpg          (sic: the folder name's typo is official)
    <root>/Flickr8k_text/Flickr8k.token.txt       "<image>#<0-4>\\t<caption>" per line
    <root>/Flickr8k_text/Flickr_8k.{train,dev,test}Images.txt

Quirks of the official files handled here: caption lines naming an image that does not exist
(``2258277193_586949ec62.jpg.1``) are skipped with one logged warning and a count; captions are
mixed case with a space before the final period (tokenisation removes both).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

from ..records import CaptionedImage, canonical_split
from .errors import DatasetError

log = logging.getLogger(__name__)

IMAGE_DIR = "Flicker8k_Dataset"
TEXT_DIR = "Flickr8k_text"
TOKEN_FILE = "Flickr8k.token.txt"
SPLIT_FILES = {"train": "Flickr_8k.trainImages.txt", "val": "Flickr_8k.devImages.txt", "test": "Flickr_8k.testImages.txt"}


def read_token_file(path: Path, image_dir: Path) -> dict[str, list[str]]:
    """Captions per image name, in file order. Lines naming an image missing from ``image_dir`` are skipped."""
    captions: dict[str, list[str]] = defaultdict(list)
    skipped: dict[str, int] = defaultdict(int)
    existing = {p.name for p in image_dir.iterdir()} if image_dir.is_dir() else None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            key, tab, caption = line.partition("\t")
            name, hash_, index = key.partition("#")
            if not tab or not hash_ or not index.isdigit() or not name:
                raise DatasetError(f"{path}:{number}: malformed caption line, expected '<image>#<n>\\t<caption>': {line!r}")
            if not caption.strip():
                raise DatasetError(f"{path}:{number}: empty caption for {name}")
            if existing is not None and name not in existing:
                skipped[name] += 1
                continue
            captions[name].append(caption.strip())
    if skipped:
        log.warning(
            "%s: skipped %d caption lines naming %d images that are not in %s (%s)",
            path, sum(skipped.values()), len(skipped), image_dir, ", ".join(sorted(skipped)),
        )
    return dict(captions)


def read_split_file(path: Path) -> list[str]:
    """Image names listed in a split file, one per line."""
    if not path.is_file():
        raise DatasetError(f"{path}: split file not found")
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def load_flickr8k(root: str | Path, split: str) -> list[CaptionedImage]:
    """The images of one split (train, val alias dev, test) with their five reference captions."""
    root = Path(root)
    split = canonical_split(split)
    image_dir, text_dir = root / IMAGE_DIR, root / TEXT_DIR
    if not image_dir.is_dir() or not (text_dir / TOKEN_FILE).is_file():
        raise DatasetError(
            f"{root}: not a Flickr8k folder in the official layout "
            f"(expected {IMAGE_DIR}/ and {TEXT_DIR}/{TOKEN_FILE}); see data/README.md"
        )
    captions = read_token_file(text_dir / TOKEN_FILE, image_dir)
    split_path = text_dir / SPLIT_FILES[split]
    records = []
    for number, name in enumerate(read_split_file(split_path), start=1):
        path = image_dir / name
        if not path.is_file():  # checked first: the captions of a missing file were skipped above
            raise DatasetError(f"{split_path}:{number}: image file {path} is missing")
        if name not in captions:
            raise DatasetError(f"{split_path}:{number}: image {name!r} has no captions in {TOKEN_FILE}")
        records.append(CaptionedImage(name, path, tuple(captions[name]), split))
    return records


def available_splits(root: str | Path) -> list[str]:
    """The splits whose split file is present (the shared copy of Flickr8k holds train and val only)."""
    text_dir = Path(root) / TEXT_DIR
    return [s for s, f in SPLIT_FILES.items() if (text_dir / f).is_file()]

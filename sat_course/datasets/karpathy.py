"""Karpathy's split files: ``dataset_flickr8k.json``, ``dataset_flickr30k.json``, ``dataset_coco.json``.

Each file lists every image of a dataset with its split (train, val, test, or ``restval``: the
COCO validation images not needed for val and test) and its captions::

    {"dataset": "coco", "images": [{"filepath": "val2014", "filename": "COCO_val2014_000000391895.jpg",
     "split": "test", "sentences": [{"raw": "A man riding ...", "tokens": [...]}, ...]}, ...]}

``filepath`` exists only in the COCO file. ``restval`` is customarily trained on, so it is
folded into train unless asked otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..records import CaptionedImage, canonical_split
from .errors import DatasetError

KARPATHY_SPLITS = ("train", "val", "test", "restval")


def _requested_split(split: str | None, fold_restval: bool) -> str | None:
    """The split name records must carry to be returned (None: all of them)."""
    if split is None:
        return None
    if split == "restval":
        if fold_restval:
            raise ValueError("split 'restval' is part of train unless fold_restval=False")
        return split
    return canonical_split(split)


def _read_images(json_path: Path) -> list:
    """The ``images`` list of a split file, with errors that name the file."""
    try:
        with open(json_path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{json_path} not found: `python -m sat_course download --dataset karpathy` fetches the split files"
        ) from None
    except json.JSONDecodeError as err:
        raise DatasetError(f"{json_path}:{err.lineno}: not valid JSON ({err.msg}, column {err.colno})") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{json_path}: not a JSON text file") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise DatasetError(f"{json_path}: no 'images' list: not one of Karpathy's dataset_*.json files")
    return data["images"]


def _record(entry: object, index: int, json_path: Path, image_root: Path, fold_restval: bool) -> CaptionedImage:
    """One image entry as a record, checked field by field."""
    where = f"{json_path}: image entry #{index}"
    if not isinstance(entry, dict):
        raise DatasetError(f"{where} is not a JSON object")
    filename = entry.get("filename")
    if isinstance(filename, str) and filename:
        where = f"{where} ({filename})"
    for field in ("filename", "split", "sentences"):
        if field not in entry:
            raise DatasetError(f"{where} has no {field!r} field")
    if not isinstance(filename, str) or not filename:
        raise DatasetError(f"{where}: 'filename' must be a non-empty string")
    split = entry["split"]
    if split not in KARPATHY_SPLITS:
        raise DatasetError(f"{where} has unknown split {split!r}: expected one of {', '.join(KARPATHY_SPLITS)}")
    sentences = entry["sentences"]
    if not isinstance(sentences, list) or not sentences:
        raise DatasetError(f"{where}: 'sentences' must be a non-empty list")
    captions = []
    for number, sentence in enumerate(sentences):
        if not isinstance(sentence, dict) or "raw" not in sentence:
            raise DatasetError(f"{where}: sentence #{number} has no 'raw' field")
        raw = sentence["raw"]
        if not isinstance(raw, str) or not raw.strip():
            raise DatasetError(f"{where}: sentence #{number} has empty caption text")
        captions.append(raw.strip())
    filepath = entry.get("filepath")
    if filepath is not None and not isinstance(filepath, str):
        raise DatasetError(f"{where}: 'filepath' must be a string")
    image_path = image_root / filepath / filename if filepath else image_root / filename
    if split == "restval" and fold_restval:
        split = "train"
    return CaptionedImage(image_id=filename, image_path=image_path, captions=tuple(captions), split=split)


def load_karpathy(
    json_path: str | Path,
    image_root: str | Path,
    split: str | None = None,
    fold_restval: bool = True,
) -> list[CaptionedImage]:
    """Records of one of Karpathy's split files, in file order.

    ``image_path`` is ``image_root / filepath / filename`` (``filepath`` only where the file has one);
    ``image_id`` is the file name. ``split`` picks train, val (alias dev) or test, or ``restval``
    when ``fold_restval`` is False; None returns every image. Raises :class:`DatasetError`, naming
    the file and the entry, for input that is not a valid split file.
    """
    json_path, image_root = Path(json_path), Path(image_root)
    wanted = _requested_split(split, fold_restval)
    records = [
        _record(entry, index, json_path, image_root, fold_restval)
        for index, entry in enumerate(_read_images(json_path))
    ]
    return [r for r in records if wanted is None or r.split == wanted]

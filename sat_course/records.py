"""The record every dataset of the course yields."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "val", "test")
SPLIT_ALIASES = {"dev": "val", "validation": "val"}


def canonical_split(name: str) -> str:
    """Map a split name a user may type (``dev`` is Flickr8k's name for ``val``) to train/val/test."""
    split = SPLIT_ALIASES.get(name, name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {name!r}: expected one of train, val (alias dev), test")
    return split


@dataclass(frozen=True)
class CaptionedImage:
    """One image with its reference captions.

    ``image_path`` is None for images that live in memory (the synthetic scenes).
    """

    image_id: str
    image_path: Path | None
    captions: tuple[str, ...]
    split: str

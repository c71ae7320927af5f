"""What training and evaluation read: model inputs per image and encoded captions, batched by length.

Inputs are either cached annotation vectors (N, L, D) or raw images (N, H, W, 3) uint8 for models with a
trainable encoder (the synthetic scenes). Batches hold captions of equal length where possible, as the
authors built them, so little compute goes to padding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .records import CaptionedImage
from .text import Vocabulary


def images_to_tensor(images: np.ndarray) -> Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) scaled to [-1, 1] for the small CNN."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


@dataclass
class ModelInputs:
    """Per-image inputs: ``array[i]`` belongs to ``image_ids[i]``; ``kind`` is "features" or "images".

    ``flipped``, when given, holds the inputs of the mirrored images, row for row (flip augmentation).
    """

    array: np.ndarray
    image_ids: list[str]
    kind: str
    flipped: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("features", "images"):
            raise ValueError("kind must be 'features' or 'images'")
        if len(self.array) != len(self.image_ids):
            raise ValueError(f"{len(self.array)} input rows but {len(self.image_ids)} image ids")
        if self.flipped is not None and self.flipped.shape != self.array.shape:
            raise ValueError(f"flipped inputs {self.flipped.shape} do not match the inputs {self.array.shape}")

    def __len__(self) -> int:
        return len(self.image_ids)

    def batch(self, rows: Sequence[int], flip: Sequence[bool] | None = None) -> Tensor:
        """The inputs of ``rows``; where ``flip`` is true, those of the mirrored image."""
        rows = np.asarray(rows)
        flip = np.zeros(len(rows), dtype=bool) if flip is None else np.asarray(flip, dtype=bool)
        if flip.any() and self.flipped is None:
            raise ValueError("these inputs have no flipped copy")
        data = np.empty((len(rows),) + self.array.shape[1:], dtype=self.array.dtype)
        for source, wanted in ((self.array, ~flip), (self.flipped, flip)):
            picked = np.flatnonzero(wanted)
            picked = picked[np.argsort(rows[picked])]  # memory maps read fastest in file order
            if len(picked):
                data[picked] = source[rows[picked]]
        if self.kind == "images":
            return images_to_tensor(data)
        return torch.from_numpy(data).float()


@dataclass
class CaptionPairs:
    """Every (image row, encoded caption) pair of a split."""

    rows: np.ndarray  # (P,) image row of each caption
    tokens: list[list[int]]  # <start> ... <end>

    @classmethod
    def from_records(cls, records: Sequence[CaptionedImage], vocab: Vocabulary) -> CaptionPairs:
        rows, tokens = [], []
        for i, record in enumerate(records):
            for caption in record.captions:
                encoded = vocab.encode(caption)
                if len(encoded) > 2:  # a caption of no words after tokenisation teaches nothing
                    rows.append(i)
                    tokens.append(encoded)
        if not tokens:
            raise ValueError("no captions with words in these records")
        return cls(np.asarray(rows, dtype=np.int64), tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def collate(self, indices: Sequence[int]) -> tuple[np.ndarray, Tensor]:
        """Image rows and a padded (B, T) token tensor for a batch of pair indices."""
        longest = max(len(self.tokens[i]) for i in indices)
        padded = torch.zeros(len(indices), longest, dtype=torch.long)
        for j, i in enumerate(indices):
            padded[j, : len(self.tokens[i])] = torch.tensor(self.tokens[i])
        return self.rows[list(indices)], padded


def length_batches(pairs: CaptionPairs, batch_size: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1) -> list[list[int]]:
    """The epoch's batches: captions grouped by length, shuffled within and across groups, deterministic.

    Groups of one length are cut into batches of ``batch_size``; the leftovers of all lengths are sorted
    by length and cut again, so every caption is used once per epoch. With several processes each takes
    every ``world_size``-th batch (all take the same number).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    rng = np.random.default_rng([seed, epoch])
    by_length: dict[int, list[int]] = defaultdict(list)
    for i in rng.permutation(len(pairs)):
        by_length[len(pairs.tokens[i])].append(int(i))
    batches, leftovers = [], []
    for length in sorted(by_length):
        group = by_length[length]
        full = len(group) // batch_size * batch_size
        batches += [group[k : k + batch_size] for k in range(0, full, batch_size)]
        leftovers += group[full:]
    batches += [leftovers[k : k + batch_size] for k in range(0, len(leftovers), batch_size)]
    order = rng.permutation(len(batches))
    batches = [batches[i] for i in order]
    usable = len(batches) // world_size * world_size
    return batches[rank:usable:world_size]


"""Does attention look at the object a word names? Scored on the synthetic scenes against true boxes.

For each generated word that names an object (its colour or its shape word, resolved to the object of
that colour and shape in the scene), we take that word's attention map alpha_t over the grid and measure

- ``mass``: the attention inside the object's box, ``sum_i alpha_ti * coverage_i``;
- ``chance``: the same for uniform attention, i.e. the fraction of the grid the box covers;
- ``hit``: whether the most attended location lies in the box.

Words naming objects the scene does not hold (hallucinations) are counted apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .datasets.synthetic import COLOURS, SHAPES, SIZES, SceneObject, box_mask


@dataclass(frozen=True)
class GroundingScore:
    words: int  # object words scored
    mass: float  # mean attention mass inside the named object's box
    chance: float  # mean mass under uniform attention
    hit_rate: float  # how often the arg-max location falls inside the box
    hallucinated: int  # object words naming nothing in the scene

    @property
    def ratio(self) -> float:
        """How many times more attention falls on the named object than uniform attention would put there."""
        return self.mass / self.chance if self.chance else float("nan")

    def __str__(self) -> str:
        return (f"{self.words} object words: attention mass in the named box {self.mass:.3f} vs chance {self.chance:.3f} "
                f"({self.ratio:.1f}x), arg-max inside the box {100 * self.hit_rate:.0f}%, {self.hallucinated} hallucinated")


def object_mentions(words: Sequence[str], objects: Sequence[SceneObject]) -> list[tuple[int, int | None]]:
    """(word position, object index or None) for every colour and shape word of a caption.

    A phrase ``[size] colour shape`` names the object with that colour and shape; its colour and shape
    words both point at it.
    """
    mentions = []
    k = 0
    while k < len(words):
        if words[k] in COLOURS and k + 1 < len(words) and words[k + 1] in SHAPES:
            colour, shape = words[k], words[k + 1]
            match = [i for i, o in enumerate(objects) if o.colour == colour and o.shape == shape]
            target = match[0] if match else None
            mentions += [(k, target), (k + 1, target)]
            k += 2
        elif words[k] in SHAPES:  # a bare shape: the object when only one has that shape
            match = [i for i, o in enumerate(objects) if o.shape == words[k]]
            mentions.append((k, match[0] if len(match) == 1 else None))
            k += 1
        else:
            k += 1
    return [(k, t) for k, t in mentions if words[k] not in SIZES]


def grounding_score(
    captions_words: Sequence[Sequence[str]],
    alphas: Sequence[np.ndarray],
    scene_objects: Sequence[Sequence[SceneObject]],
    grid: int,
    image_size: int,
) -> GroundingScore:
    """Score the attention of generated captions (one per image) against the boxes of the objects they name."""
    masses, chances, hits, hallucinated = [], [], [], 0
    for words, alpha, objects in zip(captions_words, alphas, scene_objects):
        alpha = np.asarray(alpha)
        for position, target in object_mentions(words, objects):
            if target is None:
                hallucinated += 1
                continue
            coverage = box_mask(objects[target].box, grid, image_size).reshape(-1)
            coverage = np.clip(coverage, 0.0, 1.0)
            attention = alpha[position]
            masses.append(float((attention * coverage).sum()))
            chances.append(float(coverage.sum() / coverage.size))
            hits.append(bool(coverage[int(attention.argmax())] > 0))
    if not masses:
        return GroundingScore(0, 0.0, 0.0, 0.0, hallucinated)
    return GroundingScore(len(masses), float(np.mean(masses)), float(np.mean(chances)), float(np.mean(hits)), hallucinated)

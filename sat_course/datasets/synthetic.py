"""Synthetic shape scenes: captioned images with ground truth for every object and every word.

Each scene holds 1 to 3 non-overlapping coloured shapes on a dark-grey background. Its five
captions name objects only with the fixed attribute words of :data:`SIZES`, :data:`COLOURS` and
:data:`SHAPES`, and every token of every caption is aligned to the object it names (or -1), so an
attention map can be scored against the boxes of the objects. The (colour, shape) pairs of
:data:`HELD_OUT_COMBINATIONS` never occur in training and occur in every validation and test
image, to measure whether a model composes attributes it has only seen apart.

Nothing is downloaded: :func:`make_synthetic_scenes` renders everything from a seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sat_course.records import CaptionedImage, canonical_split

SHAPES = ("circle", "square", "triangle", "plus")
COLOURS = ("red", "green", "blue", "yellow", "purple")
SIZES = ("small", "large")
HELD_OUT_COMBINATIONS = frozenset({("red", "triangle"), ("blue", "circle"), ("yellow", "square")})

COLOUR_RGB = {
    "red": (220, 50, 50),
    "green": (60, 180, 75),
    "blue": (60, 110, 235),
    "yellow": (240, 220, 50),
    "purple": (160, 70, 200),
}
BACKGROUND_RGB = (48, 48, 48)
CAPTIONS_PER_IMAGE = 5
MAX_CAPTION_WORDS = 16
MIN_IMAGE_SIZE = 32

# Side of a shape's (square) box at 64 px; it scales with the image size.
_SIDE_AT_64 = {"small": 12, "large": 22}
# Sorted, because the iteration order of a frozenset of strings changes from one process to the next.
_HELD_OUT = sorted(HELD_OUT_COMBINATIONS)
_ALL_COMBINATIONS = [(colour, shape) for colour in COLOURS for shape in SHAPES]
_TRAIN_COMBINATIONS = [c for c in _ALL_COMBINATIONS if c not in HELD_OUT_COMBINATIONS]
_LAYOUT_TRIES, _POSITION_TRIES = 1000, 50

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class SceneObject:
    """One shape: its attribute words and its box ``(x0, y0, x1, y1)`` in pixels, x1 and y1 exclusive."""

    shape: str
    colour: str
    size: str
    box: Box

    def __post_init__(self) -> None:
        attributes = (("shape", self.shape, SHAPES), ("colour", self.colour, COLOURS), ("size", self.size, SIZES))
        for what, value, allowed in attributes:
            if value not in allowed:
                raise ValueError(f"unknown {what} {value!r}: expected one of {', '.join(allowed)}")
        x0, y0, x1, y1 = self.box
        if not (x0 < x1 and y0 < y1):
            raise ValueError(f"box {self.box} is empty: expected x0 < x1 and y0 < y1")

    @property
    def centre(self) -> tuple[float, float]:
        """Centre ``(x, y)`` of the box in pixels."""
        x0, y0, x1, y1 = self.box
        return (x0 + x1) / 2, (y0 + y1) / 2


@dataclass
class SyntheticScenes:
    """Images, records and ground truth, all indexed by image.

    ``word_objects[i][c][t]`` is the index in ``objects[i]`` of the object named by token ``t`` of
    ``tokenize(records[i].captions[c])``, or -1 for a word that names no object.
    """

    images: np.ndarray
    records: list[CaptionedImage]
    objects: list[list[SceneObject]]
    word_objects: list[list[list[int]]]

    def __len__(self) -> int:
        return len(self.records)

    def split_indices(self, split: str) -> np.ndarray:
        """Indices of the images of one split (``dev`` is accepted for ``val``)."""
        split = canonical_split(split)
        return np.array([i for i, record in enumerate(self.records) if record.split == split], dtype=np.int64)

    def subset(self, split: str) -> SyntheticScenes:
        """The same structure restricted to one split; image ids are kept."""
        indices = self.split_indices(split)
        return SyntheticScenes(
            images=self.images[indices],
            records=[self.records[i] for i in indices],
            objects=[self.objects[i] for i in indices],
            word_objects=[self.word_objects[i] for i in indices],
        )


def make_synthetic_scenes(
    n_train: int = 4000, n_val: int = 500, n_test: int = 500, image_size: int = 64, seed: int = 0
) -> SyntheticScenes:
    """Render ``n_train + n_val + n_test`` captioned scenes, train first, then val, then test.

    The same arguments always give the same images and captions. Objects within one scene have
    distinct (colour, shape) pairs, so "a red circle" always names one object.
    """
    for name, count in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        if not isinstance(count, (int, np.integer)) or count < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {count!r}")
    if n_train + n_val + n_test == 0:
        raise ValueError("at least one of n_train, n_val, n_test must be positive")
    if not isinstance(image_size, (int, np.integer)) or image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"image_size must be an integer of at least {MIN_IMAGE_SIZE}, got {image_size!r}")

    rng = np.random.default_rng(seed)
    sides = {size: round(px * image_size / 64) for size, px in _SIDE_AT_64.items()}
    gap = max(2, image_size // 32)
    splits = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
    images = np.empty((len(splits), image_size, image_size, 3), dtype=np.uint8)
    records, objects, word_objects = [], [], []
    for i, split in enumerate(splits):
        scene = _sample_scene(rng, held_out=split != "train", sides=sides, image_size=image_size, gap=gap)
        captions, alignments = _describe(scene, image_size, rng)
        images[i] = render_scene(scene, image_size)
        records.append(CaptionedImage(f"scene_{i:05d}", None, tuple(captions), split))
        objects.append(scene)
        word_objects.append(alignments)
    return SyntheticScenes(images, records, objects, word_objects)


def render_scene(objects: Sequence[SceneObject], image_size: int) -> np.ndarray:
    """Draw the objects on the background: an ``(image_size, image_size, 3)`` uint8 RGB array."""
    image = np.empty((image_size, image_size, 3), dtype=np.uint8)
    image[:] = BACKGROUND_RGB
    for obj in objects:
        x0, y0, x1, y1 = _check_box(obj.box, image_size)
        image[y0:y1, x0:x1][_shape_mask(obj.shape, x1 - x0, y1 - y0)] = COLOUR_RGB[obj.colour]
    return image


def box_mask(box: Box, grid: int, image_size: int) -> np.ndarray:
    """``(grid, grid)`` fraction of each cell of a grid x grid feature map that the box covers.

    Its sum is the box area in cells: a box that is exactly one cell gives 1.0 there, 0 elsewhere.
    """
    if grid < 1:
        raise ValueError(f"grid must be at least 1, got {grid}")
    x0, y0, x1, y1 = _check_box(box, image_size)
    edges = np.linspace(0.0, image_size, grid + 1)
    cols = np.clip(np.minimum(edges[1:], x1) - np.maximum(edges[:-1], x0), 0.0, None)
    rows = np.clip(np.minimum(edges[1:], y1) - np.maximum(edges[:-1], y0), 0.0, None)
    return np.outer(rows, cols) / (image_size / grid) ** 2


def _check_box(box: Box, image_size: int) -> Box:
    if image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    x0, y0, x1, y1 = (int(v) for v in box)
    if not (0 <= x0 < x1 <= image_size and 0 <= y0 < y1 <= image_size):
        raise ValueError(f"box {tuple(box)} is empty or leaves the {image_size} x {image_size} image")
    return x0, y0, x1, y1


@lru_cache(maxsize=None)
def _shape_mask(shape: str, width: int, height: int) -> np.ndarray:
    """Boolean ``(height, width)`` mask of a shape that touches all four sides of its box."""
    y, x = np.mgrid[0:height, 0:width] + 0.5
    u, v = x - width / 2, y - height / 2  # offsets of pixel centres from the box centre
    if shape == "circle":
        mask = (u / (width / 2)) ** 2 + (v / (height / 2)) ** 2 <= 1
    elif shape == "square":
        mask = np.ones((height, width), dtype=bool)
    elif shape == "triangle":  # apex up: on row r the half-width is width/2 * (r + 1) / height
        mask = np.abs(u) <= (width / 2) * (y + 0.5) / height
    else:  # plus: a horizontal and a vertical bar, each about a third of the box thick
        mask = np.zeros((height, width), dtype=bool)
        top, bottom = _centred_bar(height)
        left, right = _centred_bar(width)
        mask[top:bottom, :] = True
        mask[:, left:right] = True
    mask.setflags(write=False)
    return mask


def _centred_bar(length: int) -> tuple[int, int]:
    thickness = max(1, round(length / 3))
    thickness += (length - thickness) % 2  # same parity as the side, so the bar sits exactly centred
    start = (length - thickness) // 2
    return start, start + thickness


def _sample_scene(
    rng: np.random.Generator, held_out: bool, sides: dict[str, int], image_size: int, gap: int
) -> list[SceneObject]:
    """1 to 3 objects with distinct (colour, shape) pairs; with ``held_out``, one is a held-out pair."""
    n = 1 + int(rng.integers(3))
    if held_out:
        first = _HELD_OUT[rng.integers(len(_HELD_OUT))]
        others = [c for c in _ALL_COMBINATIONS if c != first]
        pairs = [first] + [others[k] for k in rng.choice(len(others), n - 1, replace=False)]
    else:
        pairs = [_TRAIN_COMBINATIONS[k] for k in rng.choice(len(_TRAIN_COMBINATIONS), n, replace=False)]
    pairs = [pairs[k] for k in rng.permutation(n)]
    sizes = [SIZES[k] for k in rng.integers(len(SIZES), size=n)]
    boxes = _place([sides[s] for s in sizes], image_size, gap, rng)
    return [SceneObject(shape, colour, size, box) for (colour, shape), size, box in zip(pairs, sizes, boxes)]


def _place(sides: list[int], image_size: int, gap: int, rng: np.random.Generator) -> list[Box]:
    """Rejection sampling of square boxes ``gap`` pixels apart; starts over when one does not fit."""
    for _ in range(_LAYOUT_TRIES):
        boxes: list[Box] = []
        for side in sides:
            for _ in range(_POSITION_TRIES):
                x0, y0 = (int(v) for v in rng.integers(0, image_size - side + 1, size=2))
                box = (x0, y0, x0 + side, y0 + side)
                if not any(_too_close(box, other, gap) for other in boxes):
                    boxes.append(box)
                    break
            else:
                break
        else:
            return boxes
    raise RuntimeError(f"could not place boxes of sides {sides} in a {image_size} px image")


def _too_close(a: Box, b: Box, gap: int) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


# ---- captions ---------------------------------------------------------------------------------

# Every tuple of alternatives ends with its shortest, used when a caption would be too long.
_RELATION_PHRASES = {
    "left": ("to the left of", "left of"),
    "right": ("to the right of", "right of"),
    "above": ("over", "above"),
    "below": ("under", "below"),
}
_PICTURE = ("a picture of", "an image of", "a drawing of")
_BACKGROUND = ("on a dark grey background", "on a dark background", "on a grey background")
_PLACE = {
    "middle": ("in the centre", "in the middle"),
    "left": ("on the left",),
    "right": ("on the right",),
    "top": ("at the top", "near the top"),
    "bottom": ("at the bottom", "near the bottom"),
}


def _relation(a: SceneObject, b: SceneObject) -> str:
    """Where ``a`` lies relative to ``b``, along the axis on which their centres differ most."""
    dx = a.centre[0] - b.centre[0]
    dy = a.centre[1] - b.centre[1]
    if abs(dx) >= abs(dy):
        return "left" if dx < 0 else "right"
    return "above" if dy < 0 else "below"


def _place_in_image(obj: SceneObject, image_size: int) -> str:
    """Middle when the centre is within 1/8 of the image size of the image centre, else the main direction."""
    dx = obj.centre[0] - image_size / 2
    dy = obj.centre[1] - image_size / 2
    if max(abs(dx), abs(dy)) < image_size / 8:
        return "middle"
    if abs(dx) >= abs(dy):
        return "left" if dx < 0 else "right"
    return "top" if dy < 0 else "bottom"


class _Phraser:
    """Builds one caption word by word, recording which object each word names."""

    def __init__(self, objects: list[SceneObject], image_size: int, rng: np.random.Generator, short: bool):
        self.objects, self.image_size, self.rng, self.short = objects, image_size, rng, short
        self.words: list[str] = []
        self.word_objects: list[int] = []

    def say(self, text: str, obj: int = -1) -> _Phraser:
        for word in text.split():
            self.words.append(word)
            self.word_objects.append(obj)
        return self

    def comma(self) -> _Phraser:
        self.words[-1] += ","
        return self

    def pick(self, alternatives: tuple[str, ...]) -> _Phraser:
        choice = len(alternatives) - 1 if self.short else self.rng.integers(len(alternatives))
        return self.say(alternatives[choice])

    def name(self, i: int) -> _Phraser:
        """``a [size] colour shape``; the size is said about half the time."""
        obj = self.objects[i]
        self.say("a")
        if not self.short and self.rng.random() < 0.5:
            self.say(obj.size, i)
        return self.say(obj.colour, i).say(obj.shape, i)

    def relation(self, i: int, j: int) -> _Phraser:
        return self.pick(_RELATION_PHRASES[_relation(self.objects[i], self.objects[j])])

    def place(self, i: int) -> _Phraser:
        return self.pick(_PLACE[_place_in_image(self.objects[i], self.image_size)])


# Templates by number of objects; each receives the objects in a random order.
_TEMPLATES: dict[int, tuple[Callable[..., _Phraser], ...]] = {
    1: (
        lambda p, a: p.name(a),
        lambda p, a: p.say("there is").name(a),
        lambda p, a: p.pick(_PICTURE).name(a),
        lambda p, a: p.name(a).pick(_BACKGROUND),
        lambda p, a: p.name(a).place(a),
        lambda p, a: p.say("one shape:").name(a),
    ),
    2: (
        lambda p, a, b: p.name(a).relation(a, b).name(b),
        lambda p, a, b: p.say("there is").name(a).relation(a, b).name(b),
        lambda p, a, b: p.pick(_PICTURE).name(a).relation(a, b).name(b),
        lambda p, a, b: p.name(a).say("is").relation(a, b).name(b),
        lambda p, a, b: p.say("two shapes:").name(a).say("and").name(b),
        lambda p, a, b: p.name(a).say("and").name(b).pick(_BACKGROUND),
    ),
    3: (
        lambda p, a, b, c: p.say("three shapes:").name(a).comma().name(b).say("and").name(c),
        lambda p, a, b, c: p.pick(_PICTURE).name(a).comma().name(b).say("and").name(c),
        lambda p, a, b, c: p.name(a).comma().name(b).say("and").name(c).pick(_BACKGROUND),
        lambda p, a, b, c: p.name(a).relation(a, b).name(b).say("and").name(c).relation(c, b).say("it"),
        lambda p, a, b, c: p.say("there is").name(c).say("and").name(a).say("is").relation(a, b).name(b),
        lambda p, a, b, c: p.name(c).relation(c, a).name(a).say("which is").relation(a, b).name(b),
    ),
}


def _describe(
    objects: list[SceneObject], image_size: int, rng: np.random.Generator
) -> tuple[list[str], list[list[int]]]:
    """Five captions from five different templates, and the object each of their tokens names.

    A caption longer than :data:`MAX_CAPTION_WORDS` is rebuilt with the shortest phrasing.
    """
    templates = _TEMPLATES[len(objects)]
    captions, alignments = [], []
    for t in rng.permutation(len(templates))[:CAPTIONS_PER_IMAGE]:
        order = [int(k) for k in rng.permutation(len(objects))]
        phraser = templates[t](_Phraser(objects, image_size, rng, short=False), *order)
        if len(phraser.words) > MAX_CAPTION_WORDS:
            phraser = templates[t](_Phraser(objects, image_size, rng, short=True), *order)
        captions.append(" ".join(phraser.words))
        alignments.append(phraser.word_objects)
    return captions, alignments

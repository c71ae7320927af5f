"""Synthetic shape scenes, checked against truths computed here from the boxes and pixels."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sat_course.datasets.synthetic import (
    COLOURS,
    HELD_OUT_COMBINATIONS,
    SHAPES,
    SIZES,
    SceneObject,
    SyntheticScenes,
    box_mask,
    make_synthetic_scenes,
    render_scene,
)
from sat_course.records import CaptionedImage
from sat_course.text import tokenize

ATTRIBUTE_WORDS = set(SHAPES) | set(COLOURS) | set(SIZES)
RELATION_WORDS = {
    "to the left of": "left",
    "left of": "left",
    "to the right of": "right",
    "right of": "right",
    "above": "above",
    "over": "above",
    "below": "below",
    "under": "below",
}
PLACE_WORDS = {
    "on the left": "left",
    "on the right": "right",
    "at the top": "top",
    "near the top": "top",
    "at the bottom": "bottom",
    "near the bottom": "bottom",
    "in the middle": "middle",
    "in the centre": "middle",
}


@pytest.fixture(scope="module")
def scenes() -> SyntheticScenes:
    return make_synthetic_scenes(n_train=200, n_val=50, n_test=50, image_size=64, seed=0)


def all_captions(scenes: SyntheticScenes):
    """(image index, objects, tokens, alignment) for every caption."""
    for i, (record, objects) in enumerate(zip(scenes.records, scenes.objects)):
        for caption, alignment in zip(record.captions, scenes.word_objects[i]):
            yield i, objects, tokenize(caption), alignment


def centre(obj: SceneObject) -> tuple[float, float]:
    x0, y0, x1, y1 = obj.box
    return (x0 + x1) / 2, (y0 + y1) / 2


def background_of(image: np.ndarray) -> np.ndarray:
    """The most common pixel value: objects cover well under half of every image."""
    values, counts = np.unique(image.reshape(-1, 3), axis=0, return_counts=True)
    return values[counts.argmax()]


def colour_name(rgb) -> str:
    """A coarse colour classifier, independent of the RGB values the module draws with."""
    r, g, b = (int(v) for v in rgb)
    if r > 150 and g > 150 and b < 100:
        return "yellow"
    if r > 150 and g < 100 and b < 100:
        return "red"
    if g > 130 and r < 100 and b < 120:
        return "green"
    if b > 150 and r < 100:
        return "blue"
    if r > 100 and b > 150 and g < 100:
        return "purple"
    return "unknown"


def object_runs(alignment: list[int]) -> list[list[int]]:
    """[object, start, end) for each stretch of consecutive tokens that name one object."""
    runs: list[list[int]] = []
    for k, obj in enumerate(alignment):
        if obj < 0:
            continue
        if runs and runs[-1][0] == obj and runs[-1][2] == k:
            runs[-1][2] = k + 1
        else:
            runs.append([obj, k, k + 1])
    return runs


def stated_relations(tokens: list[str], alignment: list[int]) -> list[tuple[int, str, int]]:
    """(a, relation, b) stated as "A <rel> a B", "A is <rel> a B", "A which is <rel> a B" or "A <rel> it"."""
    runs = object_runs(alignment)
    found = []
    for (a, _, end), (b, start, _) in zip(runs, runs[1:]):
        gap = tokens[end:start]
        if gap[-1:] == ["a"]:
            gap = gap[:-1]
        phrase = " ".join(gap).removeprefix("which is ").removeprefix("is ")
        if phrase in RELATION_WORDS:
            found.append((a, RELATION_WORDS[phrase], b))
    if tokens[-1] == "it":  # "... a B and a C left of it": "it" is the object named just before C
        phrase = " ".join(tokens[runs[-1][2] : -1])
        found.append((runs[-1][0], RELATION_WORDS[phrase], runs[-2][0]))
    return found


def test_same_seed_same_scenes_and_different_seed_different():
    a = make_synthetic_scenes(30, 10, 10, image_size=48, seed=7)
    b = make_synthetic_scenes(30, 10, 10, image_size=48, seed=7)
    c = make_synthetic_scenes(30, 10, 10, image_size=48, seed=8)
    assert a.images.tobytes() == b.images.tobytes()
    assert a.records == b.records and a.objects == b.objects and a.word_objects == b.word_objects
    assert a.images.tobytes() != c.images.tobytes()
    assert [r.captions for r in a.records] != [r.captions for r in c.records]


def test_structure(scenes):
    assert scenes.images.shape == (300, 64, 64, 3) and scenes.images.dtype == np.uint8
    assert len(scenes) == len(scenes.records) == len(scenes.objects) == len(scenes.word_objects) == 300
    assert [r.split for r in scenes.records] == ["train"] * 200 + ["val"] * 50 + ["test"] * 50
    for i, record in enumerate(scenes.records):
        assert isinstance(record, CaptionedImage)
        assert record.image_id == f"scene_{i:05d}" and record.image_path is None
        assert len(record.captions) == 5 and len(set(record.captions)) == 5
        assert 1 <= len(scenes.objects[i]) <= 3
        for caption in record.captions:
            assert caption == caption.lower() and 1 <= len(tokenize(caption)) <= 16
            assert set(caption) <= set("abcdefghijklmnopqrstuvwxyz ,:")
    assert Counter(len(objs) for objs in scenes.objects).keys() == {1, 2, 3}


def test_word_alignment_names_the_right_object(scenes):
    for _, objects, tokens, alignment in all_captions(scenes):
        assert len(alignment) == len(tokens)
        for token, k in zip(tokens, alignment):
            if k == -1:
                assert token not in ATTRIBUTE_WORDS, (tokens, alignment)
            else:
                assert token in (objects[k].shape, objects[k].colour, objects[k].size), (tokens, alignment)
        # every caption mentions every object by at least its colour and its shape
        for k, obj in enumerate(objects):
            named = {t for t, j in zip(tokens, alignment) if j == k}
            assert {obj.colour, obj.shape} <= named, (tokens, alignment)


def test_stated_relations_are_true_by_the_boxes(scenes):
    seen = Counter()
    for _, objects, tokens, alignment in all_captions(scenes):
        relations = stated_relations(tokens, alignment)
        if len(objects) > 1:  # every relation word of the caption was parsed and checked
            relation_words = {"left", "right", "above", "below", "over", "under"}
            assert sum(t in relation_words for t in tokens) == len(relations)
        for a, relation, b in relations:
            (ax, ay), (bx, by) = centre(objects[a]), centre(objects[b])
            dx, dy = ax - bx, ay - by
            truth = {"left": dx < 0, "right": dx > 0, "above": dy < 0, "below": dy > 0}[relation]
            main_axis = abs(dx) >= abs(dy) if relation in ("left", "right") else abs(dy) > abs(dx)
            assert truth and main_axis, (tokens, relation, objects[a].box, objects[b].box)
            seen[relation] += 1
    assert set(seen) == {"left", "right", "above", "below"} and min(seen.values()) > 10


def test_stated_places_are_true(scenes):
    size = scenes.images.shape[1]
    checked = 0
    for _, objects, tokens, alignment in all_captions(scenes):
        tail = " ".join(tokens[object_runs(alignment)[-1][2] :])
        if tail in PLACE_WORDS:
            x, y = centre(objects[0])
            dx, dy = x - size / 2, y - size / 2
            truth = {
                "left": dx < 0,
                "right": dx > 0,
                "top": dy < 0,
                "bottom": dy > 0,
                "middle": max(abs(dx), abs(dy)) < size / 4,
            }[PLACE_WORDS[tail]]
            assert len(objects) == 1 and truth, (tokens, objects[0].box)
            checked += 1
    assert checked > 10


def test_pixels_match_objects_and_background(scenes):
    size = scenes.images.shape[1]
    for image, objects in zip(scenes.images, scenes.objects):
        outside = np.ones((size, size), dtype=bool)
        for obj in objects:
            x0, y0, x1, y1 = obj.box
            assert 0 <= x0 < x1 <= size and 0 <= y0 < y1 <= size
            outside[y0:y1, x0:x1] = False
        background = image[outside][0]
        assert np.all(image[outside] == background)
        assert background[0] == background[1] == background[2] and 20 < background[0] < 90
        for obj in objects:
            x0, y0, x1, y1 = obj.box
            patch = image[y0:y1, x0:x1]
            drawn = np.any(patch != background, axis=-1)
            colours = {tuple(p) for p in patch[drawn]}
            assert len(colours) == 1 and colour_name(colours.pop()) == obj.colour
            assert drawn.mean() > 0.3
            # the box is tight: the shape touches all four of its sides
            assert drawn[0].any() and drawn[-1].any() and drawn[:, 0].any() and drawn[:, -1].any()


def test_boxes_do_not_overlap(scenes):
    for objects in scenes.objects:
        for k, a in enumerate(objects):
            for b in objects[k + 1 :]:
                disjoint_x = a.box[2] <= b.box[0] or b.box[2] <= a.box[0]
                disjoint_y = a.box[3] <= b.box[1] or b.box[3] <= a.box[1]
                assert disjoint_x or disjoint_y


def test_sizes_and_shapes_are_rendered_distinctly(scenes):
    everything = [o for objs in scenes.objects for o in objs]
    sides = {size: {o.box[2] - o.box[0] for o in everything if o.size == size} for size in SIZES}
    assert sides == {"small": {12}, "large": {22}}
    # at one size, each shape covers a different number of pixels
    areas = {}
    for image, objects in zip(scenes.images, scenes.objects):
        for obj in objects:
            if obj.size == "large" and obj.shape not in areas:
                x0, y0, x1, y1 = obj.box
                areas[obj.shape] = int(np.any(image[y0:y1, x0:x1] != background_of(image), axis=-1).sum())
    assert len(areas) == 4 and len(set(areas.values())) == 4


def test_held_out_combinations(scenes):
    for record, objects in zip(scenes.records, scenes.objects):
        combinations = {(o.colour, o.shape) for o in objects}
        if record.split == "train":
            assert not combinations & HELD_OUT_COMBINATIONS
        else:
            assert combinations & HELD_OUT_COMBINATIONS
        assert len(combinations) == len(objects)
    train = [o for objs in scenes.subset("train").objects for o in objs]
    assert {o.colour for o in train} == set(COLOURS) and {o.shape for o in train} == set(SHAPES)
    held_out_seen = {(o.colour, o.shape) for objs in scenes.subset("test").objects for o in objs}
    assert HELD_OUT_COMBINATIONS <= held_out_seen


def test_split_indices_and_subset(scenes):
    assert list(scenes.split_indices("train")) == list(range(200))
    assert list(scenes.split_indices("dev")) == list(range(200, 250))
    test = scenes.subset("test")
    assert len(test) == 50 and test.images.shape == (50, 64, 64, 3)
    assert np.array_equal(test.images[3], scenes.images[253])
    assert test.records[3] == scenes.records[253] and test.objects[3] == scenes.objects[253]
    assert test.word_objects[3] == scenes.word_objects[253]
    with pytest.raises(ValueError, match="unknown split"):
        scenes.split_indices("training")


def test_render_scene_by_hand():
    objects = [
        SceneObject("square", "red", "small", (4, 6, 10, 12)),
        SceneObject("plus", "blue", "large", (20, 20, 32, 32)),
    ]
    image = render_scene(objects, 32)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert {colour_name(p) for p in image[6:12, 4:10].reshape(-1, 3)} == {"red"}
    assert colour_name(image[26, 26]) == "blue" and colour_name(image[20, 26]) == "blue"
    assert np.all(image[20, 20] == image[0, 0])  # the plus leaves its corners empty
    with pytest.raises(ValueError, match="leaves"):
        render_scene([SceneObject("circle", "green", "small", (30, 30, 40, 40))], 32)


def test_box_mask():
    one_cell = box_mask((8, 16, 16, 24), grid=8, image_size=64)
    expected = np.zeros((8, 8))
    expected[2, 1] = 1.0
    assert np.array_equal(one_cell, expected)
    # a box straddling cells: 12 x 6 px over 8 px cells covers 72/64 of a cell, split by the grid lines
    mask = box_mask((4, 6, 16, 12), grid=8, image_size=64)
    assert mask.sum() == pytest.approx(12 * 6 / 64)
    assert mask[0, 0] == pytest.approx(4 * 2 / 64) and mask[1, 1] == pytest.approx(8 * 4 / 64)
    assert mask[0, 2] == 0 and mask[2, 0] == 0
    whole = box_mask((0, 0, 64, 64), grid=7, image_size=64)
    assert np.allclose(whole, 1.0)
    rng = np.random.default_rng(1)
    for _ in range(20):
        x0, y0 = rng.integers(0, 50, size=2)
        w, h = rng.integers(1, 14, size=2)
        area = box_mask((x0, y0, x0 + w, y0 + h), grid=14, image_size=64).sum()
        assert area == pytest.approx(w * h / (64 / 14) ** 2)
    with pytest.raises(ValueError):
        box_mask((0, 0, 8, 8), grid=0, image_size=64)
    with pytest.raises(ValueError):
        box_mask((60, 0, 70, 8), grid=8, image_size=64)
    with pytest.raises(ValueError):
        box_mask((8, 8, 8, 16), grid=8, image_size=64)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_train": -1}, "n_train"),
        ({"n_val": -5}, "n_val"),
        ({"n_test": 2.5}, "n_test"),
        ({"n_train": 0, "n_val": 0, "n_test": 0}, "at least one"),
        ({"image_size": 31}, "image_size"),
        ({"image_size": 64.0}, "image_size"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_synthetic_scenes(**{"n_train": 2, "n_val": 1, "n_test": 1, **kwargs})


def test_bad_objects():
    with pytest.raises(ValueError, match="shape"):
        SceneObject("star", "red", "small", (0, 0, 4, 4))
    with pytest.raises(ValueError, match="colour"):
        SceneObject("circle", "pink", "small", (0, 0, 4, 4))
    with pytest.raises(ValueError, match="size"):
        SceneObject("circle", "red", "huge", (0, 0, 4, 4))
    with pytest.raises(ValueError, match="empty"):
        SceneObject("circle", "red", "small", (4, 0, 4, 4))


def test_other_image_sizes_scale_the_shapes():
    small = make_synthetic_scenes(20, 5, 5, image_size=32, seed=1)
    large = make_synthetic_scenes(20, 5, 5, image_size=128, seed=1)
    assert small.images.shape[1:] == (32, 32, 3) and large.images.shape[1:] == (128, 128, 3)
    assert {o.box[2] - o.box[0] for objs in small.objects for o in objs} == {6, 11}
    assert {o.box[2] - o.box[0] for objs in large.objects for o in objs} == {24, 44}


def test_default_sizes_generate_quickly():
    start = time.perf_counter()
    scenes = make_synthetic_scenes()
    elapsed = time.perf_counter() - start
    assert scenes.images.shape == (5000, 64, 64, 3)
    assert [len(scenes.split_indices(s)) for s in ("train", "val", "test")] == [4000, 500, 500]
    assert elapsed < 10, f"generation took {elapsed:.1f} s"

    def words(split):
        return {w for r in scenes.subset(split).records for c in r.captions for w in tokenize(c)}

    assert words("val") | words("test") <= words("train")  # rare phrasings too, at this size


@pytest.mark.slow
def test_same_scenes_in_every_process():
    """String hashing changes between processes; the scenes must not."""
    code = (
        "import hashlib; from sat_course.datasets.synthetic import make_synthetic_scenes; "
        "s = make_synthetic_scenes(40, 20, 20, seed=3); "
        "print(hashlib.sha256(s.images.tobytes() + repr(s.records).encode()).hexdigest())"
    )
    root = Path(__file__).resolve().parents[1]
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed), "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in (1, 2)
    }
    assert len(digests) == 1

"""Karpathy's split files: splits, restval, COCO's filepath, and errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sat_course.datasets.errors import DatasetError
from sat_course.datasets.karpathy import load_karpathy


def _image(filename: str, split: str, *captions: str, **extra: object) -> dict:
    sentences = [{"raw": c, "tokens": c.lower().split(), "imgid": 0, "sentid": i} for i, c in enumerate(captions)]
    return {"filename": filename, "split": split, "sentences": sentences, "imgid": 0, **extra}


def _write(path: Path, images: list) -> Path:
    path.write_text(json.dumps({"dataset": "test", "images": images}))
    return path


@pytest.fixture
def coco_json(tmp_path: Path) -> Path:
    return _write(tmp_path / "dataset_coco.json", [
        _image("COCO_val2014_000000000042.jpg", "test", "A dog on a bed .", filepath="val2014", cocoid=42),
        _image("COCO_train2014_000000000009.jpg", "train", "A plate of food.", " Some rice. ", filepath="train2014", cocoid=9),
        _image("COCO_val2014_000000000073.jpg", "restval", "A motorbike.", filepath="val2014", cocoid=73),
        _image("COCO_val2014_000000000074.jpg", "val", "A dog in the street.", filepath="val2014", cocoid=74),
    ])


def test_records_join_coco_filepath_and_keep_raw_captions(coco_json, tmp_path):
    records = load_karpathy(coco_json, tmp_path / "coco")
    assert [r.image_id for r in records] == [
        "COCO_val2014_000000000042.jpg", "COCO_train2014_000000000009.jpg",
        "COCO_val2014_000000000073.jpg", "COCO_val2014_000000000074.jpg",
    ]
    first = records[0]
    assert first.image_path == tmp_path / "coco" / "val2014" / "COCO_val2014_000000000042.jpg"
    assert first.captions == ("A dog on a bed .",) and first.split == "test"
    assert records[1].captions == ("A plate of food.", "Some rice.")


def test_flickr_files_have_no_filepath(tmp_path):
    path = _write(tmp_path / "dataset_flickr8k.json", [_image("1000268201_693b08cb0e.jpg", "train", "A child .")])
    (record,) = load_karpathy(path, tmp_path / "Flicker8k_Dataset")
    assert record.image_path == tmp_path / "Flicker8k_Dataset" / "1000268201_693b08cb0e.jpg"


def test_restval_is_folded_into_train_by_default(coco_json, tmp_path):
    train = load_karpathy(coco_json, tmp_path, split="train")
    assert [r.image_id for r in train] == ["COCO_train2014_000000000009.jpg", "COCO_val2014_000000000073.jpg"]
    assert {r.split for r in load_karpathy(coco_json, tmp_path)} == {"train", "val", "test"}
    with pytest.raises(ValueError, match="fold_restval=False"):
        load_karpathy(coco_json, tmp_path, split="restval")


def test_restval_kept_apart_on_request(coco_json, tmp_path):
    train = load_karpathy(coco_json, tmp_path, split="train", fold_restval=False)
    assert [r.image_id for r in train] == ["COCO_train2014_000000000009.jpg"]
    (restval,) = load_karpathy(coco_json, tmp_path, split="restval", fold_restval=False)
    assert restval.image_id == "COCO_val2014_000000000073.jpg" and restval.split == "restval"


def test_dev_is_val(coco_json, tmp_path):
    val = load_karpathy(coco_json, tmp_path, split="val")
    assert load_karpathy(coco_json, tmp_path, split="dev") == val
    assert [r.image_id for r in val] == ["COCO_val2014_000000000074.jpg"]
    with pytest.raises(ValueError, match="unknown split 'everything'"):
        load_karpathy(coco_json, tmp_path, split="everything")


@pytest.mark.parametrize("field", ["filename", "split", "sentences"])
def test_missing_field_names_the_field_and_the_file(tmp_path, field):
    entry = _image("b.jpg", "train", "A cat .")
    del entry[field]
    path = _write(tmp_path / "dataset_flickr8k.json", [_image("a.jpg", "train", "A dog ."), entry])
    with pytest.raises(DatasetError, match=rf"dataset_flickr8k\.json: image entry #1.* has no '{field}' field") as info:
        load_karpathy(path, tmp_path)
    assert str(path) in str(info.value)
    if field != "filename":
        assert "(b.jpg)" in str(info.value)


def test_empty_caption_names_the_image(tmp_path):
    path = _write(tmp_path / "dataset_flickr8k.json", [_image("a.jpg", "test", "A dog .", "   ")])
    with pytest.raises(DatasetError, match=r"dataset_flickr8k\.json: image entry #0 \(a\.jpg\): sentence #1 has empty caption text"):
        load_karpathy(path, tmp_path)


def test_unknown_split_value_is_an_error(tmp_path):
    path = _write(tmp_path / "dataset_flickr8k.json", [_image("a.jpg", "holdout", "A dog .")])
    with pytest.raises(DatasetError, match=r"\(a\.jpg\) has unknown split 'holdout'"):
        load_karpathy(path, tmp_path)


def test_not_json_and_not_a_split_file(tmp_path):
    broken = tmp_path / "dataset_coco.json"
    broken.write_text('{"images": [\n  {"filename": "a.jpg",,}\n]}')
    with pytest.raises(DatasetError, match=r"dataset_coco\.json:2: not valid JSON"):
        load_karpathy(broken, tmp_path)
    other = tmp_path / "captions_val2014.json"
    other.write_text(json.dumps({"annotations": []}))
    with pytest.raises(DatasetError, match=r"captions_val2014\.json: no 'images' list"):
        load_karpathy(other, tmp_path)
    with pytest.raises(FileNotFoundError, match="--dataset karpathy"):
        load_karpathy(tmp_path / "absent.json", tmp_path)

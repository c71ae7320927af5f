"""The Flickr8k reader on small fake folders in the official layout, and on the shared copy when present."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PIL import Image

from sat_course.datasets.errors import DatasetError
from sat_course.datasets.flickr8k import available_splits, load_flickr8k, read_token_file

SHARED_FLICKR8K = Path(__file__).resolve().parents[1].parent / "shared" / "flickr8k"


def _jpeg(path: Path, colour: tuple[int, int, int] = (200, 30, 30)) -> None:
    Image.new("RGB", (8, 6), colour).save(path, format="JPEG")


def _make_flickr8k(
    root: Path,
    images: dict[str, list[str]],
    splits: dict[str, list[str]],
    extra_token_lines: list[str] = (),
    missing_files: tuple[str, ...] = (),
) -> Path:
    """Write ``root`` in the official layout: images (except ``missing_files``), token file, split files."""
    image_dir, text_dir = root / "Flicker8k_Dataset", root / "Flickr8k_text"
    image_dir.mkdir(parents=True)
    text_dir.mkdir()
    lines = []
    for k, (name, captions) in enumerate(images.items()):
        if name not in missing_files:
            _jpeg(image_dir / name, (10 * k % 256, 60, 120))
        lines += [f"{name}#{i}\t{caption}" for i, caption in enumerate(captions)]
    lines += list(extra_token_lines)
    (text_dir / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    files = {"train": "Flickr_8k.trainImages.txt", "val": "Flickr_8k.devImages.txt", "test": "Flickr_8k.testImages.txt"}
    for split, names in splits.items():
        (text_dir / files[split]).write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    return root


IMAGES = {
    "1000_aaa.jpg": ["A dog runs on the grass .", "A brown dog .", "Dog running", "A dog outside .", "The dog plays ."],
    "2000_bbb.jpg": ["Two children play .", "Kids playing .", "Two kids .", "Children at a park .", "Two boys ."],
    "3000_ccc.jpg": ["A man on a bike .", "A cyclist .", "Man riding .", "Bike rider .", "A man ."],
}
QUIRK_LINES = [f"2258277193_586949ec62.jpg.1#{i}\tA caption of a missing image ." for i in range(5)]


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    return _make_flickr8k(
        tmp_path / "flickr8k",
        IMAGES,
        {"train": ["1000_aaa.jpg", "3000_ccc.jpg"], "val": ["2000_bbb.jpg"]},
        extra_token_lines=QUIRK_LINES,
    )


def test_records_of_each_split_with_their_captions_in_file_order(fake_root):
    train = load_flickr8k(fake_root, "train")
    assert [r.image_id for r in train] == ["1000_aaa.jpg", "3000_ccc.jpg"]
    assert train[0].captions == tuple(IMAGES["1000_aaa.jpg"])
    assert train[1].captions == tuple(IMAGES["3000_ccc.jpg"])
    assert all(r.split == "train" for r in train)
    assert train[0].image_path == fake_root / "Flicker8k_Dataset" / "1000_aaa.jpg"
    assert train[0].image_path.is_file()
    val = load_flickr8k(fake_root, "val")
    assert [(r.image_id, r.split, len(r.captions)) for r in val] == [("2000_bbb.jpg", "val", 5)]


def test_dev_is_an_alias_of_val(fake_root):
    assert load_flickr8k(fake_root, "dev") == load_flickr8k(fake_root, "val")
    assert load_flickr8k(fake_root, "dev")[0].split == "val"


def test_unknown_split_name_is_refused(fake_root):
    with pytest.raises(ValueError, match="unknown split"):
        load_flickr8k(fake_root, "training")


def test_available_splits_lists_only_present_split_files(fake_root, tmp_path):
    assert available_splits(fake_root) == ["train", "val"]
    (fake_root / "Flickr8k_text" / "Flickr_8k.testImages.txt").write_text("1000_aaa.jpg\n")
    assert available_splits(fake_root) == ["train", "val", "test"]
    assert available_splits(tmp_path / "nowhere") == []


def test_missing_test_split_file_is_a_dataset_error_naming_it(fake_root):
    with pytest.raises(DatasetError, match=r"Flickr_8k\.testImages\.txt: split file not found"):
        load_flickr8k(fake_root, "test")


def test_quirk_lines_are_skipped_with_one_warning_that_counts_them(fake_root, caplog):
    with caplog.at_level(logging.WARNING, logger="sat_course.datasets.flickr8k"):
        records = load_flickr8k(fake_root, "train")
    assert all(len(r.captions) == 5 for r in records)
    assert all("missing image" not in c for r in records for c in r.captions)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "skipped 5 caption lines" in message
    assert "1 images" in message
    assert "2258277193_586949ec62.jpg.1" in message
    assert "Flickr8k.token.txt" in message


def test_no_warning_when_every_caption_names_an_image(tmp_path, caplog):
    root = _make_flickr8k(tmp_path / "f", IMAGES, {"train": list(IMAGES)})
    with caplog.at_level(logging.WARNING, logger="sat_course.datasets.flickr8k"):
        assert len(load_flickr8k(root, "train")) == 3
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_blank_lines_and_crlf_endings_are_tolerated(tmp_path):
    root = _make_flickr8k(tmp_path / "f", IMAGES, {"train": ["1000_aaa.jpg"]})
    token = root / "Flickr8k_text" / "Flickr8k.token.txt"
    token.write_bytes(token.read_bytes().replace(b"\n", b"\r\n\r\n"))
    assert load_flickr8k(root, "train")[0].captions == tuple(IMAGES["1000_aaa.jpg"])


@pytest.mark.parametrize(
    "bad_line",
    [
        "1000_aaa.jpg#5 no tab between key and caption",  # no tab
        "1000_aaa.jpg\tno hash in the key",  # no '#'
        "1000_aaa.jpg#x\ta caption with a non-numeric index",
        "#0\ta caption with no image name",
    ],
)
def test_malformed_caption_line_names_file_and_line(tmp_path, bad_line):
    root = _make_flickr8k(tmp_path / "f", IMAGES, {"train": ["1000_aaa.jpg"]}, extra_token_lines=[bad_line])
    bad_number = sum(len(c) for c in IMAGES.values()) + 1  # the line after all good ones
    with pytest.raises(DatasetError, match="malformed caption line") as info:
        load_flickr8k(root, "train")
    assert f"Flickr8k.token.txt:{bad_number}:" in str(info.value)


def test_empty_caption_names_file_and_line(tmp_path):
    images = {**IMAGES, "2000_bbb.jpg": ["Two children play .", "   "]}  # the 7th line overall
    root = _make_flickr8k(tmp_path / "f", images, {"train": ["1000_aaa.jpg"]})
    with pytest.raises(DatasetError, match="empty caption") as info:
        load_flickr8k(root, "train")
    assert "Flickr8k.token.txt:7:" in str(info.value)
    assert "2000_bbb.jpg" in str(info.value)


def test_split_file_naming_an_image_without_captions_names_split_file_and_line(tmp_path):
    root = _make_flickr8k(tmp_path / "f", IMAGES, {"train": ["1000_aaa.jpg", "3000_ccc.jpg", "9999_zzz.jpg"]})
    _jpeg(root / "Flicker8k_Dataset" / "9999_zzz.jpg")  # the file exists; its captions do not
    with pytest.raises(DatasetError, match="has no captions") as info:
        load_flickr8k(root, "train")
    assert "Flickr_8k.trainImages.txt:3:" in str(info.value)
    assert "9999_zzz.jpg" in str(info.value)


def test_split_file_naming_an_image_whose_file_is_missing(tmp_path):
    # the image has captions, its file does not exist: the message must say the file is missing
    root = _make_flickr8k(tmp_path / "f", IMAGES, {"val": ["2000_bbb.jpg", "3000_ccc.jpg"]}, missing_files=("3000_ccc.jpg",))
    with pytest.raises(DatasetError, match="is missing") as info:
        load_flickr8k(root, "val")
    message = str(info.value)
    assert "Flickr_8k.devImages.txt:2:" in message
    assert "3000_ccc.jpg" in message
    assert "no captions" not in message


def test_split_file_naming_a_directory_instead_of_an_image_file(tmp_path):
    root = _make_flickr8k(tmp_path / "f", IMAGES, {"train": ["1000_aaa.jpg"]}, missing_files=("1000_aaa.jpg",))
    (root / "Flicker8k_Dataset" / "1000_aaa.jpg").mkdir()  # listed by the folder, but not a file
    with pytest.raises(DatasetError, match="is missing") as info:
        load_flickr8k(root, "train")
    assert "Flickr_8k.trainImages.txt:1:" in str(info.value)


def test_a_folder_not_in_the_layout_is_a_dataset_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="official layout"):
        load_flickr8k(tmp_path / "empty", "train")
    with pytest.raises(DatasetError, match="official layout"):
        load_flickr8k(tmp_path / "does-not-exist", "train")


def test_read_token_file_without_image_folder_keeps_every_line(tmp_path):
    token = tmp_path / "t.txt"
    token.write_text("a.jpg#0\tOne .\na.jpg#1\tTwo .\nb.jpg.1#0\tThree .\n")
    assert read_token_file(token, tmp_path / "absent") == {"a.jpg": ["One .", "Two ."], "b.jpg.1": ["Three ."]}


@pytest.mark.skipif(not (SHARED_FLICKR8K / "Flickr8k_text" / "Flickr8k.token.txt").is_file(),
                    reason=f"the shared Flickr8k copy is not at {SHARED_FLICKR8K}")
def test_real_shared_flickr8k(caplog):
    with caplog.at_level(logging.WARNING, logger="sat_course.datasets.flickr8k"):
        train = load_flickr8k(SHARED_FLICKR8K, "train")
    quirk = [r for r in caplog.records if "2258277193_586949ec62.jpg.1" in r.getMessage()]
    assert len(quirk) == 1 and "skipped 5 caption lines naming 1 images" in quirk[0].getMessage()
    val = load_flickr8k(SHARED_FLICKR8K, "dev")
    assert len(train) == 6000 and len(val) == 1000
    assert len({r.image_id for r in train}) == 6000
    assert not {r.image_id for r in train} & {r.image_id for r in val}
    assert all(len(r.captions) == 5 for r in train + val)
    assert all(r.image_path is not None and r.image_path.suffix == ".jpg" for r in train[:50] + val[:50])
    assert all(r.image_path.is_file() for r in train[:20] + val[:20])
    assert available_splits(SHARED_FLICKR8K) == ["train", "val"]
    with pytest.raises(DatasetError, match="split file not found"):
        load_flickr8k(SHARED_FLICKR8K, "test")

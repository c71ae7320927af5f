"""Feature caches: values equal to the encoder's, reuse, resume after an interruption, bad files, mismatches."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from sat_course.datasets.errors import DatasetError
from sat_course.encoders import IMAGENET_MEAN, IMAGENET_STD, AnnotationEncoder, EncoderSpec, normalise, preprocessing, resize_and_crop
from sat_course.features import CacheMismatchError, cache_dir_for, extract_features, open_cache
from sat_course.records import CaptionedImage

SPEC = EncoderSpec("mobilenet_v2", layer="last", weights=None, input_size=64)  # 2x2 grid of 1280: L=4, D=1280


def _calibrated(spec: EncoderSpec) -> AnnotationEncoder:
    """A randomly initialised encoder whose batch-norm statistics are set from one random batch.

    Straight from initialisation MobileNetV2's activations shrink to ~1e-9, below float16's range;
    with calibrated statistics they are of order 1, so float16 caches can be compared with the encoder.
    """
    torch.manual_seed(0)
    encoder = AnnotationEncoder(spec)
    for module in encoder.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # cumulative average: after one batch, exactly that batch's statistics
            module.reset_running_stats()
    encoder.train()
    with torch.no_grad():
        encoder(torch.randn(4, 3, spec.input_size, spec.input_size))
    return encoder.eval()


@pytest.fixture(scope="module")
def encoder() -> AnnotationEncoder:
    return _calibrated(SPEC)


def _records(folder: Path, n: int = 5) -> list[CaptionedImage]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    records = []
    for i in range(n):
        path = folder / f"img{i}.jpg"
        pixels = rng.integers(0, 256, size=(48 + 4 * i, 40, 3), dtype=np.uint8)  # various sizes, not square
        Image.fromarray(pixels).save(path, format="JPEG")
        records.append(CaptionedImage(path.name, path, ("a caption",), "train"))
    return records


def _direct(encoder: AnnotationEncoder, records: list[CaptionedImage]) -> np.ndarray:
    """The encoder run by hand on the preprocessed images, outside the cache machinery."""
    transform = preprocessing(SPEC.input_size)
    images = []
    for r in records:
        with Image.open(r.image_path) as image:
            images.append(transform(image.convert("RGB")))
    with torch.no_grad():
        return encoder(torch.stack(images).contiguous()).float().numpy()


def _extract(records, encoder, directory, **kwargs):
    kwargs.setdefault("batch_size", 2)
    kwargs.setdefault("num_workers", 0)
    return extract_features(records, encoder, directory, "train", progress=False, **kwargs)


@pytest.mark.parametrize("dtype, rtol", [("float16", 2e-3), ("float32", 1e-4)])
def test_features_have_shape_n_l_d_and_equal_the_encoder_output(tmp_path, encoder, dtype, rtol):
    records = _records(tmp_path / "images")
    cache = _extract(records, encoder, tmp_path / "cache", dtype=dtype)
    assert cache.features.shape == (5, SPEC.grid**2, SPEC.feature_dim) == (5, 4, 1280)
    assert cache.features.dtype == np.dtype(dtype)
    assert isinstance(cache.features, np.memmap)
    assert cache.image_ids == [r.image_id for r in records]
    assert cache.row("img3.jpg") == 3
    expected = _direct(encoder, records)
    scale = np.abs(expected).max()
    assert 0.1 < scale < 1e3  # of order 1: float16 keeps it
    np.testing.assert_allclose(cache.features.astype(np.float32), expected, rtol=rtol, atol=rtol * scale)
    meta = json.loads((tmp_path / "cache" / "train.json").read_text())
    assert meta["done"] == 5 and meta["dtype"] == dtype and meta["shape"] == [5, 4, 1280]
    assert meta["encoder"] == SPEC.to_dict()


def test_features_with_one_worker_equal_those_without(tmp_path, encoder):
    records = _records(tmp_path / "images", n=3)
    plain = _extract(records, encoder, tmp_path / "c0", num_workers=0)
    worker = _extract(records, encoder, tmp_path / "c1", num_workers=1)
    np.testing.assert_array_equal(np.asarray(plain.features), np.asarray(worker.features))


def _extract_when_released(records: list[CaptionedImage], encoder: AnnotationEncoder, directory: Path, start: Any) -> None:
    start.wait()
    _extract(records, encoder, directory, batch_size=1)


def test_two_processes_asking_for_one_cache_at_once_both_get_it_whole(tmp_path, encoder):
    """Notebooks run side by side (pytest -n, two JupyterLab tabs) ask for the same cache: one process fills it, the
    other waits and reuses it. Unlocked, they overwrote each other's progress file and one failed renaming it."""
    records = _records(tmp_path / "images", n=20)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    workers = [context.Process(target=_extract_when_released, args=(records, encoder, tmp_path / "cache", start)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [worker.exitcode for worker in workers] == [0, 0]
    shared, alone = open_cache(tmp_path / "cache", "train", SPEC).features, _extract(records, encoder, tmp_path / "alone", batch_size=1).features
    np.testing.assert_allclose(shared.astype(np.float32), alone.astype(np.float32), rtol=2e-3, atol=2e-3 * np.abs(alone).max())  # float16


def test_a_complete_cache_is_reused_without_running_the_encoder(tmp_path, encoder, monkeypatch):
    records = _records(tmp_path / "images", n=3)
    first = np.array(_extract(records, encoder, tmp_path / "cache").features)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the encoder ran although the cache is complete")

    monkeypatch.setattr(encoder, "forward", must_not_run)
    again = _extract(records, encoder, tmp_path / "cache")
    np.testing.assert_array_equal(np.asarray(again.features), first)


def test_an_interrupted_extraction_resumes_where_it_stopped(tmp_path, encoder, monkeypatch):
    records = _records(tmp_path / "images", n=5)
    clean = np.array(_extract(records, encoder, tmp_path / "clean").features)

    real_forward = encoder.forward
    seen: list[int] = []

    def dies_after_first_batch(images):
        if seen:
            raise KeyboardInterrupt("killed")
        seen.append(len(images))
        return real_forward(images)

    monkeypatch.setattr(encoder, "forward", dies_after_first_batch)
    with pytest.raises(KeyboardInterrupt):
        _extract(records, encoder, tmp_path / "cache")
    meta = json.loads((tmp_path / "cache" / "train.json").read_text())
    assert meta["done"] == 2  # one batch of two
    with pytest.raises(CacheMismatchError, match="incomplete"):
        open_cache(tmp_path / "cache", "train", SPEC)

    computed: list[int] = []

    def counting(images):
        computed.append(len(images))
        return real_forward(images)

    monkeypatch.setattr(encoder, "forward", counting)
    resumed = _extract(records, encoder, tmp_path / "cache")
    assert sum(computed) == 3  # only images 2, 3, 4
    np.testing.assert_allclose(np.asarray(resumed.features, dtype=np.float32), clean.astype(np.float32), rtol=1e-3, atol=1e-3)
    assert json.loads((tmp_path / "cache" / "train.json").read_text())["done"] == 5


@pytest.mark.parametrize("num_workers", [0, 1])
def test_a_corrupt_jpeg_is_a_short_dataset_error_naming_the_file(tmp_path, encoder, num_workers):
    records = _records(tmp_path / "images", n=3)
    bad = tmp_path / "images" / "img1.jpg"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes())
    with pytest.raises(DatasetError) as info:
        _extract(records, encoder, tmp_path / "cache", num_workers=num_workers)
    message = str(info.value)
    assert message.startswith(f"{bad}: cannot read image")
    assert "Traceback" not in message and "DataLoader" not in message and "worker" not in message.lower()
    assert len(message.splitlines()) == 1
    assert "img0.jpg" not in message and "img2.jpg" not in message


def test_a_cache_made_with_other_settings_is_refused_naming_the_json(tmp_path, encoder):
    records = _records(tmp_path / "images", n=2)
    _extract(records, encoder, tmp_path / "cache", dtype="float16")
    meta_path = tmp_path / "cache" / "train.json"

    other_layer = AnnotationEncoder(EncoderSpec("mobilenet_v2", layer="expand14", weights=None, input_size=64))
    with pytest.raises(CacheMismatchError, match="encoder") as info:
        _extract(records, other_layer, tmp_path / "cache", dtype="float16")
    assert str(meta_path) in str(info.value)

    with pytest.raises(CacheMismatchError, match="dtype") as info:
        _extract(records, encoder, tmp_path / "cache", dtype="float32")
    assert str(meta_path) in str(info.value)

    with pytest.raises(CacheMismatchError, match="dtype") as info:
        open_cache(tmp_path / "cache", "train", SPEC, dtype="float32")
    assert str(meta_path) in str(info.value)

    other_size = EncoderSpec("mobilenet_v2", layer="last", weights=None, input_size=96)
    with pytest.raises(CacheMismatchError) as info:
        open_cache(tmp_path / "cache", "train", other_size)
    assert str(meta_path) in str(info.value)

    with pytest.raises(CacheMismatchError, match="image list") as info:
        _extract(list(reversed(records)), encoder, tmp_path / "cache")
    assert str(meta_path) in str(info.value)

    # the matching settings still open it
    assert open_cache(tmp_path / "cache", "train", SPEC, "float16").features.shape == (2, 4, 1280)


def test_open_cache_of_a_missing_split_and_bad_arguments(tmp_path, encoder):
    with pytest.raises(FileNotFoundError, match="no feature cache"):
        open_cache(tmp_path, "val", SPEC)
    records = _records(tmp_path / "images", n=1)
    with pytest.raises(ValueError, match="dtype"):
        _extract(records, encoder, tmp_path / "cache", dtype="bfloat16")
    with pytest.raises(ValueError, match="no images"):
        _extract([], encoder, tmp_path / "cache")
    with pytest.raises(ValueError, match="images passed as an array"):
        _extract([CaptionedImage("x", None, ("c",), "train")], encoder, tmp_path / "cache")


def test_flipped_features_are_those_of_the_mirrored_images(tmp_path, encoder):
    """Flip augmentation's cache: the features of each image mirrored left to right, stored as its own split.
    The truth is independent of the flip option: the same encoder on JPEG-free mirrored copies of the pixels."""
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, size=(3, 64, 64, 3), dtype=np.uint8)
    records = [CaptionedImage(f"s{i}", None, ("a caption",), "train") for i in range(3)]
    flipped = _extract(records, encoder, tmp_path / "cache", images=pixels, flip=True)
    mirrored = _extract(records, encoder, tmp_path / "truth", images=np.ascontiguousarray(pixels[:, :, ::-1]))
    plain = _extract(records, encoder, tmp_path / "cache", images=pixels)
    np.testing.assert_array_equal(np.asarray(flipped.features), np.asarray(mirrored.features))
    assert not np.allclose(np.asarray(flipped.features), np.asarray(plain.features), atol=1e-2)
    assert (tmp_path / "cache" / "train-flipped.npy").is_file() and (tmp_path / "cache" / "train.npy").is_file()
    meta = json.loads((tmp_path / "cache" / "train-flipped.json").read_text())
    assert meta["preprocessing"]["horizontal_flip"] is True
    assert "horizontal_flip" not in json.loads((tmp_path / "cache" / "train.json").read_text())["preprocessing"]
    with pytest.raises(CacheMismatchError, match="preprocessing"):
        open_cache(tmp_path / "cache", "train-flipped", SPEC, image_ids=["s0", "s1", "s2"], crop=False)


def test_resize_and_crop_keeps_the_border_only_when_the_whole_image_is_asked_for():
    """A 100x50 photo whose 10 leftmost columns are red: the paper's crop (short side to 37, centre 32x32 of
    74x37) starts 21 columns in and loses them; the whole image resized to 32x32 keeps them in columns 0-2."""
    pixels = np.full((50, 100, 3), 255, dtype=np.uint8)
    pixels[:, :10] = (255, 0, 0)
    photo = Image.fromarray(pixels)
    cropped, whole = np.asarray(resize_and_crop(32)(photo)), np.asarray(resize_and_crop(32, crop=False)(photo))
    assert cropped.shape == whole.shape == (32, 32, 3)
    assert (cropped[:, :, 1] > 250).all()  # white everywhere: no red left
    assert (whole[:, :2, 1] < 5).all() and (whole[:, 5:, 1] > 250).all()


def test_normalise_standardises_each_channel_with_the_imagenet_statistics():
    """Known values: a pixel (255, 0, 51) is (1, 0, 0.2) in [0, 1], then (x - mean) / std channel by channel."""
    photo = Image.new("RGB", (3, 2), (255, 0, 51))
    tensor = normalise()(photo)
    assert tensor.shape == (3, 2, 3)
    expected = [(v - m) / s for v, m, s in zip((1.0, 0.0, 0.2), IMAGENET_MEAN, IMAGENET_STD)]
    np.testing.assert_allclose(tensor[:, 0, 0].numpy(), expected, rtol=1e-6)
    assert torch.equal(tensor, tensor[:, :1, :1].expand(3, 2, 3))


def test_whole_image_features_are_those_of_the_photo_resized_to_a_square(tmp_path, encoder):
    """``whole_image``: the truth is the encoder on each photo resized by PIL to 64x64 and normalised by hand."""
    records = _records(tmp_path / "images", n=3)
    whole = _extract(records, encoder, tmp_path / "whole", dtype="float32", whole_image=True)
    mean, std = np.array(IMAGENET_MEAN, dtype=np.float32), np.array(IMAGENET_STD, dtype=np.float32)
    batch = []
    for r in records:
        with Image.open(r.image_path) as image:
            pixels = np.asarray(image.convert("RGB").resize((64, 64), Image.BILINEAR), dtype=np.float32) / 255
        batch.append(torch.from_numpy(((pixels - mean) / std).transpose(2, 0, 1).copy()))
    with torch.no_grad():
        expected = encoder(torch.stack(batch)).numpy()
    np.testing.assert_allclose(np.asarray(whole.features), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    cropped = _extract(records, encoder, tmp_path / "cropped", dtype="float32")
    assert not np.allclose(np.asarray(whole.features), np.asarray(cropped.features), atol=1e-2)
    assert json.loads((tmp_path / "whole" / "train.json").read_text())["preprocessing"]["resize"] == [64, 64]
    with pytest.raises(CacheMismatchError, match="preprocessing"):
        open_cache(tmp_path / "whole", "train", SPEC, "float32")  # asked for the paper's crop
    assert cache_dir_for(tmp_path, "flickr8k", SPEC, "float16", whole_image=True).name == "mobilenet_v2-last-64-float16-whole"
    assert cache_dir_for(tmp_path, "flickr8k", SPEC, "float16").name == "mobilenet_v2-last-64-float16"

"""On-disk feature caches: annotation vectors of every image of a split, computed once and memory-mapped.

A cache is two files in ``<cache_dir>/<dataset>/<encoder>-<layer>-<size>-<dtype>/`` (``...-whole/`` for photos
resized whole instead of centre cropped):

- ``<split>.npy``: an array (N, L, D) in float16 or float32, opened with ``np.load(mmap_mode="r")``;
- ``<split>.json``: the encoder, weights, layer, preprocessing, dtype, the image ids in order and how many
  rows are done. Extraction writes rows in order and records progress as it goes, so an interrupted run
  continues where it stopped. Opening a cache made with other settings raises :class:`CacheMismatchError`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from .datasets.errors import DatasetError
from .encoders import AnnotationEncoder, EncoderSpec, preprocessing, preprocessing_description
from .locking import exclusive_lock
from .records import CaptionedImage

FORMAT_VERSION = 1


class CacheMismatchError(ValueError):
    """A feature cache was made with other settings than the ones asked for."""


def cache_dir_for(cache_root: str | Path, dataset: str, spec: EncoderSpec, dtype: str, whole_image: bool = False) -> Path:
    """``<cache_root>/<dataset>/<encoder>-<layer>-<size>-<dtype>``, with ``-whole`` for uncropped photos."""
    return Path(cache_root) / dataset / (f"{spec.name}-{spec.layer}-{spec.input_size}-{dtype}" + ("-whole" if whole_image else ""))


def cache_metadata(spec: EncoderSpec, dtype: str, image_ids: list[str], crop: bool = True, flip: bool = False) -> dict:
    """What a cache records about how it was made (compared field by field when it is opened)."""
    return {
        "format": FORMAT_VERSION,
        "encoder": spec.to_dict(),
        "preprocessing": preprocessing_description(spec.input_size, crop, flip),
        "dtype": dtype,
        "shape": [len(image_ids), spec.grid**2, spec.feature_dim],
        "image_ids": image_ids,
    }


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _compare(found: dict, expected: dict, path: Path) -> None:
    for key in ("format", "encoder", "preprocessing", "dtype", "shape", "image_ids"):
        if json.loads(json.dumps(found.get(key))) != json.loads(json.dumps(expected[key])):
            what = "image list" if key == "image_ids" else f"{key}: cache has {found.get(key)}, asked for {expected[key]}"
            raise CacheMismatchError(f"{path}: feature cache was made with other settings ({what}); delete it or choose another cache folder")


class _Images(Dataset):
    """Decoded, preprocessed images (files, or an in-memory uint8 array); a bad file yields its error
    message instead of raising inside a DataLoader worker."""

    def __init__(self, paths: list[Path], input_size: int, crop: bool, arrays: np.ndarray | None = None, flip: bool = False) -> None:
        self.paths, self.arrays, self.transform = paths, arrays, preprocessing(input_size, crop, flip)

    def __len__(self) -> int:
        return len(self.paths) if self.arrays is None else len(self.arrays)

    def __getitem__(self, i: int) -> tuple[torch.Tensor | None, str]:
        if self.arrays is not None:
            return self.transform(Image.fromarray(self.arrays[i])), ""
        path = self.paths[i]
        try:
            with Image.open(path) as image:
                return self.transform(image.convert("RGB")), ""
        except (OSError, UnidentifiedImageError, ValueError) as error:
            return None, f"{path}: cannot read image ({error})"


def _collate(items: list) -> tuple[torch.Tensor | None, list[str]]:
    errors = [e for _, e in items if e]
    if errors:
        return None, errors
    return torch.stack([x for x, _ in items]), []


@dataclass
class FeatureCache:
    """A memory-mapped (N, L, D) array of annotation vectors with the image ids of its rows."""

    path: Path
    features: np.ndarray
    image_ids: list[str]
    metadata: dict

    def __len__(self) -> int:
        return len(self.image_ids)

    def row(self, image_id: str) -> int:
        return self.image_ids.index(image_id)


def open_cache(
    directory: str | Path, split: str, spec: EncoderSpec, dtype: str = "float16", image_ids: list[str] | None = None, crop: bool = True, flip: bool = False
) -> FeatureCache:
    """Open a complete cache, checking it was made with ``spec``, ``dtype`` (and ``image_ids`` when given)."""
    directory = Path(directory)
    meta_path, array_path = directory / f"{split}.json", directory / f"{split}.npy"
    if not meta_path.is_file() or not array_path.is_file():
        raise FileNotFoundError(f"{directory}: no feature cache for split {split!r}; run feature extraction first")
    with open(meta_path) as f:
        meta = json.load(f)
    expected = cache_metadata(spec, dtype, image_ids if image_ids is not None else meta.get("image_ids", []), crop, flip)
    _compare(meta, expected, meta_path)
    if meta.get("done") != len(meta["image_ids"]):
        raise CacheMismatchError(f"{meta_path}: cache is incomplete ({meta.get('done')} of {len(meta['image_ids'])} images); run extraction again to finish it")
    return FeatureCache(array_path, np.load(array_path, mmap_mode="r"), list(meta["image_ids"]), meta)


@torch.inference_mode()
def extract_features(
    records: list[CaptionedImage],
    encoder: AnnotationEncoder,
    directory: str | Path,
    split: str,
    dtype: str = "float16",
    batch_size: int = 32,
    num_workers: int = 2,
    device: str | torch.device = "cpu",
    progress: bool = True,
    images: np.ndarray | None = None,
    flip: bool = False,
    whole_image: bool = False,
) -> FeatureCache:
    """Compute (or finish computing) the cache of ``records``; a complete matching cache is reused as is.

    Images are read from the records' files, resized and centre cropped as the paper (``whole_image``:
    resized whole to a square instead), or taken from ``images`` (N, H, W, 3) uint8 when given (the
    synthetic scenes: always resized whole). ``flip`` mirrors each image first; its cache is the split
    ``<split>-flipped``.
    """
    if dtype not in ("float16", "float32"):
        raise ValueError("dtype must be float16 or float32")
    if not records:
        raise ValueError("no images to extract features from")
    if images is None and any(r.image_path is None for r in records):
        raise ValueError("records without image files need their images passed as an array")
    if images is not None and len(images) != len(records):
        raise ValueError(f"{len(images)} images for {len(records)} records")
    crop = images is None and not whole_image
    spec = encoder.spec
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    split = f"{split}-flipped" if flip else split
    meta_path, array_path = directory / f"{split}.json", directory / f"{split}.npy"
    ids = [r.image_id for r in records]
    meta = cache_metadata(spec, dtype, ids, crop, flip)
    # Two processes asking for one cache (notebooks run side by side): the second waits, then finds it complete.
    with exclusive_lock(directory / f"{split}.lock"):
        done = 0
        if meta_path.is_file() and array_path.is_file():
            with open(meta_path) as f:
                found = json.load(f)
            _compare(found, meta, meta_path)
            done = int(found.get("done", 0))
            array = np.load(array_path, mmap_mode="r+")
        else:
            array = np.lib.format.open_memmap(array_path, mode="w+", dtype=dtype, shape=tuple(meta["shape"]))
            _write_json_atomic(meta_path, {**meta, "done": 0})
        if done < len(ids):
            encoder = encoder.to(device).eval().to(memory_format=torch.channels_last)
            loader = DataLoader(
                _Images([r.image_path for r in records[done:]], spec.input_size, crop, None if images is None else images[done:], flip),
                batch_size=batch_size, num_workers=num_workers, collate_fn=_collate,
                pin_memory=torch.device(device).type == "cuda", persistent_workers=False,
            )
            bar = tqdm(total=len(ids), initial=done, desc=f"features {split}", unit="img", disable=not progress)
            for images, errors in loader:
                if errors:
                    array.flush()
                    raise DatasetError("; ".join(errors))
                images = images.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
                rows = encoder(images).float().cpu().numpy()
                array[done : done + len(rows)] = rows.astype(dtype)
                done += len(rows)
                array.flush()
                _write_json_atomic(meta_path, {**meta, "done": done})
                bar.update(len(rows))
            bar.close()
        del array
    return open_cache(directory, split, spec, dtype, ids, crop, flip)

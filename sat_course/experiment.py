"""From a dataset name and encoder settings to what training needs: records, vocabulary, model inputs, model.

The command line and the notebooks both go through here, so a notebook and ``python -m sat_course train``
build the same thing from the same settings.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import torch

from .data import ModelInputs
from .datasets.errors import DatasetError
from .datasets.flickr8k import load_flickr8k
from .datasets.karpathy import load_karpathy
from .datasets.synthetic import SyntheticScenes, make_synthetic_scenes
from .encoders import AnnotationEncoder, EncoderSpec, build_encoder
from .features import cache_dir_for, extract_features
from .model import AttentionDecoder, CaptionModel, DecoderConfig
from .records import CaptionedImage, canonical_split
from .text import Vocabulary

DATASETS = ("synthetic", "flickr8k", "flickr30k", "coco")
SCENE_SIZE = 64  # side of the synthetic scenes in pixels
# The synthetic scenes are encoded as the paper encodes photos, by a fixed ImageNet CNN: MobileNetV2's
# stride-16 layer on the scene resized to 128 px gives an 8x8 grid of 576 features.
SYNTHETIC_ENCODER = EncoderSpec("mobilenet_v2", "expand14", "IMAGENET1K_V1", 128)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    """``$SAT_COURSE_DATA`` or the project's git-ignored ``data/`` folder."""
    return Path(os.environ.get("SAT_COURSE_DATA", PROJECT_ROOT / "data"))


def find_flickr8k() -> Path | None:
    """A Flickr8k folder in the official layout: ``$SAT_COURSE_FLICKR8K``, ``data/flickr8k`` or ``../shared/flickr8k``."""
    candidates = [os.environ.get("SAT_COURSE_FLICKR8K"), default_data_dir() / "flickr8k", PROJECT_ROOT.parent / "shared" / "flickr8k"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "Flickr8k_text" / "Flickr8k.token.txt").is_file():
            return Path(candidate)
    return None


@dataclass(frozen=True)
class DataConfig:
    """Which data, read how, encoded by which CNN."""

    dataset: str = "synthetic"
    root: str | None = None  # dataset folder (Flickr8k layout, or the images of Flickr30k/COCO)
    karpathy_json: str | None = None  # Flickr30k / COCO: Karpathy's split file
    encoder: EncoderSpec = SYNTHETIC_ENCODER
    feature_dtype: str = "float16"
    cache_dir: str | None = None  # default: data/cache/features
    whole_image: bool = False  # photos: resize the whole image to a square instead of the paper's centre crop
    min_count: int = 5
    max_length: int = 50
    limit: int | None = None  # use only the first images of each split (quick runs, CI)
    synthetic_sizes: tuple[int, int, int] = (4000, 500, 500)
    seed: int = 0  # of the synthetic scenes

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}: choose one of {', '.join(DATASETS)}")
        if self.dataset != "synthetic" and self.encoder.name == "small_cnn":
            raise ValueError("small_cnn is for the synthetic scenes; use mobilenet_v2, vgg19 or resnet101 for photos")
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be at least 1")
        if self.whole_image and self.dataset == "synthetic":
            raise ValueError("whole_image is for photos: the synthetic scenes are always resized whole")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DataConfig:
        data = dict(data)
        data["encoder"] = EncoderSpec(**data["encoder"])
        data["synthetic_sizes"] = tuple(data["synthetic_sizes"])
        return cls(**data)


@lru_cache(maxsize=4)
def synthetic_scenes(sizes: tuple[int, int, int], seed: int, image_size: int) -> SyntheticScenes:
    return make_synthetic_scenes(*sizes, image_size=image_size, seed=seed)


def load_records(config: DataConfig, split: str) -> list[CaptionedImage]:
    split = canonical_split(split)
    if config.dataset == "synthetic":
        records = synthetic_scenes(config.synthetic_sizes, config.seed, SCENE_SIZE).subset(split).records
    elif config.dataset == "flickr8k":
        root = Path(config.root) if config.root else find_flickr8k()
        if root is None:
            raise DatasetError("no Flickr8k folder found: pass --root, set SAT_COURSE_FLICKR8K, or run `python -m sat_course download --dataset flickr8k`")
        records = load_flickr8k(root, split)
    else:
        if not config.karpathy_json or not config.root:
            raise DatasetError(f"{config.dataset} needs --karpathy-json (dataset_{config.dataset}.json) and --root (the image folder)")
        records = load_karpathy(config.karpathy_json, config.root, split)
    return records[: config.limit] if config.limit else records


def build_vocabulary(config: DataConfig, train_records: list[CaptionedImage]) -> Vocabulary:
    return Vocabulary.build((c for r in train_records for c in r.captions), config.min_count, config.max_length)


def model_inputs(
    config: DataConfig, split: str, records: list[CaptionedImage], device: str | torch.device = "cpu", progress: bool = True,
    num_workers: int = 2, flipped: bool = False,
) -> ModelInputs:
    """Cached features, extracted first when missing; for ``small_cnn`` (trained with the decoder) the images.

    ``flipped`` also extracts the features of the mirrored images (flip augmentation), for photos only: the
    synthetic scenes' captions say which object is left of which.
    """
    split = canonical_split(split)
    if flipped and config.dataset == "synthetic":
        raise ValueError("flip augmentation is for photos: the synthetic scenes' captions name left and right")
    ids = [r.image_id for r in records]
    images = None
    if config.dataset == "synthetic":
        images = synthetic_scenes(config.synthetic_sizes, config.seed, SCENE_SIZE).subset(split).images[: len(records)]
        if config.encoder.name == "small_cnn":
            return ModelInputs(images, ids, "images")
    cache_root = Path(config.cache_dir) if config.cache_dir else default_data_dir() / "cache" / "features"
    name = config.dataset + (f"-limit{config.limit}" if config.limit else "")
    if config.dataset == "synthetic":
        name += "-seed{}-{}-{}-{}".format(config.seed, *config.synthetic_sizes)
    directory = cache_dir_for(cache_root, name, config.encoder, config.feature_dtype, config.whole_image)
    encoder = AnnotationEncoder(config.encoder)
    extract = lambda flip: extract_features(records, encoder, directory, split, config.feature_dtype, device=device, progress=progress,
                                            num_workers=0 if images is not None else num_workers, images=images, flip=flip,
                                            whole_image=config.whole_image)
    cache = extract(False)
    return ModelInputs(cache.features, cache.image_ids, "features", extract(True).features if flipped else None)


def new_model(config: DataConfig, vocab: Vocabulary, **decoder_settings) -> CaptionModel:
    """A fresh model: decoder sized for the vocabulary and encoder; small_cnn is part of the model and trains with it."""
    decoder = AttentionDecoder(DecoderConfig(vocab_size=len(vocab), feature_dim=config.encoder.feature_dim, **decoder_settings))
    encoder = build_encoder("small_cnn", weights=None, input_size=config.encoder.input_size) if config.encoder.name == "small_cnn" else None
    return CaptionModel(decoder, encoder)


def synthetic_config(**overrides) -> DataConfig:
    """The synthetic scenes with the course's defaults (vocabulary of every word: min_count 1)."""
    return replace(DataConfig(dataset="synthetic", min_count=1), **overrides)


def flickr8k_config(input_size: int = 224, layer: str = "last", **overrides) -> DataConfig:
    """Flickr8k encoded by MobileNetV2 with ImageNet weights (the default photo setting of the course)."""
    return replace(DataConfig(dataset="flickr8k", encoder=EncoderSpec("mobilenet_v2", layer, "IMAGENET1K_V1", input_size)), **overrides)

"""CNN encoders that turn images into annotation vectors ``a`` of shape (B, L, D) (section 3.1.1).

The paper takes VGG-19's conv5_4 before max-pooling: 14x14x512 = 196 vectors of 512 at 224x224 input.
A conv layer before pooling keeps a grid of locations the decoder can attend to. Also here: ResNet-101's
last block, MobileNetV2 (the default of this course, the only ImageNet weights available offline) and a
small CNN trained from scratch on the synthetic scenes.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision import models, transforms

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# name -> {layer -> (channels D, stride)}; the first layer listed is the default.
ENCODER_LAYERS: dict[str, dict[str, tuple[int, int]]] = {
    "vgg19": {"conv5_4": (512, 16)},
    "resnet101": {"layer4": (2048, 32)},
    "mobilenet_v2": {"last": (1280, 32), "expand14": (576, 16), "block17": (320, 32)},
    "small_cnn": {"conv4": (128, 8)},
}
PRETRAINED_WEIGHTS = {"vgg19": "IMAGENET1K_V1", "resnet101": "IMAGENET1K_V2", "mobilenet_v2": "IMAGENET1K_V1", "small_cnn": None}


@dataclass(frozen=True)
class EncoderSpec:
    """Everything that determines the features an encoder produces; recorded with every feature cache."""

    name: str = "mobilenet_v2"
    layer: str | None = None  # None: the default layer of that encoder
    weights: str | None = "IMAGENET1K_V1"
    input_size: int = 224

    def __post_init__(self) -> None:
        if self.name not in ENCODER_LAYERS:
            raise ValueError(f"unknown encoder {self.name!r}: choose one of {', '.join(ENCODER_LAYERS)}")
        if self.layer is None:
            object.__setattr__(self, "layer", next(iter(ENCODER_LAYERS[self.name])))
        if self.layer not in ENCODER_LAYERS[self.name]:
            raise ValueError(f"encoder {self.name} has no layer {self.layer!r}: choose one of {', '.join(ENCODER_LAYERS[self.name])}")
        if self.input_size < 32 or self.input_size % self.stride:
            raise ValueError(f"input size {self.input_size} must be at least 32 and a multiple of {self.stride} for {self.name}")

    @property
    def feature_dim(self) -> int:
        return ENCODER_LAYERS[self.name][self.layer][0]

    @property
    def stride(self) -> int:
        return ENCODER_LAYERS[self.name][self.layer][1]

    @property
    def grid(self) -> int:
        """Side of the square grid of locations: L = grid ** 2."""
        return self.input_size // self.stride

    def to_dict(self) -> dict:
        return asdict(self)


def resize_and_crop(input_size: int = 224, crop: bool = True) -> transforms.Compose:
    """The picture the encoder sees, as a PIL image: as the paper, the short side resized (256 for 224) and
    the centre cropped; ``crop=False`` resizes the whole image to a square of ``input_size`` instead."""
    if crop:
        return transforms.Compose([transforms.Resize(round(input_size * 256 / 224)), transforms.CenterCrop(input_size)])
    return transforms.Compose([transforms.Resize((input_size, input_size))])


def normalise() -> transforms.Compose:
    """A PIL picture to the tensor ImageNet-trained CNNs expect: values in [0, 1], then per-channel standardised."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def preprocessing(input_size: int = 224, crop: bool = True, flip: bool = False) -> transforms.Compose:
    """:func:`resize_and_crop`, then :func:`normalise`.

    ``crop=False``: the synthetic scenes, whose objects may touch the border, and photos with ``--whole-image``.
    ``flip=True`` mirrors every image left to right (the features of flip augmentation).
    """
    mirror = [transforms.RandomHorizontalFlip(p=1.0)] if flip else []
    return transforms.Compose([resize_and_crop(input_size, crop), *mirror, normalise()])


def preprocessing_description(input_size: int, crop: bool = True, flip: bool = False) -> dict:
    resize = {"resize": round(input_size * 256 / 224), "center_crop": input_size} if crop else {"resize": [input_size, input_size]}
    return {**resize, **({"horizontal_flip": True} if flip else {}), "mean": IMAGENET_MEAN, "std": IMAGENET_STD}


def make_offline_weights_visible() -> None:
    """Copy checkpoints from ``$SAT_COURSE_WEIGHTS_DIR`` into torchvision's cache, so loads work offline.

    torchvision looks in ``torch.hub.get_dir()/checkpoints`` before downloading, and checks the file's hash.
    """
    source = os.environ.get("SAT_COURSE_WEIGHTS_DIR")
    if not source or not Path(source).is_dir():
        return
    target = Path(torch.hub.get_dir()) / "checkpoints"
    for checkpoint in Path(source).glob("*.pth"):
        if not (target / checkpoint.name).exists():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(checkpoint, target / checkpoint.name)


class SmallCNN(nn.Module):
    """Four 3x3 conv layers for 64x64 synthetic scenes: strides 2, 2, 2, 1 give an 8x8 grid of 128 features.

    Its receptive field (31 px) is small enough that each location describes a neighbourhood of the
    image, not the whole of it, so attention has something to choose between. GroupNorm rather than
    BatchNorm: it behaves the same in training and evaluation, and a batch of captions holds the same
    image several times, which skews batch statistics.
    """

    def __init__(self, channels: tuple[int, ...] = (32, 64, 128, 128), strides: tuple[int, ...] = (2, 2, 2, 1)) -> None:
        super().__init__()
        layers, previous = [], 3
        for out, stride in zip(channels, strides):
            layers += [nn.Conv2d(previous, out, 3, stride=stride, padding=1), nn.GroupNorm(8, out), nn.ReLU(inplace=True)]
            previous = out
        self.body = nn.Sequential(*layers)

    def forward(self, images: Tensor) -> Tensor:
        return self.body(images)


def _trunk(spec: EncoderSpec) -> nn.Module:
    """The convolutional part of the network, up to and including the chosen layer."""
    if spec.weights is not None:
        make_offline_weights_visible()
    try:
        if spec.name == "vgg19":
            # features[35] is the ReLU after conv5_4; features[36] the last max-pool, which we leave out.
            return models.vgg19(weights=spec.weights).features[:36]
        if spec.name == "resnet101":
            net = models.resnet101(weights=spec.weights)
            return nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4)
        if spec.name == "mobilenet_v2":
            features = models.mobilenet_v2(weights=spec.weights).features
            if spec.layer == "last":
                return features  # ends with the 1x1 conv to 1280 channels, before the classifier's pooling
            if spec.layer == "block17":
                return features[:18]  # the last inverted residual block's linear 320-channel output, before that 1x1 conv
            # expand14: blocks 0-13 (stride 16) and the 1x1 expansion of block 14, before its stride-2 depthwise conv
            return nn.Sequential(*features[:14], features[14].conv[0])
        return SmallCNN()
    except (RuntimeError, OSError) as error:
        if spec.weights is not None and ("download" in str(error).lower() or "urlopen" in str(error).lower() or isinstance(error, OSError)):
            raise RuntimeError(
                f"could not load the {spec.weights} weights of {spec.name}: no internet and no local copy. "
                "Put torchvision's checkpoint in $TORCH_HOME/hub/checkpoints or point SAT_COURSE_WEIGHTS_DIR at a folder "
                "holding it (see data/README.md), or use weights=None."
            ) from error
        raise


class AnnotationEncoder(nn.Module):
    """A CNN trunk whose output grid (B, D, H, W) is flattened to annotation vectors (B, L=H*W, D)."""

    def __init__(self, spec: EncoderSpec) -> None:
        super().__init__()
        self.spec = spec
        self.trunk = _trunk(spec)

    @property
    def feature_dim(self) -> int:
        return self.spec.feature_dim

    def forward(self, images: Tensor) -> Tensor:
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W), got {tuple(images.shape)}")
        grid = self.trunk(images)
        return grid.flatten(2).transpose(1, 2)


def build_encoder(name: str = "mobilenet_v2", layer: str | None = None, weights: str | None = "default", input_size: int = 224) -> AnnotationEncoder:
    """An encoder by name; ``weights="default"`` picks torchvision's ImageNet weights (none for small_cnn)."""
    if weights == "default":
        weights = PRETRAINED_WEIGHTS.get(name)
    return AnnotationEncoder(EncoderSpec(name, layer, weights, input_size))

"""Every encoder layer the course offers is a prefix of the torchvision ImageNet network it names: continuing the
network from the annotation grid gives that network's own output. Random weights (``weights=None``), so VGG-19 and
ResNet-101 are checked without their checkpoints."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision import models

from sat_course.encoders import ENCODER_LAYERS, AnnotationEncoder, EncoderSpec, build_encoder

LAYERS = [(name, layer) for name, layers in ENCODER_LAYERS.items() for layer in layers]


def _encoder(name: str, layer: str, size: int) -> AnnotationEncoder:
    """Random weights from seed 0: the same as those of the full network built from seed 0."""
    torch.manual_seed(0)
    return build_encoder(name, layer, weights=None, input_size=size).eval()


@pytest.mark.parametrize(("name", "layer"), LAYERS)
def test_annotations_have_the_documented_grid_and_depth(name, layer):
    size = 64 if name == "small_cnn" else 96
    encoder = _encoder(name, layer, size)
    spec = encoder.spec
    with torch.no_grad():
        a = encoder(torch.randn(2, 3, size, size))
    assert a.shape == (2, spec.grid**2, spec.feature_dim)
    assert spec.grid == size // spec.stride


def _mobilenet_head(net: nn.Module, grid: torch.Tensor) -> torch.Tensor:
    """MobileNetV2's classifier on a 1280-channel grid: global average pooling, then the linear layer."""
    return net.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(grid, 1), 1))


# (encoder, layer, the full torchvision network, the rest of that network from the layer's grid to its logits)
PREFIX_CASES = [
    ("vgg19", "conv5_4", models.vgg19, lambda net, g: net.classifier(torch.flatten(net.avgpool(net.features[36](g)), 1))),
    ("resnet101", "layer4", models.resnet101, lambda net, g: net.fc(torch.flatten(net.avgpool(g), 1))),
    ("mobilenet_v2", "last", models.mobilenet_v2, _mobilenet_head),
    ("mobilenet_v2", "expand14", models.mobilenet_v2,
     lambda net, g: _mobilenet_head(net, nn.Sequential(net.features[14].conv[1:], net.features[15:])(g))),
    ("mobilenet_v2", "block17", models.mobilenet_v2, lambda net, g: _mobilenet_head(net, net.features[18](g))),
]


@pytest.mark.parametrize(("name", "layer", "constructor", "rest"), PREFIX_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_the_layer_is_a_prefix_of_the_imagenet_network(name, layer, constructor, rest):
    assert (name, layer) in LAYERS
    torch.manual_seed(0)
    network = constructor(weights=None).eval()
    encoder = _encoder(name, layer, 64)
    first_conv = next(m for m in encoder.trunk.modules() if isinstance(m, nn.Conv2d))
    assert torch.equal(first_conv.weight, next(m for m in network.modules() if isinstance(m, nn.Conv2d)).weight)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        grid = encoder.trunk(x)
        assert torch.allclose(rest(network, grid), network(x), rtol=1e-4, atol=1e-5)
        assert torch.equal(encoder(x), grid.flatten(2).transpose(1, 2))


def test_every_layer_is_covered_by_the_prefix_test():
    covered = {(name, layer) for name, layer, _, _ in PREFIX_CASES}
    assert set(LAYERS) - {("small_cnn", "conv4")} == covered


def test_an_unknown_layer_or_an_input_off_the_stride_is_refused_by_name():
    with pytest.raises(ValueError, match="block17"):
        EncoderSpec("mobilenet_v2", layer="block18", weights=None)
    with pytest.raises(ValueError, match="multiple of 32"):
        EncoderSpec("mobilenet_v2", layer="block17", weights=None, input_size=100)

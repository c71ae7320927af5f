"""Attention figures as in the paper: each word's alpha map upsampled to the image and smoothed."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def upsample_attention(alpha: torch.Tensor | np.ndarray, grid: int, size: tuple[int, int], sigma: float | None = None) -> np.ndarray:
    """One word's alpha (L = grid*grid) as an (H, W) map: bilinear upsampling, then a Gaussian blur.

    The paper's figures upsample by 2^4 = 16 and smooth with a Gaussian; ``sigma`` defaults to a
    third of a grid cell.
    """
    alpha = torch.as_tensor(np.asarray(alpha), dtype=torch.float32).reshape(1, 1, grid, grid)
    H, W = size
    up = F.interpolate(alpha, size=(H, W), mode="bilinear", align_corners=False)
    sigma = sigma if sigma is not None else max(H, W) / grid / 3
    radius = max(1, int(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    up = F.conv2d(F.pad(up, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    up = F.conv2d(F.pad(up, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))
    return up[0, 0].numpy()


def attention_figure(image, words: list[str], alphas, betas=None, grid: int | None = None, columns: int = 5):
    """The image, then one panel per word with its attention map over the image (and beta in the title)."""
    image = np.asarray(image if not isinstance(image, Image.Image) else image.convert("RGB"))
    alphas = np.asarray(alphas)[: len(words)]
    grid = grid or int(round(math.sqrt(alphas.shape[-1])))
    panels = len(words) + 1
    rows = math.ceil(panels / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    axes.flat[0].imshow(image)
    axes.flat[0].set_title("image", fontsize=10)
    for k, word in enumerate(words):
        ax = axes.flat[k + 1]
        ax.imshow(image)
        ax.imshow(upsample_attention(alphas[k], grid, image.shape[:2]), cmap="gray", alpha=0.6)
        title = word if betas is None else f"{word} (β={float(np.asarray(betas)[k]):.2f})"
        ax.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure

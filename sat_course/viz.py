"""Attention figures as in the paper: each word's alpha map upsampled to the image and smoothed."""

from __future__ import annotations

import io
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


def word_attention_figure(image, words: list[str], alphas, betas, index: int, grid: int, size: float = 4.0):
    """One word's attention over the image, the caption underneath with that word in brackets."""
    image = np.asarray(image)
    figure, ax = plt.subplots(figsize=(size, size + 0.6))
    ax.imshow(image)
    ax.imshow(upsample_attention(np.asarray(alphas)[index], grid, image.shape[:2]), cmap="gray", alpha=0.6)
    ax.axis("off")
    ax.set_title(f"{words[index]!r}: β = {float(np.asarray(betas)[index]):.2f}", fontsize=11)
    caption = " ".join(f"[{w}]" if k == index else w for k, w in enumerate(words))
    figure.text(0.5, 0.02, caption, ha="center", fontsize=9, wrap=True)
    return figure


class AttentionExplorer:
    """ipywidgets explorer: pick an image, slide over its generated words, see where the model looked.

    ``items`` holds, per image, ``(name, image array, words, alphas (len(words), L), betas)``.
    """

    def __init__(self, items: list[tuple[str, np.ndarray, list[str], np.ndarray, np.ndarray]], grid: int) -> None:
        import ipywidgets as widgets

        if not items:
            raise ValueError("nothing to explore: no captioned images given")
        self.items, self.grid = items, grid
        self.picker = widgets.Dropdown(options=[(name, k) for k, (name, *_rest) in enumerate(items)], value=0, description="image")
        self.slider = widgets.IntSlider(value=0, min=0, max=len(items[0][2]) - 1, description="word", continuous_update=False)
        self.output = widgets.Output()
        self.picker.observe(self._on_image, names="value")
        self._resetting = False
        self.slider.observe(lambda change: None if self._resetting else self.render(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.picker, self.slider]), self.output])
        self.render()

    def _on_image(self, change) -> None:
        words = self.items[change["new"]][2]
        self._resetting = True  # one redraw per change of image, not one more for the slider's reset
        self.slider.value = 0
        self.slider.max = max(0, len(words) - 1)
        self._resetting = False
        self.render()

    def render(self) -> None:
        _, image, words, alphas, betas = self.items[self.picker.value]
        figure = word_attention_figure(image, words, alphas, betas, min(self.slider.value, len(words) - 1), self.grid)
        self.output.clear_output(wait=True)
        with self.output:
            display_figure(figure)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def display_figure(figure) -> None:
    """Show a figure as a PNG image (also inside an ipywidgets Output) and release it."""
    from IPython.display import Image as PNG
    from IPython.display import display

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    display(PNG(data=buffer.getvalue()))

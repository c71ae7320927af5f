"""Scoring a trained model on a split, and captioning image files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from . import experiment
from .checkpoint import load_model
from .data import ModelInputs
from .encoders import build_encoder, normalise, resize_and_crop
from .metrics import MetricsTable, score_captions
from .records import CaptionedImage
from .training import generate, pick_device


def evaluate_split(
    checkpoint: Path,
    config: experiment.DataConfig | None,
    split: str,
    beam_size: int = 3,
    root: str | None = None,
    device: torch.device | str | None = None,
    records: list[CaptionedImage] | None = None,
    inputs: ModelInputs | None = None,
    limit: int | None = None,
    workers: int = 2,
    scorers: tuple[str, ...] = ("nltk", "coco"),
    length_normalise: bool = False,
    resamples: int = 0,
) -> MetricsTable:
    """Decode every image of ``split`` once and score it against all of its references.

    The data settings default to those the model was trained with; ``root`` points them at another
    folder of the same layout (the held-out Flickr8k test split, for instance). ``length_normalise`` ranks
    the beam's finished captions by log-probability per word instead of in total. ``resamples`` > 0 adds
    bootstrap intervals over the images to the coco-caption scores (``sat_course.bootstrap``).
    """
    device = pick_device(str(device) if device else None)
    model, vocab, state = load_model(checkpoint, device)
    if config is None:
        config = experiment.DataConfig.from_dict(state["extra"]["data_config"])
    if root is not None:
        config = replace(config, root=root)
    if limit is not None:
        config = replace(config, limit=limit)
    if records is None:
        records = experiment.load_records(config, split)
    if inputs is None:
        inputs = experiment.model_inputs(config, split, records, device, num_workers=workers)
    captions = generate(model, inputs, beam_size=beam_size, device=device, progress=True, length_normalise=length_normalise)
    hypotheses = {r.image_id: vocab.decode(c.tokens) for r, c in zip(records, captions)}
    references = {r.image_id: list(r.captions) for r in records}
    table = score_captions(references, hypotheses, split, beam_size, scorers, resamples=resamples)
    return replace(table, length_normalised=length_normalise and beam_size > 1)  # beam 1 is greedy: nothing to rank


def caption_files(checkpoint: Path, images: list[Path], beam_size: int, out_dir: Path, device: str | None = None) -> list[tuple[Path, str, Path]]:
    """Caption image files with a model trained on photo features; save one attention figure per image."""
    from .viz import attention_figure

    device = pick_device(device)
    model, vocab, state = load_model(checkpoint, device)
    config = experiment.DataConfig.from_dict(state["extra"]["data_config"])
    if config.dataset == "synthetic":
        raise ValueError("this model reads synthetic scenes, not image files")
    encoder = build_encoder(config.encoder.name, config.encoder.layer, config.encoder.weights, config.encoder.input_size).to(device).eval()
    as_encoded = resize_and_crop(config.encoder.input_size, crop=not config.whole_image)
    to_tensor = normalise()
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for path in images:
        try:
            with Image.open(path) as image:
                picture = as_encoded(image.convert("RGB"))
        except OSError as error:
            raise ValueError(f"{path}: cannot read image ({error})") from error
        with torch.no_grad():
            a = encoder(to_tensor(picture).unsqueeze(0).to(device))
            caption = generate(model, ModelInputs(a.cpu().numpy(), [path.name], "features"), beam_size=beam_size, device=device)[0]
        figure = attention_figure(picture, caption.words(vocab), caption.alphas, caption.betas, config.encoder.grid)
        target = out_dir / f"{path.stem}_attention.png"
        figure.savefig(target, dpi=100, bbox_inches="tight")
        results.append((path, vocab.decode(caption.tokens), target))
    return results

"""Checkpoints: state dicts and plain data only (never pickled modules), written atomically.

A checkpoint holds the model's state dict, the decoder configuration, the encoder spec (when the model
has a trainable encoder), the vocabulary, the training configuration, the optimizer, every RNG state,
the epoch and step, the hard-attention baseline, the weight average (with ``ema_decay``) and the training
history. ``load_model`` rebuilds a model from it alone and checks the vocabulary against its fingerprint.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .encoders import AnnotationEncoder, EncoderSpec
from .model import AttentionDecoder, CaptionModel, DecoderConfig
from .text import Vocabulary

FORMAT_VERSION = 1


def save_atomic(state: dict[str, Any], path: str | Path) -> None:
    """Write to a temporary file in the same folder, then rename: a kill never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def rng_states() -> dict[str, Any]:
    states = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Put back what ``rng_states`` saved. Generator states are CPU byte tensors, also when the checkpoint was
    loaded onto a GPU (``map_location="cuda"`` moves them there too)."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"].cpu())
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([state.cpu() for state in states["cuda"]])


def model_state(model: CaptionModel, vocab: Vocabulary) -> dict[str, Any]:
    """What is needed to rebuild the model for inference."""
    encoder = model.encoder
    return {
        "format": FORMAT_VERSION,
        "model": model.state_dict(),
        "decoder_config": model.decoder.config.to_dict(),
        "encoder_spec": encoder.spec.to_dict() if isinstance(encoder, AnnotationEncoder) else None,
        "vocab": vocab.to_dict(),
    }


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as error:
        raise ValueError(f"{path}: not a readable checkpoint ({error})") from error
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION or "model" not in state:
        raise ValueError(f"{path}: not a checkpoint of this course (format {FORMAT_VERSION})")
    return state


def build_model(decoder_config: dict, encoder_spec: dict | None) -> CaptionModel:
    encoder = AnnotationEncoder(EncoderSpec(**{**encoder_spec, "weights": None})) if encoder_spec else None
    return CaptionModel(AttentionDecoder(DecoderConfig(**decoder_config)), encoder)


def load_model(path: str | Path, map_location: str | torch.device = "cpu", vocab: Vocabulary | None = None) -> tuple[CaptionModel, Vocabulary, dict[str, Any]]:
    """Model (in eval mode), its vocabulary, and the whole checkpoint dict.

    When ``vocab`` is given it must be the checkpoint's own: a model reads word ids, so another vocabulary
    would silently produce other words.
    """
    state = load_checkpoint(path, map_location)
    saved_vocab = Vocabulary.from_dict(state["vocab"])
    if vocab is not None and vocab.fingerprint() != saved_vocab.fingerprint():
        raise ValueError(f"{path}: the model was trained with another vocabulary ({saved_vocab.fingerprint()} != {vocab.fingerprint()})")
    if state["decoder_config"]["vocab_size"] != len(saved_vocab):
        raise ValueError(f"{path}: vocabulary of {len(saved_vocab)} words but a decoder for {state['decoder_config']['vocab_size']}")
    model = build_model(state["decoder_config"], state["encoder_spec"])
    model.load_state_dict(state["model"])
    return model.to(map_location).eval(), saved_vocab, state

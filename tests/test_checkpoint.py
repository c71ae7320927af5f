"""Checkpoints: exact round trips, plain data only, vocabulary checks, damaged files, atomic writes."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import torch

from sat_course.checkpoint import (
    load_checkpoint,
    load_model,
    model_state,
    restore_rng_states,
    rng_states,
    save_atomic,
)
from sat_course.encoders import AnnotationEncoder, EncoderSpec
from sat_course.model import AttentionDecoder, CaptionModel, DecoderConfig
from sat_course.text import SPECIALS, Vocabulary

VOCAB = Vocabulary(list(SPECIALS) + ["a", "dog", "cat", "runs", "red"], max_length=9)
SMALL_CNN = EncoderSpec("small_cnn", weights=None, input_size=64)


def _decoder(feature_dim: int, attention: str = "soft", seed: int = 0) -> AttentionDecoder:
    torch.manual_seed(seed)
    return AttentionDecoder(DecoderConfig(len(VOCAB), feature_dim, embed_dim=8, hidden_dim=12, attention_dim=6, dropout=0.3, attention=attention))


def _tokens() -> torch.Tensor:
    return torch.tensor([[1, 4, 5, 7, 2], [1, 6, 3, 2, 0]])


def _model_with_encoder() -> CaptionModel:
    torch.manual_seed(0)
    model = CaptionModel(_decoder(SMALL_CNN.feature_dim), AnnotationEncoder(SMALL_CNN))
    with torch.no_grad():  # move the normalisation weights away from their initial ones
        for module in model.encoder.modules():
            if isinstance(module, torch.nn.GroupNorm):
                module.weight.uniform_(0.5, 1.5)
    return model.eval()


def test_decoder_only_round_trip_gives_identical_outputs(tmp_path):
    model = CaptionModel(_decoder(feature_dim=5, attention="hard")).eval()
    path = tmp_path / "runs" / "best.pt"  # the folder does not exist yet
    save_atomic(model_state(model, VOCAB), path)
    loaded, vocab, state = load_model(path)
    assert loaded.encoder is None and not loaded.training
    assert vocab.words == VOCAB.words and vocab.max_length == 9
    assert loaded.decoder.config == model.decoder.config
    assert state["encoder_spec"] is None
    a = torch.randn(2, 4, 5)
    with torch.no_grad():
        expected = model(a, _tokens(), context_mode="expected")
        got = loaded(a, _tokens(), context_mode="expected")
        assert torch.equal(got.logits, expected.logits)
        assert torch.equal(got.alphas, expected.alphas)
        # a freshly initialised decoder gives other outputs: the weights really come from the file
        fresh = CaptionModel(_decoder(feature_dim=5, attention="hard", seed=1)).eval()
        assert not torch.allclose(fresh(a, _tokens(), context_mode="expected").logits, expected.logits)


def test_model_with_small_cnn_encoder_round_trip_gives_identical_outputs(tmp_path):
    model = _model_with_encoder()
    path = tmp_path / "last.pt"
    save_atomic(model_state(model, VOCAB), path)
    loaded, _, state = load_model(path)
    assert isinstance(loaded.encoder, AnnotationEncoder)
    assert loaded.encoder.spec == SMALL_CNN
    assert state["encoder_spec"] == SMALL_CNN.to_dict()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(images, _tokens()).logits, model(images, _tokens()).logits)
    for (name, saved), (_, restored) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(saved, restored), name
    norm = loaded.encoder.trunk.body[1]  # the GroupNorm's affine weights come from the file, not a fresh init
    assert torch.equal(norm.weight, model.encoder.trunk.body[1].weight) and not torch.equal(norm.weight, torch.ones_like(norm.weight))


_PLAIN = (torch.Tensor, np.ndarray, str, int, float, bool, type(None), bytes)


def _non_plain(obj, where: str = "checkpoint") -> list[str]:
    """Paths to every object in a checkpoint that is not plain data (a module, a dataclass, ...)."""
    if isinstance(obj, Mapping):
        found = [f"{where} key {k!r}: {type(k).__name__}" for k in obj if not isinstance(k, (str, int))]
        for key, value in obj.items():
            found += _non_plain(value, f"{where}/{key}")
        return found
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in _non_plain(v, f"{where}[{i}]")]
    return [] if isinstance(obj, _PLAIN) else [f"{where}: {type(obj).__module__}.{type(obj).__qualname__}"]


def test_a_full_training_checkpoint_holds_plain_data_only(tmp_path):
    model = _model_with_encoder().train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = model(torch.randn(2, 3, 64, 64), _tokens()).logits.square().mean()
    loss.backward()
    optimizer.step()
    payload = {
        **model_state(model, VOCAB),
        "optimizer": optimizer.state_dict(),
        "rng": [rng_states()],
        "train_state": {"epoch": 1, "history": [{"epoch": 1, "train_loss": 3.2}], "baseline": -1.5},
        "extra": {"data_config": {"dataset": "synthetic", "synthetic_sizes": (8, 4, 4)}},
    }
    path = tmp_path / "last.pt"
    save_atomic(payload, path)
    state = load_checkpoint(path)
    assert _non_plain(state) == []
    assert set(state) >= {"format", "model", "decoder_config", "encoder_spec", "vocab", "optimizer", "rng"}
    # the walker does find a module when one is there
    assert _non_plain({"model": model}) == ["checkpoint/model: sat_course.model.CaptionModel"]
    assert _non_plain({"spec": SMALL_CNN}) == ["checkpoint/spec: sat_course.encoders.EncoderSpec"]


def test_loading_with_another_vocabulary_is_refused(tmp_path):
    path = tmp_path / "best.pt"
    save_atomic(model_state(CaptionModel(_decoder(5)), VOCAB), path)
    assert load_model(path, vocab=Vocabulary(list(VOCAB.words), max_length=9))[1].words == VOCAB.words  # the same words: fine
    other = Vocabulary(list(SPECIALS) + ["a", "dog", "cat", "runs", "blue"])
    with pytest.raises(ValueError, match="another vocabulary") as info:
        load_model(path, vocab=other)
    assert str(path) in str(info.value)


def test_a_checkpoint_whose_vocabulary_does_not_fit_its_decoder_is_refused(tmp_path):
    path = tmp_path / "best.pt"
    state = model_state(CaptionModel(_decoder(5)), VOCAB)
    state["vocab"] = Vocabulary(list(SPECIALS) + ["a"]).to_dict()
    save_atomic(state, path)
    with pytest.raises(ValueError, match="vocabulary of 5 words but a decoder for 9"):
        load_model(path)


def test_a_checkpoint_with_a_corrupt_vocabulary_is_refused(tmp_path):
    path = tmp_path / "best.pt"
    state = model_state(CaptionModel(_decoder(5)), VOCAB)
    state["vocab"]["words"] = state["vocab"]["words"][:4] + ["dog", "a"] + state["vocab"]["words"][6:]
    save_atomic(state, path)
    with pytest.raises(ValueError, match="corrupt"):
        load_model(path)


def test_a_truncated_file_is_a_value_error_naming_the_path(tmp_path):
    path = tmp_path / "last.pt"
    save_atomic(model_state(CaptionModel(_decoder(5)), VOCAB), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable checkpoint") as info:
        load_model(path)
    assert str(path) in str(info.value)
    path.write_bytes(b"")
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_files_that_are_not_checkpoints_of_the_course(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        load_model(tmp_path / "missing.pt")
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(ValueError, match="not a checkpoint of this course") as info:
        load_checkpoint(other)
    assert str(other) in str(info.value)
    torch.save([1, 2, 3], other)
    with pytest.raises(ValueError, match="not a checkpoint of this course"):
        load_checkpoint(other)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(text)


def test_save_atomic_replaces_the_file_and_leaves_no_tmp(tmp_path):
    path = tmp_path / "ck" / "last.pt"
    save_atomic({"format": 1, "model": {"w": torch.zeros(2)}, "n": 1}, path)
    save_atomic({"format": 1, "model": {"w": torch.ones(2)}, "n": 2}, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]
    state = load_checkpoint(path)
    assert state["n"] == 2 and torch.equal(state["model"]["w"], torch.ones(2))


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    save_atomic({"format": 1, "model": {}, "n": 1}, path)
    with pytest.raises(Exception):
        save_atomic({"format": 1, "model": {}, "bad": lambda: None}, path)  # a lambda cannot be pickled
    assert load_checkpoint(path)["n"] == 1


def test_rng_states_round_trip():
    states = rng_states()
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    random.random(), np.random.rand(), torch.rand(1)  # move on
    restore_rng_states(states)
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected

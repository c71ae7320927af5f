"""``python -m sat_course caption``: a photo model captions image files and saves attention figures."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sat_course import cli, experiment, viz
from sat_course.checkpoint import model_state, save_atomic
from sat_course.encoders import EncoderSpec
from sat_course.text import Vocabulary


def test_caption_writes_a_caption_and_a_figure(tmp_path, capsys):
    config = experiment.DataConfig(dataset="flickr8k", encoder=EncoderSpec("mobilenet_v2", weights=None, input_size=64))
    vocab = Vocabulary.build(["a dog runs", "a dog sits on grass", "a man runs"], min_count=1)
    torch.manual_seed(0)
    model = experiment.new_model(config, vocab, embed_dim=8, hidden_dim=8, attention_dim=8)
    save_atomic({**model_state(model, vocab), "extra": {"data_config": config.to_dict()}}, tmp_path / "model.pt")
    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (80, 100, 3), dtype=np.uint8)).save(photo)

    assert cli.main(["caption", str(tmp_path / "model.pt"), str(photo), "--out", str(tmp_path / "figures"), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "photo.jpg:" in printed
    figure = tmp_path / "figures" / "photo_attention.png"
    assert figure.exists() and Image.open(figure).size[0] > 100


def test_caption_of_an_unreadable_file_is_one_error_line(tmp_path, capsys):
    config = experiment.DataConfig(dataset="flickr8k", encoder=EncoderSpec("mobilenet_v2", weights=None, input_size=64))
    vocab = Vocabulary.build(["a dog runs"], min_count=1)
    model = experiment.new_model(config, vocab, embed_dim=8, hidden_dim=8, attention_dim=8)
    save_atomic({**model_state(model, vocab), "extra": {"data_config": config.to_dict()}}, tmp_path / "model.pt")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    assert cli.main(["caption", str(tmp_path / "model.pt"), str(bad), "--out", str(tmp_path), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "broken.jpg" in err[0]


@pytest.mark.parametrize("whole_image", [False, True])
def test_the_figure_shows_the_picture_as_the_encoder_saw_it(tmp_path, monkeypatch, whole_image):
    """A 100x80 photo with a red left border: cropped as the paper for a model trained that way, whole for a
    model trained with --whole-image (the border only survives the second)."""
    config = experiment.DataConfig(dataset="flickr8k", encoder=EncoderSpec("mobilenet_v2", weights=None, input_size=64), whole_image=whole_image)
    vocab = Vocabulary.build(["a dog runs"], min_count=1)
    model = experiment.new_model(config, vocab, embed_dim=8, hidden_dim=8, attention_dim=8)
    save_atomic({**model_state(model, vocab), "extra": {"data_config": config.to_dict()}}, tmp_path / "model.pt")
    pixels = np.full((80, 100, 3), 255, dtype=np.uint8)
    pixels[:, :10] = (255, 0, 0)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    shown = []
    real_figure = viz.attention_figure
    monkeypatch.setattr(viz, "attention_figure", lambda picture, *args: shown.append(np.asarray(picture)) or real_figure(picture, *args))
    assert cli.main(["caption", str(tmp_path / "model.pt"), str(tmp_path / "photo.png"), "--out", str(tmp_path / "figures"), "--device", "cpu"]) == 0
    assert shown[0].shape == (64, 64, 3)
    assert (shown[0][:, 0, 1] < 5).all() == whole_image


def test_whole_image_is_for_photos_and_old_configs_read_as_cropped():
    with pytest.raises(ValueError, match="whole_image is for photos"):
        experiment.DataConfig(dataset="synthetic", whole_image=True)
    config = experiment.DataConfig(dataset="flickr8k", encoder=EncoderSpec("mobilenet_v2", weights=None, input_size=64))
    saved_before_the_option = {k: v for k, v in config.to_dict().items() if k != "whole_image"}
    assert experiment.DataConfig.from_dict(saved_before_the_option).whole_image is False

"""``python -m sat_course caption``: a photo model captions image files and saves attention figures."""

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sat_course import cli, experiment
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

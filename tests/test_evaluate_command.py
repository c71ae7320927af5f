"""``python -m sat_course evaluate``: scores a checkpoint and says how its captions were decoded."""

import json
import shutil

import pytest
import torch

from sat_course import cli, experiment
from sat_course.checkpoint import model_state, save_atomic
from sat_course.encoders import EncoderSpec


def _save_untrained_model(tmp_path) -> None:
    config = experiment.synthetic_config(synthetic_sizes=(32, 8, 8), encoder=EncoderSpec("small_cnn", weights=None, input_size=64))
    vocab = experiment.build_vocabulary(config, experiment.load_records(config, "train"))
    torch.manual_seed(0)
    model = experiment.new_model(config, vocab, embed_dim=8, hidden_dim=8, attention_dim=8)
    save_atomic({**model_state(model, vocab), "extra": {"data_config": config.to_dict()}}, tmp_path / "model.pt")


def test_evaluate_writes_the_table_with_the_beam_ranking(tmp_path, capsys):
    _save_untrained_model(tmp_path)
    for flags, ranked in (([], False), (["--length-normalise"], True)):
        out = tmp_path / f"{ranked}.json"
        args = ["evaluate", str(tmp_path / "model.pt"), "--split", "val", "--scorers", "nltk", "--device", "cpu", "--json", str(out), *flags]
        assert cli.main(args) == 0
        data = json.loads(out.read_text())
        assert (data["split"], data["beam_size"], data["num_images"], data["length_normalised"]) == ("val", 3, 8, ranked)
        assert 0.0 <= data["scores"]["nltk"]["BLEU-4"] <= 100.0
        assert data["machine"]["device"] == "cpu" and "logical cores" in data["machine"]["CPU"], "scores say which machine made them"
        assert ("beam=3 ranked per word" in capsys.readouterr().out) == ranked


@pytest.mark.skipif(shutil.which("java") is None, reason="the coco-caption scorers need Java (PTB tokeniser, METEOR)")
def test_evaluate_gives_bootstrap_intervals_and_the_length_ratio(tmp_path, capsys):
    _save_untrained_model(tmp_path)
    out = tmp_path / "metrics.json"
    args = ["evaluate", str(tmp_path / "model.pt"), "--split", "val", "--scorers", "coco", "--device", "cpu", "--json", str(out), "--bootstrap", "200"]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "coco length ratio (hypotheses / closest references)" in printed
    assert "coco 95% bootstrap intervals over the 8 images (200 resamples): BLEU-1 " in printed
    data = json.loads(out.read_text())
    assert data["intervals"]["resamples"] == 200 and data["intervals"]["level"] == 0.95
    for metric in ("BLEU-1", "BLEU-4", "CIDEr"):
        low, high = data["intervals"]["metrics"][metric]
        assert low <= data["scores"]["coco"][metric] <= high
    assert 0.0 < data["length_ratio"]["brevity_penalty"] <= 1.0

    assert cli.main([*args[:-1], "0"]) == 0
    assert "intervals" not in json.loads(out.read_text())
    with pytest.raises(SystemExit):
        cli.main([*args[:-1], "-5"])
    assert "resamples must be 0 (no intervals) or more, got -5" in capsys.readouterr().err

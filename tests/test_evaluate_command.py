"""``python -m sat_course evaluate``: scores a checkpoint and says how its captions were decoded."""

import json

import torch

from sat_course import cli, experiment
from sat_course.checkpoint import model_state, save_atomic
from sat_course.encoders import EncoderSpec


def test_evaluate_writes_the_table_with_the_beam_ranking(tmp_path, capsys):
    config = experiment.synthetic_config(synthetic_sizes=(32, 8, 8), encoder=EncoderSpec("small_cnn", weights=None, input_size=64))
    vocab = experiment.build_vocabulary(config, experiment.load_records(config, "train"))
    torch.manual_seed(0)
    model = experiment.new_model(config, vocab, embed_dim=8, hidden_dim=8, attention_dim=8)
    save_atomic({**model_state(model, vocab), "extra": {"data_config": config.to_dict()}}, tmp_path / "model.pt")

    for flags, ranked in (([], False), (["--length-normalise"], True)):
        out = tmp_path / f"{ranked}.json"
        args = ["evaluate", str(tmp_path / "model.pt"), "--split", "val", "--scorers", "nltk", "--device", "cpu", "--json", str(out), *flags]
        assert cli.main(args) == 0
        data = json.loads(out.read_text())
        assert (data["split"], data["beam_size"], data["num_images"], data["length_normalised"]) == ("val", 3, 8, ranked)
        assert 0.0 <= data["scores"]["nltk"]["BLEU-4"] <= 100.0
        assert ("beam=3 ranked per word" in capsys.readouterr().out) == ranked

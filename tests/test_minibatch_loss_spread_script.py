"""scripts/minibatch_loss_spread.py reads every step's loss back from the progress bars of a real training run."""

from __future__ import annotations

import statistics

import pytest

from scripts import minibatch_loss_spread
from sat_course import experiment, training
from sat_course.encoders import EncoderSpec
from sat_course.training import TrainConfig, seed_everything, train


class EveryStepBar(training.tqdm):
    """The training bar, redrawn at every step."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **{**kwargs, "mininterval": 0, "miniters": 1})


def test_the_losses_read_from_the_bars_average_to_the_logged_epoch_loss(tmp_path, monkeypatch, capsys):
    """A tiny hard-attention run of two epochs with its progress bars on, redrawn at every step (a real run's steps
    take longer than tqdm's 0.1 s between redraws; these need not): one loss per step comes back from the console
    text, and each epoch's mean is the ``train_loss`` the run logged, to the bar's two decimals."""
    monkeypatch.setattr(training, "tqdm", EveryStepBar)
    config = experiment.synthetic_config(synthetic_sizes=(48, 4, 4), encoder=EncoderSpec("mobilenet_v2", "last", None, 64),
                                         cache_dir=str(tmp_path / "cache"))
    train_records, val_records = experiment.load_records(config, "train"), experiment.load_records(config, "val")
    vocab = experiment.build_vocabulary(config, train_records)
    seed_everything(0)
    model = experiment.new_model(config, vocab, embed_dim=16, hidden_dim=24, attention_dim=16, attention="hard")
    state = train(model, vocab, experiment.model_inputs(config, "train", train_records, progress=False), train_records,
                  experiment.model_inputs(config, "val", val_records, progress=False), val_records,
                  TrainConfig(epochs=2, batch_size=16, checkpoint_every=1000, val_max_images=4, expected_context_prob=0.0),
                  tmp_path / "run", device="cpu", progress=True)
    log = tmp_path / "train.log"
    log.write_text(capsys.readouterr().err)
    losses = minibatch_loss_spread.losses_by_epoch(log)
    steps_per_epoch = state.global_step // 2
    assert sorted(losses) == [1, 2]
    for epoch, row in zip((1, 2), state.history):
        assert len(losses[epoch]) == steps_per_epoch
        assert statistics.mean(losses[epoch]) == pytest.approx(row["train_loss"], abs=0.006)
    assert len(set(losses[1])) > 1  # each step's own loss, not one number repeated

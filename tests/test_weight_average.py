"""The weight average (--ema-decay): best.pt holds e_k = d e_(k-1) + (1 - d) w_k over the steps' weights w_k."""

from pathlib import Path

import pytest
import torch

from sat_course import experiment, training
from sat_course.checkpoint import load_checkpoint
from sat_course.encoders import EncoderSpec
from sat_course.training import TrainConfig, make_weight_average, seed_everything, train

DECAY = 0.8


def test_best_checkpoint_holds_the_moving_average_of_every_steps_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    snapshots: list[dict[str, torch.Tensor]] = []
    build_optimizer = training.make_optimizer

    def recording_optimizer(parameters, config):
        optimizer = build_optimizer(parameters, config)
        named = list(model.state_dict(keep_vars=True).items())
        optimizer.register_step_post_hook(lambda *_: snapshots.append({k: v.detach().clone() for k, v in named}))
        return optimizer

    monkeypatch.setattr(training, "make_optimizer", recording_optimizer)
    config = experiment.synthetic_config(synthetic_sizes=(48, 8, 8), encoder=EncoderSpec("small_cnn", weights=None, input_size=64))
    train_records, val_records = experiment.load_records(config, "train"), experiment.load_records(config, "val")
    vocab = experiment.build_vocabulary(config, train_records)
    seed_everything(0)
    model = experiment.new_model(config, vocab, embed_dim=16, hidden_dim=24, attention_dim=16, attention="hard")
    train(model, vocab, experiment.model_inputs(config, "train", train_records), train_records,
          experiment.model_inputs(config, "val", val_records), val_records,
          TrainConfig(epochs=1, batch_size=16, learning_rate=1e-2, ema_decay=DECAY, checkpoint_every=1000),
          tmp_path, device="cpu", progress=False)

    assert len(snapshots) > 5
    expected = dict(snapshots[0])  # the first update copies the weights
    for weights in snapshots[1:]:
        expected = {k: DECAY * expected[k] + (1 - DECAY) * weights[k] for k in expected}
    best, last = load_checkpoint(tmp_path / "best.pt")["model"], load_checkpoint(tmp_path / "last.pt")["model"]
    for name in expected:
        torch.testing.assert_close(last[name], snapshots[-1][name], rtol=0, atol=0, msg=name)  # last.pt: the raw weights
        torch.testing.assert_close(best[name], expected[name], rtol=1e-5, atol=1e-6, msg=name)
    moved = max(float((snapshots[-1][k] - expected[k]).abs().max()) for k in expected)
    assert moved > 1e-3, "the average should lag behind the weights"


@pytest.mark.parametrize("decay", [-0.1, 1.0])
def test_decay_outside_zero_one_is_a_clear_error(decay: float):
    with pytest.raises(ValueError, match=r"ema_decay must be in \[0, 1\)"):
        make_weight_average(torch.nn.Linear(2, 2), decay)

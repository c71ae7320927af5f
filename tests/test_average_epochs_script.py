"""scripts/average_epochs.py: the averaged checkpoint holds the mean of the epochs' weights, and evaluate reads it."""

from __future__ import annotations

import torch

from sat_course import experiment
from sat_course.checkpoint import FORMAT_VERSION, load_checkpoint, load_model
from sat_course.training import TrainConfig, seed_everything, train
from scripts import average_epochs
from test_training import _small_synthetic


def _fake_epoch(path, weight: float, steps: int, decoder_config: dict | None = None) -> None:
    model = {"w": torch.full((2, 3), weight), "steps": torch.tensor(steps)}
    torch.save({"format": FORMAT_VERSION, "model": model, "decoder_config": decoder_config or {"hidden_dim": 4}}, path)


def test_the_average_is_the_mean_of_each_float_tensor_and_keeps_integer_buffers(tmp_path):
    (tmp_path / "run" / "epochs").mkdir(parents=True)
    for epoch, weight in zip((1, 2, 3), (1.0, 2.0, 6.0)):
        _fake_epoch(tmp_path / "run" / "epochs" / f"epoch_{epoch:02d}.pt", weight, steps=10 * epoch)
    assert average_epochs.main([str(tmp_path / "run"), "2", "3", "--out", str(tmp_path / "avg.pt")]) == 0
    averaged = load_checkpoint(tmp_path / "avg.pt")
    assert torch.equal(averaged["model"]["w"], torch.full((2, 3), 4.0))  # (2 + 6) / 2
    assert averaged["model"]["steps"].item() == 30, "integer buffers are the last epoch's"
    assert averaged["averaged_from"][0].endswith("epoch_02.pt")


def test_refuses_missing_epochs_and_different_models(tmp_path, capsys):
    (tmp_path / "run" / "epochs").mkdir(parents=True)
    _fake_epoch(tmp_path / "run" / "epochs" / "epoch_01.pt", 1.0, 10)
    _fake_epoch(tmp_path / "run" / "epochs" / "epoch_02.pt", 1.0, 10, decoder_config={"hidden_dim": 8})
    assert average_epochs.main([str(tmp_path / "run"), "1", "3", "--out", str(tmp_path / "avg.pt")]) == 2
    assert "epoch_03.pt" in capsys.readouterr().err
    assert average_epochs.main([str(tmp_path / "run"), "1", "2", "--out", str(tmp_path / "avg.pt")]) == 2
    assert "not the same model" in capsys.readouterr().err
    assert not (tmp_path / "avg.pt").exists()


def test_an_average_of_real_kept_epochs_loads_as_a_model(tmp_path):
    config, vocab, train_inputs, train_records, val_inputs, val_records = _small_synthetic(tmp_path)
    seed_everything(0)
    model = experiment.new_model(config, vocab, embed_dim=16, hidden_dim=24, attention_dim=16)
    train(model, vocab, train_inputs, train_records, val_inputs, val_records,
          TrainConfig(epochs=2, batch_size=16, learning_rate=2e-3, checkpoint_every=1000, val_max_images=4, keep_epochs=True),
          tmp_path / "run", device="cpu", progress=False)
    assert average_epochs.main([str(tmp_path / "run"), "1", "2", "--out", str(tmp_path / "avg.pt")]) == 0
    averaged, _, _ = load_model(tmp_path / "avg.pt")
    first, second = (load_checkpoint(tmp_path / "run" / "epochs" / f"epoch_0{e}.pt")["model"] for e in (1, 2))
    for name, tensor in averaged.state_dict().items():
        torch.testing.assert_close(tensor, (first[name] + second[name]) / 2)

"""Training: a run killed at any moment resumes to the same result; DDP replicas stay identical; what is logged."""

import csv
import dataclasses
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from scripts import minibatch_loss_spread

from sat_course import experiment, training
from sat_course.checkpoint import load_checkpoint
from sat_course.data import CaptionPairs, ModelInputs, length_batches
from sat_course.datasets.synthetic import COLOURS, SHAPES
from sat_course.encoders import EncoderSpec
from sat_course.training import (TrainConfig, TrainState, _write_log, expected_context_share, kept_epoch_path, learning_rate_at,
                                 seed_everything, train)

TINY = ["--dataset", "synthetic", "--encoder", "small_cnn", "--synthetic-sizes", "160", "24", "8", "--embed-dim", "16", "--hidden-dim", "24",
        "--attention-dim", "16", "--batch-size", "16", "--epochs", "2", "--checkpoint-every", "2", "--val-max-images", "8",
        "--scorers", "nltk", "--learning-rate", "0.002"]


SMALL_CNN = EncoderSpec("small_cnn", weights=None, input_size=64)


def _run(out: Path, extra: list[str] = ()) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "sat_course", "train", *TINY, *extra, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("attention, optimizer, ema", [("soft", "adam", None), ("hard", "adam", None), ("soft", "rmsprop", None), ("hard", "adam", "0.9")])
def test_killed_run_resumes_to_the_same_result(tmp_path, attention, optimizer, ema):
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    settings = ["--attention", attention, "--optimizer", optimizer] + (["--ema-decay", ema] if ema else [])
    proc = _run(clean, settings)
    output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, output

    proc = _run(killed, settings)
    deadline = time.time() + 300
    while not (killed / "last.pt").exists():  # kill it hard as soon as a mid-epoch checkpoint exists
        assert proc.poll() is None and time.time() < deadline, proc.communicate()[0]
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    interrupted_at = load_checkpoint(killed / "last.pt")["train_state"]
    assert interrupted_at["epoch"] < 2, "the run finished before it could be killed"
    proc = _run(killed, settings)
    output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, output

    for checkpoint in ("last.pt", "best.pt"):  # best.pt: the weight average when there is one
        a, b = load_checkpoint(clean / checkpoint)["model"], load_checkpoint(killed / checkpoint)["model"]
        assert a.keys() == b.keys()
        for name in a:
            torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6, msg=f"{checkpoint}: {name}")
    bleu = lambda out: [row["val_bleu4_nltk"] for row in load_checkpoint(out / "last.pt")["train_state"]["history"]]
    assert bleu(clean) == bleu(killed)
    log_rows = (killed / "log.csv").read_text().strip().splitlines()
    assert len(log_rows) == 3, "the resumed run logs each epoch once"
    resumed = lambda out: json.loads((out / "metrics_val.json").read_text())["resumed"]
    assert (resumed(clean), resumed(killed)) == (False, True), "wall_seconds of a resumed run covers its last command only"
    assert "torch" in json.loads((clean / "metrics_val.json").read_text())["machine"], "wall_seconds says on which machine"

    other = "adam" if optimizer == "rmsprop" else "rmsprop"
    proc = _run(killed, ["--attention", attention, "--optimizer", other])
    output = proc.communicate(timeout=300)[0]
    assert proc.returncode != 0
    assert f"error: {killed / 'last.pt'}: was trained with {optimizer}; resume with --optimizer {optimizer}" in output
    assert "Traceback" not in output
    if ema:
        proc = _run(killed, settings[:-2])
        output = proc.communicate(timeout=300)[0]
        assert proc.returncode != 0
        assert f"error: {killed / 'last.pt'}: was trained with ema_decay {float(ema)}; resume with the same setting" in output


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    """Hard attention with the per-token baseline, which the ranks agree on by pooling their rewards."""
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "LOCAL_RANK": str(rank)})
    torch.set_num_threads(1)
    config = experiment.synthetic_config(synthetic_sizes=(96, 16, 8), encoder=SMALL_CNN)
    train_records, val_records = experiment.load_records(config, "train"), experiment.load_records(config, "val")
    vocab = experiment.build_vocabulary(config, train_records)
    seed_everything(0)  # same initial weights on both ranks (DDP also broadcasts rank 0's)
    model = experiment.new_model(config, vocab, embed_dim=16, hidden_dim=24, attention_dim=16, attention="hard")
    state = train(model, vocab, experiment.model_inputs(config, "train", train_records), train_records,
                  experiment.model_inputs(config, "val", val_records), val_records,
                  TrainConfig(epochs=2, batch_size=8, learning_rate=2e-3, val_max_images=8, checkpoint_every=1000,
                              baseline_per_token=True), Path(out) / "run",
                  device="cpu", progress=False)
    torch.save({"model": model.state_dict(), "steps": state.global_step}, Path(out) / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_ddp_replicas_stay_identical_on_gloo(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    r0, r1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert r0["steps"] == r1["steps"] > 0
    for name, value in r0["model"].items():
        torch.testing.assert_close(value, r1["model"][name], rtol=0, atol=0, msg=name)
    assert (tmp_path / "run" / "best.pt").exists() and (tmp_path / "run" / "log.csv").exists()


def test_length_batches_cover_every_caption_once_and_group_lengths():
    config = experiment.synthetic_config(synthetic_sizes=(60, 4, 4))
    records = experiment.load_records(config, "train")
    pairs = CaptionPairs.from_records(records, experiment.build_vocabulary(config, records))
    batches = length_batches(pairs, 8, seed=0, epoch=0)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(pairs)))
    same_length = sum(len({len(pairs.tokens[i]) for i in b}) == 1 for b in batches)
    assert same_length >= 0.7 * len(batches)
    assert batches == length_batches(pairs, 8, seed=0, epoch=0) != length_batches(pairs, 8, seed=0, epoch=1)
    ranks = [length_batches(pairs, 8, 0, 0, rank, 2) for rank in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) and not set(map(tuple, ranks[0])) & set(map(tuple, ranks[1]))


def test_a_trained_model_reads_the_image(tmp_path):
    """After a short run on MobileNetV2 features of the scenes, colour and shape words are predicted far better
    from the scene's own features than from another scene's: the model uses the image, not only the caption prefix."""
    torch.set_num_threads(1)
    config = experiment.synthetic_config(synthetic_sizes=(1500, 100, 8), cache_dir=str(tmp_path / "cache"))
    train_records, val_records = experiment.load_records(config, "train"), experiment.load_records(config, "val")
    vocab = experiment.build_vocabulary(config, train_records)
    train_inputs = experiment.model_inputs(config, "train", train_records, progress=False)
    val_inputs = experiment.model_inputs(config, "val", val_records, progress=False)
    seed_everything(0)
    model = experiment.new_model(config, vocab, embed_dim=32, hidden_dim=64, attention_dim=32, dropout=0.1)
    state = train(model, vocab, train_inputs, train_records, val_inputs, val_records,
                  TrainConfig(epochs=4, batch_size=32, learning_rate=3e-3, checkpoint_every=1000), tmp_path / "run", device="cpu", progress=False)
    assert np.isfinite([row["train_loss"] for row in state.history]).all()
    pairs = CaptionPairs.from_records(val_records, vocab)
    rows, tokens = pairs.collate(list(range(len(pairs))))
    object_word_ids = torch.tensor([vocab.index(w) for w in COLOURS + SHAPES])
    targets = tokens[:, 1:]
    is_object_word = torch.isin(targets, object_word_ids)
    model.eval()
    accuracy = {}
    with torch.no_grad():
        for name, order in [("own", np.arange(len(rows))), ("other", np.roll(np.arange(len(rows)), 37))]:
            logits = model(val_inputs.batch(rows[order]), tokens).logits
            accuracy[name] = (logits.argmax(-1) == targets)[is_object_word].float().mean().item()
    assert accuracy["own"] > accuracy["other"] + 0.1, accuracy


def _small_synthetic(tmp_path: Path):
    """Tiny synthetic splits encoded by an untrained MobileNetV2 at 64 px (a 2x2 grid; no weights needed)."""
    config = experiment.synthetic_config(synthetic_sizes=(48, 4, 4), encoder=EncoderSpec("mobilenet_v2", "last", None, 64),
                                         cache_dir=str(tmp_path / "cache"))
    train_records, val_records = experiment.load_records(config, "train"), experiment.load_records(config, "val")
    vocab = experiment.build_vocabulary(config, train_records)
    return (config, vocab, experiment.model_inputs(config, "train", train_records, progress=False), train_records,
            experiment.model_inputs(config, "val", val_records, progress=False), val_records)


def test_logged_nll_per_token_is_the_teacher_forced_nll_of_the_training_captions(tmp_path):
    """With a learning rate too small to move the weights and no dropout, the first epoch's logged
    ``train_nll_per_token`` is the untrained model's teacher-forced cross-entropy over every training token."""
    config, vocab, train_inputs, train_records, val_inputs, val_records = _small_synthetic(tmp_path)
    seed_everything(0)
    model = experiment.new_model(config, vocab, embed_dim=16, hidden_dim=24, attention_dim=16, dropout=0.0)
    pairs = CaptionPairs.from_records(train_records, vocab)
    rows, tokens = pairs.collate(list(range(len(pairs))))
    with torch.no_grad():
        logits = model(train_inputs.batch(rows), tokens).logits
    targets = tokens[:, 1:]
    mask = targets != 0
    expected = torch.nn.functional.cross_entropy(logits[mask], targets[mask]).item()

    state = train(model, vocab, train_inputs, train_records, val_inputs, val_records,
                  TrainConfig(epochs=1, batch_size=16, learning_rate=1e-9, checkpoint_every=1000, val_max_images=4),
                  tmp_path / "run", device="cpu", progress=False)
    logged = state.history[0]["train_nll_per_token"]
    assert logged == pytest.approx(expected, rel=1e-3)
    assert logged == pytest.approx(np.log(len(vocab)), rel=0.2), "an untrained model is close to uniform"
    with open(tmp_path / "run" / "log.csv") as f:
        assert float(next(csv.DictReader(f))["train_nll_per_token"]) == logged


def test_kept_epoch_checkpoints_hold_each_epochs_weights(tmp_path):
    """``keep_epochs`` writes one weights file per epoch: the best epoch's is best.pt, the last one's is last.pt."""
    config, vocab, train_inputs, train_records, val_inputs, val_records = _small_synthetic(tmp_path)
    seed_everything(0)
    model = experiment.new_model(config, vocab, embed_dim=16, hidden_dim=24, attention_dim=16)
    out = tmp_path / "run"
    state = train(model, vocab, train_inputs, train_records, val_inputs, val_records,
                  TrainConfig(epochs=3, batch_size=16, learning_rate=2e-3, checkpoint_every=1000, val_max_images=4, patience=3,
                              keep_epochs=True),
                  out, device="cpu", progress=False)
    assert sorted(p.name for p in (out / "epochs").iterdir()) == ["epoch_01.pt", "epoch_02.pt", "epoch_03.pt"]
    weights = {n: load_checkpoint(kept_epoch_path(out, n))["model"] for n in (1, 2, 3)}
    for reference, epoch in (("best.pt", state.best_epoch), ("last.pt", 3)):
        saved = load_checkpoint(out / reference)["model"]
        assert all(torch.equal(saved[name], weights[epoch][name]) for name in saved), f"{reference} is epoch {epoch}'s file"
    assert not all(torch.equal(weights[1][name], weights[3][name]) for name in weights[1]), "training moved the weights"
    assert "optimizer" not in load_checkpoint(out / "epochs" / "epoch_01.pt"), "weights only, like best.pt"


def test_log_csv_keeps_every_column_when_a_run_from_older_code_resumes(tmp_path):
    """Epochs logged before a column existed are written with that cell empty, not misaligned."""
    old, new = {"epoch": 1, "train_loss": -3.5}, {"epoch": 2, "train_loss": -2.0, "train_nll_per_token": 2.7}
    _write_log(tmp_path / "log.csv", [old, new])
    with open(tmp_path / "log.csv") as f:
        assert list(csv.DictReader(f)) == [{"epoch": "1", "train_loss": "-3.5", "train_nll_per_token": ""},
                                           {"epoch": "2", "train_loss": "-2.0", "train_nll_per_token": "2.7"}]


@pytest.mark.parametrize("attention", ["soft", "hard"])
def test_flip_augmentation_feeds_the_mirrored_inputs_and_leaves_the_other_draws_alone(tmp_path, attention):
    """A mirrored copy equal to the inputs trains exactly as no augmentation (so the flip draws do not shift the
    hard model's expected-context coin); a different copy changes the result, so it is used."""
    config, vocab, train_inputs, train_records, val_inputs, val_records = _small_synthetic(tmp_path)
    settings = TrainConfig(epochs=1, batch_size=16, checkpoint_every=1000, val_max_images=4)

    def trained(inputs, run: str, **overrides) -> dict:
        seed_everything(0)
        model = experiment.new_model(config, vocab, embed_dim=16, hidden_dim=24, attention_dim=16, attention=attention)
        train(model, vocab, inputs, train_records, val_inputs, val_records, dataclasses.replace(settings, **overrides),
              tmp_path / run, device="cpu", progress=False)
        return model.state_dict()

    def with_copy(copy):
        return ModelInputs(train_inputs.array, train_inputs.image_ids, "features", copy)

    plain = trained(train_inputs, "plain")
    same = trained(with_copy(np.array(train_inputs.array)), "same", flip_probability=0.5)
    other = trained(with_copy(np.ones_like(train_inputs.array)), "other", flip_probability=0.5)
    for name in plain:
        torch.testing.assert_close(same[name], plain[name], rtol=0, atol=0, msg=name)
    assert any(not torch.equal(other[name], plain[name]) for name in plain)
    with pytest.raises(ValueError, match="flipped copy"):
        trained(train_inputs, "refused", flip_probability=0.5)


def _train_hard_for_an_epoch(data: tuple, run_dir: Path, **settings) -> TrainState:
    """One epoch of a tiny hard-attention model from seed 0 on ``_small_synthetic``'s data; returns its state."""
    config, vocab, train_inputs, train_records, val_inputs, val_records = data
    seed_everything(0)
    model = experiment.new_model(config, vocab, embed_dim=16, hidden_dim=24, attention_dim=16, attention="hard")
    return train(model, vocab, train_inputs, train_records, val_inputs, val_records,
                 TrainConfig(epochs=1, batch_size=16, checkpoint_every=1000, val_max_images=4, **settings), run_dir, device="cpu", progress=False)


def test_a_per_word_reward_trains_against_a_per_word_baseline(tmp_path):
    """``reward_per_word`` (the authors' reward) keeps its moving-average baseline per word: after an epoch it sits
    near the per-token log-likelihood, where the paper's baseline sits near the whole caption's."""
    data = _small_synthetic(tmp_path)
    _, vocab, _, train_records, _, _ = data
    baselines = {}
    for name, per_word in (("paper", False), ("per word", True)):
        state = _train_hard_for_an_epoch(data, tmp_path / name, expected_context_prob=0.0, reward_per_word=per_word)
        baselines[name] = (state.baseline, state.history[0]["train_nll_per_token"])
    (paper, nll), (per_word, nll_per_word) = baselines["paper"], baselines["per word"]
    tokens_per_caption = np.mean([len(t) - 1 for t in CaptionPairs.from_records(train_records, vocab).tokens])  # words and <end>
    # the moving average starts at 0 and keeps 0.9 of itself per step: after 15 steps it has come 1 - 0.9**15 = 79% of the way
    assert -nll_per_word < per_word < -0.6 * nll_per_word
    assert -nll * tokens_per_caption < paper < -0.6 * nll * tokens_per_caption


def test_the_expected_context_share_falls_linearly_from_its_start_then_stays():
    """Known values: from 1 to 0.75 over 5 epochs is 0.05 less per epoch; without a start, the paper's fixed share."""
    annealed = TrainConfig(expected_context_prob=0.75, expected_context_start=1.0, expected_context_anneal_epochs=5)
    assert [expected_context_share(annealed, epoch) for epoch in range(8)] == pytest.approx([1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.75, 0.75])
    rising = TrainConfig(expected_context_prob=0.5, expected_context_start=0.0, expected_context_anneal_epochs=2)
    assert [expected_context_share(rising, epoch) for epoch in range(3)] == pytest.approx([0.0, 0.25, 0.5])
    assert {expected_context_share(TrainConfig(), epoch) for epoch in range(4)} == {0.5}


def test_learning_rate_schedules_at_known_points():
    """Constant (the paper), times 0.8 after each epoch, and half a cosine from the rate to 0 over 4 epochs."""
    assert {learning_rate_at(TrainConfig(learning_rate=2e-4), p) for p in (0, 1.5, 19.99)} == {2e-4}
    decayed = TrainConfig(learning_rate=1.0, lr_decay=0.8)
    assert [learning_rate_at(decayed, p) for p in (0, 0.99, 1, 2.5)] == pytest.approx([1, 1, 0.8, 0.64])
    cosine = TrainConfig(learning_rate=1.0, epochs=4, lr_schedule="cosine")
    assert [learning_rate_at(cosine, p) for p in (0, 1, 2, 3, 4, 5)] == pytest.approx([1, 0.853553, 0.5, 0.146447, 0, 0], abs=1e-6)
    with pytest.raises(ValueError, match="two schedules"):
        TrainConfig(lr_schedule="cosine", lr_decay=0.9)
    with pytest.raises(ValueError, match="lr_schedule must be one of constant, cosine"):
        TrainConfig(lr_schedule="linear")


@pytest.mark.parametrize("schedule, expected", [
    ({}, lambda k, n: 0.01),
    ({"lr_decay": 0.5}, lambda k, n: 0.01 * 0.5 ** (k // n)),
    ({"lr_schedule": "cosine"}, lambda k, n: 0.01 * (1 + np.cos(np.pi * k / (2 * n))) / 2),
])
def test_every_step_uses_the_scheduled_learning_rate(tmp_path, monkeypatch, schedule, expected):
    """The rate Adam steps with at step k of a 2-epoch run of n steps an epoch: the schedule's closed form."""
    config, vocab, train_inputs, train_records, val_inputs, val_records = _small_synthetic(tmp_path)
    used = []
    adam_step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        used.append(self.param_groups[0]["lr"])
        return adam_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    seed_everything(0)
    model = experiment.new_model(config, vocab, embed_dim=16, hidden_dim=24, attention_dim=16, attention="soft")
    state = train(model, vocab, train_inputs, train_records, val_inputs, val_records,
                  TrainConfig(epochs=2, batch_size=16, learning_rate=0.01, checkpoint_every=1000, val_max_images=4, **schedule),
                  tmp_path / "run", device="cpu", progress=False)
    n = state.global_step // 2
    assert n > 1 and len(used) == 2 * n
    assert used == pytest.approx([expected(k, n) for k in range(2 * n)], rel=1e-12)
    assert state.history[-1]["lr"] == used[-1]


def test_a_first_epoch_at_share_1_trains_only_on_the_expected_context(tmp_path):
    """The moving-average baseline moves only on minibatches of sampled locations: starting the share at 1 leaves it
    at 0 through epoch 1, whatever the final share; starting at 0 moves it."""
    data = _small_synthetic(tmp_path)
    baselines = {start: _train_hard_for_an_epoch(data, tmp_path / str(start), expected_context_prob=0.0, expected_context_start=start,
                                                 expected_context_anneal_epochs=3).baseline for start in (1.0, 0.0)}
    assert baselines[1.0] == 0.0
    assert baselines[0.0] < -1.0


def test_expected_context_drawn_per_caption_moves_the_baseline_on_sampled_captions_only(tmp_path):
    """Per-caption draws at share 1 never sample, so the baseline stays 0; at share 0 every caption samples and
    the run is the per-minibatch run at share 0, step for step (the extra draws come from a separate generator)."""
    data = _small_synthetic(tmp_path)
    never = _train_hard_for_an_epoch(data, tmp_path / "never", expected_context_prob=1.0, expected_context_per_caption=True)
    assert never.baseline == 0.0
    always = {per_caption: _train_hard_for_an_epoch(data, tmp_path / f"always_{per_caption}", expected_context_prob=0.0,
                                                    expected_context_per_caption=per_caption) for per_caption in (True, False)}
    assert always[True].baseline < -1.0
    assert always[True].baseline == always[False].baseline
    assert always[True].history[0]["train_nll_per_token"] == always[False].history[0]["train_nll_per_token"]
    half = _train_hard_for_an_epoch(data, tmp_path / "half", expected_context_prob=0.5, expected_context_per_caption=True)
    assert half.baseline < -1.0


def test_two_location_samples_per_caption_train_the_same_minibatches(tmp_path):
    """``location_samples`` 2 with the leave-one-out baseline: the loop takes the same steps over the same
    captions; the moving average still follows the sampled captions' rewards (each caption's mean over its samples),
    and the logged NLL per token is that of the captions, not doubled."""
    data = _small_synthetic(tmp_path)
    one = _train_hard_for_an_epoch(data, tmp_path / "one", expected_context_prob=0.0)
    two = _train_hard_for_an_epoch(data, tmp_path / "two", expected_context_prob=0.0, location_samples=2, leave_one_out_baseline=True)
    assert two.global_step == one.global_step
    assert two.baseline < -1.0
    nll_one, nll_two = one.history[0]["train_nll_per_token"], two.history[0]["train_nll_per_token"]
    assert 0.5 * nll_one < nll_two < 1.5 * nll_one


class EveryStepBar(training.tqdm):
    """The training bar, redrawn at every step."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **{**kwargs, "mininterval": 0, "miniters": 1})


def test_minibatch_loss_spread_reads_every_step_loss_back_from_the_bars(tmp_path, monkeypatch, capsys):
    """scripts/minibatch_loss_spread.py on a tiny hard-attention run of two epochs with its progress bars on,
    redrawn at every step (a real run's steps take longer than tqdm's 0.1 s between redraws; these need not): one
    loss per step comes back from the console text, and each epoch's mean is the ``train_loss`` the run logged, to
    the bar's two decimals."""
    monkeypatch.setattr(training, "tqdm", EveryStepBar)
    config, vocab, train_inputs, train_records, val_inputs, val_records = _small_synthetic(tmp_path)
    seed_everything(0)
    model = experiment.new_model(config, vocab, embed_dim=16, hidden_dim=24, attention_dim=16, attention="hard")
    state = train(model, vocab, train_inputs, train_records, val_inputs, val_records,
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

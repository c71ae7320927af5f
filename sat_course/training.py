"""Training with the paper's settings: teacher forcing, Adam (or RMSProp), dropout, selection on validation BLEU-4.

``train`` runs on CPU, on one GPU (with bf16 autocast when ``amp``), or on several GPUs/processes with
DistributedDataParallel when started by ``torchrun``. It writes to ``out_dir``:

- ``last.pt``  everything needed to resume (written atomically every ``checkpoint_every`` steps and at each
  epoch's end); a run killed at any moment continues from it and ends as an uninterrupted run would;
- ``best.pt``  the model with the best validation BLEU-4 of decoded captions (never teacher-forced scores);
  with ``ema_decay`` the exponential moving average of the weights is what is validated and kept;
- ``epochs/epoch_NN.pt``  with ``keep_epochs``, the weights at the end of epoch NN (what ``best.pt`` holds for
  the best one), so that every epoch can be scored afterwards;
- ``log.csv``  per epoch: the training objective, the negative log-likelihood per predicted token (words and
  ``<end>``; comparable between soft and hard attention, whose objectives are not), tokens/s and validation BLEU-4.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from .checkpoint import load_checkpoint, model_state, restore_rng_states, rng_states, save_atomic
from .data import CaptionPairs, ModelInputs, length_batches
from .decoding import Caption, decode
from .losses import (
    MovingAverageBaseline, caption_log_likelihood, doubly_stochastic_penalty, leave_one_out_baseline, reinforce_surrogate,
)
from .metrics import nltk_bleu
from .model import CaptionModel
from .records import CaptionedImage
from .text import Vocabulary

log = logging.getLogger(__name__)

Optimizer = Literal["adam", "rmsprop"]
LearningRateSchedule = Literal["constant", "cosine"]


@dataclass
class TrainConfig:
    """Hyperparameters; the defaults are the authors' (COURSE_NOTES.md), departures are opt-in."""

    epochs: int = 20
    batch_size: int = 64
    optimizer: Optimizer = "adam"  # "adam" (the authors' code) or "rmsprop" (section 4.3 for Flickr8k; see make_optimizer)
    learning_rate: float = 2e-4  # Adam's, as the authors' code; RMSProp's is 1e-4
    doubly_stochastic: float = 1.0  # lambda of eq. 14
    reinforce_weight: float = 1.0  # lambda_r of eq. 12
    entropy_weight: float = 0.002  # lambda_e of eq. 12
    baseline_decay: float = 0.9
    expected_context_prob: float = 0.5  # hard attention: minibatches that use the expected context (section 4.1)
    location_samples: int = 1  # hard attention: N of eq. 11, location sequences sampled per caption (the authors' code: 1)
    patience: int = 5  # epochs without a better validation BLEU-4 before stopping
    val_beam_size: int = 1
    val_max_images: int | None = None  # decode only the first images of the validation split (faster selection)
    max_decode_steps: int = 20
    checkpoint_every: int = 200  # steps
    keep_epochs: bool = False  # also write each epoch's weights to epochs/epoch_NN.pt (to score every epoch afterwards)
    seed: int = 0
    amp: bool = True  # bf16 autocast on CUDA; on CPU only with cpu_amp
    max_minutes: float | None = None  # time budget: no epoch is started that would end past it
    # Departures from the paper, off by default:
    cpu_amp: bool = False  # bf16 autocast on a CPU with native bf16 (AVX512-BF16 or AMX): 1.7x faster steps here
    grad_clip: float | None = None
    label_smoothing: float = 0.0
    lr_decay: float | None = None  # multiply the learning rate by this after every epoch (learning_rate_at)
    lr_schedule: LearningRateSchedule = "constant"  # "cosine": anneal it to 0 over `epochs`, every step (learning_rate_at)
    baseline_per_token: bool = False  # hard attention: a baseline per word times the caption's length (losses.py)
    reward_per_word: bool = False  # hard attention: REINFORCE rewards the log-likelihood per word, as the authors' code
    ema_decay: float | None = None  # validate and keep an exponential moving average of the weights (make_weight_average)
    flip_probability: float = 0.0  # each minibatch image is replaced by its mirror image with this probability
    expected_context_start: float | None = None  # hard attention: the expected-context share of epoch 1, annealed (expected_context_share)
    expected_context_anneal_epochs: int = 5  # epochs over which that share falls linearly to expected_context_prob
    expected_context_per_caption: bool = False  # hard attention: draw the expected context per caption, not per minibatch
    leave_one_out_baseline: bool = False  # hard attention, N > 1: a sample's baseline is the mean reward of its caption's other samples

    def __post_init__(self) -> None:
        """Refuse values no run can use before any work starts (the command line prints the message)."""
        for name, (valid, wanted) in TRAIN_CONFIG_RANGES.items():
            value = getattr(self, name)
            if value is not None and not valid(value):
                raise ValueError(f"{name} must be {wanted}, got {value}")
        if self.lr_schedule not in get_args(LearningRateSchedule):
            raise ValueError(f"lr_schedule must be one of {', '.join(get_args(LearningRateSchedule))}, got {self.lr_schedule!r}")
        if self.lr_schedule == "cosine" and self.lr_decay is not None:
            raise ValueError("lr_decay and the cosine lr_schedule are two schedules: choose one")
        if self.leave_one_out_baseline and self.location_samples < 2:
            raise ValueError("leave_one_out_baseline needs location_samples of at least 2: the other samples are the baseline")

    def to_dict(self) -> dict:
        return asdict(self)


# The valid values of TrainConfig's numeric fields; None, where a field allows it, always passes.
TRAIN_CONFIG_RANGES: dict[str, tuple[Callable[[float], bool], str]] = {
    **dict.fromkeys(
        ("epochs", "batch_size", "patience", "val_beam_size", "val_max_images", "max_decode_steps", "checkpoint_every",
         "expected_context_anneal_epochs", "location_samples"),
        (lambda v: v >= 1, "at least 1"),
    ),
    **dict.fromkeys(("learning_rate", "max_minutes", "grad_clip"), (lambda v: v > 0, "positive")),
    **dict.fromkeys(("doubly_stochastic", "reinforce_weight", "entropy_weight"), (lambda v: v >= 0, "at least 0")),
    **dict.fromkeys(("baseline_decay", "label_smoothing", "ema_decay"), (lambda v: 0 <= v < 1, "in [0, 1)")),
    **dict.fromkeys(("expected_context_prob", "expected_context_start", "flip_probability"), (lambda p: 0 <= p <= 1, "a probability, in [0, 1]")),
    "lr_decay": (lambda d: 0 < d <= 1, "in (0, 1]"),
}


def expected_context_share(config: TrainConfig, epoch: int) -> float:
    """The probability that a hard-attention minibatch of ``epoch`` (0-based) uses the expected context.

    The paper (section 4.1) fixes it at 0.5. A departure, off by default: with ``expected_context_start`` the
    share starts there in the first epoch and falls linearly to ``expected_context_prob`` over
    ``expected_context_anneal_epochs`` epochs, then stays. Starting at 1 trains the first epoch as soft
    attention (deterministic, fast to learn) and hands over to REINFORCE's sampled locations gradually.
    """
    if config.expected_context_start is None:
        return config.expected_context_prob
    progress = min(epoch / config.expected_context_anneal_epochs, 1.0)
    return config.expected_context_start + progress * (config.expected_context_prob - config.expected_context_start)


def learning_rate_at(config: TrainConfig, progress: float) -> float:
    """The learning rate ``progress`` epochs into training (fractional: 2.5 is halfway through the third epoch).

    The paper keeps it constant. Two departures, off by default: ``lr_decay`` multiplies it by that factor after
    every epoch; the cosine ``lr_schedule`` lowers it at every step along half a cosine, from ``learning_rate`` at
    the start to 0 at the end of epoch ``epochs`` (SGDR's annealing, Loshchilov and Hutter 2017, without restarts):

        lr = learning_rate * (1 + cos(pi * progress / epochs)) / 2

    Under a time budget, set ``epochs`` to what the budget fits, or the budget stops the anneal short.
    """
    if config.lr_schedule == "cosine":
        return config.learning_rate * (1 + math.cos(math.pi * min(progress / config.epochs, 1.0))) / 2
    return config.learning_rate * (config.lr_decay or 1.0) ** math.floor(progress)


def make_optimizer(parameters: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """Adam, or RMSProp as in section 4.3 ("for Flickr8k, RMSProp worked best").

    RMSProp is the authors' (Theano) form: Graves' centred RMSProp with gradient averages decaying by 0.95 and
    momentum 0.9 on the step, d <- 0.9 d - lr g / sqrt(E[g^2] - E[g]^2 + eps). torch's ``RMSprop(centered=True)``
    is the same update except that eps is added after the square root; the authors' eps of 1e-4 inside the root
    equals 1e-2 outside it where E[g^2] - E[g]^2 is 0, and makes no difference where it is large.
    """
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.learning_rate)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=config.learning_rate, alpha=0.95, eps=1e-2, momentum=0.9, centered=True)
    raise ValueError(f"unknown optimizer {config.optimizer!r}: choose one of {', '.join(get_args(Optimizer))}")


def make_weight_average(model: torch.nn.Module, decay: float) -> AveragedModel:
    """An exponential moving average of the weights, e <- decay e + (1 - decay) w after every step.

    A departure from the paper, off by default: validation BLEU-4 swings by 1-3 points from epoch to epoch
    on Flickr8k, and the average over the last ~1/(1 - decay) steps smooths the noise of single minibatches.
    The first update copies the weights.
    """
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"ema_decay must be in [0, 1), got {decay}")
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))


def cpu_has_native_bf16() -> bool:
    """True when oneDNN runs bf16 matmuls natively here (AVX512-BF16 or AMX), where bf16 beats fp32."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def autocast_enabled(config: TrainConfig, device: torch.device) -> bool:
    """bf16 autocast: on CUDA when ``amp``; on CPU only when asked (``cpu_amp``) and the CPU has native bf16."""
    if device.type == "cuda":
        return config.amp
    if device.type == "cpu" and config.cpu_amp:
        if not cpu_has_native_bf16():
            raise ValueError("cpu_amp needs a CPU with native bf16 (AVX512-BF16 or AMX); this one has neither")
        return True
    return False


@dataclass
class TrainState:
    """Where training stands; restored from ``last.pt`` on resume."""

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    baseline: float = 0.0
    best_bleu4: float = -1.0
    best_epoch: int = -1
    epochs_without_improvement: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def pick_device(name: str | None = None) -> torch.device:
    """The device asked for, else CUDA when present, else the CPU.

    A CUDA device without an index is the GPU of this process's ``LOCAL_RANK`` (set by torchrun, 0 otherwise), so
    that each process of a multi-GPU run takes its own GPU instead of all of them sharing the first.
    """
    device = torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU), and hold cuDNN to deterministic convolution algorithms: left
    to choose, it may take ones that sum gradients in a varying order, and a resumed run could then drift from an
    uninterrupted one (PyTorch's reproducibility notes)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True


def _distributed() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed_from_env(device: torch.device) -> tuple[int, int]:
    """Join the process group torchrun describes in the environment (gloo on CPU, nccl on CUDA)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)  # NCCL's collectives (and all_gather_object's buffers) use the current device
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return _distributed()


def batch_loss(
    model: CaptionModel | DistributedDataParallel,
    inputs: torch.Tensor,
    tokens: torch.Tensor,
    config: TrainConfig,
    attention: str,
    baseline: float | torch.Tensor,
    use_expected_context: bool | torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The minibatch objective and the per-caption log-likelihoods (for the baseline).

    ``baseline`` is the REINFORCE baseline: one number, or one per caption.
    ``use_expected_context``: one flag for the minibatch, or one per caption (a boolean tensor).

    soft: ``-log p(y|a) + lambda sum_i (1 - sum_t alpha_ti)^2`` (eq. 14).
    hard: the REINFORCE surrogate of eq. 12, or, for the captions that use the expected context, the
    soft objective with the entropy term. With ``config.location_samples`` N > 1, a sampled minibatch holds
    each caption N times, each with its own draw of locations, and the mean over them is eq. 11's
    ``1/N sum_n``; the log-likelihoods returned are then each caption's mean over its N samples.
    """
    per_caption_flags = isinstance(use_expected_context, torch.Tensor)
    if attention == "soft" or (not per_caption_flags and use_expected_context):
        mode, expected_rows = "expected", None
    else:
        mode, expected_rows = "sample", use_expected_context if per_caption_flags else None
    samples = config.location_samples if mode == "sample" else 1
    if samples > 1:
        inputs, tokens = inputs.repeat_interleave(samples, 0), tokens.repeat_interleave(samples, 0)
        if isinstance(baseline, torch.Tensor):
            baseline = baseline.repeat_interleave(samples)
        if expected_rows is not None:
            expected_rows = expected_rows.repeat_interleave(samples)
    targets, mask = tokens[:, 1:], (tokens[:, 1:] != Vocabulary.pad_id).float()
    out = model(inputs, tokens, context_mode=mode, expected_rows=expected_rows)
    logits = out.logits.float()
    log_lik = caption_log_likelihood(logits, targets, mask)
    if config.label_smoothing > 0:
        smoothed = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none", label_smoothing=config.label_smoothing)
        fit = (smoothed * mask).sum(1)
    else:
        fit = -log_lik
    per_caption = fit
    if attention == "hard":
        per_caption = per_caption - config.entropy_weight * (out.entropies.float() * mask).sum(1)
    if mode == "sample":
        if config.leave_one_out_baseline:
            baseline = leave_one_out_baseline(log_lik.detach(), samples)
        sampled = reinforce_surrogate(
            log_lik, out.log_p_locations.float(), out.entropies.float(), mask, baseline,
            config.reinforce_weight, config.entropy_weight, config.reward_per_word,
        ) + (fit + log_lik)  # label smoothing, when on, replaces the likelihood term
        per_caption = sampled if expected_rows is None else torch.where(expected_rows, per_caption, sampled)
    if config.doubly_stochastic:
        per_caption = per_caption + config.doubly_stochastic * doubly_stochastic_penalty(out.alphas.float(), mask)
    return per_caption.mean(), log_lik.detach().view(-1, samples).mean(1)


@torch.no_grad()
def generate(
    model: CaptionModel,
    inputs: ModelInputs,
    rows: list[int] | None = None,
    beam_size: int = 3,
    max_steps: int = 20,
    batch_size: int = 50,
    context_mode: str = "expected",
    device: torch.device | str = "cpu",
    progress: bool = False,
    generator: torch.Generator | None = None,
    length_normalise: bool = False,
) -> list[Caption]:
    """Decode each image once (batched), in the order of ``rows`` (all rows by default)."""
    rows = list(range(len(inputs))) if rows is None else list(rows)
    model.eval()
    captions: list[Caption] = []
    batches = [rows[k : k + batch_size] for k in range(0, len(rows), batch_size)]
    for batch in tqdm(batches, desc=f"decoding (beam {beam_size})", unit="batch", disable=not progress):
        a = model.annotations(inputs.batch(batch).to(device))
        captions += decode(model.decoder, a, beam_size, max_steps, context_mode, generator, length_normalise)
    return captions


def validation_bleu4(model: CaptionModel, vocab: Vocabulary, inputs: ModelInputs, records: list[CaptionedImage], config: TrainConfig, device: torch.device) -> float:
    """nltk corpus BLEU-4 (0-100) of decoded captions on (the first ``val_max_images`` of) the validation split."""
    n = len(records) if config.val_max_images is None else min(len(records), config.val_max_images)
    captions = generate(model, inputs, list(range(n)), config.val_beam_size, config.max_decode_steps, device=device)
    hypotheses = [vocab.decode(c.tokens) for c in captions]
    return nltk_bleu([r.captions for r in records[:n]], hypotheses)["BLEU-4"]


def kept_epoch_path(out_dir: str | Path, epoch: int) -> Path:
    """Where ``keep_epochs`` writes the weights at the end of ``epoch`` (1-based)."""
    return Path(out_dir) / "epochs" / f"epoch_{epoch:02d}.pt"


def _write_log(path: Path, history: list[dict[str, Any]]) -> None:
    """Write ``log.csv`` from the whole history, every column any epoch has (older runs lack some)."""
    columns = list(dict.fromkeys(key for row in history for key in row))
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(history)
    os.replace(tmp, path)


def train(
    model: CaptionModel,
    vocab: Vocabulary,
    train_inputs: ModelInputs,
    train_records: list[CaptionedImage],
    val_inputs: ModelInputs,
    val_records: list[CaptionedImage],
    config: TrainConfig,
    out_dir: str | Path,
    device: torch.device | str | None = None,
    progress: bool = True,
    extra_state: dict[str, Any] | None = None,
) -> TrainState:
    """Train (resuming from ``out_dir/last.pt`` when it exists) and return the final state.

    ``extra_state`` (dataset and encoder settings, for instance) is stored in every checkpoint.
    """
    if config.flip_probability and train_inputs.flipped is None:
        raise ValueError("flip_probability needs the training inputs with their flipped copy (model_inputs(..., flipped=True))")
    device = pick_device(str(device) if device else None)
    rank, world = init_distributed_from_env(device)
    out_dir = Path(out_dir)
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
    attention = model.decoder.config.attention
    model.to(device)
    optimizer = make_optimizer(model.parameters(), config)
    average = make_weight_average(model, config.ema_decay) if config.ema_decay is not None else None
    evaluated = average.module if average is not None else model  # what is validated and saved as best.pt
    state = TrainState()
    seed_everything(config.seed + rank)
    last = out_dir / "last.pt"
    if last.exists():
        saved = load_checkpoint(last, device)
        if saved["vocab"]["fingerprint"] != vocab.fingerprint():
            raise ValueError(f"{last}: was trained with another vocabulary; use a new output folder")
        saved_optimizer = saved["train_config"].get("optimizer", "adam")
        if saved_optimizer != config.optimizer:
            raise ValueError(f"{last}: was trained with {saved_optimizer}; resume with --optimizer {saved_optimizer} or use a new output folder")
        saved_decay = saved["train_config"].get("ema_decay")
        if saved_decay != config.ema_decay:
            raise ValueError(f"{last}: was trained with ema_decay {saved_decay}; resume with the same setting or use a new output folder")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if average is not None:
            average.load_state_dict(saved["weight_average"])
        state = TrainState(**saved["train_state"])
        restore_rng_states(saved["rng"][rank] if isinstance(saved["rng"], list) else saved["rng"])
        log.info("resumed from %s at epoch %d step %d", last, state.epoch, state.step_in_epoch)
        if rank == 0:  # epochs logged after the checkpoint was written will be run and logged again
            _write_log(out_dir / "log.csv", state.history)
    wrapped = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) if world > 1 else model
    pairs = CaptionPairs.from_records(train_records, vocab)
    baseline = MovingAverageBaseline(config.baseline_decay, state.baseline, per_token=config.baseline_per_token or config.reward_per_word)
    use_amp = autocast_enabled(config, device)
    per_caption_draws = attention == "hard" and config.expected_context_per_caption

    def checkpoint(path: Path, full: bool) -> None:
        all_rng = [None] * world
        if world > 1:
            dist.all_gather_object(all_rng, rng_states())
        else:
            all_rng = [rng_states()]
        if rank != 0:
            return
        payload = {**model_state(model if full else evaluated, vocab), "train_config": config.to_dict(), "extra": extra_state or {}}
        if full:
            state.baseline = baseline.value
            payload.update({"optimizer": optimizer.state_dict(), "train_state": asdict(state), "rng": all_rng})
            if average is not None:
                payload["weight_average"] = average.state_dict()
        save_atomic(payload, path)

    run_started = time.perf_counter() - sum(row["seconds"] + row.get("val_seconds", 0.0) for row in state.history)
    while state.epoch < config.epochs and state.epochs_without_improvement < config.patience:
        if config.max_minutes is not None and state.history:
            last_epoch = state.history[-1]["seconds"] + state.history[-1]["val_seconds"]
            if time.perf_counter() - run_started + last_epoch > 60 * config.max_minutes:
                log.info("stopping: another epoch would overrun the time budget of %.1f minutes", config.max_minutes)
                break
        batches = length_batches(pairs, config.batch_size, config.seed, state.epoch, rank, world)
        expected_share = expected_context_share(config, state.epoch)
        model.train()
        started, tokens_seen, loss_sum, loss_count, nll_sum = time.perf_counter(), 0, 0.0, 0, 0.0
        bar = tqdm(total=len(batches), initial=state.step_in_epoch, desc=f"epoch {state.epoch + 1}/{config.epochs}", disable=not progress or rank != 0)
        for batch in batches[state.step_in_epoch :]:
            rows, tokens = pairs.collate(batch)
            # The same draws for every process, and the same after a resume: from (seed, step).
            draws = np.random.default_rng([config.seed, state.global_step])
            use_expected = attention == "hard" and draws.random() < expected_share
            flip = draws.random(len(rows)) < config.flip_probability if config.flip_probability else None
            if per_caption_draws:
                use_expected = torch.from_numpy(draws.random(len(rows)) < expected_share).to(device)
            inputs, tokens = train_inputs.batch(rows, flip).to(device, non_blocking=True), tokens.to(device, non_blocking=True)
            lengths = (tokens[:, 1:] != Vocabulary.pad_id).sum(1)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate_at(config, state.epoch + state.step_in_epoch / len(batches))
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                loss, log_lik = batch_loss(wrapped, inputs, tokens, config, attention, baseline(lengths), use_expected)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            if average is not None:
                average.update_parameters(model)
            if attention == "hard" and (per_caption_draws or not use_expected):  # the baseline follows sampled captions only
                sampled = ~use_expected if per_caption_draws else slice(None)
                reward_sum_and_count = baseline.reward_statistic(log_lik[sampled], lengths[sampled])
                if world > 1:
                    dist.all_reduce(reward_sum_and_count)
                if reward_sum_and_count[1] > 0:
                    baseline.update((reward_sum_and_count[0] / reward_sum_and_count[1]).item())
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                raise FloatingPointError(f"loss became {loss_value} at epoch {state.epoch + 1} step {state.step_in_epoch}")
            loss_sum += loss_value
            loss_count += 1
            batch_tokens, batch_nll = int(lengths.sum()), -float(log_lik.sum())
            nll_sum += batch_nll
            tokens_seen += batch_tokens
            state.step_in_epoch += 1
            state.global_step += 1
            bar.set_postfix(loss=f"{loss_value:.2f}", nll_per_token=f"{batch_nll / batch_tokens:.3f}", refresh=False)
            bar.update(1)
            if state.global_step % config.checkpoint_every == 0:
                checkpoint(last, full=True)
        bar.close()
        seconds = time.perf_counter() - started
        bleu4 = validation_bleu4(evaluated, vocab, val_inputs, val_records, config, device) if rank == 0 else 0.0
        val_seconds = time.perf_counter() - started - seconds
        if world > 1:
            shared = [bleu4]
            dist.broadcast_object_list(shared, src=0)
            bleu4 = shared[0]
        improved = bleu4 > state.best_bleu4
        if improved:
            state.best_bleu4, state.best_epoch, state.epochs_without_improvement = bleu4, state.epoch + 1, 0
        else:
            state.epochs_without_improvement += 1
        row = {
            "epoch": state.epoch + 1,
            "steps": state.global_step,
            "train_loss": round(loss_sum / max(loss_count, 1), 4),
            "train_nll_per_token": round(nll_sum / max(tokens_seen, 1), 4),
            "val_bleu4_nltk": round(bleu4, 3),
            "tokens_per_s": round(tokens_seen * world / max(seconds, 1e-9), 1),
            "seconds": round(seconds, 1),
            "val_seconds": round(val_seconds, 1),
            "lr": optimizer.param_groups[0]["lr"],
        }
        state.history.append(row)
        state.epoch += 1
        state.step_in_epoch = 0
        if rank == 0:
            _write_log(out_dir / "log.csv", state.history)
            if progress:
                tqdm.write(f"epoch {row['epoch']}: objective {row['train_loss']:.3f}, NLL per token {row['train_nll_per_token']:.3f}, val BLEU-4 (nltk, beam {config.val_beam_size}) {bleu4:.2f}, {row['tokens_per_s']:.0f} tokens/s")
        if improved:
            checkpoint(out_dir / "best.pt", full=False)
        if config.keep_epochs:
            checkpoint(kept_epoch_path(out_dir, state.epoch), full=False)
        checkpoint(last, full=True)
    return state

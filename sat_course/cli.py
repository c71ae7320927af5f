"""``python -m sat_course`` (also ``sat-course``): download, features, train, evaluate, caption, report, curves, benchmark.

Every training hyperparameter is an option whose default is the paper's (see ``TrainConfig``).
Bad input ends with one ``error:`` line, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
import typing
from pathlib import Path

import torch

from . import experiment
from .datasets.download import add_download_arguments, run_download
from .datasets.errors import DatasetError
from .encoders import ENCODER_LAYERS, PRETRAINED_WEIGHTS, EncoderSpec
from .features import CacheMismatchError
from .training import TrainConfig

TRAIN_HELP = {
    "epochs": "most epochs to train",
    "batch_size": "captions per minibatch (of equal length where possible, as the authors)",
    "optimizer": "adam (the authors' code) or rmsprop (the paper's choice for Flickr8k, section 4.3; use it with --learning-rate 1e-4)",
    "learning_rate": "step size of the optimizer (the authors': Adam 2e-4, RMSProp 1e-4)",
    "doubly_stochastic": "lambda of the doubly stochastic attention penalty (eq. 14); 0 switches it off",
    "reinforce_weight": "lambda_r: weight of the REINFORCE term for hard attention (eq. 12)",
    "entropy_weight": "lambda_e: weight of the attention entropy bonus for hard attention (eq. 12)",
    "baseline_decay": "decay of the moving-average baseline of hard attention",
    "expected_context_prob": "hard attention: probability that a minibatch uses the expected context",
    "location_samples": "hard attention: N of eq. 11, sequences of locations sampled for each caption of a sampled minibatch (the authors' code: 1); a sampled step costs about N times as much",
    "patience": "epochs without a better validation BLEU-4 before early stopping",
    "val_beam_size": "beam size of the validation decoding used for model selection",
    "val_max_images": "decode only this many validation images for model selection",
    "max_decode_steps": "longest caption decoded (tokens)",
    "checkpoint_every": "write last.pt every this many steps",
    "keep_epochs": "also write each epoch's weights to OUT/epochs/epoch_NN.pt, to score every epoch afterwards with evaluate",
    "seed": "random seed of the run",
    "amp": "bf16 autocast on CUDA",
    "cpu_amp": "departure from the paper's fp32: bf16 autocast on a CPU with native bf16 (AVX512-BF16/AMX), 1.7x faster steps on an AVX512-BF16 EPYC",
    "max_minutes": "time budget: start no epoch that would end past it",
    "grad_clip": "departure from the paper: clip the gradient norm to this",
    "label_smoothing": "departure from the paper: label smoothing of the likelihood",
    "lr_decay": "departure from the paper: multiply the learning rate by this after every epoch",
    "lr_schedule": "departure from the paper's constant rate: cosine lowers it every step along half a cosine to 0 at the end of --epochs (set --epochs to what --max-minutes fits)",
    "baseline_per_token": "departure from the paper: hard attention's baseline tracks the log-likelihood per word and scales with each caption's length",
    "reward_per_word": "departure from the paper, as the authors' code: hard attention's REINFORCE reward is the log-likelihood per word, against a per-word baseline (their objective at batch 64: --reward-per-word --reinforce-weight 6.4 --entropy-weight 0.128 --doubly-stochastic 0; see README)",
    "ema_decay": "departure from the paper: validate and keep an exponential moving average of the weights with this decay per step (0.999: about the last 1000 steps)",
    "expected_context_start": "departure from the paper: hard attention's expected-context share in the first epoch, falling linearly to --expected-context-prob over --expected-context-anneal-epochs (1: begin as soft attention)",
    "expected_context_anneal_epochs": "epochs over which --expected-context-start falls to --expected-context-prob",
    "expected_context_per_caption": "hard attention: draw the expected context for each caption (the paper's 'for a given image', section 4.1) instead of once per minibatch (the authors' code)",
    "leave_one_out_baseline": "departure from the paper: with --location-samples of 2 or more, each sample's REINFORCE baseline is the mean reward of its caption's other samples, not the moving average",
    "flip_probability": "departure from the paper: flip augmentation, training on the features of the mirrored image with this probability (extracts them once)",
}
# What a TrainConfig default of None means, for --help.
NONE_DEFAULT_MEANS = {"val_max_images": "all", "max_minutes": "no limit", "grad_clip": "off", "lr_decay": "off", "ema_decay": "off", "expected_context_start": "off"}


def _add_data_arguments(parser: argparse.ArgumentParser, with_encoder: bool = True) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--dataset", choices=experiment.DATASETS, default="flickr8k", help="which dataset (default: %(default)s)")
    group.add_argument("--root", help="dataset folder: Flickr8k's official layout, or the image folder of Flickr30k/COCO (default: found automatically for Flickr8k)")
    group.add_argument("--karpathy-json", help="Karpathy's split file, for flickr30k and coco")
    group.add_argument("--limit", type=int, help="use only the first N images of each split (quick runs)")
    group.add_argument("--min-count", type=int, default=5, help="keep words seen at least this often in training captions (default: %(default)s; synthetic: 1)")
    group.add_argument("--max-length", type=int, default=50, help="longest caption kept, in words (default: %(default)s)")
    group.add_argument("--synthetic-sizes", type=int, nargs=3, default=(4000, 500, 500), metavar=("TRAIN", "VAL", "TEST"), help="images per split of the synthetic scenes")
    group.add_argument("--data-seed", type=int, default=0, help="seed of the synthetic scenes (default: %(default)s)")
    if with_encoder:
        group.add_argument("--encoder", choices=list(ENCODER_LAYERS), default="mobilenet_v2", help="the CNN (default: %(default)s; small_cnn, trained with the decoder, only for synthetic scenes)")
        group.add_argument("--layer", help="encoder layer: " + "; ".join(f"{n}: {', '.join(l)}" for n, l in ENCODER_LAYERS.items()))
        group.add_argument("--weights", default="default", help="torchvision weights name, 'default' (ImageNet) or 'none'")
        group.add_argument("--input-size", type=int, help="image side after resize and centre crop (default: 224; synthetic scenes: 128, small_cnn: 64)")
        group.add_argument("--whole-image", action="store_true",
                           help="departure from the paper: resize the whole photo to a square of --input-size instead of resizing its short side and cropping the centre")
        group.add_argument("--feature-dtype", choices=["float16", "float32"], default="float16", help="dtype of the feature cache")
        group.add_argument("--cache-dir", help="where feature caches go (default: data/cache/features)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when present)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers for image decoding (default: %(default)s)")


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """``train``'s TrainConfig: one option per field; its range checks run here, before any work."""
    return TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})


def data_config_from_args(args: argparse.Namespace) -> experiment.DataConfig:
    synthetic = args.dataset == "synthetic"
    if args.encoder == "small_cnn":
        spec = EncoderSpec("small_cnn", weights=None, input_size=args.input_size or 64)
    else:
        weights = PRETRAINED_WEIGHTS[args.encoder] if args.weights == "default" else (None if args.weights.lower() == "none" else args.weights)
        scene_default = synthetic and args.encoder == experiment.SYNTHETIC_ENCODER.name
        layer = args.layer or (experiment.SYNTHETIC_ENCODER.layer if scene_default else None)
        size = args.input_size or (experiment.SYNTHETIC_ENCODER.input_size if scene_default else 224)
        spec = EncoderSpec(args.encoder, layer, weights, size)
    return experiment.DataConfig(
        dataset=args.dataset, root=args.root, karpathy_json=args.karpathy_json, encoder=spec,
        feature_dtype=args.feature_dtype, cache_dir=args.cache_dir, whole_image=args.whole_image, min_count=1 if synthetic and args.min_count == 5 else args.min_count,
        max_length=args.max_length, limit=args.limit, synthetic_sizes=tuple(args.synthetic_sizes), seed=args.data_seed,
    )


def _add_train_config_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training (defaults: the paper's)")
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        hint = hints[f.name]
        flag = "--" + f.name.replace("_", "-")
        default_text = NONE_DEFAULT_MEANS.get(f.name, "%(default)s") if f.default is None else "%(default)s"
        help_text = f"{TRAIN_HELP[f.name]} (default: {default_text})"
        if hint is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=help_text)
        elif typing.get_origin(hint) is typing.Literal:
            group.add_argument(flag, choices=typing.get_args(hint), default=f.default, help=help_text)
        else:
            kind = float if float in (hint, *typing.get_args(hint)) else int
            group.add_argument(flag, type=kind, default=f.default, help=help_text)


def _resample_count(text: str) -> int:
    count = int(text)
    if count < 0:
        raise argparse.ArgumentTypeError(f"the number of resamples must be 0 (no intervals) or more, got {count}")
    return count


def _add_bootstrap_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap", type=_resample_count, default=1000, metavar="RESAMPLES",
                        help="95%% intervals of the coco BLEU-1..4 and CIDEr from this many resamples of the images; 0: none (default: %(default)s)")


def _print_table(table, out_json: Path | None, extra: dict) -> None:
    print(table.to_markdown())
    if out_json:
        out_json.parent.mkdir(parents=True, exist_ok=True)
        out_json.write_text(json.dumps({**table.to_dict(), **extra}, indent=2))
        print(f"metrics written to {out_json}")


def cmd_features(args: argparse.Namespace) -> int:
    config = data_config_from_args(args)
    for split in args.splits:
        records = experiment.load_records(config, split)
        inputs = experiment.model_inputs(config, split, records, args.device or "cpu", num_workers=args.workers)
        print(f"{split}: {inputs.array.shape} features ready")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .benchmark import machine_info
    from .evaluation import evaluate_split
    from .training import pick_device, seed_everything, train

    config = data_config_from_args(args)
    train_config = train_config_from_args(args)
    device = pick_device(args.device)
    machine = dict(machine_info(device))  # before the run, so its load average is the one the run started under
    started = time.perf_counter()
    train_records, val_records = experiment.load_records(config, "train"), experiment.load_records(config, "val")
    vocab = experiment.build_vocabulary(config, train_records)
    train_inputs = experiment.model_inputs(config, "train", train_records, device, num_workers=args.workers, flipped=train_config.flip_probability > 0)
    val_inputs = experiment.model_inputs(config, "val", val_records, device, num_workers=args.workers)
    seed_everything(train_config.seed)
    model = experiment.new_model(
        config, vocab, embed_dim=args.embed_dim, hidden_dim=args.hidden_dim, attention_dim=args.attention_dim,
        dropout=args.dropout, attention=args.attention, use_beta=not args.no_beta,
    )
    out = Path(args.out)
    resumed = (out / "last.pt").exists()
    print(f"training {args.attention} attention on {config.dataset} ({len(train_records)} train / {len(val_records)} val images, "
          f"vocabulary {len(vocab)}, encoder {config.encoder.name}:{config.encoder.layer}@{config.encoder.input_size}, device {device}) -> {out}")
    state = train(model, vocab, train_inputs, train_records, val_inputs, val_records, train_config, out, device,
                  extra_state={"data_config": config.to_dict()})
    if torch.distributed.is_initialized() and torch.distributed.get_rank() != 0:
        return 0
    print(f"best validation BLEU-4 (nltk, beam {train_config.val_beam_size}): {state.best_bleu4:.2f} at epoch {state.best_epoch}")
    table = evaluate_split(out / "best.pt", config, "val", args.beam_size, device=device, records=val_records, inputs=val_inputs, scorers=tuple(args.scorers),
                          resamples=args.bootstrap)
    _print_table(table, out / "metrics_val.json", {"checkpoint": str(out / "best.pt"), "wall_seconds": round(time.perf_counter() - started, 1),
                                                  "seed": train_config.seed, "best_epoch": state.best_epoch, "resumed": resumed, "machine": machine})
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .benchmark import machine_info
    from .evaluation import evaluate_split
    from .training import pick_device

    device = pick_device(args.device)
    machine = dict(machine_info(device))
    table = evaluate_split(Path(args.checkpoint), None, args.split, args.beam_size, root=args.root, device=device, limit=args.limit,
                           workers=args.workers, scorers=tuple(args.scorers), length_normalise=args.length_normalise,
                           resamples=args.bootstrap)
    _print_table(table, Path(args.json) if args.json else None, {"checkpoint": args.checkpoint, "machine": machine})
    return 0


def cmd_caption(args: argparse.Namespace) -> int:
    from .evaluation import caption_files

    for path, caption, figure in caption_files(Path(args.checkpoint), [Path(p) for p in args.images], args.beam_size, Path(args.out), args.device):
        print(f"{path}: {caption}  (attention figure: {figure})")
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    from . import benchmark

    return benchmark.run(args)


def cmd_report(args: argparse.Namespace) -> int:
    from .report import table

    print(table([Path(p) for p in args.metrics], mean=args.mean))
    return 0


def cmd_curves(args: argparse.Namespace) -> int:
    from .curves import curves_figure, read_log

    logs = [read_log(Path(run)) for run in args.runs]
    figure = curves_figure(logs, args.x, args.budget_minutes)
    for log in logs:
        best = log.best_index
        print(f"{log.name}: {len(log.epochs)} epochs in {log.minutes[-1]:.0f} training minutes; best epoch {log.epochs[best]} "
              f"(greedy validation BLEU-4 {log.val_bleu4[best]:.1f}, at {log.minutes[best]:.0f} minutes)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=args.dpi)
    print(f"figure: {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sat_course", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("download", help="download a dataset (or print how to get it)")
    add_download_arguments(p)
    p.set_defaults(run=run_download)

    p = sub.add_parser("features", help="extract CNN features of photos to the on-disk cache")
    _add_data_arguments(p)
    p.add_argument("--splits", nargs="+", default=["train", "val"], help="splits to extract (default: train val)")
    p.set_defaults(run=cmd_features)

    p = sub.add_parser("train", help="train a soft or hard attention model, then score it on the validation split")
    _add_data_arguments(p)
    model = p.add_argument_group("model")
    model.add_argument("--attention", choices=["soft", "hard"], default="soft", help="attention mechanism (default: %(default)s)")
    model.add_argument("--embed-dim", type=int, default=512, help="word embedding size m (default: %(default)s)")
    model.add_argument("--hidden-dim", type=int, default=512, help="LSTM size n (default: %(default)s)")
    model.add_argument("--attention-dim", type=int, default=512, help="hidden size of the f_att MLP (default: %(default)s)")
    model.add_argument("--dropout", type=float, default=0.5, help="dropout on the output path (default: %(default)s)")
    model.add_argument("--no-beta", action="store_true", help="ablation: no gating scalar beta")
    _add_train_config_arguments(p)
    p.add_argument("--beam-size", type=int, default=3, help="beam size of the final evaluation (default: %(default)s)")
    p.add_argument("--scorers", nargs="+", choices=["nltk", "coco"], default=["nltk", "coco"], help="scorers of the final evaluation (default: both)")
    _add_bootstrap_argument(p)
    p.add_argument("--out", required=True, help="output folder: checkpoints, log.csv, metrics_val.json (a rerun resumes)")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("evaluate", help="score a checkpoint on a split: BLEU-1..4 (nltk, coco), METEOR, ROUGE-L, CIDEr")
    p.add_argument("checkpoint", help="a best.pt or last.pt")
    p.add_argument("--split", default="val", help="train, val (alias dev) or test (default: %(default)s)")
    p.add_argument("--root", help="dataset folder in the layout the model was trained on (default: the training one)")
    p.add_argument("--beam-size", type=int, default=3, help="(default: %(default)s)")
    p.add_argument("--length-normalise", action="store_true",
                   help="rank the beam's finished captions by log-probability per word (longer captions; default: in total, as the paper)")
    p.add_argument("--limit", type=int, help="score only the first N images")
    p.add_argument("--json", help="also write the table as JSON here")
    p.add_argument("--scorers", nargs="+", choices=["nltk", "coco"], default=["nltk", "coco"], help="(default: both)")
    _add_bootstrap_argument(p)
    p.add_argument("--device", help="cpu, cuda ... (default: cuda when present)")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers for feature extraction")
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("caption", help="caption image files and save their attention figures")
    p.add_argument("checkpoint")
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--beam-size", type=int, default=3, help="(default: %(default)s)")
    p.add_argument("--out", default="build/captions", help="folder for the attention figures (default: %(default)s)")
    p.add_argument("--device", help="cpu, cuda ... (default: cuda when present)")
    p.set_defaults(run=cmd_caption)

    p = sub.add_parser("report", help="the results table (markdown) from metrics JSON files of runs")
    p.add_argument("metrics", nargs="+", help="metrics_val.json files written by train or evaluate --json")
    p.add_argument("--mean", action="store_true", help="end with the runs' mean and range (runs scored alike, e.g. one command's seeds)")
    p.set_defaults(run=cmd_report)

    p = sub.add_parser("curves", help="plot runs' validation BLEU-4 and training loss per epoch from their log.csv")
    p.add_argument("runs", nargs="+", help="run folders (or their log.csv) written by train")
    p.add_argument("--out", required=True, help="image file to write (.png, .svg, .pdf)")
    p.add_argument("--x", choices=["epoch", "minutes"], default="epoch", help="horizontal axis (default: %(default)s)")
    p.add_argument("--budget-minutes", type=float, help="with --x minutes: draw the time budget as a dashed line")
    p.add_argument("--dpi", type=int, default=120, help="(default: %(default)s)")
    p.set_defaults(run=cmd_curves)

    p = sub.add_parser("benchmark", help="print throughput figures: features, training, beam search, memory")
    p.add_argument("what", choices=["features", "train", "decode", "all"], help="which benchmark")
    p.add_argument("--images", type=int, default=256, help="images for the feature benchmark (default: %(default)s)")
    p.add_argument("--root", help="Flickr8k folder for the feature benchmark (default: found automatically)")
    p.add_argument("--steps", type=int, default=10, help="training steps timed (default: %(default)s)")
    p.set_defaults(run=cmd_benchmark)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except (DatasetError, CacheMismatchError, FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume from the last checkpoint", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

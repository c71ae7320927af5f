"""The uniform average of some kept epochs' weights, as a checkpoint that ``evaluate`` scores.

``train --keep-epochs`` keeps each epoch's weights in RUN/epochs/epoch_NN.pt. Averaging the weights of the last
epochs of one run (stochastic weight averaging's average, Izmailov et al. 2018, taken after training at the constant
learning rate) is a longer-horizon cousin of ``--ema-decay``. Usage (scripts/ablations.sh, part 28):

    python scripts/average_epochs.py runs/flickr8k_hard_288_ecp075_keep_seed1 16 20 --out runs/.../average_16_20.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from sat_course.checkpoint import load_checkpoint, save_atomic
from sat_course.training import kept_epoch_path


def average_checkpoints(paths: list[Path]) -> dict:
    """The last checkpoint with its floating-point weights replaced by their mean over ``paths`` (in float64, then
    cast back); integer buffers are the last one's."""
    if not paths:
        raise ValueError("no checkpoints to average")
    checkpoints = [load_checkpoint(p) for p in paths]
    last = checkpoints[-1]
    for path, checkpoint in zip(paths, checkpoints):
        if checkpoint["model"].keys() != last["model"].keys() or checkpoint.get("decoder_config") != last.get("decoder_config"):
            raise ValueError(f"{path}: not the same model as {paths[-1]}")
    weights = {}
    for name, tensor in last["model"].items():
        if tensor.is_floating_point():
            weights[name] = (sum(c["model"][name].double() for c in checkpoints) / len(checkpoints)).to(tensor.dtype)
        else:
            weights[name] = tensor
    return {**last, "model": weights, "averaged_from": [str(p) for p in paths]}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder written by train --keep-epochs")
    parser.add_argument("first", type=int, help="first epoch averaged")
    parser.add_argument("last", type=int, help="last epoch averaged (included)")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint to write")
    args = parser.parse_args(argv)
    paths = [kept_epoch_path(args.run, epoch) for epoch in range(args.first, args.last + 1)]
    try:
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise ValueError(f"no kept weights for epochs {args.first}-{args.last}: {', '.join(missing)} (train with --keep-epochs)")
        save_atomic(average_checkpoints(paths), args.out)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"the mean of epochs {args.first}-{args.last} ({len(paths)} checkpoints): {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

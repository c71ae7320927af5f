"""Spread of the per-minibatch training loss, read from the progress bars of a `train` run's console log.

For hard attention the loss holds the REINFORCE surrogate, whose size is set by (log p(y|s,a) - b): its spread
shows how much the baseline leaves of the reward's variance. Usage:

    python scripts/minibatch_loss_spread.py runs/flickr8k_hard_seed0.log runs/flickr8k_hard_pertoken_seed0.log
"""

from __future__ import annotations

import re
import statistics
import sys
from pathlib import Path

# tqdm redraws the bar after every step: "epoch 5/20:  13%|...| 60/469 [..., loss=78.32, nll_per_token=3.041]"
STEP = re.compile(r"epoch (\d+)/\d+:[^\r\n]*?(\d+)/\d+ \[[^\]]*?\bloss=(-?[\d.]+)[,\]]")


def losses_by_epoch(log: Path) -> dict[int, list[float]]:
    """One loss per step: the last redraw of each (epoch, step)."""
    by_step: dict[tuple[int, int], float] = {}
    for match in STEP.finditer(log.read_text(errors="replace")):
        by_step[int(match.group(1)), int(match.group(2))] = float(match.group(3))
    epochs: dict[int, list[float]] = {}
    for (epoch, step), loss in sorted(by_step.items()):
        if step > 0:
            epochs.setdefault(epoch, []).append(loss)
    return epochs


def main(paths: list[str]) -> None:
    if not paths:
        sys.exit("usage: python scripts/minibatch_loss_spread.py LOG [LOG ...]")
    print("| log | epoch | steps | 5th percentile | median | 95th percentile | standard deviation |")
    print("|---|---|---|---|---|---|---|")
    for path in map(Path, paths):
        if not path.is_file():
            sys.exit(f"error: {path} is not a file")
        epochs = losses_by_epoch(path)
        if not epochs:
            sys.exit(f"error: {path} has no training progress bars")
        for epoch in (2, 5, 10):
            values = sorted(epochs.get(epoch, []))
            if len(values) < 20:
                continue
            n = len(values)
            print(f"| {path.name} | {epoch} | {n} | {values[n // 20]:.0f} | {statistics.median(values):.0f} | "
                  f"{values[-(n // 20) - 1]:.0f} | {statistics.pstdev(values):.0f} |")


if __name__ == "__main__":
    main(sys.argv[1:])

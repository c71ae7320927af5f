"""Training curves of runs, read from the ``log.csv`` that ``train`` writes (``python -m sat_course curves``).

Two panels per figure: the greedy validation BLEU-4 (nltk) that selects the checkpoint, and the training negative
log-likelihood per word, each against the epoch or against the training minutes (epochs and their
validation, summed). A dot marks each run's best epoch; a dashed line the time budget, when one is given.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Literal

from matplotlib.figure import Figure

XAxis = Literal["epoch", "minutes"]
LOG_COLUMNS = ("epoch", "seconds", "val_bleu4_nltk", "train_nll_per_token")


@dataclass(frozen=True)
class RunLog:
    """One run's log.csv, a list entry per epoch."""

    name: str
    epochs: list[int]
    minutes: list[float]  # training minutes at the end of each epoch, its validation included
    val_bleu4: list[float]  # greedy validation BLEU-4 (nltk, 0-100), the selection score
    train_nll: list[float]  # training negative log-likelihood per word

    @property
    def best_index(self) -> int:
        """The epoch the run keeps as best.pt: the first with the highest validation BLEU-4."""
        return max(range(len(self.val_bleu4)), key=lambda i: (self.val_bleu4[i], -i))

    def x(self, axis: XAxis) -> list[float]:
        return [float(e) for e in self.epochs] if axis == "epoch" else self.minutes


def cumulative_minutes(rows: list[dict[str, str]]) -> list[float]:
    """Training minutes at the end of each epoch of log.csv's rows: its seconds and its validation's, summed."""
    return [s / 60 for s in accumulate(float(r["seconds"]) + float(r.get("val_seconds") or 0) for r in rows)]


def read_log(run: Path) -> RunLog:
    """The curves of a run folder (or of its log.csv), with a clear error for a missing or foreign file."""
    path = run / "log.csv" if run.is_dir() else run
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no log.csv (a run folder written by `python -m sat_course train`)")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in LOG_COLUMNS if not rows or c not in rows[0]]
    if missing:
        raise ValueError(f"{path}: no epochs logged, or no column {', '.join(missing)}")
    return RunLog(
        name=path.parent.name,
        epochs=[int(r["epoch"]) for r in rows],
        minutes=cumulative_minutes(rows),
        val_bleu4=[float(r["val_bleu4_nltk"]) for r in rows],
        train_nll=[float(r["train_nll_per_token"]) for r in rows],
    )


def curves_figure(logs: list[RunLog], x: XAxis = "epoch", budget_minutes: float | None = None) -> Figure:
    """Validation BLEU-4 (left) and training NLL per word (right) of every run, against ``x``."""
    if x not in ("epoch", "minutes"):
        raise ValueError(f"x must be 'epoch' or 'minutes', got {x!r}")
    if budget_minutes is not None and x != "minutes":
        raise ValueError("--budget-minutes marks a time: use it with --x minutes")
    figure = Figure(figsize=(11, 4), layout="constrained")
    bleu_axes, nll_axes = figure.subplots(1, 2)
    for log in logs:
        xs = log.x(x)
        (line,) = bleu_axes.plot(xs, log.val_bleu4, marker=".", label=log.name)
        best = log.best_index
        bleu_axes.plot([xs[best]], [log.val_bleu4[best]], "o", color=line.get_color(), markersize=8)
        nll_axes.plot(xs, log.train_nll, color=line.get_color(), label=log.name)
    for axes, title in ((bleu_axes, "validation BLEU-4 (nltk, greedy); dot: best epoch"), (nll_axes, "training NLL per word")):
        axes.set_xlabel("epoch" if x == "epoch" else "training minutes")
        axes.set_title(title)
        axes.grid(alpha=0.3)
        if budget_minutes is not None:
            axes.axvline(budget_minutes, color="grey", linestyle="--", label=f"{budget_minutes:g}-minute budget")
    bleu_axes.legend(fontsize="small")
    return figure

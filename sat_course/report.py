"""The README's results table, from the metrics JSON files the runs wrote (``python -m sat_course report``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .curves import cumulative_minutes

# Table 1 of the paper, Flickr8k (VGG-19 features; BLEU from coco-caption, 0-100).
PAPER_FLICKR8K = {"soft": {"BLEU-1": 67.0, "BLEU-2": 44.8, "BLEU-3": 29.9, "BLEU-4": 19.5, "METEOR": 18.93},
                  "hard": {"BLEU-1": 67.0, "BLEU-2": 45.7, "BLEU-3": 31.4, "BLEU-4": 21.3, "METEOR": 20.30}}
COLUMNS = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"]


def read_metrics(metrics_path: Path) -> dict:
    """A metrics JSON written by ``train`` or ``evaluate --json``; ValueError when the file is not one."""
    try:
        data = json.loads(metrics_path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{metrics_path}: not a metrics JSON ({error})") from error
    if not isinstance(data, dict) or "coco" not in data.get("scores", {}) or not {"split", "beam_size"} <= data.keys():
        raise ValueError(f"{metrics_path}: not a metrics JSON with coco-caption scores (write one with train, or evaluate --json)")
    return data


def _beam(data: dict) -> str:
    return f"{data['beam_size']} per word" if data.get("length_normalised") else str(data["beam_size"])


def run_row(metrics_path: Path, data: dict) -> str:
    """One table row: the coco-caption scores of a run (``data``, read from ``metrics_path``), with its split, beam, seed
    and epochs; training minutes (epochs and their validation, from log.csv) and wall minutes (the whole train command:
    features, training and the final scoring; of the last command only, marked "resumed", when the run was continued
    from a checkpoint)."""
    scores = data["scores"]["coco"]
    run = metrics_path.parent
    epochs, minutes = "-", "-"
    if (run / "log.csv").exists():
        with open(run / "log.csv") as f:
            rows = list(csv.DictReader(f))
        epochs = str(len(rows))
        minutes = f"{cumulative_minutes(rows)[-1]:.0f}" if rows else "0"
    wall = f"{data['wall_seconds'] / 60:.0f}" if "wall_seconds" in data else "-"
    if data.get("resumed"):
        wall += " (resumed)"
    cells = [f"{scores[m]:.1f}" if m in scores else "-" for m in COLUMNS]
    return (f"| {run.name} | {data['split']} | {_beam(data)} | " + " | ".join(cells)
            + f" | {data.get('seed', '-')} | {data.get('best_epoch', '-')}/{epochs} | {minutes} | {wall} |")


def summary_rows(runs: list[dict]) -> list[str]:
    """Two rows over runs scored alike (same split, beam and ranking), e.g. the seeds of one command: the mean of each
    score, to two decimals, and its range (lowest-highest); a score missing from any run is left out ("-")."""
    if len(runs) < 2:
        raise ValueError("--mean needs the metrics of at least two runs")
    settings = {(d["split"], _beam(d)) for d in runs}
    if len(settings) > 1:
        raise ValueError("--mean needs runs scored alike; these differ in split or beam: "
                         + ", ".join(f"{split} beam {beam}" for split, beam in sorted(settings)))
    split, beam = settings.pop()
    columns = [[d["scores"]["coco"].get(m) for d in runs] for m in COLUMNS]
    means = [f"{sum(v) / len(v):.2f}" if None not in v else "-" for v in columns]
    ranges = [f"{min(v):.1f}-{max(v):.1f}" if None not in v else "-" for v in columns]
    seeds = ", ".join(str(d.get("seed", "?")) for d in runs)
    return [f"| {label} of {len(runs)} runs | {split} | {beam} | " + " | ".join(cells) + f" | {seeds} | - | - | - |"
            for label, cells in (("mean", means), ("range", ranges))]


def table(metrics_files: list[Path], mean: bool = False) -> str:
    """The paper's Flickr8k rows, one row per run and, with ``mean``, the runs' mean and range (summary_rows)."""
    header = ["| run | split | beam | " + " | ".join(COLUMNS) + " | seed | best/epochs | training minutes | wall minutes |",
              "|---" * (len(COLUMNS) + 7) + "|"]
    paper = [f"| paper, {kind} (VGG-19) | test | ? | " + " | ".join(f"{PAPER_FLICKR8K[kind][m]:.1f}" if m in PAPER_FLICKR8K[kind] else "-" for m in COLUMNS)
             + " | - | - | - | - |" for kind in ("soft", "hard")]
    runs = [read_metrics(p) for p in metrics_files]
    summary = summary_rows(runs) if mean else []
    return "\n".join(header + paper + [run_row(p, data) for p, data in zip(metrics_files, runs)] + summary)

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


def run_row(metrics_path: Path) -> str:
    """One table row: the coco-caption scores of a run, with its split, beam, seed and epochs; training minutes
    (epochs and their validation, from log.csv) and wall minutes (the whole train command: features, training and
    the final scoring; of the last command only, marked "resumed", when the run was continued from a checkpoint)."""
    try:
        data = json.loads(metrics_path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{metrics_path}: not a metrics JSON ({error})") from error
    if not isinstance(data, dict) or "coco" not in data.get("scores", {}) or not {"split", "beam_size"} <= data.keys():
        raise ValueError(f"{metrics_path}: not a metrics JSON with coco-caption scores (write one with train, or evaluate --json)")
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
    beam = f"{data['beam_size']} per word" if data.get("length_normalised") else str(data["beam_size"])
    return (f"| {run.name} | {data['split']} | {beam} | " + " | ".join(cells)
            + f" | {data.get('seed', '-')} | {data.get('best_epoch', '-')}/{epochs} | {minutes} | {wall} |")


def table(metrics_files: list[Path]) -> str:
    header = ["| run | split | beam | " + " | ".join(COLUMNS) + " | seed | best/epochs | training minutes | wall minutes |",
              "|---" * (len(COLUMNS) + 7) + "|"]
    paper = [f"| paper, {kind} (VGG-19) | test | ? | " + " | ".join(f"{PAPER_FLICKR8K[kind][m]:.1f}" if m in PAPER_FLICKR8K[kind] else "-" for m in COLUMNS)
             + " | - | - | - | - |" for kind in ("soft", "hard")]
    return "\n".join(header + paper + [run_row(p) for p in metrics_files])

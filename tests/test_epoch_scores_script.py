"""scripts/epoch_scores.py on a run folder whose scores are known by hand."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from scripts import epoch_scores

# Greedy selection BLEU-4 10, 12, 11 picks epoch 2; coco BLEU-4 15, 17, 19 is highest at epoch 3.
# Correlation of (10, 12, 11) with (15, 17, 19): deviations (-1, 1, 0) and (-2, 0, 2), so 2 / sqrt(2 * 8) = 0.5.
GREEDY = [10.0, 12.0, 11.0]
COCO = [{"BLEU-4": 15.0, "METEOR": 18.0, "CIDEr": 40.0}, {"BLEU-4": 17.0, "METEOR": 19.5, "CIDEr": 44.0},
        {"BLEU-4": 19.0, "METEOR": 19.0, "CIDEr": 42.0}]


def _run_folder(tmp_path: Path, beams: tuple[int, ...] = (3, 3, 3)) -> Path:
    run = tmp_path / "run"
    (run / "epochs").mkdir(parents=True)
    with open(run / "log.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["epoch", "seconds", "val_seconds", "val_bleu4_nltk", "train_nll_per_token"])
        writer.writeheader()
        for epoch, bleu in enumerate(GREEDY, 1):
            writer.writerow({"epoch": epoch, "seconds": 60, "val_seconds": 6, "val_bleu4_nltk": bleu, "train_nll_per_token": 3.0})
    for epoch, (scores, beam) in enumerate(zip(COCO, beams), 1):
        metrics = {"split": "val", "beam_size": beam, "length_normalised": False, "scores": {"coco": scores}}
        (run / "epochs" / f"epoch_{epoch:02d}_val.json").write_text(json.dumps(metrics))
    return run


def test_prints_each_epoch_the_epoch_each_score_picks_and_their_correlation(tmp_path, capsys):
    run = _run_folder(tmp_path)
    assert epoch_scores.main([str(run), "--out", str(tmp_path / "scores.png"), "--paper", "hard"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "| epoch | greedy BLEU-4 (nltk) | BLEU-4 (beam 3) | METEOR (beam 3) | CIDEr (beam 3) |"
    assert out[2:5] == ["| 1 | 10.0 | 15.0 | 18.0 | 40.0 |", "| 2 (selected) | 12.0 | 17.0 | 19.5 | 44.0 |",
                        "| 3 | 11.0 | 19.0 | 19.0 | 42.0 |"]
    assert out[5] == "highest BLEU-4: epoch 3 (19.0); the selected epoch 2: 17.0"
    assert out[6] == "highest METEOR: epoch 2 (19.5); the selected epoch 2: 19.5"
    assert out[8:] == ["correlation over epochs 1-3 of greedy BLEU-4 (nltk) with beam 3 BLEU-4 (coco): 0.50", "figure: " + str(tmp_path / "scores.png")]
    assert (tmp_path / "scores.png").read_bytes()[:4] == b"\x89PNG"


def test_correlation_over_a_span_of_epochs():
    greedy = {1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0}
    scored = {e: {"BLEU-4": b} for e, b in zip(greedy, (9.0, 5.0, 6.0, 7.0))}
    assert epoch_scores.correlation(greedy, scored, [2, 3, 4]) == pytest.approx(1.0)
    assert epoch_scores.correlation(greedy, scored, [1, 2, 3]) < 0  # 9, 5, 6 falls as 1, 2, 3 rises


def test_refuses_epochs_decoded_differently_or_none_scored(tmp_path, capsys):
    run = _run_folder(tmp_path, beams=(3, 3, 5))
    assert epoch_scores.main([str(run)]) == 2
    assert "error: " in capsys.readouterr().err
    for path in (run / "epochs").iterdir():
        path.unlink()
    assert epoch_scores.main([str(run)]) == 2
    assert "no epoch_NN_val.json" in capsys.readouterr().err
    assert epoch_scores.main([str(run), "--suffix", "val_perword"]) == 2
    assert "no epoch_NN_val_perword.json" in capsys.readouterr().err

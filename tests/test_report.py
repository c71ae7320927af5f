"""The README's results table, built from a run folder written by hand."""

from __future__ import annotations

import json

import pytest

from sat_course.cli import main
from sat_course.report import table


def test_table_has_the_paper_rows_and_one_row_per_run(tmp_path):
    run = tmp_path / "flickr8k_soft_seed3"
    run.mkdir()
    (run / "log.csv").write_text("epoch,steps,train_loss,val_bleu4_nltk,tokens_per_s,seconds,val_seconds,lr\n"
                                 "1,10,5.0,8.0,100.0,590.0,10.0,0.0002\n2,20,4.0,9.0,100.0,1190.0,10.0,0.0002\n")
    scores = {"BLEU-1": 60.04, "BLEU-2": 41.0, "BLEU-3": 28.0, "BLEU-4": 19.96, "METEOR": 18.9, "ROUGE-L": 43.0, "CIDEr": 41.0}
    (run / "metrics_val.json").write_text(json.dumps({"split": "val", "beam_size": 3, "scores": {"coco": scores},
                                                      "seed": 3, "best_epoch": 2, "wall_seconds": 2100.0}))
    lines = table([run / "metrics_val.json"]).splitlines()
    assert lines[0].startswith("| run | split | beam | BLEU-1") and lines[0].endswith("training minutes | wall minutes |")
    assert lines[2].startswith("| paper, soft (VGG-19) | test | ? | 67.0 | 44.8 | 29.9 | 19.5 | 18.9 |")
    assert lines[3].startswith("| paper, hard (VGG-19) | test | ? | 67.0 | 45.7 | 31.4 | 21.3 | 20.3 |")
    # 600 + 1200 s of epochs = 30 training minutes; 2100 s = 35 wall minutes
    assert lines[4] == "| flickr8k_soft_seed3 | val | 3 | 60.0 | 41.0 | 28.0 | 20.0 | 18.9 | 43.0 | 41.0 | 3 | 2/2 | 30 | 35 |"
    assert all(line.count("|") == lines[0].count("|") for line in lines)


def test_a_length_normalised_evaluation_says_so_in_the_beam_column(tmp_path):
    run = tmp_path / "flickr8k_hard_seed0"
    run.mkdir()
    scores = {"BLEU-4": 19.4, "METEOR": 19.1}
    (run / "metrics_val.json").write_text(json.dumps({"split": "val", "beam_size": 3, "length_normalised": True, "scores": {"coco": scores}}))
    assert table([run / "metrics_val.json"]).splitlines()[4].startswith("| flickr8k_hard_seed0 | val | 3 per word | - | - | - | 19.4 | 19.1 |")


def test_the_wall_time_of_a_resumed_run_says_it_covers_the_last_command_only(tmp_path):
    run = tmp_path / "flickr8k_hard_288_seed0"
    run.mkdir()
    (run / "metrics_val.json").write_text(json.dumps({"split": "val", "beam_size": 3, "scores": {"coco": {"BLEU-4": 20.2}},
                                                      "wall_seconds": 1210.8, "resumed": True}))
    assert table([run / "metrics_val.json"]).splitlines()[4].endswith("| - | -/- | - | 20 (resumed) |")


@pytest.mark.parametrize("content", ['{"a": 1}', '[1, 2]', '{"split": "val", "beam_size": 3, "scores": {"nltk": {}}}', "not json"])
def test_a_file_that_is_not_a_metrics_json_ends_in_one_error_line(tmp_path, capsys, content):
    path = tmp_path / "metrics.json"
    path.write_text(content)
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert f"{path}: not a metrics JSON" in err


def _write_run(tmp_path, name, seed, scores, beam_size=3, split="val", **extra):
    run = tmp_path / name
    run.mkdir()
    (run / "metrics_val.json").write_text(json.dumps({"split": split, "beam_size": beam_size, "seed": seed,
                                                      "scores": {"coco": scores}, **extra}))
    return run / "metrics_val.json"


def test_mean_ends_the_table_with_the_runs_mean_and_range(tmp_path):
    paths = [_write_run(tmp_path, "a", 0, {"BLEU-4": 21.0, "METEOR": 19.4, "CIDEr": 49.4}),
             _write_run(tmp_path, "b", 1, {"BLEU-4": 21.7, "METEOR": 19.5, "CIDEr": 47.6}),
             _write_run(tmp_path, "c", 2, {"BLEU-4": 20.0, "METEOR": 19.0})]
    lines = table(paths, mean=True).splitlines()
    assert len(lines) == 2 + 2 + 3 + 2
    # BLEU-4 (21.0 + 21.7 + 20.0) / 3 = 20.9; METEOR 57.9 / 3 = 19.3; CIDEr is missing from run c
    assert lines[-2] == "| mean of 3 runs | val | 3 | - | - | - | 20.90 | 19.30 | - | - | 0, 1, 2 | - | - | - |"
    assert lines[-1] == "| range of 3 runs | val | 3 | - | - | - | 20.0-21.7 | 19.0-19.5 | - | - | 0, 1, 2 | - | - | - |"
    assert all(line.count("|") == lines[0].count("|") for line in lines)
    assert "mean of" not in table(paths)


@pytest.mark.parametrize("other", [{"beam_size": 5}, {"split": "test"}, {"length_normalised": True}])
def test_mean_refuses_runs_scored_differently_in_one_error_line(tmp_path, capsys, other):
    first = _write_run(tmp_path, "a", 0, {"BLEU-4": 21.0})
    second = _write_run(tmp_path, "b", 1, {"BLEU-4": 20.0}, **{"beam_size": 3, "split": "val", **other})
    assert main(["report", "--mean", str(first), str(second)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --mean needs runs scored alike") and err.count("\n") == 1


def test_mean_of_one_run_is_refused(tmp_path, capsys):
    assert main(["report", "--mean", str(_write_run(tmp_path, "a", 0, {"BLEU-4": 21.0}))]) == 2
    assert "at least two runs" in capsys.readouterr().err

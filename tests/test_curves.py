"""``python -m sat_course curves``: a run's log.csv read back, plotted, and bad input refused."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from sat_course.cli import main
from sat_course.curves import curves_figure, read_log

HEADER = "epoch,steps,train_loss,train_nll_per_token,val_bleu4_nltk,tokens_per_s,seconds,val_seconds,lr\n"


def _run(tmp_path, name: str, rows: list[tuple[float, float, float, float]]):
    """A run folder whose log.csv has one (nll, bleu4, seconds, val_seconds) row per epoch."""
    run = tmp_path / name
    run.mkdir()
    lines = [f"{e},{100 * e},3.0,{nll},{bleu},2000.0,{sec},{val},0.0002\n" for e, (nll, bleu, sec, val) in enumerate(rows, 1)]
    (run / "log.csv").write_text(HEADER + "".join(lines))
    return run


def test_read_log_sums_epoch_and_validation_time_into_minutes(tmp_path):
    run = _run(tmp_path, "hard_seed1", [(4.6, 10.8, 170.0, 10.0), (3.8, 12.0, 150.0, 10.0), (3.5, 11.0, 114.0, 6.0)])
    log = read_log(run)
    assert log.name == "hard_seed1" and log.epochs == [1, 2, 3]
    assert log.minutes == pytest.approx([3.0, 5.0 + 2 / 3, 7.0 + 2 / 3])  # 180 s, then 160 s, then 120 s
    assert log.train_nll == [4.6, 3.8, 3.5] and log.val_bleu4 == [10.8, 12.0, 11.0]
    assert log.best_index == 1
    assert read_log(run / "log.csv") == log


def test_the_best_epoch_is_the_first_of_equal_scores_as_training_keeps_it(tmp_path):
    # training replaces best.pt only on a strictly higher score, so of two equal scores the first stays
    log = read_log(_run(tmp_path, "tie", [(4.0, 15.0, 60.0, 0.0), (3.0, 17.5, 60.0, 0.0), (2.0, 17.5, 60.0, 0.0)]))
    assert log.best_index == 1


def test_the_figure_plots_each_run_against_epochs_or_minutes(tmp_path):
    a = read_log(_run(tmp_path, "a", [(4.0, 10.0, 120.0, 0.0), (3.0, 14.0, 120.0, 0.0)]))
    b = read_log(_run(tmp_path, "b", [(4.5, 9.0, 60.0, 0.0), (3.5, 8.0, 60.0, 0.0), (3.2, 12.0, 60.0, 0.0)]))
    figure = curves_figure([a, b], x="minutes", budget_minutes=3.0)
    assert isinstance(figure, Figure)
    bleu_axes, nll_axes = figure.axes
    curves = [line for line in bleu_axes.lines if line.get_linestyle() == "-"]
    assert [list(line.get_xdata()) for line in curves] == [[2.0, 4.0], [1.0, 2.0, 3.0]]
    assert [list(line.get_ydata()) for line in curves] == [[10.0, 14.0], [9.0, 8.0, 12.0]]
    dots = [(list(line.get_xdata()), list(line.get_ydata())) for line in bleu_axes.lines if line.get_linestyle() == "None"]
    assert dots == [([4.0], [14.0]), ([3.0], [12.0])]
    assert [list(line.get_ydata()) for line in nll_axes.lines if line.get_linestyle() == "-"] == [[4.0, 3.0], [4.5, 3.5, 3.2]]
    budget = [line for line in nll_axes.lines if line.get_linestyle() == "--"]
    assert len(budget) == 1 and list(budget[0].get_xdata()) == [3.0, 3.0]
    by_epoch = curves_figure([b], x="epoch")
    assert list(by_epoch.axes[0].lines[0].get_xdata()) == [1.0, 2.0, 3.0]


def test_the_command_writes_a_png_and_prints_each_runs_best_epoch(tmp_path, capsys):
    run = _run(tmp_path, "soft_seed0", [(4.0, 11.4, 150.0, 6.0), (3.5, 14.5, 150.0, 6.0)])
    out = tmp_path / "figures" / "curves.png"
    assert main(["curves", str(run), "--out", str(out), "--x", "minutes", "--budget-minutes", "50"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "soft_seed0: 2 epochs in 5 training minutes; best epoch 2 (greedy validation BLEU-4 14.5, at 5 minutes)" in printed
    assert f"figure: {out}" in printed


@pytest.mark.parametrize("case, message", [
    ("no_log", "no log.csv"),
    ("foreign_csv", "no column val_bleu4_nltk, train_nll_per_token"),
    ("empty_log", "no epochs logged"),
    ("budget_by_epoch", "--budget-minutes marks a time"),
])
def test_bad_input_ends_in_one_error_line(tmp_path, capsys, case, message):
    run = tmp_path / "run"
    run.mkdir()
    if case == "foreign_csv":
        (run / "log.csv").write_text("epoch,seconds\n1,10\n")
    elif case == "empty_log":
        (run / "log.csv").write_text(HEADER)
    elif case == "budget_by_epoch":
        run = _run(tmp_path, "ok", [(4.0, 10.0, 60.0, 0.0)])
    extra = ["--budget-minutes", "50"] if case == "budget_by_epoch" else []
    assert main(["curves", str(run), "--out", str(tmp_path / "c.png"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "c.png").exists()

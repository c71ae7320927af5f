"""``python -m sat_course``: help texts, and bad input that ends in one error line and no traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from sat_course.cli import main

SUBCOMMANDS = ("download", "features", "train", "evaluate", "caption", "report", "curves", "benchmark")

# Each process imports torch and torchvision (seconds on a busy machine), so real subprocesses are kept to
# the top-level help, the train help and three kinds of bad input; the other cases go through ``cli.main``
# in this process, which is the code ``__main__`` runs.
# name -> arguments after ``python -m sat_course``; "{tmp}" is replaced by a scratch folder.
SUBPROCESS_RUNS = {
    "top": ["--help"],
    "train": ["train", "--help"],
    "unknown_dataset": ["train", "--dataset", "imagenet", "--out", "{tmp}/run"],
    "evaluate_missing_checkpoint": ["evaluate", "{tmp}/nowhere/best.pt"],
    "train_flickr8k_bad_root": ["train", "--dataset", "flickr8k", "--root", "/nonexistent", "--out", "{tmp}/run"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Run every command once, a few at a time (each process imports torch: seconds of start-up)."""
    tmp = tmp_path_factory.mktemp("cli")
    env = {**os.environ, "SAT_COURSE_DATA": str(tmp / "data"), "PYTHONWARNINGS": "ignore", "CUDA_VISIBLE_DEVICES": ""}

    def run(args: list[str]) -> subprocess.CompletedProcess:
        args = [a.replace("{tmp}", str(tmp)) for a in args]
        return subprocess.run([sys.executable, "-m", "sat_course", *args], capture_output=True, text=True, cwd=tmp, env=env, timeout=120)

    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(run, args) for name, args in SUBPROCESS_RUNS.items()}
        results = {name: future.result() for name, future in futures.items()}
    results["_tmp"] = tmp
    return results


def test_top_level_help_lists_every_subcommand(runs):
    result = runs["top"]
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m sat_course")
    for name in SUBCOMMANDS:
        assert name in result.stdout
    assert "--verbose" in result.stdout


EXPECTED_OPTIONS = {
    "download": ["--dataset", "--data-dir", "--no-progress"],
    "features": ["--dataset", "--root", "--encoder", "--layer", "--weights", "--input-size", "--feature-dtype", "--cache-dir", "--splits", "--workers"],
    "train": [
        "--dataset", "--root", "--attention", "--embed-dim", "--hidden-dim", "--dropout", "--no-beta",
        "--epochs", "--batch-size", "--learning-rate", "--doubly-stochastic", "--patience", "--seed", "--beam-size", "--out",
    ],
    "evaluate": ["checkpoint", "--split", "--root", "--beam-size", "--limit", "--json", "--device"],
    "caption": ["checkpoint", "images", "--beam-size", "--out", "--device"],
    "report": ["metrics"],
    "curves": ["runs", "--out", "--x", "--budget-minutes", "--dpi"],
    "benchmark": ["features", "train", "decode", "--images", "--steps"],
}


def _check_help(name: str, returncode: int, stdout: str) -> None:
    assert returncode == 0
    assert stdout.startswith(f"usage: python -m sat_course {name}")
    for option in EXPECTED_OPTIONS[name]:
        assert option in stdout, f"{name} --help does not mention {option}"


def test_train_help_in_a_subprocess(runs):
    _check_help("train", runs["train"].returncode, runs["train"].stdout)
    assert runs["train"].stderr == ""


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_help_exits_0_and_names_its_options(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    out = capsys.readouterr().out
    _check_help(name, exit_info.value.code, out)


def test_train_help_shows_the_paper_defaults(runs):
    text = " ".join(runs["train"].stdout.split())  # argparse wraps lines
    assert "(default: soft)" in text and "(default: 0.5)" in text  # attention, dropout
    assert "(default: 64)" in text and "(default: 0.0002)" in text  # batch size, Adam learning rate


def test_train_help_says_what_an_unset_option_means(runs):
    text = " ".join(runs["train"].stdout.split())
    assert "(default: None)" not in text and not re.search(r"\(default: [^)]*\) \(default:", text)
    assert "model selection (default: all)" in text and "after every epoch (default: off)" in text


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines == errors, result.stderr
    return errors[0]


def _argparse_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("usage: python -m sat_course")
    assert lines[-1].startswith("python -m sat_course") and ": error: " in lines[-1]
    return lines[-1]


def test_unknown_dataset_is_an_argparse_error(runs):
    line = _argparse_error(runs["unknown_dataset"])
    assert "--dataset" in line and "invalid choice: 'imagenet'" in line


def _in_process(args: list[str], capsys) -> subprocess.CompletedProcess:
    """``cli.main`` here, its exit status and output as a subprocess would give them."""
    try:
        code = main(args)
    except SystemExit as error:
        code = error.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def test_unknown_command_and_missing_required_option_are_argparse_errors(capsys):
    assert "invalid choice: 'fly'" in _argparse_error(_in_process(["fly"], capsys))
    assert "--out" in _argparse_error(_in_process(["train", "--dataset", "synthetic"], capsys))
    assert "--dataset" in _argparse_error(_in_process(["download"], capsys))
    assert "invalid choice: 'everything'" in _argparse_error(_in_process(["benchmark", "everything"], capsys))


def test_evaluate_of_a_missing_checkpoint(runs):
    line = _one_error_line(runs["evaluate_missing_checkpoint"])
    assert "nowhere/best.pt" in line and "no such checkpoint" in line


def test_evaluate_of_a_file_that_is_not_a_checkpoint(tmp_path, capsys):
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint at all")
    line = _one_error_line(_in_process(["evaluate", str(tmp_path / "garbage.pt")], capsys))
    assert "garbage.pt" in line and "not a readable checkpoint" in line


def test_train_on_a_missing_flickr8k_folder(runs):
    line = _one_error_line(runs["train_flickr8k_bad_root"])
    assert "/nonexistent" in line and "Flickr8k" in line
    assert not (runs["_tmp"] / "run").exists()  # nothing written for a run that cannot start


def test_features_on_a_missing_flickr8k_folder(tmp_path, capsys):
    result = _in_process(["features", "--dataset", "flickr8k", "--root", "/nonexistent", "--cache-dir", str(tmp_path / "cache")], capsys)
    assert "/nonexistent" in _one_error_line(result)
    assert not (tmp_path / "cache").exists()


def test_caption_with_a_missing_checkpoint(tmp_path, capsys):
    result = _in_process(["caption", str(tmp_path / "best.pt"), str(tmp_path / "img.jpg"), "--out", str(tmp_path / "figs")], capsys)
    assert "no such checkpoint" in _one_error_line(result)


def test_download_of_an_unknown_dataset(tmp_path, capsys):
    result = _in_process(["download", "--dataset", "imagenet", "--data-dir", str(tmp_path / "data")], capsys)
    assert "imagenet" in _one_error_line(result)
    assert not (tmp_path / "data" / "imagenet").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--label-smoothing", "1.5", "label_smoothing must be in [0, 1), got 1.5"),
    ("--epochs", "0", "epochs must be at least 1, got 0"),
    ("--expected-context-prob", "2", "expected_context_prob must be a probability, in [0, 1], got 2.0"),
    ("--flip-probability", "1.5", "flip_probability must be a probability, in [0, 1], got 1.5"),
])
def test_train_with_an_out_of_range_hyperparameter(option, value, message, tmp_path, capsys):
    """Refused before any data is read or anything is written."""
    result = _in_process(["train", "--dataset", "flickr8k", "--root", "/nonexistent", option, value, "--out", str(tmp_path / "run")], capsys)
    assert _one_error_line(result) == f"error: {message}"  # the range, not the missing folder: nothing was read
    assert not (tmp_path / "run").exists()


def test_flip_augmentation_of_the_synthetic_scenes_is_refused(tmp_path, capsys):
    """Their captions say which object is left of which: mirrored features would contradict them."""
    result = _in_process(["train", "--dataset", "synthetic", "--synthetic-sizes", "8", "4", "4", "--flip-probability", "0.5",
                          "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "run")], capsys)
    assert _one_error_line(result) == "error: flip augmentation is for photos: the synthetic scenes' captions name left and right"
    assert not (tmp_path / "run").exists()


def test_features_with_whole_image_fill_their_own_cache(tmp_path, capsys):
    """--whole-image: a cache beside the paper's cropped one (name ending -whole), resizing each photo to a square."""
    from test_flickr8k import _make_flickr8k

    root = _make_flickr8k(tmp_path / "flickr8k", {"1_a.jpg": ["A dog ."], "2_b.jpg": ["A cat ."]}, {"train": ["1_a.jpg"], "val": ["2_b.jpg"]})
    common = ["features", "--dataset", "flickr8k", "--root", str(root), "--weights", "none", "--input-size", "64", "--cache-dir", str(tmp_path / "cache"), "--workers", "0"]
    assert _in_process([*common, "--whole-image"], capsys).returncode == 0
    assert _in_process(common, capsys).returncode == 0
    whole, cropped = tmp_path / "cache" / "flickr8k" / "mobilenet_v2-last-64-float16-whole", tmp_path / "cache" / "flickr8k" / "mobilenet_v2-last-64-float16"
    assert json.loads((whole / "val.json").read_text())["preprocessing"]["resize"] == [64, 64]
    assert json.loads((cropped / "val.json").read_text())["preprocessing"]["center_crop"] == 64
    result = _in_process(["train", "--dataset", "synthetic", "--whole-image", "--out", str(tmp_path / "run")], capsys)
    assert _one_error_line(result) == "error: whole_image is for photos: the synthetic scenes are always resized whole"

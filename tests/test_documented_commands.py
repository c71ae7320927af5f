"""Every command the READMEs, docs/ablations.md and scripts/ablations.sh give is one the command line accepts: a
renamed or removed option, or a value out of range, fails here instead of in a reader's terminal an hour into a run."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from sat_course.cli import build_parser, train_config_from_args

ROOT = Path(__file__).resolve().parents[1]
COMMAND = re.compile(r"python -m sat_course ([a-z].*)")


def _markdown_commands(document: Path) -> list[str]:
    """Commands in a markdown file's code blocks and in its inline code (which may wrap over lines)."""
    text = document.read_text()
    blocks = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S))
    commands = [m.group(1).split("  #")[0] for m in map(COMMAND.search, blocks.splitlines()) if m]
    inline = re.sub(r"```.*?```", "", text, flags=re.S)
    commands += [" ".join(m.split()) for m in re.findall(r"`python -m sat_course ([^`]+)`", inline)]
    return [c for c in commands if "..." not in c]  # "evaluate ... --beam-size B" names a family, not a command


def _script_commands(script: Path, tmp: Path) -> list[list[str]]:
    """The argument lists a shell script hands to ``.venv/bin/python -m sat_course``, with its loops and variables
    expanded by bash itself: the script runs in a copy of its folder layout whose interpreter only records them."""
    (tmp / "scripts").mkdir(parents=True)
    (tmp / ".venv/bin").mkdir(parents=True)
    shutil.copy(script, tmp / "scripts" / script.name)
    log = tmp / "calls"
    stub = tmp / ".venv/bin/python"
    stub.write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" >> "{log}"\nprintf "\\n" >> "{log}"\n')
    stub.chmod(0o755)
    subprocess.run(["bash", str(tmp / "scripts" / script.name)], check=True, capture_output=True)
    calls = [line.split("\0") for line in log.read_text().split("\0\n") if line]
    return [call[2:] for call in calls if call[:2] == ["-m", "sat_course"]]


DOCUMENTS = ("README.md", "data/README.md", "docs/ablations.md")
README = [shlex.split(c) for document in DOCUMENTS for c in _markdown_commands(ROOT / document)]


@pytest.fixture(scope="module")
def ablation_commands(tmp_path_factory) -> list[list[str]]:
    return _script_commands(ROOT / "scripts/ablations.sh", tmp_path_factory.mktemp("ablations"))


def _accepted(argv: list[str], where: str) -> None:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as error:
        pytest.fail(f"{where}: the command line refuses `python -m sat_course {shlex.join(argv)}` (exit {error.code})")
    if args.command == "train":  # the range checks a run makes before any work
        train_config_from_args(args)


def test_the_readmes_give_commands_to_check():
    assert len([argv for argv in README if argv[0] == "train"]) >= 2
    assert {"download", "features", "train", "evaluate", "caption", "report", "curves", "benchmark"} <= {argv[0] for argv in README}


@pytest.mark.parametrize("argv", README, ids=[" ".join(argv)[:60] for argv in README])
def test_readme_command_is_accepted(argv: list[str]):
    _accepted(argv, " or ".join(DOCUMENTS))


def test_every_ablation_command_is_accepted(ablation_commands):
    """The script's 60-odd runs, each as bash expands it (a flag spliced in from a loop included)."""
    assert len([argv for argv in ablation_commands if argv[0] == "train"]) >= 30
    assert ["--doubly-stochastic", "0"] in [argv[i : i + 2] for argv in ablation_commands for i in range(len(argv))]
    for argv in ablation_commands:
        _accepted(argv, "scripts/ablations.sh")

#!/usr/bin/env python3
"""Set-up and the two commands of the course; needs only Python 3.10+ and a package registry.

    python3 run.py course   # run every notebook in order on the embedded data -> build/course/
    python3 run.py test     # pytest --nbval over the notebooks, plus the unit tests

Both create the virtual environment ``.venv`` and install the course into it the first time, and reuse
it afterwards (the install is redone only when pyproject.toml changes).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".sat-course-install"


def _requirements_hash() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def setup() -> None:
    """Create .venv and install the course (with its test tools) unless that was already done."""
    if STAMP.exists() and STAMP.read_text() == _requirements_hash() and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing the course and its dependencies (first time only: a few minutes)", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"], check=True)
    subprocess.run([str(PYTHON), "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"], check=True, stdout=subprocess.DEVNULL)
    STAMP.write_text(_requirements_hash())


def main(argv: list[str]) -> int:
    commands = {"setup", "course", "test"}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    setup()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if argv[0] == "course":
        return subprocess.call([str(PYTHON), "-m", "sat_course.course", *argv[1:]], cwd=ROOT, env=env)
    if argv[0] == "test":
        return subprocess.call([str(PYTHON), "-m", "pytest", *argv[1:]], cwd=ROOT, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

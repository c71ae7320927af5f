"""environment.yml (conda users) and pyproject.toml (pip) declare the same packages and pins."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _normalise(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    pip_section = [line.strip()[2:].split("#")[0] for line in lines[start + 1 :] if line.strip().startswith("- ")]
    assert dict(map(_normalise, pip_section)) == dict(map(_normalise, declared))


def test_torch_pins_are_the_ones_that_install_here():
    deps = dict(map(_normalise, tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]))
    assert deps["torch"] == "==2.14.1" and deps["torchvision"] == "==0.29.1"

"""The notebooks' Flickr8k track, at a reduced size, so that path cannot rot (CI has ../shared/flickr8k)."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from sat_course import experiment

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(experiment.find_flickr8k() is None, reason="Flickr8k not found (data/flickr8k, ../shared/flickr8k or $SAT_COURSE_FLICKR8K)")
@pytest.mark.parametrize("name", ["01_feature_extraction", "04_training"])
def test_notebook_runs_on_the_small_flickr8k_track(name, tmp_path, monkeypatch):
    monkeypatch.setenv("SAT_COURSE_TRACK", "flickr8k-small")
    monkeypatch.setenv("SAT_COURSE_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("SAT_COURSE_DATA", str(tmp_path / "data"))  # feature caches of this track go here, not beside ../shared
    notebook = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors

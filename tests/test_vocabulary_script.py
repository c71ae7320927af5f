"""scripts/vocabulary_size.py on a tiny Flickr8k folder whose word counts are known by hand."""

from __future__ import annotations

import sys

import pytest

from scripts import vocabulary_size
from test_flickr8k import _make_flickr8k

# Training words: "a" x5, "dog" x5, "runs" x2, "red" x1, "ball" x1 -> min count 2 keeps 3 words, min count 1 keeps 5.
TRAIN = {"1_train.jpg": ["A dog runs .", "A dog runs", "A dog", "A dog", "A dog red ball"]}
# Dev words: a, cat, a, dog, a, dog, runs, a, dog, ball -> 10 words; outside {a, dog, runs}: cat, ball (20%);
# outside {a, dog, runs, red, ball}: cat (10%).
DEV = {"2_dev.jpg": ["A cat", "A dog", "A dog runs", "A dog", "ball"]}


@pytest.mark.slow
def test_counts_words_kept_and_dev_words_outside(tmp_path, monkeypatch, capsys):
    _make_flickr8k(tmp_path / "flickr8k", {**TRAIN, **DEV}, {"train": list(TRAIN), "val": list(DEV)})
    argv = ["vocabulary_size.py", "--root", str(tmp_path / "flickr8k"), "--min-count", "2", "1", "--steps", "1", "--repeats", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    vocabulary_size.main()
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines()[2:]]
    assert [(c.strip(), k.strip(), o.strip()) for c, k, o, _ in rows] == [("2", "3", "20.0%"), ("1", "5", "10.0%")]
    assert all(float(t) > 0 for *_, t in rows)


def test_rejects_a_folder_that_is_not_flickr8k(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["vocabulary_size.py", "--root", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        vocabulary_size.main()
    assert exit_info.value.code == 2
    assert "not a Flickr8k folder" in capsys.readouterr().err

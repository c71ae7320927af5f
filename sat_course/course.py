"""The course's own settings and its main job: run every notebook in order and summarise the results.

``python -m sat_course.course`` (what ``python3 run.py course`` calls) executes the notebooks with a
fresh kernel each, writes the executed copies to ``build/course/`` and a summary (metrics table and
attention figures) to ``build/course/summary.md``.

The notebooks share the models they train on the synthetic scenes through ``build/models/``: a
notebook reuses a finished run when one is there and trains it when not.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from . import experiment
from .checkpoint import load_model
from .locking import exclusive_lock
from .model import CaptionModel
from .text import Vocabulary
from .training import TrainConfig, TrainState, seed_everything, train

NOTEBOOKS = ["01_feature_extraction", "02_soft_attention", "03_hard_attention_reinforce", "04_training", "05_bleu_evaluation", "06_visualization"]

TRACKS = ("synthetic", "flickr8k", "flickr8k-small")

# Sized so that each synthetic model trains in about two minutes on two CPU cores. The paper's settings
# apart from size and learning rate: a higher rate because a two-minute run has few steps.
SYNTHETIC_DECODER = {"embed_dim": 64, "hidden_dim": 128, "attention_dim": 64, "dropout": 0.1}
SYNTHETIC_TRAINING = TrainConfig(epochs=6, batch_size=64, learning_rate=2e-3, patience=3, checkpoint_every=100, seed=0)
# REINFORCE's noisier gradient needs a smaller step at this size: at 2e-3 the hard model's validation BLEU-4
# swung between 4 and 24 from one epoch to the next.
SYNTHETIC_HARD_LEARNING_RATE = 1e-3
PAPER_DECODER = {"embed_dim": 512, "hidden_dim": 512, "attention_dim": 512, "dropout": 0.5}


@dataclass(frozen=True)
class Track:
    """What a notebook runs on: the data, the decoder sizes and the training settings."""

    name: str
    data: experiment.DataConfig
    decoder: dict
    training: TrainConfig
    hard_learning_rate: float | None = None  # when hard attention wants another step size than soft

    def training_for(self, attention: str) -> TrainConfig:
        if attention == "hard" and self.hard_learning_rate is not None:
            return replace(self.training, learning_rate=self.hard_learning_rate)
        return self.training


def track(name: str | None = None) -> Track:
    """The notebooks' tracks: ``synthetic`` (default: minutes on a laptop CPU), ``flickr8k`` (the real photos at
    the paper's sizes and settings: hours on a CPU) and ``flickr8k-small`` (64 photos, tiny sizes: checks the
    Flickr8k path in CI). ``$SAT_COURSE_TRACK`` picks one when ``name`` is None."""
    name = name or os.environ.get("SAT_COURSE_TRACK", "synthetic")
    if name == "synthetic":
        return Track(name, experiment.synthetic_config(), SYNTHETIC_DECODER, SYNTHETIC_TRAINING, SYNTHETIC_HARD_LEARNING_RATE)
    if name == "flickr8k":
        return Track(name, experiment.flickr8k_config(), PAPER_DECODER, TrainConfig(val_max_images=None))
    if name == "flickr8k-small":
        return Track(name, experiment.flickr8k_config(limit=64, min_count=2), SYNTHETIC_DECODER,
                     TrainConfig(epochs=1, batch_size=32, learning_rate=2e-3, checkpoint_every=100))
    raise ValueError(f"unknown track {name!r}: choose one of {', '.join(TRACKS)}")


def build_dir() -> Path:
    """``$SAT_COURSE_BUILD`` or the project's git-ignored ``build/``."""
    return Path(os.environ.get("SAT_COURSE_BUILD", experiment.PROJECT_ROOT / "build"))


def course_model(attention: str = "soft", chosen: Track | None = None, progress: bool = True) -> tuple[CaptionModel, Vocabulary, TrainState, Path]:
    """The course's model for a track: trained here, or reused when a finished run exists in build/models.

    Returns the best checkpoint's model (eval mode), its vocabulary, the training state and the run folder.
    """
    chosen = chosen or track()
    run_dir = build_dir() / "models" / f"{chosen.name}-{attention}"
    run_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(run_dir / ".lock"):  # two notebooks asking for the same model: the second waits, then reuses it
        return _train_or_reuse(attention, chosen, run_dir, progress)


def _train_or_reuse(attention: str, chosen: Track, run_dir: Path, progress: bool) -> tuple[CaptionModel, Vocabulary, TrainState, Path]:
    data = chosen.data
    train_records, val_records = experiment.load_records(data, "train"), experiment.load_records(data, "val")
    vocab = experiment.build_vocabulary(data, train_records)
    training = chosen.training_for(attention)
    seed_everything(training.seed)
    model = experiment.new_model(data, vocab, attention=attention, **chosen.decoder)
    state = train(model, vocab, experiment.model_inputs(data, "train", train_records, progress=progress), train_records,
                  experiment.model_inputs(data, "val", val_records, progress=progress), val_records, training, run_dir,
                  progress=progress, extra_state={"data_config": data.to_dict()})
    best, vocab, _ = load_model(run_dir / "best.pt")
    return best, vocab, state, run_dir


def _summary(results: Path, executed: Path) -> str:
    lines = ["# Course run summary", "", f"Executed notebooks: `{executed}`", ""]
    for metrics in sorted(results.glob("metrics_*.json")):
        data = json.loads(metrics.read_text())
        lines += [f"## {metrics.stem}", "", data.get("title", ""), "", data["markdown"], ""]
    for grounding in sorted(results.glob("grounding_*.json")):
        data = json.loads(grounding.read_text())
        lines += [f"## {grounding.stem}", "", data["text"], ""]
    figures = sorted(results.glob("*.png"))
    if figures:
        lines += ["## Attention figures", ""] + [f"![{f.stem}]({f.resolve()})" for f in figures]
    return "\n".join(lines) + "\n"


def run_notebooks(names: list[str], out_dir: Path, timeout: int = 1800) -> None:
    import nbformat
    from nbclient import NotebookClient

    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        source = experiment.PROJECT_ROOT / "notebooks" / f"{name}.ipynb"
        notebook = nbformat.read(source, as_version=4)
        started = time.perf_counter()
        print(f"running {name} ...", flush=True)
        NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}}).execute()
        nbformat.write(notebook, out_dir / f"{name}.ipynb")
        print(f"  done in {time.perf_counter() - started:.0f} s -> {out_dir / (name + '.ipynb')}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sat_course.course", description="Run the course notebooks in order and summarise.")
    parser.add_argument("--only", nargs="+", choices=NOTEBOOKS, help="run only these notebooks")
    args = parser.parse_args(argv)
    out = build_dir() / "course"
    run_notebooks(args.only or NOTEBOOKS, out)
    summary = out / "summary.md"
    summary.write_text(_summary(build_dir() / "results", out))
    print(f"\nexecuted notebooks in {out}\nsummary (metrics table, attention figures): {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

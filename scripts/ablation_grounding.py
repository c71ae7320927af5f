"""Attention grounding of the synthetic ablation models (README table): python scripts/ablation_grounding.py RUN_DIR..."""

import sys
from pathlib import Path

from sat_course import experiment
from sat_course.checkpoint import load_model
from sat_course.grounding import grounding_score
from sat_course.metrics import nltk_bleu
from sat_course.training import generate

config = experiment.synthetic_config()
records = experiment.load_records(config, "val")
inputs = experiment.model_inputs(config, "val", records, progress=False)
scenes = experiment.synthetic_scenes(config.synthetic_sizes, config.seed, experiment.SCENE_SIZE).subset("val")
print("| run | val BLEU-4 (nltk, beam 3) | attention mass in the named box | x chance | arg-max in box |")
print("|---|---|---|---|---|")
for run in map(Path, sys.argv[1:]):
    model, vocab, _ = load_model(run / "best.pt")
    captions = generate(model, inputs, beam_size=3)
    bleu = nltk_bleu([r.captions for r in records], [vocab.decode(c.tokens) for c in captions])["BLEU-4"]
    score = grounding_score([c.words(vocab) for c in captions], [c.alphas.numpy() for c in captions], scenes.objects,
                            config.encoder.grid, experiment.SCENE_SIZE)
    print(f"| {run.name} | {bleu:.1f} | {score.mass:.3f} | {score.ratio:.1f} | {100 * score.hit_rate:.0f}% |")

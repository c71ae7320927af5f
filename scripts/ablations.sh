#!/bin/bash
cd "$(dirname "$0")/.."
# Reproduces the README ablations: beam size on the Flickr8k soft model, and the beta gate and the doubly
# stochastic term on the synthetic scenes (course settings). Run after the Flickr8k soft command of the README.
for b in 1 5; do
  .venv/bin/python -m sat_course evaluate runs/flickr8k_soft_seed0/best.pt --split val --beam-size $b --json runs/flickr8k_soft_seed0/metrics_val_beam$b.json
done
for variant in "no-beta:--no-beta" "no-doubly-stochastic:--doubly-stochastic 0" "paper:"; do
  name=${variant%%:*}; flags=${variant#*:}
  .venv/bin/python -m sat_course train --dataset synthetic --attention soft --embed-dim 64 --hidden-dim 128 --attention-dim 64 --dropout 0.1 --learning-rate 0.002 --epochs 6 --patience 3 $flags --out runs/ablation_synthetic_$name --scorers nltk
done

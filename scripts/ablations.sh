#!/bin/bash
# Reproduces the ablations (summed up in the README, in detail in docs/ablations.md) and the README's second results
# table (the 7x7 grid, 224 px); the first table comes from the README's Flickr8k commands (9x9 grid, 288 px) with
# seeds 0, 1 and 2 (and soft seed 3, part 29; hard seeds 3 and 4, part 21; both models' seed 5, part 31).
#  0. the 7x7-grid runs of seed 0 that the ablations start from;
#  1. beam size, on the Flickr8k soft and hard models (dev split, coco-caption);
#  2. grid resolution: MobileNetV2's 14x14x576 `expand14` layer (the paper's 14x14 grid) against the 7x7x1280 `last`
#     layer of the main runs, soft attention, compared epoch by epoch (log.csv) over 3 epochs;
#  3. the beta gate and the doubly stochastic term, on the synthetic scenes (course settings);
#  4. a second seed for both Flickr8k models; hard attention with the per-token REINFORCE baseline, and with lr decay;
#  5. hard attention selected on beam-3 validation BLEU-4, and trained with the paper's RMSProp; a third seed for hard;
#  6. hard attention without the doubly stochastic term, and with a moving average of the weights; the beam ranked by
#     log-probability per word instead of in total, on every seed of both models;
#  7. hard attention with the authors' LSTM size (1000 units), and with label smoothing; soft and hard attention on a 9x9 grid
#     (MobileNetV2 `last` at 288 px), compared epoch by epoch with the 7x7 run over 8 epochs;
#  8. the hard run on the 9x9 grid continued to the 50-minute budget (a rerun into the same folder resumes it, and its
#     budget counts the epochs already run); hard attention on the 9x9 grid with flip augmentation; the soft run on the 9x9
#     grid continued likewise (its budget of 64 minutes gives back the 14 minutes its sixth epoch lost sharing the cores);
#  9. hard attention on the 9x9 grid with the objective of the authors' code (README, "Where we differ"), and with a second
#     seed; both also decoded with the beam ranked per word;
# 10. a second seed of soft attention and a third of hard attention on the 9x9 grid (README: that one first stopped early
#     with the default patience of 5 and was resumed with 10; one command with 10 gives the same run), and bootstrap
#     intervals over the dev images for the runs of part 9 and 10;
# 11. hard attention on the 9x9 grid at twice the authors' learning rate, and the hard seed 1 again with the patience of
#     the hard command (10; it gives the weights of part 9's seed-1 run, so it is not decoded again); the third hard seed
#     and the learning-rate run decoded with the beam ranked per word;
# 12. hard attention on the 9x9 grid with the expected context in three minibatches of four instead of the paper's
#     one of two (`--expected-context-prob 0.75`), seeds 0, 1 and 2; 0 and 1 also decoded with the beam ranked per word.
# 13. hard attention with the expected context in nine minibatches of ten, seed 1. (The README's `_epyc` row is part
#     12's seed-1 command run on the AMD EPYC: on one kind of CPU it gives the weights of part 12's run, so it is not
#     trained again here.)
# 14. the weight of the doubly stochastic term at the setting of part 12's seed 1 (lambda 2 and 0.5 against the paper's
#     1), both also decoded with the beam ranked per word.
# 15. dropout 0.3 instead of 0.5 on the output path at the setting of part 12's seed 1, also decoded with the beam
#     ranked per word.
# 16. every training word in the vocabulary (--min-count 1, the paper's 10,000-word cap on Flickr8k) at the setting of
#     part 12's seed 1, also decoded with the beam ranked per word.
# 17. the beta gate on Flickr8k: part 10's soft seed-1 command without it (--no-beta).
# 18. the whole photo resized to a square instead of the paper's centre crop (--whole-image, its own feature cache) at
#     the setting of part 12's seed 1, also decoded with the beam ranked per word, and at part 10's soft seed-1 command.
# 19. hard attention started as soft attention: the expected-context share annealed from 1 in epoch 1 to 0.75 from
#     epoch 6 on (--expected-context-start 1 --expected-context-anneal-epochs 5) at the setting of part 12's seed 1,
#     also decoded with the beam ranked per word. (The `_epyc` rows in the README and docs/ablations.md are this
#     command run on the AMD EPYC in a later session, into `flickr8k_hard_288_ecp1to075_seed1_epyc`, where the budget
#     fitted 18 epochs instead of the slow day's 9.)
# 20. the expected context drawn for each caption instead of once per minibatch (--expected-context-per-caption) at the
#     setting of part 12's seed 1 and at the paper's share 0.5, seed 1; both also decoded with the beam ranked per word.
# 21. the README's hard command with seeds 3 and 4, to pair with part 12's seeds 3 and 4 at the paper's share 0.5; also
#     decoded with the beam ranked per word; and part 12's seed 3 decoded likewise. (The README's seed-3 `_epyc` row is
#     part 12's seed-3 command run on the AMD EPYC: like part 13's note, the run here gives its weights there.)
# 22. beam widths 1, 2, 5 and 10 ranked in total and 5 and 10 ranked per word, on part 21's seed 3 and part 12's seeds 3
#     and 1 (the README's `_epyc` checkpoints: these commands on the AMD EPYC).
# 23. an 11x11 grid: part 12's seed-1 command at 352 px instead of 288 (its own feature cache, which `train` extracts,
#     as in part 18), also decoded with the beam ranked per word. (The README's `flickr8k_hard_352_ecp075_seed1_epyc`
#     is this run on the AMD EPYC.)
# 24. the minibatch size: part 12's seed-1 command with 32 and with 128 captions per minibatch instead of 64, and with
#     128 at twice the learning rate, and 128 with seed 3 (against part 12's seed 3, the README's `_seed3_epyc`), each also
#     decoded with the beam ranked per word; batch 128 takes `--epochs 40` so that the 50 minutes, not the 20-epoch cap,
#     end it. (The README's rows are these runs on the AMD EPYC.)
# 25. the attention entropy bonus at the weight the authors' code gives it at batch 64 (0.128 per caption, not the
#     paper's 0.002), and MobileNetV2's 320-channel `block17` instead of its 1280-channel `last` layer (its own feature
#     cache, which `train` extracts), each at the setting of part 12's seed 1 and also decoded with the beam ranked per
#     word. (The rows in docs/ablations.md are these runs on the AMD EPYC.)
# 26. the moving average of the weights (--ema-decay 0.999, as part 6 tried at 7x7) and the learning rate annealed
#     along half a cosine over 17 epochs (--lr-schedule cosine --epochs 17: what the 50 minutes fit on the AMD EPYC),
#     each at the setting of part 12's seed 1 and also decoded with the beam ranked per word. (The rows in
#     docs/ablations.md are these runs on the AMD EPYC.)
# 27. the time budget: part 12's seed-1 command with 110 minutes instead of 50 (and --epochs 40, so that the budget,
#     not the 20-epoch cap, ends it), also decoded with the beam ranked per word, and its curves against the hour
#     (`curves`). Its first 20 epochs are the `_epyc` run's. (The row in docs/ablations.md is this run on the AMD EPYC.)
# 28. every epoch scored, not only the selected one: part 12's seed-1 command again, keeping each epoch's weights
#     (--keep-epochs; on one kind of CPU the same weights as part 12's run), each epoch decoded with beam 3, ranked in
#     total and per word, and scored by coco-caption, and scripts/epoch_scores.py's tables and figure of them against
#     the greedy selection score; and the uniform average of the last 5 and the last 10 epochs' weights
#     (scripts/average_epochs.py), scored likewise.
# 29. the README's soft command with seeds 2 and 3 (a later session, on the AMD EPYC), and the table of the four soft
#     seeds on the 9x9 grid with their mean and range (`report --mean`; seeds 0 and 1 are parts 7-8 and 10); seed 2
#     also decoded with the beam ranked per word.
# 30. a sixth seed of part 12's 3-of-4 command, seed 5 (a later session, on the AMD EPYC), also decoded with the beam
#     ranked per word, and the table of the six seeds of that command with their mean and range (`report --mean`; seed
#     3 is part 12's command on the AMD EPYC, the README's `_seed3_epyc` run).
# 31. the README's hard command with seed 5 (a later session, on the AMD EPYC), to pair with part 30's seed 5 at the
#     paper's share 0.5, and its soft command with seed 5, each also decoded with the beam ranked per word; and the
#     tables of the five soft seeds and of the six hard seeds at the paper's share with their means and ranges
#     (`report --mean`; soft seeds 0-3 are parts 7-10 and 29, hard seeds 0-2 parts 8-10, 3 and 4 part 21; the six at
#     3 of 4 are part 30's table).
# 32. dropout 0.7 instead of 0.5 at the setting of part 12's seed 1, also decoded with the beam ranked per word. (Its row
#     and the `_do03_seed1_epyc` row in docs/ablations.md are this command and part 15's dropout-0.3 command run on the
#     AMD EPYC in a later session, beside part 12's `_epyc` run; on one kind of CPU part 15's command gives the weights of
#     its run, so it is not trained again here.)
# 33. two location samples per caption, each the other's REINFORCE baseline (`--location-samples 2
#     --leave-one-out-baseline`), at the setting of part 12's seed 1 (3 of 4) and at the README's hard command with
#     seed 1 (1 of 2), both decoded with the beam ranked per word; the first also at beams 1, 2, 5 and 10 both ways, as
#     part 22 (a later session, on the AMD EPYC).
set -e
cd "$(dirname "$0")/.."
for model in soft hard; do
  .venv/bin/python -m sat_course train --dataset flickr8k --attention $model --seed 0 --cpu-amp --max-minutes 50 --out runs/flickr8k_${model}_seed0
done
for model in soft hard; do
  for b in 1 5; do
    .venv/bin/python -m sat_course evaluate runs/flickr8k_${model}_seed0/best.pt --split val --beam-size $b --json runs/flickr8k_${model}_seed0/metrics_val_beam$b.json
  done
done
.venv/bin/python -m sat_course train --dataset flickr8k --attention soft --layer expand14 --seed 0 --cpu-amp --epochs 3 --out runs/flickr8k_soft_expand14_seed0
for variant in "no-beta:--no-beta" "no-doubly-stochastic:--doubly-stochastic 0" "paper:"; do
  name=${variant%%:*}; flags=${variant#*:}
  .venv/bin/python -m sat_course train --dataset synthetic --attention soft --embed-dim 64 --hidden-dim 128 --attention-dim 64 --dropout 0.1 --learning-rate 0.002 --epochs 6 --patience 3 $flags --out runs/ablation_synthetic_$name --scorers nltk
done
for model in soft hard; do
  .venv/bin/python -m sat_course train --dataset flickr8k --attention $model --seed 1 --cpu-amp --max-minutes 50 --out runs/flickr8k_${model}_seed1
done
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --seed 0 --cpu-amp --max-minutes 50 --baseline-per-token --out runs/flickr8k_hard_pertoken_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --seed 0 --cpu-amp --max-minutes 34 --lr-decay 0.8 --out runs/flickr8k_hard_lrdecay_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --seed 0 --cpu-amp --max-minutes 50 --val-beam-size 3 --out runs/flickr8k_hard_valbeam3_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --seed 0 --cpu-amp --max-minutes 50 --optimizer rmsprop --learning-rate 1e-4 --out runs/flickr8k_hard_rmsprop_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --seed 2 --cpu-amp --max-minutes 45 --out runs/flickr8k_hard_seed2
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --seed 0 --cpu-amp --max-minutes 50 --doubly-stochastic 0 --out runs/flickr8k_hard_nods_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --seed 0 --cpu-amp --max-minutes 50 --ema-decay 0.999 --out runs/flickr8k_hard_ema_seed0
for run in flickr8k_soft_seed0 flickr8k_soft_seed1 flickr8k_hard_seed0 flickr8k_hard_seed1 flickr8k_hard_seed2; do
  .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
done
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --seed 0 --cpu-amp --max-minutes 50 --hidden-dim 1000 --out runs/flickr8k_hard_h1000_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --seed 0 --cpu-amp --max-minutes 50 --label-smoothing 0.1 --out runs/flickr8k_hard_ls_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention soft --input-size 288 --seed 0 --cpu-amp --epochs 8 --out runs/flickr8k_soft_288_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 0 --cpu-amp --epochs 8 --out runs/flickr8k_hard_288_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 0 --cpu-amp --max-minutes 50 --out runs/flickr8k_hard_288_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --flip-probability 0.5 --seed 0 --cpu-amp --max-minutes 47 --out runs/flickr8k_hard_288_flip_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --flip-probability 0.5 --seed 0 --cpu-amp --max-minutes 47 --patience 10 --out runs/flickr8k_hard_288_flip_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention soft --input-size 288 --seed 0 --cpu-amp --max-minutes 64 --out runs/flickr8k_soft_288_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 0 --cpu-amp --max-minutes 50 --reward-per-word --reinforce-weight 6.4 --entropy-weight 0.128 --doubly-stochastic 0 --out runs/flickr8k_hard_288_authors_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --out runs/flickr8k_hard_288_seed1
for run in flickr8k_hard_288_authors_seed0 flickr8k_hard_288_seed1; do
  .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
done
.venv/bin/python -m sat_course train --dataset flickr8k --attention soft --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --out runs/flickr8k_soft_288_seed1
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 2 --cpu-amp --max-minutes 50 --patience 10 --out runs/flickr8k_hard_288_seed2
for run in flickr8k_soft_288_seed1 flickr8k_hard_288_seed1 flickr8k_hard_288_authors_seed0; do
  .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --json runs/$run/metrics_val_intervals.json
done
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 0 --cpu-amp --max-minutes 50 --patience 10 --learning-rate 4e-4 --out runs/flickr8k_hard_288_lr4e-4_seed0
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --patience 10 --out runs/flickr8k_hard_288_p10_seed1
for run in flickr8k_hard_288_seed2 flickr8k_hard_288_lr4e-4_seed0; do
  .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
done
for seed in 0 1 2 3 4; do  # seeds 3 and 4 in later sessions
  .venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed $seed --cpu-amp --max-minutes 50 --patience 10 --expected-context-prob 0.75 --out runs/flickr8k_hard_288_ecp075_seed$seed
done
for seed in 0 1 4; do
  .venv/bin/python -m sat_course evaluate runs/flickr8k_hard_288_ecp075_seed$seed/best.pt --split val --beam-size 3 --length-normalise --json runs/flickr8k_hard_288_ecp075_seed$seed/metrics_val_perword.json
done
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --patience 10 --expected-context-prob 0.9 --out runs/flickr8k_hard_288_ecp09_seed1
# parts 14 to 16 and 18: one change each to part 12's seed-1 command, as "run-folder suffix:flags"
for variant in "ds2:--doubly-stochastic 2" "ds05:--doubly-stochastic 0.5" "do03:--dropout 0.3" "mc1:--min-count 1" "whole:--whole-image"; do
  run=flickr8k_hard_288_ecp075_${variant%%:*}_seed1
  .venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --patience 10 --expected-context-prob 0.75 ${variant#*:} --out runs/$run
  .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
done
.venv/bin/python -m sat_course train --dataset flickr8k --attention soft --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --no-beta --out runs/flickr8k_soft_288_nobeta_seed1
.venv/bin/python -m sat_course train --dataset flickr8k --attention soft --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --whole-image --out runs/flickr8k_soft_288_whole_seed1
run=flickr8k_hard_288_ecp1to075_seed1
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --patience 10 --expected-context-prob 0.75 --expected-context-start 1.0 --expected-context-anneal-epochs 5 --out runs/$run
.venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
for variant in "ecp075_percaption:0.75" "percaption:0.5"; do  # "run-folder part:expected-context share"
  run=flickr8k_hard_288_${variant%%:*}_seed1
  .venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --patience 10 --expected-context-prob ${variant#*:} --expected-context-per-caption --out runs/$run
  .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
done
for seed in 3 4; do
  run=flickr8k_hard_288_seed$seed
  .venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed $seed --cpu-amp --max-minutes 50 --patience 10 --out runs/$run
  .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
done
run=flickr8k_hard_288_ecp075_seed3
.venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
for run in flickr8k_hard_288_seed3 flickr8k_hard_288_ecp075_seed3 flickr8k_hard_288_ecp075_seed1; do
  for b in 1 2 5 10; do
    .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size $b --json runs/$run/metrics_val_beam$b.json
  done
  for b in 5 10; do
    .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size $b --length-normalise --json runs/$run/metrics_val_beam${b}_perword.json
  done
done
run=flickr8k_hard_352_ecp075_seed1
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 352 --seed 1 --cpu-amp --max-minutes 50 --patience 10 --expected-context-prob 0.75 --out runs/$run
.venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
for variant in "b32:32:20:2e-4:1" "b128:128:40:2e-4:1" "b128_lr4e-4:128:40:4e-4:1" "b128:128:40:2e-4:3"; do  # "run-folder part:minibatch size:epoch cap:learning rate:seed"
  IFS=: read -r name batch epochs lr seed <<< "$variant"
  run=flickr8k_hard_288_ecp075_${name}_seed$seed
  .venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed $seed --cpu-amp --max-minutes 50 --patience 10 --expected-context-prob 0.75 --batch-size $batch --epochs $epochs --learning-rate $lr --out runs/$run
  .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
done
for variant in "ent0128:--entropy-weight 0.128" "block17:--layer block17" "ema:--ema-decay 0.999" "cosine:--lr-schedule cosine --epochs 17"; do  # parts 25 and 26: "run-folder part:flags"
  run=flickr8k_hard_288_ecp075_${variant%%:*}_seed1
  .venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --patience 10 --expected-context-prob 0.75 ${variant#*:} --out runs/$run
  .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
done
run=flickr8k_hard_288_ecp075_110min_seed1
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 1 --cpu-amp --max-minutes 110 --patience 10 --expected-context-prob 0.75 --epochs 40 --out runs/$run
.venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
.venv/bin/python -m sat_course curves runs/$run --x minutes --budget-minutes 50 --out docs/figures/hard_time_budget.png
run=flickr8k_hard_288_ecp075_keep_seed1
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --patience 10 --expected-context-prob 0.75 --keep-epochs --out runs/$run
for weights in runs/$run/epochs/epoch_??.pt; do
  .venv/bin/python -m sat_course evaluate $weights --split val --beam-size 3 --bootstrap 0 --json ${weights%.pt}_val.json
  .venv/bin/python -m sat_course evaluate $weights --split val --beam-size 3 --length-normalise --bootstrap 0 --json ${weights%.pt}_val_perword.json
done
.venv/bin/python scripts/epoch_scores.py runs/$run --out docs/figures/hard_epoch_scores.png --paper hard
.venv/bin/python scripts/epoch_scores.py runs/$run --suffix val_perword
for first in 16 11; do
  .venv/bin/python scripts/average_epochs.py runs/$run $first 20 --out runs/$run/average_${first}_20.pt
  .venv/bin/python -m sat_course evaluate runs/$run/average_${first}_20.pt --split val --beam-size 3 --json runs/$run/average_${first}_20_val.json
  .venv/bin/python -m sat_course evaluate runs/$run/average_${first}_20.pt --split val --beam-size 3 --length-normalise --bootstrap 0 --json runs/$run/average_${first}_20_val_perword.json
done
for seed in 2 3; do
  .venv/bin/python -m sat_course train --dataset flickr8k --attention soft --input-size 288 --seed $seed --cpu-amp --max-minutes 50 --out runs/flickr8k_soft_288_seed$seed
done
.venv/bin/python -m sat_course evaluate runs/flickr8k_soft_288_seed2/best.pt --split val --beam-size 3 --length-normalise --bootstrap 0 --json runs/flickr8k_soft_288_seed2/metrics_val_perword.json
.venv/bin/python -m sat_course report runs/flickr8k_soft_288_seed{0,1,2,3}/metrics_val.json --mean
run=flickr8k_hard_288_ecp075_seed5
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 5 --cpu-amp --max-minutes 50 --patience 10 --expected-context-prob 0.75 --out runs/$run
.venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
.venv/bin/python -m sat_course report runs/flickr8k_hard_288_ecp075_seed{0,1,2,4,5}/metrics_val.json runs/flickr8k_hard_288_ecp075_seed3_epyc/metrics_val.json --mean
run=flickr8k_hard_288_seed5
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 5 --cpu-amp --max-minutes 50 --patience 10 --out runs/$run
.venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --bootstrap 0 --json runs/$run/metrics_val_perword.json
run=flickr8k_soft_288_seed5
.venv/bin/python -m sat_course train --dataset flickr8k --attention soft --input-size 288 --seed 5 --cpu-amp --max-minutes 50 --out runs/$run
.venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --bootstrap 0 --json runs/$run/metrics_val_perword.json
.venv/bin/python -m sat_course report runs/flickr8k_soft_288_seed{0,1,2,3,5}/metrics_val.json --mean
.venv/bin/python -m sat_course report runs/flickr8k_hard_288_seed{0,1,2,3,4,5}/metrics_val.json --mean
run=flickr8k_hard_288_ecp075_do07_seed1
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --patience 10 --expected-context-prob 0.75 --dropout 0.7 --out runs/$run
.venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
run=flickr8k_hard_288_ecp075_n2loo_seed1
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --patience 10 --expected-context-prob 0.75 --location-samples 2 --leave-one-out-baseline --out runs/$run
.venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --json runs/$run/metrics_val_perword.json
for b in 1 2 5 10; do
  .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size $b --bootstrap 0 --json runs/$run/metrics_val_beam$b.json
done
for b in 5 10; do
  .venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size $b --length-normalise --bootstrap 0 --json runs/$run/metrics_val_beam${b}_perword.json
done
run=flickr8k_hard_288_n2loo_seed1
.venv/bin/python -m sat_course train --dataset flickr8k --attention hard --input-size 288 --seed 1 --cpu-amp --max-minutes 50 --patience 10 --location-samples 2 --leave-one-out-baseline --out runs/$run
.venv/bin/python -m sat_course evaluate runs/$run/best.pt --split val --beam-size 3 --length-normalise --bootstrap 0 --json runs/$run/metrics_val_perword.json

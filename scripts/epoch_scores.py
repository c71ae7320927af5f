"""Every epoch of a run scored as the final model is, against the greedy score that selected one of them.

``train --keep-epochs`` keeps each epoch's weights in RUN/epochs/epoch_NN.pt; ``evaluate --json`` scores each into
epoch_NN_val.json beside it (or epoch_NN_SUFFIX.json, read with ``--suffix``; scripts/ablations.sh, part 28). This prints one row per epoch: the greedy validation
BLEU-4 (nltk) from log.csv, which picks best.pt, and the coco-caption BLEU-4, METEOR and CIDEr of that epoch, then
which epoch each score would have picked and how closely the greedy score follows the beam's. Usage:

    python scripts/epoch_scores.py runs/flickr8k_hard_288_ecp075_keep_seed1 [--out docs/figures/epoch_scores.png --paper hard]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sat_course.curves import read_log
from sat_course.report import PAPER_FLICKR8K

SCORES = ("BLEU-4", "METEOR", "CIDEr")


def epoch_scores(run: Path, suffix: str = "val") -> tuple[dict[int, float], int, dict[int, dict[str, float]], str]:
    """Greedy selection BLEU-4 by epoch, the epoch it selected (best.pt), coco-caption scores by epoch, and how
    the epochs were decoded."""
    log = read_log(run)
    greedy = dict(zip(log.epochs, log.val_bleu4))
    selected = log.epochs[log.best_index]
    scored, decoding = {}, set()
    for path in sorted((run / "epochs").glob(f"epoch_*_{suffix}.json")):
        data = json.loads(path.read_text())
        epoch = int(path.name.split("_")[1])
        scored[epoch] = {name: data["scores"]["coco"][name] for name in SCORES}
        decoding.add(f"beam {data['beam_size']}" + (" ranked per word" if data.get("length_normalised") else ""))
    if not scored:
        raise ValueError(f"{run / 'epochs'}: no epoch_NN_{suffix}.json (score the kept epochs with evaluate --json first)")
    if len(decoding) > 1:
        raise ValueError(f"{run / 'epochs'}: the epochs were decoded differently ({', '.join(sorted(decoding))})")
    missing = sorted(set(scored) - set(greedy))
    if missing:
        raise ValueError(f"{run}: epochs {missing} are scored but not in log.csv")
    if selected not in scored:
        raise ValueError(f"{run / 'epochs'}: the selected epoch {selected} is not scored")
    return greedy, selected, scored, decoding.pop()


def correlation(greedy: dict[int, float], scored: dict[int, dict[str, float]], epochs: list[int]) -> float:
    """Pearson correlation over ``epochs`` of the greedy selection BLEU-4 with the scored (coco) BLEU-4."""
    return statistics.correlation([greedy[e] for e in epochs], [scored[e]["BLEU-4"] for e in epochs])


def figure(greedy: dict[int, float], selected: int, scored: dict[int, dict[str, float]], decoding: str, title: str,
           paper: str | None = None) -> Figure:
    fig = Figure(figsize=(7.5, 3.8), layout="constrained")
    ax = fig.subplots()
    epochs = sorted(scored)
    ax.plot(list(greedy), list(greedy.values()), "o-", color="grey", label="greedy BLEU-4 (nltk): the selection score")
    for name, colour in zip(SCORES[:2], ("C0", "C1")):
        ax.plot(epochs, [scored[e][name] for e in epochs], "o-", color=colour, label=f"{name} (coco, {decoding})")
        if paper:
            ax.axhline(PAPER_FLICKR8K[paper][name], color=colour, linestyle="--", linewidth=1, label=f"the paper's {paper} {name} (test)")
    ax.axvline(selected, color="grey", linestyle=":", label=f"selected: epoch {selected}")
    ax.set(xlabel="epoch", ylabel="score on the dev split (0-100)", title=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder written by train --keep-epochs")
    parser.add_argument("--suffix", default="val", help="read RUN/epochs/epoch_NN_SUFFIX.json (default: %(default)s)")
    parser.add_argument("--out", type=Path, help="also draw the scores by epoch into this image file")
    parser.add_argument("--paper", choices=sorted(PAPER_FLICKR8K), help="with --out: draw the paper's Flickr8k BLEU-4 and METEOR of this model")
    args = parser.parse_args(argv)
    try:
        greedy, selected, scored, decoding = epoch_scores(args.run, args.suffix)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("| epoch | greedy BLEU-4 (nltk) | " + " | ".join(f"{name} ({decoding})" for name in SCORES) + " |")
    print("|---" * (len(SCORES) + 2) + "|")
    for epoch in sorted(scored):
        mark = " (selected)" if epoch == selected else ""
        print(f"| {epoch}{mark} | {greedy[epoch]:.1f} | " + " | ".join(f"{scored[epoch][name]:.1f}" for name in SCORES) + " |")
    for name in SCORES:
        best = max(scored, key=lambda e: (scored[e][name], -e))
        print(f"highest {name}: epoch {best} ({scored[best][name]:.1f}); the selected epoch {selected}: {scored[selected][name]:.1f}")
    epochs = sorted(scored)
    for span in (epochs, epochs[len(epochs) // 2:]):  # all, then the later half, where the selection is made
        if len(span) >= 3:
            print(f"correlation over epochs {span[0]}-{span[-1]} of greedy BLEU-4 (nltk) with {decoding} BLEU-4 (coco): "
                  f"{correlation(greedy, scored, span):.2f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        figure(greedy, selected, scored, decoding, args.run.name, args.paper).savefig(args.out, dpi=120)
        print(f"figure: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

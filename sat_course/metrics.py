"""Caption metrics on a 0-100 scale, each labelled with the scorer that produced it.

- ``nltk``: BLEU-1..4 with ``nltk.translate.bleu_score.corpus_bleu`` on the course's tokenisation.
- ``coco``: the field's coco-caption scorers (pycocoevalcap) on PTB-tokenised text: BLEU-1..4, METEOR,
  ROUGE-L, CIDEr. SPICE needs a Stanford CoreNLP download and is skipped with a message when it cannot run.
  Its tables also give the length ratio behind BLEU's brevity penalty and, on request, bootstrap intervals over the
  images (``sat_course.bootstrap``).
"""

from __future__ import annotations

import logging
import shutil
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .bootstrap import LEVEL, bleu_counts, brevity_penalty, intervals, length_ratio
from .text import tokenize

log = logging.getLogger(__name__)

BLEU_WEIGHTS = [(1.0,), (0.5, 0.5), (1 / 3, 1 / 3, 1 / 3), (0.25, 0.25, 0.25, 0.25)]


def nltk_bleu(references: Sequence[Sequence[str]], hypotheses: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU-1..4 (0-100) with nltk; references and hypotheses as raw strings, tokenised here."""
    from nltk.translate.bleu_score import corpus_bleu

    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} reference sets but {len(hypotheses)} hypotheses")
    if not hypotheses:
        raise ValueError("no captions to score")
    refs = [[tokenize(r) for r in rs] for rs in references]
    hyps = [tokenize(h) for h in hypotheses]
    with warnings.catch_warnings():  # nltk warns when a corpus has no 4-gram match; a score of 0 is the answer
        warnings.simplefilter("ignore")
        scores = corpus_bleu(refs, hyps, weights=BLEU_WEIGHTS)
    return {f"BLEU-{n}": 100.0 * s for n, s in enumerate(scores, start=1)}


def ptb_tokenise(references: Sequence[Sequence[str]], hypotheses: Sequence[str]) -> tuple[dict, dict]:
    """References and hypotheses PTB-tokenised by coco-caption, keyed by position, as its scorers take them."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} reference sets but {len(hypotheses)} hypotheses")
    if not hypotheses:
        raise ValueError("no captions to score")
    if shutil.which("java") is None:
        raise RuntimeError("the coco-caption scorers need Java (PTB tokeniser, METEOR): install a JRE")
    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize({i: [{"caption": r} for r in rs] for i, rs in enumerate(references)})
    res = tokenizer.tokenize({i: [{"caption": h if h.strip() else "."}] for i, h in enumerate(hypotheses)})
    return gts, res


def coco_scores_tokenised(gts: dict, res: dict, spice: bool = False) -> tuple[dict[str, float], list[float]]:
    """BLEU-1..4, METEOR, ROUGE-L, CIDEr (0-100) of PTB-tokenised captions, and CIDEr per image (0-10)."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge

    out: dict[str, float] = {}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    out.update({f"BLEU-{n}": 100.0 * s for n, s in enumerate(bleu, start=1)})
    out["METEOR"] = 100.0 * Meteor().compute_score(gts, res)[0]
    out["ROUGE-L"] = 100.0 * Rouge().compute_score(gts, res)[0]
    cider, cider_per_image = Cider().compute_score(gts, res)
    out["CIDEr"] = 100.0 * cider
    if spice:
        try:
            from pycocoevalcap.spice.spice import Spice

            out["SPICE"] = 100.0 * Spice().compute_score(gts, res)[0]
        except Exception as error:  # SPICE fetches Stanford CoreNLP on first use: offline it cannot run
            log.warning("SPICE skipped: it could not run here (%s)", str(error).splitlines()[0] if str(error) else type(error).__name__)
    return out, [float(c) for c in cider_per_image]


def coco_scores(references: Sequence[Sequence[str]], hypotheses: Sequence[str], spice: bool = False) -> dict[str, float]:
    """BLEU-1..4, METEOR, ROUGE-L, CIDEr (0-100) with pycocoevalcap on PTB-tokenised text."""
    return coco_scores_tokenised(*ptb_tokenise(references, hypotheses), spice=spice)[0]


@dataclass
class MetricsTable:
    """Scores with everything needed to read them: scorer, split, beam size, number of images."""

    split: str
    beam_size: int
    num_images: int
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # scorer -> metric -> value
    length_normalised: bool = False  # the beam ranked finished captions by log-probability per word
    length_ratio: float | None = None  # coco-caption: hypothesis tokens over closest-reference tokens
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # coco metric -> bootstrap interval
    resamples: int = 0  # bootstrap resamples behind ``intervals`` (each of coverage ``bootstrap.LEVEL``)

    def to_dict(self) -> dict:
        out = {"split": self.split, "beam_size": self.beam_size, "length_normalised": self.length_normalised,
               "num_images": self.num_images, "scale": "0-100", "scores": self.scores}
        if self.length_ratio is not None:
            out["length_ratio"] = {"coco": self.length_ratio, "brevity_penalty": brevity_penalty(self.length_ratio)}
        if self.intervals:
            out["intervals"] = {"scorer": "coco", "method": "percentile bootstrap over images", "level": LEVEL,
                                "resamples": self.resamples, "metrics": {m: list(v) for m, v in self.intervals.items()}}
        return out

    def to_markdown(self) -> str:
        metrics = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr", "SPICE"]
        present = [m for m in metrics if any(m in s for s in self.scores.values())]
        lines = [
            f"split={self.split}, beam={self.beam_size}{' ranked per word' if self.length_normalised else ''}, images={self.num_images}, scale 0-100",
            "| scorer | " + " | ".join(present) + " |",
            "|---" * (len(present) + 1) + "|",
        ]
        for scorer, s in self.scores.items():
            lines.append(f"| {scorer} | " + " | ".join(f"{s[m]:.1f}" if m in s else "-" for m in present) + " |")
        if self.length_ratio is not None:
            lines.append(f"coco length ratio (hypotheses / closest references) {self.length_ratio:.3f}: "
                         f"BLEU brevity penalty {brevity_penalty(self.length_ratio):.3f}")
        if self.intervals:
            spans = ", ".join(f"{m} {low:.1f}-{high:.1f}" for m, (low, high) in self.intervals.items())
            lines.append(f"coco {LEVEL:.0%} bootstrap intervals over the {self.num_images} images ({self.resamples} resamples): {spans}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()


def score_captions(
    references: Mapping[str, Sequence[str]] | Sequence[Sequence[str]],
    hypotheses: Mapping[str, str] | Sequence[str],
    split: str,
    beam_size: int,
    scorers: Sequence[str] = ("nltk", "coco"),
    spice: bool = False,
    resamples: int = 0,
) -> MetricsTable:
    """The whole table in one call: one hypothesis per image against all of that image's references.

    With coco-caption, the table also gives the length ratio behind BLEU's brevity penalty and, when ``resamples``
    is positive, bootstrap intervals of BLEU-1..4 and CIDEr over the images (``sat_course.bootstrap``)."""
    if resamples < 0:
        raise ValueError(f"resamples must be 0 (no intervals) or more, got {resamples}")
    if isinstance(references, Mapping):
        if not isinstance(hypotheses, Mapping) or set(references) != set(hypotheses):
            raise ValueError("references and hypotheses must cover the same image ids")
        keys = sorted(references)
        refs, hyps = [list(references[k]) for k in keys], [hypotheses[k] for k in keys]
    else:
        refs, hyps = [list(r) for r in references], list(hypotheses)
    table = MetricsTable(split, beam_size, len(hyps))
    for scorer in scorers:
        if scorer == "nltk":
            table.scores["nltk"] = nltk_bleu(refs, hyps)
        elif scorer == "coco":
            gts, res = ptb_tokenise(refs, hyps)
            table.scores["coco"], cider_per_image = coco_scores_tokenised(gts, res, spice=spice)
            counts = bleu_counts(gts, res)
            table.length_ratio = length_ratio(counts)
            if resamples:
                table.intervals, table.resamples = intervals(counts, cider_per_image, resamples), resamples
        else:
            raise ValueError(f"unknown scorer {scorer!r}: use 'nltk' or 'coco'")
    return table

"""How far a corpus score would move on another sample of images: the percentile bootstrap over images.

A dev or test split of 1000 images is one sample of the photos a model could be scored on. Drawing that many images
from it with replacement, rescoring, and repeating gives the spread the score would have on another sample of the same
size (Koehn, 2004, *Statistical significance tests for machine translation evaluation*). It says whether a gap to
the paper or between two runs is larger than the choice of test images alone would make it; it says nothing of the
spread between training seeds, which comes on top.

BLEU is not a mean of per-image scores: it is built from n-gram counts summed over the corpus. So each image is
reduced once to its counts, taken from pycocoevalcap's own BLEU scorer (the coco-caption column of our tables), and
every resample sums them with the number of times it drew each image. CIDEr is the mean of its per-image scores (the
document frequencies stay those of the whole split). METEOR's corpus score is not recomputable from per-image scores
without running its Java scorer again for every resample, so it gets no interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MAX_N = 4
LEVEL = 0.95  # coverage of the intervals
# pycocoevalcap's guards against empty counts (bleu_scorer.py): kept so that a full-sample score equals its own
SMALL, TINY = 1e-9, 1e-15


@dataclass(frozen=True)
class BleuCounts:
    """What BLEU needs of each image: arrays with one row per image."""

    correct: np.ndarray  # (images, 4): clipped n-gram matches, n = 1..4
    guess: np.ndarray  # (images, 4): n-grams in the hypothesis
    hypothesis_length: np.ndarray  # (images,)
    reference_length: np.ndarray  # (images,): the reference length closest to the hypothesis's (shorter on ties)

    def __len__(self) -> int:
        return len(self.hypothesis_length)


def bleu_counts(references: Mapping[object, Sequence[str]], hypotheses: Mapping[object, Sequence[str]]) -> BleuCounts:
    """Per-image BLEU counts of PTB-tokenised captions, in the form pycocoevalcap's scorers take (image id ->
    list of captions, one hypothesis each), counted by pycocoevalcap's BLEU scorer itself."""
    from pycocoevalcap.bleu.bleu_scorer import cook_refs, cook_test

    if set(references) != set(hypotheses):
        raise ValueError("references and hypotheses must cover the same image ids")
    if not hypotheses:
        raise ValueError("no captions to score")
    rows = []
    for key in references:
        if len(hypotheses[key]) != 1:
            raise ValueError(f"image {key!r}: expected one hypothesis, got {len(hypotheses[key])}")
        cooked = cook_test(hypotheses[key][0], cook_refs(references[key], n=MAX_N), eff="closest", n=MAX_N)
        rows.append((cooked["correct"], cooked["guess"], cooked["testlen"], cooked["reflen"]))
    correct, guess, hyp_len, ref_len = zip(*rows)
    return BleuCounts(np.array(correct, dtype=np.float64), np.array(guess, dtype=np.float64),
                      np.array(hyp_len, dtype=np.float64), np.array(ref_len, dtype=np.float64))


def corpus_bleu(counts: BleuCounts, weights: np.ndarray | None = None) -> np.ndarray:
    """BLEU-1..4 (0-100) of the corpus, or of each weighted corpus: ``weights`` (resamples, images) says how many
    times each resample holds each image. Returns (4,) without weights, (resamples, 4) with them.

    BLEU-n = BP * (prod_{k<=n} p_k)^(1/n), with p_k the clipped k-gram precision of the summed counts and
    BP = exp(1 - r/c) when the hypotheses' length c is below the closest references' length r (Papineni et al., 2002).
    """
    w = np.ones((1, len(counts))) if weights is None else np.asarray(weights, dtype=np.float64)
    correct, guess = w @ counts.correct, w @ counts.guess
    hyp_len, ref_len = w @ counts.hypothesis_length, w @ counts.reference_length
    log_precision = np.log(correct + TINY) - np.log(guess + SMALL)
    bleu = np.exp(np.cumsum(log_precision, axis=1) / np.arange(1, MAX_N + 1))
    scores = 100.0 * bleu * _penalty((hyp_len + TINY) / (ref_len + SMALL))[:, None]
    return scores[0] if weights is None else scores


def length_ratio(counts: BleuCounts) -> float:
    """Total hypothesis length over total closest-reference length: below 1, BLEU's brevity penalty applies."""
    return float(counts.hypothesis_length.sum() / counts.reference_length.sum())


def _penalty(ratio: np.ndarray) -> np.ndarray:
    return np.where(ratio < 1, np.exp(1 - 1 / np.minimum(ratio, 1)), 1.0)


def brevity_penalty(ratio: float) -> float:
    """BLEU's brevity penalty for a length ratio c/r: exp(1 - r/c) below 1, else 1."""
    if ratio <= 0:
        raise ValueError(f"length ratio must be positive, got {ratio}")
    return float(_penalty(np.asarray(ratio)))


def resample_weights(images: int, resamples: int, seed: int = 0) -> np.ndarray:
    """(resamples, images): how many times each resample draws each image, ``images`` draws with replacement."""
    if images < 1 or resamples < 1:
        raise ValueError(f"need at least one image and one resample, got {images} and {resamples}")
    rng = np.random.default_rng(seed)
    return rng.multinomial(images, np.full(images, 1.0 / images), size=resamples).astype(np.float64)


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central ``level`` interval of bootstrap samples (the percentile method)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    low, high = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def intervals(counts: BleuCounts, cider_per_image: Sequence[float] | None = None, resamples: int = 1000,
              level: float = LEVEL, seed: int = 0) -> dict[str, tuple[float, float]]:
    """Bootstrap intervals (0-100) of coco-caption's BLEU-1..4 and, given its per-image scores (0-10 each, as
    pycocoevalcap returns them), CIDEr, all from the same resamples of the images."""
    weights = resample_weights(len(counts), resamples, seed)
    bleu = corpus_bleu(counts, weights)
    out = {f"BLEU-{n}": percentile_interval(bleu[:, n - 1], level) for n in range(1, MAX_N + 1)}
    if cider_per_image is not None:
        cider = np.asarray(cider_per_image, dtype=np.float64)
        if cider.shape != (len(counts),):
            raise ValueError(f"{cider.shape[0] if cider.ndim else 0} CIDEr scores for {len(counts)} images")
        out["CIDEr"] = percentile_interval(100.0 * (weights @ cider) / len(counts), level)
    return out

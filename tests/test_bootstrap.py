"""Bootstrap intervals over images: BLEU from per-image counts against pycocoevalcap's own BLEU, counts worked out by
hand, and the interval's behaviour against known truths (degenerate corpora, 1/sqrt(n) width, coverage)."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from sat_course.bootstrap import (BleuCounts, bleu_counts, brevity_penalty, corpus_bleu, intervals, length_ratio,
                                  percentile_interval, resample_weights)
from sat_course.metrics import score_captions

pytest.importorskip("pycocoevalcap")
from pycocoevalcap.bleu.bleu import Bleu  # noqa: E402

# Already tokenised, as pycocoevalcap's scorers take captions after its PTB tokeniser.
REFS = {
    0: ["a dog runs in the park", "the dog is running fast"],
    1: ["the cat sat on the soft red mat", "a black cat sat on the mat at home"],
    2: ["two children play on a beach near the sea", "kids playing in the sand"],
    3: ["a man rides a bike down a steep hill", "a cyclist on a mountain road"],
    4: ["a woman in a red coat walks in the snow", "a person walking through snow"],
}
HYPS = {0: ["a dog runs fast"], 1: ["the cat sat on the blue mat"], 2: ["children play on the beach"],
        3: ["a man rides a bike down a hill on a road"], 4: ["a woman walks"]}


def _coco_bleu(refs: dict, hyps: dict) -> np.ndarray:
    return 100.0 * np.array(Bleu(4).compute_score(refs, hyps, verbose=0)[0])


def _random_corpus(images: int, seed: int) -> tuple[dict, dict]:
    """Random captions over 30 words; each hypothesis is one of its references with words changed at random,
    so that BLEU-4 lands near a captioning model's (about 20) rather than near 0."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(30)])
    refs, hyps = {}, {}
    for i in range(images):
        refs[i] = [" ".join(rng.choice(words, rng.integers(6, 13))) for _ in range(3)]
        hyp = refs[i][0].split()[: rng.integers(4, 13)]
        hyps[i] = [" ".join(w if rng.random() > 0.35 else rng.choice(words) for w in hyp)]
    return refs, hyps


def test_counts_of_one_image_worked_out_by_hand():
    counts = bleu_counts({0: REFS[0]}, {0: HYPS[0]})
    # "a dog runs fast": unigrams a, dog, runs, fast all in a reference; bigrams "a dog", "dog runs" (not "runs fast");
    # trigram "a dog runs"; no 4-gram. References have 6 and 5 words: 5 is closer to 4.
    assert counts.correct.tolist() == [[4, 2, 1, 0]]
    assert counts.guess.tolist() == [[4, 3, 2, 1]]
    assert counts.hypothesis_length.tolist() == [4] and counts.reference_length.tolist() == [5]
    bleu2 = corpus_bleu(counts)[1]
    assert bleu2 == pytest.approx(100 * math.sqrt(4 / 4 * 2 / 3) * math.exp(1 - 5 / 4), rel=1e-9)


def test_bleu_from_counts_equals_pycocoevalcap():
    assert corpus_bleu(bleu_counts(REFS, HYPS)) == pytest.approx(_coco_bleu(REFS, HYPS), rel=1e-9)
    refs, hyps = _random_corpus(300, seed=1)
    assert corpus_bleu(bleu_counts(refs, hyps)) == pytest.approx(_coco_bleu(refs, hyps), rel=1e-9)


def test_weighted_corpus_is_the_corpus_with_images_repeated():
    counts = bleu_counts(REFS, HYPS)
    weights = np.array([[1, 1, 1, 1, 1], [2, 2, 2, 2, 2], [0, 3, 0, 1, 1], [0, 0, 0, 1, 0]], dtype=float)
    scores = corpus_bleu(counts, weights)
    assert scores[0] == pytest.approx(corpus_bleu(counts), rel=1e-12)
    assert scores[1] == pytest.approx(corpus_bleu(counts), rel=1e-9)  # every image twice: the same BLEU
    repeated = [1, 1, 1, 3, 4]
    assert scores[2] == pytest.approx(_coco_bleu({i: REFS[k] for i, k in enumerate(repeated)},
                                                 {i: HYPS[k] for i, k in enumerate(repeated)}), rel=1e-9)
    assert scores[3] == pytest.approx(_coco_bleu({3: REFS[3]}, {3: HYPS[3]}), rel=1e-9)


def test_length_ratio_and_brevity_penalty():
    counts = bleu_counts(REFS, HYPS)
    hyp = sum(len(h[0].split()) for h in HYPS.values())
    closest = [5, 8, 5, 9, 5]  # for hypotheses of 4, 7, 5, 11 and 3 words
    assert length_ratio(counts) == pytest.approx(hyp / sum(closest))
    assert brevity_penalty(0.8) == pytest.approx(math.exp(-0.25))
    assert brevity_penalty(1.0) == 1.0 and brevity_penalty(1.3) == 1.0
    with pytest.raises(ValueError, match="positive"):
        brevity_penalty(0.0)


def test_resample_weights_draw_each_resample_the_size_of_the_corpus():
    weights = resample_weights(50, 200, seed=3)
    assert weights.shape == (200, 50)
    assert (weights.sum(axis=1) == 50).all() and (weights >= 0).all() and (weights == np.round(weights)).all()
    assert weights.mean() == pytest.approx(1.0)
    assert np.array_equal(weights, resample_weights(50, 200, seed=3))
    assert not np.array_equal(weights, resample_weights(50, 200, seed=4))
    with pytest.raises(ValueError, match="at least one"):
        resample_weights(0, 10)


def test_interval_of_identical_images_is_a_point():
    refs = {i: REFS[3] for i in range(40)}
    hyps = {i: HYPS[3] for i in range(40)}
    score = corpus_bleu(bleu_counts(refs, hyps))
    spans = intervals(bleu_counts(refs, hyps), cider_per_image=[0.7] * 40, resamples=100)
    for n in range(1, 5):
        assert spans[f"BLEU-{n}"] == pytest.approx((score[n - 1], score[n - 1]), rel=1e-9)
    assert spans["CIDEr"] == pytest.approx((70.0, 70.0))


def test_interval_holds_the_score_and_narrows_as_one_over_root_n():
    refs, hyps = _random_corpus(200, seed=2)
    counts = bleu_counts(refs, hyps)
    four_times = BleuCounts(*(np.concatenate([a] * 4) for a in (counts.correct, counts.guess, counts.hypothesis_length,
                                                                 counts.reference_length)))
    score = corpus_bleu(counts)
    small, large = intervals(counts, resamples=2000), intervals(four_times, resamples=2000)
    for n in range(1, 5):
        low, high = small[f"BLEU-{n}"]
        assert low < score[n - 1] < high
        ratio = (large[f"BLEU-{n}"][1] - large[f"BLEU-{n}"][0]) / (high - low)
        assert 0.4 < ratio < 0.6  # 4 times the images: half the width


def test_intervals_cover_the_population_score_about_as_often_as_claimed():
    """Draw 60 corpora of 150 images from a population of 3000; the 90% interval of each should hold the
    population's BLEU-4 about 90% of the time."""
    refs, hyps = _random_corpus(3000, seed=5)
    population = bleu_counts(refs, hyps)
    truth = corpus_bleu(population)[3]
    rng = np.random.default_rng(6)
    covered = 0
    for trial in range(60):
        pick = rng.choice(3000, 150, replace=False)
        sample = BleuCounts(population.correct[pick], population.guess[pick], population.hypothesis_length[pick],
                            population.reference_length[pick])
        low, high = intervals(sample, resamples=500, level=0.9, seed=trial)["BLEU-4"]
        covered += low <= truth <= high
    assert 45 <= covered <= 60  # 54 expected; the percentile method is known to run a little under


def test_cider_interval_is_of_the_mean_per_image_score():
    counts = bleu_counts(REFS, HYPS)
    per_image = [0.2, 1.4, 0.9, 0.5, 2.0]
    low, high = intervals(counts, per_image, resamples=3000)["CIDEr"]
    assert 100 * min(per_image) <= low < 100 * np.mean(per_image) < high <= 100 * max(per_image)
    with pytest.raises(ValueError, match="CIDEr scores for 5 images"):
        intervals(counts, per_image[:4])


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same image ids"):
        bleu_counts({0: ["a b"]}, {1: ["a b"]})
    with pytest.raises(ValueError, match="one hypothesis"):
        bleu_counts({0: ["a b"]}, {0: ["a b", "a c"]})
    with pytest.raises(ValueError, match="no captions"):
        bleu_counts({}, {})
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile_interval(np.arange(10.0), level=1.0)
    with pytest.raises(ValueError, match="resamples"):
        score_captions([["a cat"]], ["a cat"], "val", 3, scorers=("nltk",), resamples=-1)


@pytest.mark.skipif(shutil.which("java") is None, reason="the coco-caption scorers need Java (PTB tokeniser)")
def test_score_captions_reports_length_ratio_and_intervals():
    refs = [r for r in REFS.values()] * 4
    hyps = [h[0] for h in HYPS.values()] * 4
    table = score_captions(refs, hyps, "val", 3, scorers=("coco",), resamples=500)
    coco = table.scores["coco"]
    assert set(table.intervals) == {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "CIDEr"}
    for metric, (low, high) in table.intervals.items():
        assert low <= coco[metric] <= high
    assert table.length_ratio == pytest.approx(length_ratio(bleu_counts(REFS, HYPS)))
    text = table.to_markdown()
    assert f"length ratio (hypotheses / closest references) {table.length_ratio:.3f}" in text
    assert "95% bootstrap intervals over the 20 images (500 resamples): BLEU-1 " in text
    saved = json.loads(json.dumps(table.to_dict()))
    assert saved["intervals"]["resamples"] == 500 and saved["intervals"]["metrics"]["BLEU-4"] == list(table.intervals["BLEU-4"])
    assert saved["length_ratio"]["brevity_penalty"] == pytest.approx(brevity_penalty(table.length_ratio))
    assert "intervals" not in score_captions(refs, hyps, "val", 3, scorers=("coco",)).to_dict()

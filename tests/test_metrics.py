"""Metrics: BLEU against the definition (Papineni et al., 2002) worked out by hand, the coco scorers, the table."""

from __future__ import annotations

import math
import shutil
from collections import Counter

import pytest

from sat_course.metrics import MetricsTable, coco_scores, nltk_bleu, score_captions

# Two images. Tokens after the course's tokenisation (lower case, no punctuation):
#   hyp 1: the cat sat on the blue mat                      (7 words)
#   refs:  the cat sat on the soft red mat                  (8)
#          a black cat sat on the mat at home               (9)
#   hyp 2: a dog runs fast                                  (4 words)
#   refs:  a dog runs in the park                           (6)
#          the dog is running fast                          (5)
HYPOTHESES = ["The cat sat on the blue mat.", "A dog runs fast ."]
REFERENCES = [
    ["The cat sat on the soft red mat .", "A black cat sat on the mat at home"],
    ["a dog runs in the park", "The dog is running fast."],
]


def _ngrams(words: list[str], n: int) -> Counter:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def _modified_precision_counts(hyp: list[str], refs: list[list[str]], n: int) -> tuple[int, int]:
    """Clipped n-gram matches and the number of n-grams of the hypothesis (BLEU's modified precision)."""
    counts = _ngrams(hyp, n)
    most = Counter()
    for ref in refs:
        for gram, k in _ngrams(ref, n).items():
            most[gram] = max(most[gram], k)
    return sum(min(k, most[gram]) for gram, k in counts.items()), sum(counts.values())


def test_modified_precisions_worked_out_by_hand():
    hyp1 = "the cat sat on the blue mat".split()
    refs1 = ["the cat sat on the soft red mat".split(), "a black cat sat on the mat at home".split()]
    # unigrams: 'the' twice (ref 1 has it twice), cat, sat, on, mat; 'blue' nowhere
    assert _modified_precision_counts(hyp1, refs1, 1) == (6, 7)
    # bigrams: the cat, cat sat, sat on, on the match; the blue, blue mat do not
    assert _modified_precision_counts(hyp1, refs1, 2) == (4, 6)
    assert _modified_precision_counts(hyp1, refs1, 3) == (3, 5)  # the cat sat, cat sat on, sat on the
    assert _modified_precision_counts(hyp1, refs1, 4) == (2, 4)  # the cat sat on, cat sat on the
    hyp2 = "a dog runs fast".split()
    refs2 = ["a dog runs in the park".split(), "the dog is running fast".split()]
    assert [_modified_precision_counts(hyp2, refs2, n) for n in (1, 2, 3, 4)] == [(4, 4), (2, 3), (1, 2), (0, 1)]
    # clipping: "the the the" against "the cat" counts one match, not three
    assert _modified_precision_counts(["the"] * 3, [["the", "cat"]], 1) == (1, 3)


def test_corpus_bleu_equals_the_definition():
    # corpus level: numerators and denominators are summed over the images before dividing
    p = [(6 + 4) / (7 + 4), (4 + 2) / (6 + 3), (3 + 1) / (5 + 2), (2 + 0) / (4 + 1)]
    # brevity penalty: c = 7 + 4 = 11 words; r = sum of the closest reference lengths = 8 + 5 = 13
    bp = math.exp(1 - 13 / 11)
    expected = {f"BLEU-{n}": 100 * bp * math.exp(sum(math.log(x) for x in p[:n]) / n) for n in range(1, 5)}
    assert expected["BLEU-1"] == pytest.approx(100 * math.exp(-2 / 11) * 10 / 11)
    assert expected["BLEU-4"] == pytest.approx(100 * math.exp(-2 / 11) * (10 / 11 * 6 / 9 * 4 / 7 * 2 / 5) ** 0.25)
    scores = nltk_bleu(REFERENCES, HYPOTHESES)
    assert set(scores) == {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4"}
    for name, value in expected.items():
        assert scores[name] == pytest.approx(value, abs=1e-9), name


def test_brevity_penalty_takes_the_closest_reference_length_shorter_on_ties():
    # hyp of 7 words, references of 6 and 8: both 1 away, the shorter (6) is taken, so BP = 1
    hyp = "a b c d e f g"
    refs = [["a b c d e f", "a b c d e f g h"]]
    assert nltk_bleu(refs, [hyp])["BLEU-1"] == pytest.approx(100.0)
    # hyp of 5 words, references of 6 and 8: r = 6, BP = exp(1 - 6/5), every unigram matches
    assert nltk_bleu(refs, ["a b c d e"])["BLEU-1"] == pytest.approx(100 * math.exp(1 - 6 / 5))


def test_nltk_counts_at_least_one_ngram_for_a_hypothesis_shorter_than_n():
    """A departure of nltk from the definition, pinned here: a 3-word hypothesis adds 1 to the 4-gram count.

    Image 2 of the example cut to "a dog runs": 4-gram precision (2 + 0) / (4 + 1) in nltk, not 2 / 4.
    """
    refs = [REFERENCES[0], ["a dog runs in the park", "the dog is running"]]
    p = [(6 + 3) / (7 + 3), (4 + 2) / (6 + 2), (3 + 1) / (5 + 1), (2 + 0) / (4 + 1)]
    bp = math.exp(1 - (8 + 4) / (7 + 3))
    bleu4 = 100 * bp * math.prod(p) ** 0.25
    assert nltk_bleu(refs, [HYPOTHESES[0], "A dog runs ."])["BLEU-4"] == pytest.approx(bleu4, abs=1e-9)


def test_corpus_bleu_is_not_the_mean_of_sentence_bleus():
    one = nltk_bleu(REFERENCES[:1], HYPOTHESES[:1])["BLEU-2"]
    two = nltk_bleu(REFERENCES[1:], HYPOTHESES[1:])["BLEU-2"]
    both = nltk_bleu(REFERENCES, HYPOTHESES)["BLEU-2"]
    assert both != pytest.approx((one + two) / 2)


def test_bleu_of_a_single_hypothesis_with_no_brevity_penalty():
    # hyp: the cat sat on the mat (6); refs of 6 and 7 words: r = 6, BP = 1
    # p1 = 5/6 ('the' twice, clipped at ref 1's two; 'sat' in no reference)
    # p2 = 3/5 (the cat, on the, the mat; not cat sat, sat on)
    scores = nltk_bleu([["The cat is on the mat.", "There is a cat on the mat"]], ["The cat sat on the mat"])
    assert scores["BLEU-1"] == pytest.approx(100 * 5 / 6)
    assert scores["BLEU-2"] == pytest.approx(100 * math.sqrt(5 / 6 * 3 / 5))


def test_bleu_scale_is_0_to_100_and_case_and_punctuation_do_not_count():
    refs = [["A man rides a red bike down the hill ."]]
    assert nltk_bleu(refs, ["a man rides a red bike down the hill"])["BLEU-4"] == pytest.approx(100.0)
    assert nltk_bleu(refs, ["A MAN, rides a red bike; down the hill!"])["BLEU-4"] == pytest.approx(100.0)
    unrelated = nltk_bleu(refs, ["two dogs swim"])
    assert all(v == 0.0 for v in unrelated.values())


def test_bleu_refuses_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="reference sets"):
        nltk_bleu(REFERENCES, HYPOTHESES[:1])
    with pytest.raises(ValueError, match="no captions"):
        nltk_bleu([], [])


def test_metrics_table_names_split_beam_images_and_scale():
    table = MetricsTable("val", 3, 1000, {"nltk": {"BLEU-1": 61.234, "BLEU-4": 18.96}, "coco": {"BLEU-4": 19.04, "CIDEr": 51.0}})
    text = table.to_markdown()
    first = text.splitlines()[0]
    assert "split=val" in first and "beam=3" in first and "images=1000" in first and "0-100" in first
    assert "| scorer | BLEU-1 | BLEU-4 | CIDEr |" in text
    assert "| nltk | 61.2 | 19.0 | - |" in text
    assert "| coco | - | 19.0 | 51.0 |" in text
    assert str(table) == text
    assert table.to_dict() == {"split": "val", "beam_size": 3, "length_normalised": False, "num_images": 1000, "scale": "0-100", "scores": table.scores}


def test_metrics_table_says_when_the_beam_ranked_per_word():
    table = MetricsTable("val", 3, 10, {"nltk": {"BLEU-4": 19.0}}, length_normalised=True)
    assert table.to_markdown().splitlines()[0].startswith("split=val, beam=3 ranked per word, images=10")
    assert table.to_dict()["length_normalised"] is True


def test_score_captions_by_image_id():
    refs = {"b.jpg": REFERENCES[1], "a.jpg": REFERENCES[0]}
    hyps = {"a.jpg": HYPOTHESES[0], "b.jpg": HYPOTHESES[1]}
    table = score_captions(refs, hyps, "val", 5, scorers=("nltk",))
    assert (table.split, table.beam_size, table.num_images) == ("val", 5, 2)
    assert table.scores["nltk"] == pytest.approx(nltk_bleu(REFERENCES, HYPOTHESES))
    assert all(0.0 <= v <= 100.0 for v in table.scores["nltk"].values())


def test_score_captions_refuses_mismatched_ids_and_unknown_scorers():
    refs = {"a.jpg": REFERENCES[0], "b.jpg": REFERENCES[1]}
    with pytest.raises(ValueError, match="same image ids"):
        score_captions(refs, {"a.jpg": "a cat", "c.jpg": "a dog"}, "val", 3, scorers=("nltk",))
    with pytest.raises(ValueError, match="same image ids"):
        score_captions(refs, {"a.jpg": "a cat"}, "val", 3, scorers=("nltk",))
    with pytest.raises(ValueError, match="same image ids"):
        score_captions(refs, ["a cat", "a dog"], "val", 3, scorers=("nltk",))
    with pytest.raises(ValueError, match="reference sets"):
        score_captions(REFERENCES, HYPOTHESES[:1], "val", 3, scorers=("nltk",))
    with pytest.raises(ValueError, match="unknown scorer"):
        score_captions(REFERENCES, HYPOTHESES, "val", 3, scorers=("bleurt",))


@pytest.mark.skipif(shutil.which("java") is None, reason="the coco-caption scorers need Java (PTB tokeniser, METEOR)")
def test_coco_scores_of_identical_captions():
    pytest.importorskip("pycocoevalcap")
    captions = ["a man rides a red bike down the hill", "two dogs play with a ball on the grass", "a child in a pink dress climbs the stairs"]
    scores = coco_scores([[c] for c in captions], captions)
    assert set(scores) == {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"}
    for n in range(1, 5):
        assert scores[f"BLEU-{n}"] == pytest.approx(100.0, abs=1e-3)
    assert scores["ROUGE-L"] == pytest.approx(100.0, abs=1e-3)
    assert 90.0 < scores["METEOR"] <= 100.0
    assert scores["CIDEr"] > 100.0  # CIDEr's scale goes to 1000; identical captions score high

"""Tokenisation and the vocabulary: known inputs with their expected outputs written out by hand."""

from __future__ import annotations

import json

import pytest

from sat_course.text import SPECIALS, Vocabulary, tokenize


# tokenize


def test_tokenize_lowercases_and_drops_the_flickr8k_final_period():
    assert tokenize("A child in a pink dress is climbing up a set of stairs .") == [
        "a", "child", "in", "a", "pink", "dress", "is", "climbing", "up", "a", "set", "of", "stairs",
    ]


def test_tokenize_punctuation_splits_words_and_disappears():
    assert tokenize("Two dogs, one black; one WHITE!") == ["two", "dogs", "one", "black", "one", "white"]
    # punctuation inside a word becomes a space, so it splits the word
    assert tokenize("a dog's toy") == ["a", "dog", "s", "toy"]
    assert tokenize("black-and-white") == ["black", "and", "white"]


def test_tokenize_keeps_digits_and_collapses_white_space():
    assert tokenize("  3 boys\tplay\n soccer  ") == ["3", "boys", "play", "soccer"]


def test_tokenize_of_nothing_or_only_punctuation_is_empty():
    assert tokenize("") == []
    assert tokenize(" . , ! ") == []


# Vocabulary.build


def _captions() -> list[str]:
    # counts after tokenisation: a 5, dog 4, cat 2, runs 2, the 2, jumps 1
    return [
        "A dog runs .",
        "A dog runs.",
        "a DOG jumps",
        "A dog, a cat.",
        "The cat",
        "the",
    ]


def test_build_specials_first_then_most_frequent_ties_alphabetical():
    vocab = Vocabulary.build(_captions(), min_count=2)
    assert vocab.words[:4] == list(SPECIALS) == ["<pad>", "<start>", "<end>", "<unk>"]
    assert (vocab.pad_id, vocab.start_id, vocab.end_id, vocab.unk_id) == (0, 1, 2, 3)
    assert [vocab.index(w) for w in SPECIALS] == [0, 1, 2, 3]
    # a (5), dog (4), then cat/runs/the (2 each) alphabetically; jumps (1) is dropped
    assert vocab.words[4:] == ["a", "dog", "cat", "runs", "the"]
    assert len(vocab) == 9
    assert "jumps" not in vocab and "dog" in vocab


def test_build_min_count_boundary_is_inclusive():
    assert Vocabulary.build(_captions(), min_count=4).words[4:] == ["a", "dog"]
    assert Vocabulary.build(_captions(), min_count=5).words[4:] == ["a"]
    assert Vocabulary.build(_captions(), min_count=6).words[4:] == []
    assert Vocabulary.build(_captions(), min_count=1).words[4:] == ["a", "dog", "cat", "runs", "the", "jumps"]


def test_build_accepts_a_generator_and_keeps_max_length():
    vocab = Vocabulary.build((c for c in _captions()), min_count=2, max_length=7)
    assert vocab.max_length == 7 and vocab.words[4] == "a"


def test_build_rejects_bad_arguments():
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.build(_captions(), min_count=0)
    with pytest.raises(ValueError, match="no words"):
        Vocabulary.build([])
    with pytest.raises(ValueError, match="no words"):
        Vocabulary.build([" . ", ""])


# encode / decode


def test_encode_known_ids_and_unknown_words():
    vocab = Vocabulary.build(_captions(), min_count=2)  # a=4 dog=5 cat=6 runs=7 the=8
    assert vocab.encode("The dog runs .") == [1, 8, 5, 7, 2]
    assert vocab.encode("A zebra runs") == [1, 4, 3, 7, 2]  # zebra -> <unk>
    assert vocab.encode("") == [1, 2]
    assert vocab.index("zebra") == vocab.unk_id


def test_encode_decode_round_trip_of_known_words():
    vocab = Vocabulary.build(_captions(), min_count=2)
    for caption in ["A dog runs .", "the cat", "a a a dog"]:
        assert vocab.decode(vocab.encode(caption)) == " ".join(tokenize(caption))


def test_decode_stops_at_end_and_drops_pad_start_and_unk():
    vocab = Vocabulary.build(_captions(), min_count=2)
    assert vocab.decode([1, 4, 3, 5, 2, 6, 7]) == "a dog"
    assert vocab.decode([1, 4, 3, 5, 2], keep_unk=True) == "a <unk> dog"
    assert vocab.decode([0, 1, 8, 0, 6]) == "the cat"  # no <end>: everything is read
    assert vocab.decode([2, 4]) == ""


def test_decode_accepts_tensors():
    torch = pytest.importorskip("torch")
    vocab = Vocabulary.build(_captions(), min_count=2)
    assert vocab.decode(torch.tensor([1, 4, 5, 2])) == "a dog"


def test_encode_cuts_words_to_max_length_but_keeps_start_and_end():
    vocab = Vocabulary.build(_captions(), min_count=2, max_length=3)
    encoded = vocab.encode("a dog runs the cat a dog")
    assert encoded == [1, 4, 5, 7, 2]
    assert len(encoded) == 3 + 2


# fingerprint, to_dict, from_dict, save, load


def test_fingerprint_is_the_sha256_of_the_word_list():
    import hashlib

    vocab = Vocabulary.build(_captions(), min_count=2)
    expected = hashlib.sha256("<pad>\n<start>\n<end>\n<unk>\na\ndog\ncat\nruns\nthe".encode()).hexdigest()[:16]
    assert vocab.fingerprint() == expected
    assert len(expected) == 16


def test_fingerprint_changes_with_words_and_order():
    base = Vocabulary(list(SPECIALS) + ["a", "dog"])
    assert base.fingerprint() == Vocabulary(list(SPECIALS) + ["a", "dog"], max_length=3).fingerprint()
    assert base.fingerprint() != Vocabulary(list(SPECIALS) + ["dog", "a"]).fingerprint()
    assert base.fingerprint() != Vocabulary(list(SPECIALS) + ["a", "dog", "cat"]).fingerprint()


def test_to_dict_from_dict_round_trip_through_json(tmp_path):
    vocab = Vocabulary.build(_captions(), min_count=2, max_length=12)
    data = json.loads(json.dumps(vocab.to_dict()))
    assert data == {"words": vocab.words, "max_length": 12, "fingerprint": vocab.fingerprint()}
    again = Vocabulary.from_dict(data)
    assert again.words == vocab.words and again.max_length == 12
    assert again.encode("the dog") == vocab.encode("the dog")

    path = tmp_path / "vocab.json"
    vocab.save(path)
    loaded = Vocabulary.load(path)
    assert loaded.words == vocab.words and loaded.fingerprint() == vocab.fingerprint()


def test_from_dict_without_fingerprint_is_accepted():
    vocab = Vocabulary.from_dict({"words": list(SPECIALS) + ["x"], "max_length": "9"})
    assert vocab.max_length == 9 and vocab.words[-1] == "x"


def test_corrupt_fingerprint_is_refused(tmp_path):
    vocab = Vocabulary.build(_captions(), min_count=2)
    data = vocab.to_dict()
    data["words"] = data["words"][:4] + ["dog", "a"] + data["words"][6:]  # two words swapped
    with pytest.raises(ValueError, match="corrupt"):
        Vocabulary.from_dict(data)
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({**vocab.to_dict(), "fingerprint": "0" * 16}))
    with pytest.raises(ValueError, match="corrupt"):
        Vocabulary.load(path)


def test_bad_constructions_are_refused():
    with pytest.raises(ValueError, match="start with"):
        Vocabulary(["a", "dog"])
    with pytest.raises(ValueError, match="start with"):
        Vocabulary(["<start>", "<pad>", "<end>", "<unk>", "a"])
    with pytest.raises(ValueError, match="start with"):
        Vocabulary(["<pad>", "<start>", "<end>"])
    with pytest.raises(ValueError, match="repeat"):
        Vocabulary(list(SPECIALS) + ["a", "dog", "a"])
    with pytest.raises(ValueError, match="repeat"):
        Vocabulary(list(SPECIALS) + ["<unk>"])

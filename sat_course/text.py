"""Tokenisation and vocabulary.

Captions are lower-cased, punctuation is removed and words are split on white space.
A vocabulary keeps the words seen at least ``min_count`` times in the training captions,
plus the four special tokens. It is saved with every model and checked when a model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIALS = (PAD, START, END, UNK)
_NON_WORD = re.compile(r"[^a-z0-9\s]")


def tokenize(caption: str) -> list[str]:
    """Lower-case, drop punctuation, split on white space: ``"A dog ."`` -> ``["a", "dog"]``."""
    return _NON_WORD.sub(" ", caption.lower()).split()


@dataclass
class Vocabulary:
    """Word <-> index map with ``<pad>`` = 0, ``<start>`` = 1, ``<end>`` = 2, ``<unk>`` = 3."""

    words: list[str]
    max_length: int = 50
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if tuple(self.words[:4]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}, got {self.words[:4]}")
        if len(set(self.words)) != len(self.words):
            raise ValueError("a vocabulary must not repeat a word")
        self._index = {w: i for i, w in enumerate(self.words)}

    pad_id, start_id, end_id, unk_id = 0, 1, 2, 3

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 5, max_length: int = 50) -> Vocabulary:
        """Keep words that occur at least ``min_count`` times, most frequent first (ties alphabetical)."""
        if min_count < 1:
            raise ValueError("min_count must be at least 1")
        counts = Counter(word for caption in captions for word in tokenize(caption))
        if not counts:
            raise ValueError("cannot build a vocabulary from no words")
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(list(SPECIALS) + kept, max_length=max_length)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self._index

    def index(self, word: str) -> int:
        return self._index.get(word, self.unk_id)

    def encode(self, caption: str) -> list[int]:
        """``<start> w1 .. wn <end>`` as indices, the words cut to ``max_length``."""
        words = tokenize(caption)[: self.max_length]
        return [self.start_id] + [self.index(w) for w in words] + [self.end_id]

    def decode(self, ids: Iterable[int], keep_unk: bool = False) -> str:
        """Indices back to a caption: stops at ``<end>``, drops ``<start>``/``<pad>`` (and ``<unk>`` unless asked)."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.end_id:
                break
            if i in (self.pad_id, self.start_id) or (i == self.unk_id and not keep_unk):
                continue
            out.append(self.words[i])
        return " ".join(out)

    def fingerprint(self) -> str:
        """A short hash of the word list: two vocabularies agree exactly when their fingerprints do."""
        return hashlib.sha256("\n".join(self.words).encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {"words": self.words, "max_length": self.max_length, "fingerprint": self.fingerprint()}

    @classmethod
    def from_dict(cls, data: dict) -> Vocabulary:
        vocab = cls(list(data["words"]), max_length=int(data["max_length"]))
        if "fingerprint" in data and data["fingerprint"] != vocab.fingerprint():
            raise ValueError("vocabulary is corrupt: its words do not match its stored fingerprint")
        return vocab

    def save(self, path) -> None:
        with open(path, "w") as f:
            json.dump(self.to_dict(), f)

    @classmethod
    def load(cls, path) -> Vocabulary:
        with open(path) as f:
            return cls.from_dict(json.load(f))

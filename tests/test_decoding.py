"""Greedy decoding and beam search checked against an exhaustive search written here, step by step."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from sat_course.decoding import Caption, beam_search, decode, greedy_decode
from sat_course.model import AttentionDecoder, DecoderConfig
from sat_course.text import Vocabulary

V, END, START = 7, Vocabulary.end_id, Vocabulary.start_id
B, L, D = 3, 4, 5


def _decoder(seed: int = 3, attention: str = "soft", end_bias: float | None = None, sharpen: float = 1.0) -> AttentionDecoder:
    torch.manual_seed(seed)
    decoder = AttentionDecoder(DecoderConfig(vocab_size=V, feature_dim=D, embed_dim=8, hidden_dim=8, attention_dim=6, dropout=0.0, attention=attention))
    with torch.no_grad():
        decoder.out_vocab.weight.mul_(sharpen)  # sharper word distributions: greedy and the best sequence part ways
        if end_bias is not None:
            decoder.out_vocab.bias[END] = end_bias
    return decoder.eval()


def _annotations(seed: int = 1) -> torch.Tensor:
    return torch.randn(B, L, D, generator=torch.Generator().manual_seed(seed))


def _sequence_log_prob(decoder: AttentionDecoder, a: torch.Tensor, tokens: list[int]) -> tuple[float, list[torch.Tensor]]:
    """log p(tokens | a) of one image (a: (1, L, D)) and the attention map of every step, by hand."""
    with torch.no_grad():
        h, c = decoder.init_state(a)
        projected = decoder.project_annotations(a)
        word = torch.tensor([START])
        total, alphas = 0.0, []
        for token in tokens:
            out = decoder.step(a, projected, word, h, c)
            log_p = F.log_softmax(decoder.word_logits(word, out.h, out.context), dim=-1)[0]
            total += float(log_p[token])
            alphas.append(out.alpha[0])
            h, c, word = out.h, out.c, torch.tensor([token])
    return total, alphas


def _all_sequences(decoder: AttentionDecoder, a: torch.Tensor, max_steps: int) -> dict[tuple[int, ...], float]:
    """Every token sequence up to ``max_steps`` (ending at <end> or at max_steps) with its log-probability.

    Every vocabulary id (specials included) may be emitted at every step, as in beam search. Depth-first,
    carrying the LSTM state of the prefix.
    """
    scores: dict[tuple[int, ...], float] = {}
    projected = decoder.project_annotations(a)

    def expand(prefix: tuple[int, ...], score: float, word: int, h: torch.Tensor, c: torch.Tensor) -> None:
        out = decoder.step(a, projected, torch.tensor([word]), h, c)
        log_p = F.log_softmax(decoder.word_logits(torch.tensor([word]), out.h, out.context), dim=-1)[0].double()
        for token in range(V):
            seq, total = prefix + (token,), score + float(log_p[token])
            if token == END or len(seq) == max_steps:
                scores[seq] = total
            else:
                expand(seq, total, token, out.h, out.c)

    with torch.no_grad():
        h, c = decoder.init_state(a)
        expand((), 0.0, START, h, c)
    return scores


def test_enumeration_covers_the_whole_space():
    decoder, a = _decoder(), _annotations()
    scores = _all_sequences(decoder, a[:1], max_steps=3)
    non_end = V - 1
    assert len(scores) == 1 + non_end + non_end**2 * V  # [end]; [w, end]; [w, w', anything]
    # the probabilities of all complete sequences sum to one
    assert math.isclose(sum(math.exp(s) for s in scores.values()), 1.0, rel_tol=1e-5)
    expected = {(END,)} | {(w, END) for w in range(V) if w != END} | {
        (w1, w2, w3) for w1, w2, w3 in itertools.product(range(V), repeat=3) if END not in (w1, w2)
    }
    assert set(scores) == expected


@pytest.mark.parametrize("end_bias, sharpen", [(None, 1.0), (-3.0, 1.0), (-2.0, 6.0), (0.0, 6.0)])
def test_wide_beam_finds_the_exhaustive_optimum(end_bias, sharpen):
    decoder, a = _decoder(end_bias=end_bias, sharpen=sharpen), _annotations()
    captions = beam_search(decoder, a, beam_size=V**3, max_steps=3)
    for b in range(B):
        scores = _all_sequences(decoder, a[b : b + 1], max_steps=3)
        best = max(scores, key=scores.get)
        assert tuple(captions[b].tokens) == best
        assert captions[b].log_prob == pytest.approx(scores[best], abs=1e-4)


def test_wide_beam_with_length_normalisation_finds_the_best_mean_log_prob():
    decoder, a = _decoder(end_bias=-1.0, sharpen=4.0), _annotations()
    captions = beam_search(decoder, a, beam_size=V**3, max_steps=3, length_normalise=True)
    for b in range(B):
        scores = _all_sequences(decoder, a[b : b + 1], max_steps=3)
        best = max(scores, key=lambda s: scores[s] / len(s))
        assert tuple(captions[b].tokens) == best
        assert captions[b].log_prob == pytest.approx(scores[best], abs=1e-4)  # the unnormalised score


def test_the_search_problem_is_not_trivial():
    """In the sharpened setting greedy misses the optimum for some image, so the beam test means something."""
    decoder, a = _decoder(end_bias=-2.0, sharpen=6.0), _annotations()
    greedy = greedy_decode(decoder, a, max_steps=3)
    optimum = []
    for b in range(B):
        scores = _all_sequences(decoder, a[b : b + 1], max_steps=3)
        optimum.append(max(scores, key=scores.get))
    assert any(tuple(g.tokens) != o for g, o in zip(greedy, optimum))
    assert any(len(o) > 1 for o in optimum)


@pytest.mark.parametrize("end_bias, sharpen", [(None, 1.0), (-2.0, 6.0)])
def test_beam_size_one_is_greedy_decoding(end_bias, sharpen):
    decoder, a = _decoder(end_bias=end_bias, sharpen=sharpen), _annotations()
    greedy = greedy_decode(decoder, a, max_steps=6)
    beam = beam_search(decoder, a, beam_size=1, max_steps=6)
    for g, k in zip(greedy, beam):
        assert k.tokens == g.tokens
        assert k.log_prob == g.log_prob
        torch.testing.assert_close(k.alphas, g.alphas)
        torch.testing.assert_close(k.betas, g.betas)
    via_decode = decode(decoder, a, beam_size=1, max_steps=6)
    assert [c.tokens for c in via_decode] == [c.tokens for c in greedy]


def test_greedy_picks_the_argmax_at_every_step():
    decoder, a = _decoder(end_bias=-2.0, sharpen=6.0), _annotations()
    for b, caption in enumerate(greedy_decode(decoder, a, max_steps=5)):
        tokens = []
        for _ in range(len(caption.tokens)):
            step_scores = {w: _sequence_log_prob(decoder, a[b : b + 1], tokens + [w])[0] for w in range(V)}
            tokens.append(max(step_scores, key=step_scores.get))
            if tokens[-1] == END:
                break
        assert caption.tokens == tokens


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_no_end_ever_still_returns_max_steps_tokens(search):
    decoder, a = _decoder(end_bias=-1e9), _annotations()
    if search == "greedy":
        captions = greedy_decode(decoder, a, max_steps=5)
    else:
        captions = beam_search(decoder, a, beam_size=3, max_steps=5)
    assert len(captions) == B
    for caption in captions:
        assert len(caption.tokens) == 5 and END not in caption.tokens
        assert math.isfinite(caption.log_prob)
        assert caption.alphas.shape == (5, L) and caption.betas.shape == (5,)


@pytest.mark.parametrize("beam_size", [1, 3, 5])
def test_log_prob_and_alphas_of_the_returned_caption_recomputed_by_hand(beam_size):
    decoder, a = _decoder(end_bias=-1.0, sharpen=3.0), _annotations()
    for b, caption in enumerate(decode(decoder, a, beam_size=beam_size, max_steps=6)):
        log_prob, alphas = _sequence_log_prob(decoder, a[b : b + 1], caption.tokens)
        assert caption.log_prob == pytest.approx(log_prob, abs=1e-4)
        assert caption.alphas.shape == (len(caption.tokens), L)
        assert caption.betas.shape == (len(caption.tokens),)
        torch.testing.assert_close(caption.alphas, torch.stack(alphas), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(caption.alphas.sum(dim=1), torch.ones(len(caption.tokens)))
        assert bool((caption.alphas >= 0).all()) and bool(((caption.betas > 0) & (caption.betas < 1)).all())


@pytest.mark.parametrize("beam_size", [1, 3])
def test_batched_decoding_equals_decoding_each_image_alone(beam_size):
    decoder, a = _decoder(end_bias=-1.5, sharpen=3.0), _annotations()
    together = decode(decoder, a, beam_size=beam_size, max_steps=6)
    for b in range(B):
        alone = decode(decoder, a[b : b + 1], beam_size=beam_size, max_steps=6)[0]
        assert alone.tokens == together[b].tokens
        assert alone.log_prob == pytest.approx(together[b].log_prob, abs=1e-5)
        torch.testing.assert_close(alone.alphas, together[b].alphas, atol=1e-6, rtol=1e-5)


def test_hard_attention_sampling_is_reproducible_with_a_seeded_generator():
    decoder, a = _decoder(attention="hard", end_bias=-1.0, sharpen=3.0), _annotations()

    def run(seed: int, beam_size: int) -> list[Caption]:
        return decode(decoder, a, beam_size=beam_size, max_steps=6, context_mode="sample", generator=torch.Generator().manual_seed(seed))

    for beam_size in (1, 3):
        first, second = run(7, beam_size), run(7, beam_size)
        assert [c.tokens for c in first] == [c.tokens for c in second]
        assert [c.log_prob for c in first] == [c.log_prob for c in second]
        for x, y in zip(first, second):
            assert torch.equal(x.alphas, y.alphas)
    # sampled locations change the contexts, hence the scores, from expected-context decoding
    expected = decode(decoder, a, beam_size=1, max_steps=6)
    sampled = [run(seed, 1) for seed in range(3)]
    assert any(s.log_prob != e.log_prob for run_ in sampled for s, e in zip(run_, expected))


def test_bad_arguments_are_refused():
    decoder, a = _decoder(), _annotations()
    with pytest.raises(ValueError, match="max_steps"):
        greedy_decode(decoder, a, max_steps=0)
    with pytest.raises(ValueError, match="max_steps"):
        beam_search(decoder, a, max_steps=0)
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(decoder, a, beam_size=0)
    with pytest.raises(ValueError, match=r"\(B, L, D\)"):
        greedy_decode(decoder, a[0])
    with pytest.raises(ValueError, match="context_mode"):
        greedy_decode(decoder, a, context_mode="mean")


def test_caption_words_drop_end_and_keep_unk():
    vocab = Vocabulary(["<pad>", "<start>", "<end>", "<unk>", "a", "dog", "runs"])
    caption = Caption([4, 3, 5, END], -1.0, torch.zeros(4, L), torch.zeros(4))
    assert caption.words(vocab) == ["a", "<unk>", "dog"]


def test_decode_passes_length_normalisation_to_the_beam():
    decoder, a = _decoder(end_bias=-1.0, sharpen=4.0), _annotations()
    for normalise in (False, True):
        expected = beam_search(decoder, a, beam_size=4, max_steps=3, length_normalise=normalise)
        got = decode(decoder, a, beam_size=4, max_steps=3, length_normalise=normalise)
        assert [c.tokens for c in got] == [c.tokens for c in expected]

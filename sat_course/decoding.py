"""Caption generation, batched over images: greedy decoding and beam search.

Both return, for every image, the word ids (without ``<start>``, ending with ``<end>`` when one was emitted),
the log-probability of the sequence, and per generated token the attention map alpha_t (L,) and gate beta_t.
Hard-attention models decode with the expected context by default (section 4.2: the NWGM argument);
``context_mode="sample"`` samples locations instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .model import AttentionDecoder, ContextMode
from .text import Vocabulary


@dataclass
class Caption:
    """One decoded caption with its attention: ``alphas`` (len(tokens), L), ``betas`` (len(tokens),)."""

    tokens: list[int]
    log_prob: float
    alphas: Tensor
    betas: Tensor

    def words(self, vocab: Vocabulary) -> list[str]:
        """The generated words, ``<end>`` excluded (``<unk>`` kept so they line up with ``alphas``)."""
        return [vocab.words[i] for i in self.tokens if i != vocab.end_id]


def _check(a: Tensor, max_steps: int) -> None:
    if a.dim() != 3:
        raise ValueError(f"annotations must have shape (B, L, D), got {tuple(a.shape)}")
    if max_steps < 1:
        raise ValueError("max_steps must be at least 1")


@torch.no_grad()
def greedy_decode(
    decoder: AttentionDecoder,
    a: Tensor,
    max_steps: int = 20,
    context_mode: ContextMode = "expected",
    generator: torch.Generator | None = None,
) -> list[Caption]:
    """Pick the most probable word at every step, for all images of the batch at once."""
    _check(a, max_steps)
    B = a.shape[0]
    end = Vocabulary.end_id
    h, c = decoder.init_state(a)
    projected = decoder.project_annotations(a)
    word = torch.full((B,), Vocabulary.start_id, dtype=torch.long, device=a.device)
    done = torch.zeros(B, dtype=torch.bool, device=a.device)
    log_prob = torch.zeros(B, device=a.device)
    words, alphas, betas = [], [], []
    for _ in range(max_steps):
        out = decoder.step(a, projected, word, h, c, context_mode, generator=generator)
        h, c = out.h, out.c
        log_p = F.log_softmax(decoder.word_logits(word, h, out.context), dim=-1)
        best_log_p, word = log_p.max(dim=-1)
        log_prob += torch.where(done, torch.zeros_like(best_log_p), best_log_p)
        words.append(word)
        alphas.append(out.alpha)
        betas.append(out.beta)
        done |= word == end
        if bool(done.all()):
            break
    words_t, alphas_t, betas_t = torch.stack(words, 1).cpu(), torch.stack(alphas, 1).cpu(), torch.stack(betas, 1).cpu()
    captions = []
    for b in range(B):
        seq = words_t[b].tolist()
        n = seq.index(end) + 1 if end in seq else len(seq)
        captions.append(Caption(seq[:n], float(log_prob[b]), alphas_t[b, :n], betas_t[b, :n]))
    return captions


@torch.no_grad()
def beam_search(
    decoder: AttentionDecoder,
    a: Tensor,
    beam_size: int = 3,
    max_steps: int = 20,
    context_mode: ContextMode = "expected",
    length_normalise: bool = False,
    generator: torch.Generator | None = None,
) -> list[Caption]:
    """Beam search over all images of the batch together (B * beam_size rows per step).

    A hypothesis that emits ``<end>`` is set aside; an image is finished once it has ``beam_size`` of them.
    At ``max_steps`` the live hypotheses are set aside unfinished, so a caption is always returned even when
    no beam ever emits ``<end>``. The best hypothesis has the highest log-probability (divided by its length
    when ``length_normalise``). With ``beam_size=1`` this is exactly greedy decoding.
    """
    _check(a, max_steps)
    if beam_size < 1:
        raise ValueError("beam_size must be at least 1")
    B, L, _ = a.shape
    K, end = beam_size, Vocabulary.end_id
    device = a.device
    a_rows = a.repeat_interleave(K, dim=0)  # (B*K, L, D)
    h, c = decoder.init_state(a_rows)
    projected = decoder.project_annotations(a_rows)
    word = torch.full((B * K,), Vocabulary.start_id, dtype=torch.long, device=device)
    # Only the first beam of each image is live at the start: the others would duplicate it.
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0
    history = torch.zeros(B, K, 0, dtype=torch.long, device=device)
    alpha_history = torch.zeros(B, K, 0, L, device=device)
    beta_history = torch.zeros(B, K, 0, device=device)
    finished: list[list[tuple[float, list[int], Tensor, Tensor]]] = [[] for _ in range(B)]
    batch_index = torch.arange(B, device=device).unsqueeze(1)

    for step in range(max_steps):
        out = decoder.step(a_rows, projected, word, h, c, context_mode, generator=generator)
        log_p = F.log_softmax(decoder.word_logits(word, out.h, out.context), dim=-1)  # (B*K, V)
        V = log_p.shape[-1]
        candidates = (scores.unsqueeze(-1) + log_p.view(B, K, V)).view(B, K * V)
        top_scores, top_index = candidates.topk(min(2 * K, K * V), dim=1)
        parent, token = top_index // V, top_index % V

        alpha_now = out.alpha.view(B, K, L)
        beta_now = out.beta.view(B, K)
        new_scores = torch.full((B, K), float("-inf"), device=device)
        new_parent = torch.zeros(B, K, dtype=torch.long, device=device)
        new_token = torch.full((B, K), end, dtype=torch.long, device=device)
        top_scores_l, parent_l, token_l = top_scores.tolist(), parent.tolist(), token.tolist()
        for b in range(B):
            if len(finished[b]) >= K:
                continue
            live = 0
            for score, p, tok in zip(top_scores_l[b], parent_l[b], token_l[b]):
                if score == float("-inf"):
                    break
                if tok == end:
                    seq = history[b, p].tolist() + [end]
                    alphas = torch.cat([alpha_history[b, p], alpha_now[b, p].unsqueeze(0)]).cpu()
                    betas = torch.cat([beta_history[b, p], beta_now[b, p].unsqueeze(0)]).cpu()
                    finished[b].append((score, seq, alphas, betas))
                    if len(finished[b]) >= K:
                        break
                elif live < K:
                    new_scores[b, live], new_parent[b, live], new_token[b, live] = score, p, tok
                    live += 1
                if live == K:
                    break
        if all(len(f) >= K for f in finished):
            break
        rows = (batch_index * K + new_parent).view(-1)
        h, c = out.h[rows], out.c[rows]
        history = torch.cat([history[batch_index, new_parent], new_token.unsqueeze(-1)], dim=2)
        alpha_history = torch.cat([alpha_history[batch_index, new_parent], alpha_now[batch_index, new_parent].unsqueeze(2)], dim=2)
        beta_history = torch.cat([beta_history[batch_index, new_parent], beta_now[batch_index, new_parent].unsqueeze(2)], dim=2)
        scores, word = new_scores, new_token.view(-1)

    captions = []
    for b in range(B):
        pool = list(finished[b])
        if len(pool) < K:  # ran out of steps: the live hypotheses compete unfinished
            for k in range(K):
                if scores[b, k] > float("-inf"):
                    pool.append((float(scores[b, k]), history[b, k].tolist(), alpha_history[b, k].cpu(), beta_history[b, k].cpu()))
        key = (lambda item: item[0] / len(item[1])) if length_normalise else (lambda item: item[0])
        score, seq, alphas, betas = max(pool, key=key)
        captions.append(Caption(seq, float(score), alphas, betas))
    return captions


def decode(
    decoder: AttentionDecoder,
    a: Tensor,
    beam_size: int = 3,
    max_steps: int = 20,
    context_mode: ContextMode = "expected",
    generator: torch.Generator | None = None,
    length_normalise: bool = False,
) -> list[Caption]:
    """Greedy decoding for ``beam_size=1``, beam search otherwise (ranked per word when ``length_normalise``)."""
    if beam_size == 1:
        return greedy_decode(decoder, a, max_steps, context_mode, generator)
    return beam_search(decoder, a, beam_size, max_steps, context_mode, length_normalise, generator)

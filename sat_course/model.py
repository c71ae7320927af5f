"""The attention LSTM decoder of Show, Attend and Tell (Xu et al., 2015, section 3.1).

One module serves both attention mechanisms of the paper; ``attention`` picks how the context is formed:

- ``"soft"``: the expected context ``sum_i alpha_ti a_i`` (section 4.2, eq. 13);
- ``"hard"``: one location ``s_t ~ Multinoulli(alpha_t)`` and ``z_t = a_{s_t}`` (section 4.1, eq. 8).
  A hard model can still be run with the expected context (the NWGM argument of section 4.2), which is
  how the paper trains half of its minibatches and how it decodes by default.

Equations (numbers as in the arXiv version, 1502.03044):

- ``h_0, c_0 = f_init,h(mean_i a_i), f_init,c(mean_i a_i)``                    (section 3.1.2)
- ``e_ti = w^T tanh(W_a a_i + W_h h_{t-1})``, ``alpha_t = softmax(e_t)``       (eq. 4, 5; f_att as an MLP)
- ``beta_t = sigmoid(f_beta(h_{t-1}))``, a scalar per step, ``z_t = beta_t * phi(a, alpha_t)`` (section 4.2.1)
- LSTM with input ``[E y_{t-1}; z_t]``                                         (eq. 1-3)
- ``p(y_t) ∝ exp(L_o tanh(E y_{t-1} + L_h h_t + L_z z_t))``                      (eq. 7, deep output)

Differences from the paper, on purpose: the ``tanh`` inside the deep output and dropout on ``h_t`` and on
that sum follow the authors' code (arctic-captions) where the paper's eq. 7 is silent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

AttentionKind = Literal["soft", "hard"]
ContextMode = Literal["expected", "sample"]


@dataclass(frozen=True)
class DecoderConfig:
    """Sizes and switches of the decoder; saved in every checkpoint."""

    vocab_size: int
    feature_dim: int  # D: size of one annotation vector
    embed_dim: int = 512  # m
    hidden_dim: int = 512  # n
    attention_dim: int = 512
    dropout: float = 0.5
    attention: AttentionKind = "soft"
    use_beta: bool = True  # the gating scalar of section 4.2.1 (an ablation switches it off)

    def __post_init__(self) -> None:
        if self.attention not in ("soft", "hard"):
            raise ValueError(f"attention must be 'soft' or 'hard', got {self.attention!r}")
        if min(self.vocab_size, self.feature_dim, self.embed_dim, self.hidden_dim, self.attention_dim) < 1:
            raise ValueError("all decoder sizes must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must lie in [0, 1)")

    def to_dict(self) -> dict:
        return asdict(self)


class StepOutput(NamedTuple):
    """What one decoding step produces."""

    h: Tensor  # (B, n)
    c: Tensor  # (B, n)
    context: Tensor  # z_t, (B, D)
    alpha: Tensor  # (B, L)
    beta: Tensor  # (B,)
    location: Tensor | None  # s_t when sampled, (B,)


class TeacherForcedOutput(NamedTuple):
    """Outputs of a teacher-forced pass over captions of T tokens (predicting tokens 1..T-1)."""

    logits: Tensor  # (B, T-1, V)
    alphas: Tensor  # (B, T-1, L)
    betas: Tensor  # (B, T-1)
    log_p_locations: Tensor | None  # log alpha_{t, s_t} of the sampled locations, (B, T-1)
    entropies: Tensor  # H[alpha_t], (B, T-1)


class AttentionDecoder(nn.Module):
    """LSTM decoder that attends over annotation vectors ``a`` of shape (B, L, D)."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        self.config = config
        D, m, n, A, V = config.feature_dim, config.embed_dim, config.hidden_dim, config.attention_dim, config.vocab_size
        self.embedding = nn.Embedding(V, m)  # E
        self.init_h = nn.Linear(D, n)  # f_init,h
        self.init_c = nn.Linear(D, n)  # f_init,c
        self.att_annotation = nn.Linear(D, A)  # W_a (with the MLP's bias)
        self.att_hidden = nn.Linear(n, A, bias=False)  # W_h
        self.att_score = nn.Linear(A, 1)  # w
        self.gate = nn.Linear(n, 1)  # f_beta
        self.lstm = nn.LSTMCell(m + D, n)
        self.out_hidden = nn.Linear(n, m)  # L_h
        self.out_context = nn.Linear(D, m, bias=False)  # L_z
        self.out_vocab = nn.Linear(m, V)  # L_o
        self.dropout = nn.Dropout(config.dropout)

    # The pieces of one step, shared by teacher forcing and by decoding.

    def init_state(self, a: Tensor) -> tuple[Tensor, Tensor]:
        """``h_0, c_0`` from the mean annotation (section 3.1.2), with tanh as the authors' MLPs."""
        mean = a.mean(dim=1)
        return torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))

    def project_annotations(self, a: Tensor) -> Tensor:
        """``W_a a_i`` for every location: it does not depend on t, so it is computed once per image."""
        return self.att_annotation(a)

    def attend(self, projected: Tensor, h: Tensor) -> Tensor:
        """``alpha_t = softmax_i(w^T tanh(W_a a_i + W_h h_{t-1}))`` (eq. 4-5); returns (B, L)."""
        scores = self.att_score(torch.tanh(projected + self.att_hidden(h).unsqueeze(1))).squeeze(-1)
        return F.softmax(scores, dim=-1)

    def gate_value(self, h: Tensor) -> Tensor:
        """``beta_t = sigmoid(f_beta(h_{t-1}))``, one scalar per image (section 4.2.1); 1 when disabled."""
        if not self.config.use_beta:
            return h.new_ones(h.shape[0])
        return torch.sigmoid(self.gate(h)).squeeze(-1)

    def step(
        self,
        a: Tensor,
        projected: Tensor,
        word: Tensor,
        h: Tensor,
        c: Tensor,
        context_mode: ContextMode = "expected",
        location: Tensor | None = None,
        generator: torch.Generator | None = None,
        expected_rows: Tensor | None = None,
    ) -> StepOutput:
        """One LSTM step fed with the embedding of ``word`` (= y_{t-1}) and the gated context ``z_t``.

        ``context_mode="expected"`` gives soft attention's ``sum_i alpha_ti a_i``; ``"sample"`` draws
        ``s_t ~ Multinoulli(alpha_t)`` (or uses ``location`` when given) and takes ``a_{s_t}``, except in the
        rows where the boolean ``expected_rows`` (B,) is true, which take the expected context.
        """
        alpha = self.attend(projected, h)
        beta = self.gate_value(h)
        if context_mode == "expected":
            context, sampled = torch.bmm(alpha.unsqueeze(1), a).squeeze(1), None
        elif context_mode == "sample":
            sampled = location if location is not None else torch.multinomial(alpha, 1, generator=generator).squeeze(1)
            context = a[torch.arange(a.shape[0], device=a.device), sampled]
            if expected_rows is not None:
                expected = torch.bmm(alpha.unsqueeze(1), a).squeeze(1)
                context = torch.where(expected_rows.unsqueeze(1), expected, context)
        else:
            raise ValueError(f"context_mode must be 'expected' or 'sample', got {context_mode!r}")
        z = beta.unsqueeze(1) * context
        h, c = self.lstm(torch.cat([self.embedding(word), z], dim=1), (h, c))
        return StepOutput(h, c, z, alpha, beta, sampled)

    def word_logits(self, previous_words: Tensor, h: Tensor, z: Tensor) -> Tensor:
        """Deep output layer, eq. 7: ``L_o tanh(E y_{t-1} + L_h h_t + L_z z_t)``; works on any leading shape."""
        hidden = self.out_hidden(self.dropout(h))
        return self.out_vocab(self.dropout(torch.tanh(self.embedding(previous_words) + hidden + self.out_context(z))))

    def forward(
        self,
        a: Tensor,
        tokens: Tensor,
        context_mode: ContextMode | None = None,
        locations: Tensor | None = None,
        generator: torch.Generator | None = None,
        expected_rows: Tensor | None = None,
    ) -> TeacherForcedOutput:
        """Teacher forcing over ``tokens`` (B, T) = ``<start> w_1 .. <end> <pad>..``: predicts tokens[:, 1:].

        ``context_mode`` defaults to "expected" for soft models and "sample" for hard ones;
        ``locations`` (B, T-1) fixes the hard-attention locations (used to enumerate them exactly);
        ``expected_rows`` (B,) bool, with "sample": these captions take the expected context at every step.
        """
        if a.dim() != 3 or tokens.dim() != 2 or a.shape[0] != tokens.shape[0]:
            raise ValueError(f"expected annotations (B, L, D) and tokens (B, T), got {tuple(a.shape)} and {tuple(tokens.shape)}")
        if context_mode is None:
            context_mode = "expected" if self.config.attention == "soft" else "sample"
        if expected_rows is not None and (context_mode != "sample" or expected_rows.shape != tokens.shape[:1]):
            raise ValueError(f"expected_rows needs context_mode 'sample' and one flag per caption, got {context_mode!r} and {tuple(expected_rows.shape)}")
        h, c = self.init_state(a)
        projected = self.project_annotations(a)
        hs, zs, alphas, betas, picks = [], [], [], [], []
        for t in range(tokens.shape[1] - 1):
            fixed = None if locations is None else locations[:, t]
            out = self.step(a, projected, tokens[:, t], h, c, context_mode, fixed, generator, expected_rows)
            h, c = out.h, out.c
            hs.append(h)
            zs.append(out.context)
            alphas.append(out.alpha)
            betas.append(out.beta)
            picks.append(out.location)
        alpha = torch.stack(alphas, dim=1)
        logits = self.word_logits(tokens[:, :-1], torch.stack(hs, dim=1), torch.stack(zs, dim=1))
        log_alpha = torch.log(alpha.clamp_min(1e-12))
        entropies = -(alpha * log_alpha).sum(-1)
        log_p = None
        if context_mode == "sample":
            log_p = log_alpha.gather(2, torch.stack(picks, dim=1).unsqueeze(-1)).squeeze(-1)
        return TeacherForcedOutput(logits, alpha, torch.stack(betas, dim=1), log_p, entropies)


class CaptionModel(nn.Module):
    """An encoder that makes annotation vectors (or none, for cached features) followed by the decoder."""

    def __init__(self, decoder: AttentionDecoder, encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def annotations(self, inputs: Tensor) -> Tensor:
        """Images -> (B, L, D) through the encoder, or cached features (B, L, D) as they are (as float32)."""
        return self.encoder(inputs) if self.encoder is not None else inputs.float()

    def forward(self, inputs: Tensor, tokens: Tensor, **kwargs) -> TeacherForcedOutput:
        return self.decoder(self.annotations(inputs), tokens, **kwargs)

"""The decoder: shapes, the paper's structure, and gradient checks in float64."""

import pytest
import torch
from torch.autograd import gradcheck

from sat_course.losses import caption_log_likelihood, doubly_stochastic_penalty
from sat_course.model import AttentionDecoder, DecoderConfig


def small(attention="soft", **kw):
    torch.manual_seed(0)
    config = DecoderConfig(vocab_size=9, feature_dim=6, embed_dim=5, hidden_dim=7, attention_dim=4, dropout=0.0, attention=attention, **kw)
    return AttentionDecoder(config).double().eval()


def test_shapes_and_attention_is_a_distribution():
    decoder = small()
    a = torch.randn(3, 10, 6, dtype=torch.float64)
    tokens = torch.tensor([[1, 4, 5, 2, 0], [1, 6, 2, 0, 0], [1, 4, 4, 7, 2]])
    out = decoder(a, tokens)
    assert out.logits.shape == (3, 4, 9) and out.alphas.shape == (3, 4, 10) and out.betas.shape == (3, 4)
    assert torch.allclose(out.alphas.sum(-1), torch.ones(3, 4, dtype=torch.float64))
    assert ((out.betas > 0) & (out.betas < 1)).all()


def test_beta_is_a_scalar_per_step_and_can_be_switched_off():
    assert small().gate.out_features == 1
    decoder = small(use_beta=False)
    out = decoder(torch.randn(2, 4, 6, dtype=torch.float64), torch.tensor([[1, 4, 2], [1, 5, 2]]))
    assert torch.equal(out.betas, torch.ones_like(out.betas))


def test_annotation_projection_is_computed_once_per_image(monkeypatch):
    decoder = small()
    calls = []
    original = decoder.att_annotation.forward
    monkeypatch.setattr(decoder.att_annotation, "forward", lambda x: calls.append(x.shape) or original(x))
    decoder(torch.randn(2, 4, 6, dtype=torch.float64), torch.tensor([[1, 4, 5, 6, 2], [1, 5, 5, 5, 2]]))
    assert len(calls) == 1


def test_soft_context_is_the_expected_annotation():
    decoder = small()
    a = torch.randn(2, 4, 6, dtype=torch.float64)
    h, c = decoder.init_state(a)
    step = decoder.step(a, decoder.project_annotations(a), torch.tensor([1, 1]), h, c)
    expected = step.beta.unsqueeze(1) * (step.alpha.unsqueeze(-1) * a).sum(1)
    assert torch.allclose(step.context, expected)


def test_hard_context_is_one_annotation_vector():
    decoder = small("hard")
    a = torch.randn(2, 4, 6, dtype=torch.float64)
    h, c = decoder.init_state(a)
    step = decoder.step(a, decoder.project_annotations(a), torch.tensor([1, 1]), h, c, "sample", generator=torch.Generator().manual_seed(0))
    for b in range(2):
        assert torch.allclose(step.context[b], step.beta[b] * a[b, step.location[b]])


def test_gradient_check_of_the_soft_objective():
    """Analytic gradients of -log p(y|a) + lambda * penalty against finite differences (float64)."""
    decoder = small()
    tokens = torch.tensor([[1, 4, 5, 2], [1, 6, 2, 0]])
    mask = (tokens[:, 1:] != 0).double()

    def objective(a, w_att, w_out):
        decoder.att_score.weight.data, decoder.out_vocab.weight.data = w_att, w_out
        out = torch.func.functional_call(decoder, {"att_score.weight": w_att, "out_vocab.weight": w_out}, (a, tokens))
        return (-caption_log_likelihood(out.logits, tokens[:, 1:], mask) + doubly_stochastic_penalty(out.alphas, mask)).sum()

    a = torch.randn(2, 3, 6, dtype=torch.float64, requires_grad=True)
    w_att = decoder.att_score.weight.detach().clone().requires_grad_()
    w_out = decoder.out_vocab.weight.detach().clone().requires_grad_()
    assert gradcheck(objective, (a, w_att, w_out), eps=1e-6, atol=1e-5)


def test_doubly_stochastic_penalty_known_values():
    # Two steps over two locations: columns sum to (1, 1) -> 0; all on the first -> (1-2)^2 + (1-0)^2 = 2.
    even = torch.tensor([[[0.5, 0.5], [0.5, 0.5]]])
    peaked = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])
    mask = torch.ones(1, 2)
    assert doubly_stochastic_penalty(even, mask).item() == 0.0
    assert doubly_stochastic_penalty(peaked, mask).item() == 2.0
    # Padding steps do not count: one real step on the first location leaves (1-1)^2 + (1-0)^2 = 1.
    assert doubly_stochastic_penalty(peaked, torch.tensor([[1.0, 0.0]])).item() == 1.0


def test_masked_likelihood_ignores_padding():
    logits = torch.randn(1, 3, 5)
    targets = torch.tensor([[3, 2, 0]])
    full = torch.log_softmax(logits, -1)
    expected = full[0, 0, 3] + full[0, 1, 2]
    assert torch.allclose(caption_log_likelihood(logits, targets, torch.tensor([[1.0, 1.0, 0.0]])), expected)


def test_expected_rows_take_the_expected_context_and_the_others_their_sampled_location():
    """Per-caption draws: in one "sample" pass each row equals the unmixed pass of its own kind."""
    decoder = small("hard")
    a = torch.randn(3, 4, 6, dtype=torch.float64)
    tokens = torch.tensor([[1, 4, 5, 2], [1, 6, 2, 0], [1, 4, 7, 2]])
    locations = torch.tensor([[0, 3, 1], [2, 2, 0], [1, 0, 3]])
    rows = torch.tensor([True, False, True])
    mixed = decoder(a, tokens, "sample", locations, expected_rows=rows)
    expected, sampled = decoder(a, tokens, "expected"), decoder(a, tokens, "sample", locations)
    assert torch.allclose(mixed.logits[rows], expected.logits[rows]) and torch.allclose(mixed.alphas[rows], expected.alphas[rows])
    assert torch.allclose(mixed.logits[~rows], sampled.logits[~rows]) and torch.allclose(mixed.alphas[~rows], sampled.alphas[~rows])
    assert not torch.allclose(expected.logits[~rows], sampled.logits[~rows])  # the two kinds really differ here


def test_expected_rows_need_sampling_and_one_flag_per_caption():
    decoder = small("hard")
    a, tokens = torch.randn(2, 4, 6, dtype=torch.float64), torch.tensor([[1, 4, 2], [1, 5, 2]])
    for mode, rows in (("expected", torch.tensor([True, False])), ("sample", torch.tensor([True, False, True]))):
        with pytest.raises(ValueError, match="one flag per caption"):
            decoder(a, tokens, mode, expected_rows=rows)

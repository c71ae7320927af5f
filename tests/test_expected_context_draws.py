"""Hard attention's expected-context draws per caption (``TrainConfig.expected_context_per_caption``): each caption
of a minibatch gets the objective of its own kind, and the unused sample of an expected-context caption adds nothing."""

from __future__ import annotations

import math

import pytest
import torch

from sat_course.benchmark import Sizes, random_captions
from sat_course.model import AttentionDecoder, CaptionModel
from sat_course.text import Vocabulary
from sat_course.training import TrainConfig, batch_loss

SMALL = Sizes(batch_size=4, locations=5, feature_dim=8, hidden_dim=12, embed_dim=8, attention_dim=8, vocab_size=30, caption_words=4)
FLAGS = torch.tensor([True, False, False, True])
BASELINE = -20.0


def _model() -> CaptionModel:
    torch.manual_seed(0)
    return CaptionModel(AttentionDecoder(SMALL.decoder_config("hard", dropout=0.0)))


def _captions() -> torch.Tensor:
    return random_captions(SMALL, torch.Generator().manual_seed(1))


def _loss_and_grads(model: CaptionModel, features: torch.Tensor, tokens: torch.Tensor, flags: bool | torch.Tensor) -> tuple[float, list[torch.Tensor]]:
    model.zero_grad()
    torch.manual_seed(2)  # the same sampled locations in every call on the same minibatch
    loss, _ = batch_loss(model, features, tokens, TrainConfig(), "hard", BASELINE, flags)
    loss.backward()
    return loss.item(), [p.grad.clone() for p in model.parameters()]


def test_each_caption_gets_the_objective_of_its_own_kind():
    """Known value: where every location holds the same annotation vector, attention is uniform, so a sampled
    caption's log p(s) is -T log L whatever was drawn and the mixed minibatch's loss can be assembled from
    one-caption minibatches with one flag each, and differs from the all-expected loss by the sampled captions'
    REINFORCE term alone."""
    model = _model()
    features = torch.randn(SMALL.batch_size, 1, SMALL.feature_dim).expand(-1, SMALL.locations, -1)
    tokens = _captions()
    mixed, _ = _loss_and_grads(model, features, tokens, FLAGS)
    one_by_one = [_loss_and_grads(model, features[i : i + 1], tokens[i : i + 1], bool(FLAGS[i]))[0] for i in range(SMALL.batch_size)]
    assert mixed == pytest.approx(sum(one_by_one) / SMALL.batch_size, rel=1e-5)
    all_expected, all_sampled = (_loss_and_grads(model, features, tokens, flag)[0] for flag in (True, False))
    # a sampled caption's surrogate adds -(log p(y) - b) log p(s) = (log p(y) - b) T log L to its loss
    _, log_lik = batch_loss(model, features, tokens, TrainConfig(), "hard", BASELINE, True)
    lengths = (tokens[:, 1:] != Vocabulary.pad_id).sum(1)
    added = (log_lik - BASELINE) * lengths * math.log(SMALL.locations)
    assert all_sampled - all_expected == pytest.approx(added.mean().item(), rel=1e-4)
    assert mixed - all_expected == pytest.approx(added[~FLAGS].sum().item() / SMALL.batch_size, rel=1e-4)
    assert (added[~FLAGS] > 1).all()  # the sampled captions' term is not negligible


def test_all_flags_alike_match_the_flag_for_the_whole_minibatch():
    """All captions expected: value and gradient of the expected-context minibatch (the sample drawn for each is
    never used and passes no REINFORCE gradient); none expected: those of the sampled minibatch."""
    model = _model()
    features = torch.randn(SMALL.batch_size, SMALL.locations, SMALL.feature_dim, generator=torch.Generator().manual_seed(3))
    tokens = _captions()
    for flag in (True, False):
        per_caption = _loss_and_grads(model, features, tokens, torch.full((SMALL.batch_size,), flag))
        whole = _loss_and_grads(model, features, tokens, flag)
        assert per_caption[0] == pytest.approx(whole[0], rel=1e-6)
        assert all(torch.allclose(g, h, rtol=1e-5, atol=1e-7) for g, h in zip(per_caption[1], whole[1]))
    assert _loss_and_grads(model, features, tokens, True)[0] != pytest.approx(_loss_and_grads(model, features, tokens, False)[0])


def test_n_location_samples_average_over_the_samples():
    """Known values (``TrainConfig.location_samples``, eq. 11's N): where every location holds the same annotation
    vector, every sequence of locations gives the same log p(y|s,a) and log p(s) = -T log L, so N samples of each
    caption give the one-sample loss and log-likelihoods (the 1/N of eq. 11, not a sum), and each sample's
    leave-one-out advantage is 0, which leaves the expected-context loss, with per-caption flags too."""
    model = _model()
    features = torch.randn(SMALL.batch_size, 1, SMALL.feature_dim).expand(-1, SMALL.locations, -1)
    tokens = _captions()
    per_caption_baseline = torch.linspace(-25.0, -15.0, SMALL.batch_size)
    for baseline, flags in ((BASELINE, False), (per_caption_baseline, False), (per_caption_baseline, FLAGS)):
        one, log_lik_one = batch_loss(model, features, tokens, TrainConfig(), "hard", baseline, flags)
        three, log_lik_three = batch_loss(model, features, tokens, TrainConfig(location_samples=3), "hard", baseline, flags)
        assert three.item() == pytest.approx(one.item(), rel=1e-5)
        assert log_lik_three.shape == (SMALL.batch_size,)
        torch.testing.assert_close(log_lik_three, log_lik_one)
    expected, _ = batch_loss(model, features, tokens, TrainConfig(), "hard", BASELINE, True)
    assert one.item() != pytest.approx(expected.item(), rel=1e-3)  # the REINFORCE term is there without leave-one-out
    leave_one_out = TrainConfig(location_samples=3, leave_one_out_baseline=True)
    for flags in (False, FLAGS):
        loss, _ = batch_loss(model, features, tokens, leave_one_out, "hard", BASELINE, flags)
        assert loss.item() == pytest.approx(expected.item(), rel=1e-5)

"""Hard attention's REINFORCE estimator against the exact gradient, found by enumerating every location sequence."""

import copy
import itertools

import pytest
import torch

from sat_course.losses import MovingAverageBaseline, caption_log_likelihood, leave_one_out_baseline, reinforce_surrogate
from sat_course.model import AttentionDecoder, CaptionModel, DecoderConfig
from sat_course.training import TrainConfig, batch_loss

L, STEPS = 3, 3


@pytest.fixture(scope="module")
def problem():
    torch.manual_seed(0)
    config = DecoderConfig(vocab_size=6, feature_dim=4, embed_dim=5, hidden_dim=5, attention_dim=4, dropout=0.0, attention="hard")
    decoder = AttentionDecoder(config).double()
    a = torch.randn(1, L, 4, dtype=torch.float64) * 2
    tokens = torch.tensor([[1, 4, 5, 2]])  # <start> w w <end>: three steps, 3**3 location sequences
    return decoder, a, tokens


def _params(decoder):
    return [decoder.att_score.weight, decoder.att_hidden.weight, decoder.att_annotation.weight, decoder.out_vocab.weight]


def enumerate_locations(decoder, a, tokens):
    """``p(s | a)`` and ``log p(y | s, a)`` for every one of the L**steps sequences of locations ``s``."""
    steps = tokens.shape[1] - 1
    sequences = torch.tensor(list(itertools.product(range(L), repeat=steps)))
    n = len(sequences)
    out = decoder(a.expand(n, -1, -1), tokens.expand(n, -1), context_mode="sample", locations=sequences)
    mask = torch.ones(n, steps, dtype=torch.float64)
    log_lik = caption_log_likelihood(out.logits, tokens.expand(n, -1)[:, 1:], mask)
    p_s = out.log_p_locations.sum(1).exp()
    assert torch.allclose(p_s.sum(), torch.tensor(1.0, dtype=torch.float64))
    return p_s, log_lik


def exact_objective(decoder, a, tokens):
    """L_s = sum_s p(s | a) log p(y | s, a), summed over all L**steps sequences of locations."""
    p_s, log_lik = enumerate_locations(decoder, a, tokens)
    return (p_s * log_lik).sum(), (p_s * log_lik).sum().item()


def reinforce_estimates(decoder, a, tokens, baseline, groups=40, per_group=500, seed=1, reward_per_word=False):
    """Group means of the single-sample estimator of dL_s/dW (minus the surrogate's gradient)."""
    generator = torch.Generator().manual_seed(seed)
    estimates = []
    for _ in range(groups):
        out = decoder(a.expand(per_group, -1, -1), tokens.expand(per_group, -1), context_mode="sample", generator=generator)
        mask = torch.ones(per_group, tokens.shape[1] - 1, dtype=torch.float64)
        log_lik = caption_log_likelihood(out.logits, tokens.expand(per_group, -1)[:, 1:], mask)
        loss = reinforce_surrogate(log_lik, out.log_p_locations, out.entropies, mask, baseline, 1.0, 0.0, reward_per_word).mean()
        grads = torch.autograd.grad(loss, _params(decoder))
        estimates.append(-torch.cat([g.flatten() for g in grads]))
    return torch.stack(estimates)


def test_exact_objective_is_a_proper_expectation(problem):
    decoder, a, tokens = problem
    _, value = exact_objective(decoder, a, tokens)
    assert value < 0  # an expected log-likelihood


def test_reinforce_is_unbiased_against_exact_enumeration(problem):
    decoder, a, tokens = problem
    objective, expected_log_lik = exact_objective(decoder, a, tokens)
    exact = torch.cat([g.flatten() for g in torch.autograd.grad(objective, _params(decoder))])
    for baseline in (0.0, expected_log_lik):
        estimates = reinforce_estimates(decoder, a, tokens, baseline)
        mean = estimates.mean(0)
        standard_error = estimates.std(0) / len(estimates) ** 0.5
        z = (mean - exact).abs() / (standard_error + 1e-12)
        # 4 standard errors on each of the components; the exact gradient is not tiny, so this can fail.
        assert exact.abs().max() > 1e-2
        assert z.max() < 4.5, f"baseline {baseline}: worst z-score {z.max():.2f}"
        assert torch.allclose(mean, exact, atol=5 * standard_error.max().item())


def test_a_per_word_reward_is_unbiased_for_the_score_term_divided_by_the_length(problem):
    """The authors' reward (``reward_per_word``): the estimator's mean is, by enumeration,
    ``sum_s p(s) d log p(y|s,a)/dW + (1/n) sum_s log p(y|s,a) dp(s)/dW`` for a caption of n tokens,
    with the per-word baseline times n (what the training loop passes) or none."""
    decoder, a, tokens = problem
    n = tokens.shape[1] - 1
    p_s, log_lik = enumerate_locations(decoder, a, tokens)
    target = (p_s.detach() * log_lik).sum() + (p_s * log_lik.detach()).sum() / n
    exact = torch.cat([g.flatten() for g in torch.autograd.grad(target, _params(decoder), retain_graph=True)])
    paper = torch.cat([g.flatten() for g in torch.autograd.grad((p_s * log_lik).sum(), _params(decoder))])
    # the training loop passes the per-word baseline times n: at its fixed point, E[log p(y|s,a)]
    for baseline in (0.0, float((p_s * log_lik).sum().detach())):
        estimates = reinforce_estimates(decoder, a, tokens, baseline, groups=40, per_group=500, seed=6, reward_per_word=True)
        standard_error = estimates.std(0) / len(estimates) ** 0.5
        z = (estimates.mean(0) - exact).abs() / (standard_error + 1e-12)
        assert z.max() < 4.5, f"baseline {baseline}: worst z-score {z.max():.2f}"
        # the test tells the two rewards apart: with the baseline, the paper's gradient lies many standard errors away
        separation = ((estimates.mean(0) - paper).abs() / (standard_error + 1e-12)).max()
        assert separation > (10 if baseline else 4.5), f"baseline {baseline}: the paper's gradient is only {separation:.1f} s.e. away"


def test_baseline_lowers_the_variance(problem):
    decoder, a, tokens = problem
    _, expected_log_lik = exact_objective(decoder, a, tokens)
    without = reinforce_estimates(decoder, a, tokens, 0.0, groups=30, per_group=50, seed=2).var(0).sum()
    with_baseline = reinforce_estimates(decoder, a, tokens, expected_log_lik, groups=30, per_group=50, seed=2).var(0).sum()
    assert with_baseline < 0.5 * without, (float(with_baseline), float(without))


def test_a_per_token_baseline_lowers_the_variance_across_caption_lengths(problem):
    """Training batches hold captions of one length; a short and a long caption stand for two such batches.

    The paper's single baseline settles between their log-likelihoods; the per-token one scales with the length.
    Both keep the estimator unbiased (checked against the exact gradients); the per-token one has less variance.
    """
    decoder, a, _ = problem
    short, long = torch.tensor([[1, 4, 2]]), torch.tensor([[1, 4, 5, 4, 5, 2]])  # 2 and 5 steps
    exact, expected = [], []
    for tokens in (short, long):
        objective, value = exact_objective(decoder, a, tokens)
        exact.append(torch.cat([g.flatten() for g in torch.autograd.grad(objective, _params(decoder))]))
        expected.append(value)
    lengths = torch.tensor([2, 5])
    paper = MovingAverageBaseline(value=sum(expected) / 2)  # where its moving average settles
    per_token = MovingAverageBaseline(value=sum(expected) / 7, per_token=True)
    variances = {}
    for name, baseline in (("paper", paper), ("per token", per_token)):
        b_short, b_long = baseline(lengths).tolist()
        estimates = (reinforce_estimates(decoder, a, short, b_short, groups=30, per_group=100, seed=4)
                     + reinforce_estimates(decoder, a, long, b_long, groups=30, per_group=100, seed=5))
        standard_error = estimates.std(0) / len(estimates) ** 0.5
        z = (estimates.mean(0) - (exact[0] + exact[1])).abs() / (standard_error + 1e-12)
        assert z.max() < 4.5, f"{name}: worst z-score {z.max():.2f}"
        variances[name] = float(estimates.var(0).sum())
    assert variances["per token"] < 0.5 * variances["paper"], variances


def batch_loss_estimates(decoder, a, captions, config, baseline, groups, seed):
    """Minus the gradient of ``batch_loss`` on sampled locations, once per minibatch of ``captions`` (padded rows).

    In float32, as training runs (cached features are read as float32)."""
    model = CaptionModel(copy.deepcopy(decoder).float())
    torch.manual_seed(seed)
    estimates = []
    for _ in range(groups):
        loss, _ = batch_loss(model, a.expand(len(captions), -1, -1), captions, config, "hard", baseline, False)
        estimates.append(-torch.cat([g.flatten() for g in torch.autograd.grad(loss, _params(model.decoder))]))
    return torch.stack(estimates).double()


def test_n_samples_with_a_leave_one_out_baseline_are_unbiased_and_beat_the_single_baseline(problem):
    """Eq. 11 with N = 2 location sequences per caption, each the other's baseline, through the training loss.

    A minibatch of short and long captions: its expected gradient is the mean of their exact gradients. The
    paper's one baseline (N = 1, at its moving average's resting point) and the leave-one-out baseline (the same
    number of sampled sequences) both leave it unbiased; the leave-one-out one follows each caption, so it varies less.
    """
    decoder, a, _ = problem
    short, long = [1, 4, 2, 0, 0, 0], [1, 4, 5, 4, 5, 2]  # 2 and 5 steps; 0 pads
    exact, expected = [], []
    for tokens in (short, long):
        objective, value = exact_objective(decoder, a, torch.tensor([[t for t in tokens if t]]))
        exact.append(torch.cat([g.flatten() for g in torch.autograd.grad(objective, _params(decoder))]))
        expected.append(value)
    exact = (exact[0] + exact[1]) / 2
    quiet = dict(entropy_weight=0.0, doubly_stochastic=0.0)
    one = batch_loss_estimates(decoder, a, torch.tensor([short, long] * 100), TrainConfig(**quiet), sum(expected) / 2, groups=40, seed=7)
    two = batch_loss_estimates(decoder, a, torch.tensor([short, long] * 50), TrainConfig(location_samples=2, leave_one_out_baseline=True, **quiet),
                               0.0, groups=40, seed=8)  # the moving average's value is not used
    variances = {}
    for name, estimates in (("one sample", one), ("two, leave one out", two)):
        standard_error = estimates.std(0) / len(estimates) ** 0.5
        z = (estimates.mean(0) - exact).abs() / (standard_error + 1e-12)
        assert z.max() < 4.5, f"{name}: worst z-score {z.max():.2f}"
        variances[name] = float(estimates.var(0).sum())
    assert variances["two, leave one out"] < 0.5 * variances["one sample"], variances


def test_leave_one_out_baseline_values():
    rewards = torch.tensor([1.0, 2.0, 3.0, 10.0, 20.0, 30.0])  # two captions, three samples each
    assert leave_one_out_baseline(rewards, 3).tolist() == [2.5, 2.0, 1.5, 25.0, 20.0, 15.0]
    assert leave_one_out_baseline(rewards, 2).tolist() == [2.0, 1.0, 10.0, 3.0, 30.0, 20.0]
    with pytest.raises(ValueError, match="at least 2 samples"):
        leave_one_out_baseline(rewards, 1)
    with pytest.raises(ValueError, match="do not split into groups of 4"):
        leave_one_out_baseline(rewards, 4)


def test_baseline_values_and_statistics():
    paper, per_token = MovingAverageBaseline(value=-6.0), MovingAverageBaseline(value=-2.0, per_token=True)
    lengths = torch.tensor([3, 5])
    assert paper(lengths).tolist() == [-6.0, -6.0] and per_token(lengths).tolist() == [-6.0, -10.0]
    log_lik = torch.tensor([-9.0, -11.0])
    assert [float(x) for x in paper.reward_statistic(log_lik, lengths)] == [-20.0, 2.0]
    assert [float(x) for x in per_token.reward_statistic(log_lik, lengths)] == [-20.0, 8.0]
    per_token.update(-2.5)
    assert per_token.value == pytest.approx(0.9 * -2.0 + 0.1 * -2.5)


def test_a_learned_moving_average_baseline_tracks_the_reward(problem):
    decoder, a, tokens = problem
    _, expected_log_lik = exact_objective(decoder, a, tokens)
    baseline = MovingAverageBaseline(0.9)
    generator = torch.Generator().manual_seed(3)
    for _ in range(200):
        out = decoder(a.expand(64, -1, -1), tokens.expand(64, -1), context_mode="sample", generator=generator)
        log_lik = caption_log_likelihood(out.logits, tokens.expand(64, -1)[:, 1:], torch.ones(64, STEPS, dtype=torch.float64))
        baseline.update(log_lik.mean().item())
    assert abs(baseline.value - expected_log_lik) < 0.1 * abs(expected_log_lik)


def test_gradient_through_log_alpha_is_what_moves_attention(problem):
    """Without the REINFORCE term the attention MLP's w gets no gradient from a sampled location."""
    decoder, a, tokens = problem
    out = decoder(a.expand(8, -1, -1), tokens.expand(8, -1), context_mode="sample", generator=torch.Generator().manual_seed(0))
    mask = torch.ones(8, STEPS, dtype=torch.float64)
    log_lik = caption_log_likelihood(out.logits, tokens.expand(8, -1)[:, 1:], mask)
    plain = torch.autograd.grad(-log_lik.mean(), decoder.att_score.weight, retain_graph=True, allow_unused=True)[0]
    reinforce = torch.autograd.grad(reinforce_surrogate(log_lik, out.log_p_locations, out.entropies, mask, 0.0, 1.0, 0.0).mean(), decoder.att_score.weight)[0]
    assert plain is None or plain.abs().max() < 1e-12
    assert reinforce.abs().max() > 1e-6

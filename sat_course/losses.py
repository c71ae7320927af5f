"""Training objectives: masked caption likelihood, doubly stochastic attention, REINFORCE for hard attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def caption_log_likelihood(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """``log p(y | a)`` per caption: the sum over real tokens only (``mask`` is 1 on words and ``<end>``)."""
    log_p = -F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    return (log_p * mask).sum(dim=1)


def doubly_stochastic_penalty(alphas: Tensor, mask: Tensor) -> Tensor:
    """``sum_i (1 - sum_t alpha_ti)^2`` per caption (eq. 14), over the real time steps only."""
    attention_per_location = (alphas * mask.unsqueeze(-1)).sum(dim=1)
    return ((1.0 - attention_per_location) ** 2).sum(dim=1)


def reinforce_surrogate(
    log_likelihood: Tensor,
    log_p_locations: Tensor,
    entropies: Tensor,
    mask: Tensor,
    baseline: float | Tensor,
    reinforce_weight: float = 1.0,
    entropy_weight: float = 0.002,
    reward_per_word: bool = False,
) -> Tensor:
    """A per-caption loss whose gradient is minus the paper's eq. 12 estimate of dL_s/dW.

    ``dL_s/dW ≈ d log p(y|s,a)/dW + lambda_r (log p(y|s,a) - b) d log p(s|a)/dW + lambda_e dH[s]/dW``
    for one sampled sequence of locations ``s``, with the moving-average baseline ``b`` (one number, or one per caption).

    ``reward_per_word`` (a departure from eq. 12, as the authors' code with its default ``RL_sumCost``): the reward
    is ``log p(y|s,a)`` divided by the caption's number of tokens; ``b`` is then the per-word baseline times that
    number (``MovingAverageBaseline(per_token=True)``), so the advantage is per word too.
    """
    log_p_sequence = (log_p_locations * mask).sum(dim=1)
    advantage = (log_likelihood - baseline).detach()
    if reward_per_word:
        advantage = advantage / mask.sum(dim=1)
    entropy = (entropies * mask).sum(dim=1)
    return -(log_likelihood + reinforce_weight * advantage * log_p_sequence + entropy_weight * entropy)


def leave_one_out_baseline(rewards: Tensor, samples: int) -> Tensor:
    """Each sample's baseline: the mean reward of the other ``samples - 1`` samples of its caption.

    ``rewards`` holds each caption's samples side by side (``repeat_interleave`` order). A departure from the
    paper's moving average (section 4.1): the other samples were drawn independently of this one, so the
    estimator stays unbiased, and their mean follows each image and caption, where one moving number cannot.
    """
    if samples < 2:
        raise ValueError(f"a leave-one-out baseline needs at least 2 samples per caption, got {samples}")
    if rewards.numel() % samples:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {samples} samples")
    groups = rewards.view(-1, samples)
    return ((groups.sum(1, keepdim=True) - groups) / (samples - 1)).view(-1)


class MovingAverageBaseline:
    """``b_k = decay * b_{k-1} + (1 - decay) * mean log p(y | s, a)`` (section 4.1, with decay 0.9).

    ``per_token`` (a departure from the paper) makes ``b`` the moving average of the log-likelihood per word,
    and a caption's baseline ``b`` times its length. The training batches hold captions of one length, so the
    paper's single number is mostly a guess of the batch's length: a short batch beats it and a long one falls
    short, whichever locations were sampled. A baseline that depends on the caption, never on the sampled
    locations, leaves the estimator unbiased and takes that part of the variance away.
    """

    def __init__(self, decay: float = 0.9, value: float = 0.0, per_token: bool = False) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError("baseline decay must lie in [0, 1)")
        self.decay = decay
        self.value = value
        self.per_token = per_token

    def __call__(self, lengths: Tensor) -> Tensor:
        """The baseline of each caption, from its number of real tokens."""
        lengths = lengths.float()
        return self.value * lengths if self.per_token else torch.full_like(lengths, self.value)

    def reward_statistic(self, log_likelihood: Tensor, lengths: Tensor) -> Tensor:
        """``[sum, count]`` whose ratio updates the baseline: per caption, or per token with ``per_token``.

        Kept apart so that several processes can add theirs up before dividing.
        """
        count = lengths.sum() if self.per_token else lengths.new_tensor(len(lengths))
        return torch.stack([log_likelihood.float().sum(), count.float()])

    def update(self, mean_log_likelihood: float) -> None:
        self.value = self.decay * self.value + (1.0 - self.decay) * float(mean_log_likelihood)

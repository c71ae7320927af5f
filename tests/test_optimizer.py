"""The optimizers: RMSProp is the authors' centred form with momentum, checked against the update written out."""

import numpy as np
import pytest
import torch

from sat_course.training import TrainConfig, make_optimizer


def _quadratic_gradient(p: np.ndarray, curvature: np.ndarray, slope: np.ndarray) -> np.ndarray:
    return curvature * p + slope


def test_rmsprop_is_the_centred_update_with_momentum():
    """d <- 0.9 d - lr g / (sqrt(E[g^2] - E[g]^2) + eps), averages decaying by 0.95, p <- p + d."""
    rng = np.random.default_rng(0)
    curvature, slope, start = rng.uniform(0.5, 3.0, 6), rng.normal(0, 2, 6), rng.normal(0, 1, 6)
    lr = 1e-3
    param = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    optimizer = make_optimizer([param], TrainConfig(optimizer="rmsprop", learning_rate=lr))

    p, mean_g, mean_g2, step = start.copy(), np.zeros(6), np.zeros(6), np.zeros(6)
    for _ in range(8):
        optimizer.zero_grad()
        loss = (0.5 * torch.tensor(curvature) * param**2 + torch.tensor(slope) * param).sum()
        loss.backward()
        optimizer.step()

        g = _quadratic_gradient(p, curvature, slope)
        mean_g = 0.95 * mean_g + 0.05 * g
        mean_g2 = 0.95 * mean_g2 + 0.05 * g**2
        step = 0.9 * step - lr * g / (np.sqrt(mean_g2 - mean_g**2) + 1e-2)
        p = p + step
        np.testing.assert_allclose(param.detach().numpy(), p, rtol=1e-12, atol=1e-12)


def test_adam_keeps_the_configured_step_size():
    param = torch.nn.Parameter(torch.zeros(3))
    optimizer = make_optimizer([param], TrainConfig(learning_rate=2e-4))
    assert isinstance(optimizer, torch.optim.Adam) and optimizer.param_groups[0]["lr"] == 2e-4


def test_unknown_optimizer_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown optimizer 'sgd': choose one of adam, rmsprop"):
        make_optimizer([torch.nn.Parameter(torch.zeros(1))], TrainConfig(optimizer="sgd"))

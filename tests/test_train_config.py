"""TrainConfig refuses values no run can use, and accepts the edges of every range."""

from __future__ import annotations

import dataclasses

import pytest

from sat_course.training import TRAIN_CONFIG_RANGES, TrainConfig

BAD = [
    ("epochs", 0), ("batch_size", -1), ("patience", 0), ("val_beam_size", 0), ("val_max_images", 0),
    ("max_decode_steps", 0), ("checkpoint_every", 0), ("learning_rate", 0.0), ("max_minutes", -5.0), ("grad_clip", 0.0),
    ("doubly_stochastic", -1.0), ("reinforce_weight", -0.5), ("entropy_weight", -0.002), ("baseline_decay", 1.0),
    ("label_smoothing", 1.0), ("label_smoothing", -0.1), ("ema_decay", 1.0), ("expected_context_prob", 1.01),
    ("expected_context_prob", -0.01), ("lr_decay", 0.0), ("lr_decay", 1.2), ("flip_probability", 1.5), ("flip_probability", -0.1),
    ("expected_context_start", 1.2), ("expected_context_anneal_epochs", 0), ("location_samples", 0),
]
EDGES = [
    ("epochs", 1), ("val_max_images", None), ("learning_rate", 1e-9), ("doubly_stochastic", 0.0), ("baseline_decay", 0.0),
    ("label_smoothing", 0.0), ("ema_decay", 0.0), ("expected_context_prob", 0.0), ("expected_context_prob", 1.0),
    ("lr_decay", 1.0), ("max_minutes", None), ("grad_clip", None), ("flip_probability", 0.0), ("flip_probability", 1.0),
    ("expected_context_start", None), ("expected_context_start", 1.0), ("expected_context_anneal_epochs", 1),
    ("location_samples", 1),
]


@pytest.mark.parametrize("name, value", BAD)
def test_out_of_range_values_are_refused_by_name(name, value):
    with pytest.raises(ValueError, match=rf"^{name} must be .*, got {value}$"):
        TrainConfig(**{name: value})


@pytest.mark.parametrize("name, value", EDGES)
def test_edges_of_the_ranges_are_accepted(name, value):
    assert getattr(TrainConfig(**{name: value}), name) == value


def test_every_numeric_field_has_a_range_and_the_defaults_lie_in_them():
    numeric = {f.name for f in dataclasses.fields(TrainConfig) if f.type.startswith(("int", "float"))}
    assert numeric - {"seed"} == set(TRAIN_CONFIG_RANGES)
    assert {name for name, _ in BAD} == set(TRAIN_CONFIG_RANGES)  # every range is tested above
    TrainConfig()  # the paper's defaults pass


def test_a_leave_one_out_baseline_needs_two_samples_per_caption():
    with pytest.raises(ValueError, match="^leave_one_out_baseline needs location_samples of at least 2"):
        TrainConfig(leave_one_out_baseline=True)
    assert TrainConfig(location_samples=2, leave_one_out_baseline=True).location_samples == 2

"""bf16 autocast: on CUDA by default (``amp``), on CPU only when asked (``cpu_amp``) and only where it is native."""

from __future__ import annotations

import pytest
import torch

from sat_course import training
from sat_course.benchmark import Sizes, bench_train, random_captions
from sat_course.model import AttentionDecoder, CaptionModel
from sat_course.training import TrainConfig, autocast_enabled, batch_loss

SMALL = Sizes(batch_size=4, locations=6, feature_dim=16, hidden_dim=32, embed_dim=16, attention_dim=16, vocab_size=40, caption_words=5)


def test_cpu_runs_fp32_unless_asked():
    assert not autocast_enabled(TrainConfig(), torch.device("cpu"))
    assert autocast_enabled(TrainConfig(), torch.device("cuda"))
    assert not autocast_enabled(TrainConfig(amp=False), torch.device("cuda"))


def test_cpu_amp_needs_native_bf16(monkeypatch):
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: False)
    with pytest.raises(ValueError, match="native bf16"):
        autocast_enabled(TrainConfig(cpu_amp=True), torch.device("cpu"))
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: True)
    assert autocast_enabled(TrainConfig(cpu_amp=True), torch.device("cpu"))


def test_bf16_loss_and_gradients_stay_close_to_fp32():
    """The same minibatch under bf16 autocast: the matmuls run in bf16, the loss and gradients agree to bf16 precision."""
    torch.manual_seed(0)
    model = CaptionModel(AttentionDecoder(SMALL.decoder_config("soft", dropout=0.0)))
    features = torch.randn(SMALL.batch_size, SMALL.locations, SMALL.feature_dim)
    tokens = random_captions(SMALL, torch.Generator().manual_seed(0))
    results = []
    for enabled in (False, True):
        model.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled):
            loss, _ = batch_loss(model, features, tokens, TrainConfig(), "soft", 0.0, use_expected_context=False)
            logits_dtype = model(features, tokens, context_mode="expected").logits.dtype
        loss.backward()
        grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        results.append((loss.detach(), grads, logits_dtype))
    (loss32, grad32, dtype32), (loss16, grad16, dtype16) = results
    assert dtype32 == torch.float32 and dtype16 == torch.bfloat16
    assert loss16 != loss32  # bf16 really ran
    assert torch.allclose(loss16, loss32, rtol=2e-2)
    assert torch.nn.functional.cosine_similarity(grad16, grad32, dim=0) > 0.99


def test_benchmark_reports_whether_it_ran_bf16(monkeypatch):
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: True)
    assert bench_train(SMALL, steps=1, warmup=0, cpu_amp=True).bf16
    assert not bench_train(SMALL, steps=1, warmup=0).bf16

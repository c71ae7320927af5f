"""The benchmark's FLOP count against a hand computation, and its benchmarks run at tiny sizes (seconds)."""

from __future__ import annotations

import argparse

import pytest
import torch

from sat_course import benchmark
from sat_course.benchmark import (
    DecodeBenchmark,
    FlopCount,
    Sizes,
    TrainBenchmark,
    bench_decode,
    bench_features,
    bench_train,
    feature_cache_bytes,
    format_table,
    matmul_peak_gflops,
    memory_estimate,
    train_step_flops,
)

TINY = Sizes(batch_size=2, locations=3, feature_dim=4, hidden_dim=5, embed_dim=6, attention_dim=7, vocab_size=11, caption_words=3)


def test_flops_match_a_hand_count():
    # B=2, T=4 steps (3 words + <end>), L=3, D=4, n=5, m=6, A=7, V=11; a matmul (p x q) @ (q x r) is 2pqr.
    flops = train_step_flops(TINY)
    assert flops.terms == {
        "W_a a (once per image)": 2 * 2 * 3 * 4 * 7,  # 336
        "W_h h": 2 * 8 * 5 * 7,  # 560: B*T = 8 rows of n -> A
        "attention score w": 2 * 8 * 3 * 7,  # 336: L scores of A each
        "LSTM input matmul": 2 * 8 * 10 * 20,  # 3200: m + D = 10 -> 4n = 20
        "LSTM hidden matmul": 2 * 8 * 5 * 20,  # 1600
        "context bmm": 2 * 8 * 3 * 4,  # 192
        "L_h": 2 * 8 * 5 * 6,  # 480
        "L_z": 2 * 8 * 4 * 6,  # 384
        "L_o": 2 * 8 * 6 * 11,  # 1056
    }
    assert flops.forward == 8144
    assert flops.backward == 16288
    assert flops.total == 24432
    # A sampled location is a gather, not a bmm.
    assert train_step_flops(TINY, expected_context=False).forward == 8144 - 192


def test_flops_at_flickr8k_sizes_are_dominated_by_per_step_matmuls():
    flops = train_step_flops()
    assert flops.terms["W_a a (once per image)"] == 2 * 64 * 49 * 1280 * 512
    assert 10e9 < flops.forward < 30e9  # about 16.6 GFLOP forward for a batch of 64 captions of 13 steps


def test_train_benchmark_runs_at_tiny_sizes():
    for attention in ("soft", "hard"):
        result = bench_train(TINY, attention=attention, steps=2, warmup=1)
        assert isinstance(result, TrainBenchmark)
        assert result.attention == attention and result.steps == 2
        assert result.tokens == 2 * TINY.batch_size * TINY.decode_steps
        assert result.seconds > 0 and result.ms_per_step > 0 and result.tokens_per_s > 0 and result.gflops_per_s > 0
        assert isinstance(result.flops, FlopCount) and result.flops.total > 0
    with pytest.raises(ValueError):
        bench_train(TINY, steps=0)


def test_random_captions_have_start_words_end_and_no_padding():
    tokens = benchmark.random_captions(TINY, torch.Generator().manual_seed(0))
    assert tokens.shape == (TINY.batch_size, TINY.caption_words + 2)
    assert (tokens[:, 0] == 1).all() and (tokens[:, -1] == 2).all()
    assert ((tokens[:, 1:-1] >= 4) & (tokens[:, 1:-1] < TINY.vocab_size)).all()


def test_decode_benchmark_runs_at_tiny_sizes():
    beam, greedy = bench_decode(TINY, images=5, beam_size=2, max_steps=4, batch_size=3)
    for result, mode in ((beam, "beam 2"), (greedy, "greedy")):
        assert isinstance(result, DecodeBenchmark) and result.mode == mode
        assert result.images == 5 and result.seconds > 0 and result.images_per_s > 0
        assert 1 <= result.mean_length <= 4 and 0.0 <= result.ended <= 1.0


def test_matmul_peak_is_positive():
    assert matmul_peak_gflops(n=64, repeats=2) > 0


def test_memory_estimate_counts_the_float16_caches():
    assert feature_cache_bytes(6000) == 6000 * 49 * 1280 * 2 == 752_640_000
    estimate = memory_estimate(1000)
    assert estimate.total == 1000 + 752_640_000 + 1000 * 49 * 1280 * 2
    assert benchmark.peak_rss_bytes() > 0


def test_feature_benchmark_runs_on_generated_jpegs():
    result = bench_features(images=3, batch_size=2, num_workers=0, weights=None, input_size=64, use_flickr8k=False)
    assert result.images == 3 and result.weights.startswith("none")
    assert result.pipeline_images_per_s > 0 and result.bare_images_per_s > 0 and result.ratio > 0
    assert any("generated" in note for note in result.notes)
    assert "pipeline / bare" in benchmark.features_report(result)


def test_reports_and_argument_checks():
    text = format_table("Title", [("a", "1"), ("longer key", "2")])
    assert text.splitlines()[0] == "Title" and "longer key  2" in text
    with pytest.raises(ValueError):
        benchmark.run(argparse.Namespace(what="train", images=1, root=None, steps=0))

"""``python -m sat_course benchmark {features,train,decode,all}``: throughput and memory figures.

- features: images/s of the real extraction pipeline (JPEG decode and preprocessing in DataLoader workers,
  MobileNetV2 forward in channels_last, through :func:`sat_course.features.extract_features` into a
  temporary cache) beside the bare CNN forward on random preprocessed tensors, measured in the same run.
  Target: the pipeline reaches at least 90% of the bare forward.
- train: tokens/s and ms/step of ``batch_loss`` + backward + Adam at Flickr8k-like sizes, for soft and
  hard attention, with the useful FLOPs of a step counted analytically and compared with the machine's
  fp32 matmul peak measured in the same run (target: at least 50%); peak resident memory and an
  estimate of what training on Flickr8k from cached features needs (target: 4 GiB).
- decode: batched beam search and greedy decoding in images/s with a random-weight decoder.

Every size is a parameter of the functions below, defaulting to the Flickr8k-like setting, so the tests
run the same code at tiny sizes.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .decoding import beam_search, greedy_decode
from .model import AttentionDecoder, CaptionModel, DecoderConfig
from .records import CaptionedImage
from .text import Vocabulary
from .training import TrainConfig, autocast_enabled, batch_loss, cpu_has_native_bf16, make_optimizer, pick_device

GIB = 1024**3
FEATURE_TARGET = 0.90  # pipeline / bare forward
FLOPS_TARGET = 0.50  # achieved / fp32 matmul peak
MEMORY_TARGET_BYTES = 4 * GIB
FLICKR8K_TRAIN_IMAGES, FLICKR8K_VAL_IMAGES = 6000, 1000


@dataclass(frozen=True)
class Sizes:
    """Decoder and batch sizes; the defaults are Flickr8k-like (MobileNetV2 'last' at 224: 7x7x1280)."""

    batch_size: int = 64
    locations: int = 49  # L
    feature_dim: int = 1280  # D
    hidden_dim: int = 512  # n
    embed_dim: int = 512  # m
    attention_dim: int = 512
    vocab_size: int = 3000
    caption_words: int = 12  # tokens per caption = caption_words + <start> + <end>

    def __post_init__(self) -> None:
        if min(self.batch_size, self.locations, self.feature_dim, self.hidden_dim, self.embed_dim, self.attention_dim, self.caption_words) < 1:
            raise ValueError("benchmark sizes must be positive")
        if self.vocab_size < 5:
            raise ValueError("vocab_size must leave room for the 4 special tokens and one word")

    @property
    def decode_steps(self) -> int:
        """Teacher-forced steps of one caption: it predicts caption_words words and <end>."""
        return self.caption_words + 1

    def decoder_config(self, attention: str = "soft", dropout: float = 0.5) -> DecoderConfig:
        return DecoderConfig(
            vocab_size=self.vocab_size, feature_dim=self.feature_dim, embed_dim=self.embed_dim, hidden_dim=self.hidden_dim,
            attention_dim=self.attention_dim, dropout=dropout, attention=attention,
        )


# ---------------------------------------------------------------- machine, timing, tables


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info(device: torch.device) -> list[tuple[str, str]]:
    rows = [
        ("CPU", f"{cpu_model()} ({os.cpu_count()} logical cores)"),
        ("torch", f"{torch.__version__}, {torch.get_num_threads()} intra-op threads"),
        ("device", str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")),
    ]
    if hasattr(os, "getloadavg"):
        rows.append(("load average (1 min) at start", f"{os.getloadavg()[0]:.2f}"))
    return rows


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def format_table(title: str, rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    lines = [title, "-" * len(title)]
    lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)


def _verdict(value: float, target: float) -> str:
    return "met" if value >= target else "not met"


def peak_rss_bytes() -> int:
    """``ru_maxrss`` of this process in bytes (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if platform.system() == "Darwin" else peak * 1024


def reset_peak_rss() -> bool:
    """Reset the process's peak-RSS mark (Linux ``clear_refs`` 5) so a later reading covers only what follows."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def matmul_peak_gflops(n: int = 2048, repeats: int = 5, device: torch.device | str = "cpu") -> float:
    """Best-of-``repeats`` GFLOP/s of an n x n float32 matmul: the machine's practical fp32 peak."""
    device = torch.device(device)
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    torch.matmul(a, b)  # warm-up
    _sync(device)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


# ---------------------------------------------------------------- FLOPs


@dataclass(frozen=True)
class FlopCount:
    """Useful FLOPs (multiply and add counted as 2) of one training step; ``terms`` are forward FLOPs."""

    terms: dict[str, int]

    @property
    def forward(self) -> int:
        return sum(self.terms.values())

    @property
    def backward(self) -> int:
        return 2 * self.forward

    @property
    def total(self) -> int:
        return self.forward + self.backward


def train_step_flops(sizes: Sizes = Sizes(), expected_context: bool = True) -> FlopCount:
    """Matmul FLOPs of one teacher-forced step over a batch, forward terms listed, backward = 2 x forward.

    Counted: ``W_a a`` once per image; per time step ``W_h h``, the score ``w^T tanh(.)`` over L, the LSTM
    cell's input (``[E y; z]``, m + D wide) and hidden matmuls, the context bmm (soft/expected context
    only: a sampled location is a gather), and the deep output ``L_h``, ``L_z``, ``L_o`` over all steps.
    Left out as negligible (well under 2%): f_init, f_beta, the embedding gather, softmax, elementwise ops.
    """
    s = sizes
    B, T, L, D, n, m, A, V = s.batch_size, s.decode_steps, s.locations, s.feature_dim, s.hidden_dim, s.embed_dim, s.attention_dim, s.vocab_size
    bt = B * T
    terms = {
        "W_a a (once per image)": 2 * B * L * D * A,
        "W_h h": 2 * bt * n * A,
        "attention score w": 2 * bt * L * A,
        "LSTM input matmul": 2 * bt * (m + D) * 4 * n,
        "LSTM hidden matmul": 2 * bt * n * 4 * n,
        "context bmm": 2 * bt * L * D if expected_context else 0,
        "L_h": 2 * bt * n * m,
        "L_z": 2 * bt * D * m,
        "L_o": 2 * bt * m * V,
    }
    return FlopCount(terms)


# ---------------------------------------------------------------- training


@dataclass
class TrainBenchmark:
    attention: str  # "soft", or "hard" (sampled locations: the REINFORCE path)
    sizes: Sizes
    steps: int
    seconds: float
    tokens: int  # predicted tokens over the timed steps
    flops: FlopCount
    bf16: bool = False  # timed under bf16 autocast

    @property
    def ms_per_step(self) -> float:
        return 1000 * self.seconds / self.steps

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds

    @property
    def gflops_per_s(self) -> float:
        return self.flops.total * self.steps / self.seconds / 1e9


def random_captions(sizes: Sizes, generator: torch.Generator) -> torch.Tensor:
    """(B, caption_words + 2) token ids: <start>, random words, <end>; no padding (equal lengths, as batches are built)."""
    words = torch.randint(4, sizes.vocab_size, (sizes.batch_size, sizes.caption_words), generator=generator)
    start = torch.full((sizes.batch_size, 1), Vocabulary.start_id)
    end = torch.full((sizes.batch_size, 1), Vocabulary.end_id)
    return torch.cat([start, words, end], dim=1)


def bench_train(
    sizes: Sizes = Sizes(),
    attention: str = "soft",
    steps: int = 10,
    warmup: int = 2,
    device: torch.device | str = "cpu",
    seed: int = 0,
    cpu_amp: bool = False,
) -> TrainBenchmark:
    """Time ``steps`` steps (after ``warmup``) of batch_loss + backward + Adam, as the training loop does.

    The autocast rule is the training loop's: bf16 on CUDA, and on CPU with ``cpu_amp`` (``--cpu-amp``).
    """
    if steps < 1 or warmup < 0:
        raise ValueError("steps must be at least 1 and warmup at least 0")
    device = torch.device(device)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = CaptionModel(AttentionDecoder(sizes.decoder_config(attention))).to(device).train()
    config = TrainConfig(cpu_amp=cpu_amp)
    optimizer = make_optimizer(model.parameters(), config)
    features = torch.randn(sizes.batch_size, sizes.locations, sizes.feature_dim, generator=generator).to(device)
    tokens = random_captions(sizes, generator).to(device)
    use_amp = autocast_enabled(config, device)

    def one_step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            loss, _ = batch_loss(model, features, tokens, config, attention, 0.0, use_expected_context=False)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()  # as the loop does: one host sync per step

    for _ in range(warmup):
        one_step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        one_step()
    _sync(device)
    seconds = time.perf_counter() - start
    tokens_per_step = int((tokens[:, 1:] != Vocabulary.pad_id).sum())
    flops = train_step_flops(sizes, expected_context=attention == "soft")
    return TrainBenchmark(attention, sizes, steps, seconds, tokens_per_step * steps, flops, bf16=use_amp)


def parameter_count(sizes: Sizes = Sizes()) -> int:
    return sum(p.numel() for p in AttentionDecoder(sizes.decoder_config()).parameters())


@dataclass
class MemoryEstimate:
    """What training on Flickr8k from the float16 feature cache needs, as resident memory."""

    peak_rss: int  # measured: interpreter, torch, model, Adam state, activations of one batch
    train_cache: int  # memory-mapped train features, counted as if every page were resident
    val_cache: int

    @property
    def total(self) -> int:
        return self.peak_rss + self.train_cache + self.val_cache


def feature_cache_bytes(images: int, locations: int = 49, feature_dim: int = 1280, bytes_per_value: int = 2) -> int:
    return images * locations * feature_dim * bytes_per_value


def memory_estimate(peak_rss: int, sizes: Sizes = Sizes(), train_images: int = FLICKR8K_TRAIN_IMAGES, val_images: int = FLICKR8K_VAL_IMAGES) -> MemoryEstimate:
    return MemoryEstimate(
        peak_rss,
        feature_cache_bytes(train_images, sizes.locations, sizes.feature_dim),
        feature_cache_bytes(val_images, sizes.locations, sizes.feature_dim),
    )


# ---------------------------------------------------------------- decoding


@dataclass
class DecodeBenchmark:
    mode: str  # "beam K" or "greedy"
    images: int
    max_steps: int
    seconds: float
    mean_length: float  # generated tokens per caption
    ended: float  # fraction of captions that emitted <end>

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds


def bench_decode(
    sizes: Sizes = Sizes(),
    images: int = 100,
    beam_size: int = 3,
    max_steps: int = 20,
    batch_size: int = 50,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> tuple[DecodeBenchmark, DecodeBenchmark]:
    """Beam search and greedy decoding of ``images`` random annotation sets, ``batch_size`` images at a time
    (as ``training.generate``), with a random-weight decoder; returns (beam, greedy)."""
    if images < 1 or beam_size < 1 or max_steps < 1 or batch_size < 1:
        raise ValueError("images, beam_size, max_steps and batch_size must be at least 1")
    device = torch.device(device)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    decoder = AttentionDecoder(sizes.decoder_config()).to(device).eval()
    a = torch.randn(images, sizes.locations, sizes.feature_dim, generator=generator).to(device)
    beam_search(decoder, a[:2], beam_size, 2)  # warm-up
    results = []
    for mode, run in ((f"beam {beam_size}", lambda x: beam_search(decoder, x, beam_size, max_steps)), ("greedy", lambda x: greedy_decode(decoder, x, max_steps))):
        _sync(device)
        start = time.perf_counter()
        captions = []
        for k in range(0, images, batch_size):
            captions += run(a[k : k + batch_size])
        _sync(device)
        seconds = time.perf_counter() - start
        ended = sum(1 for c in captions if c.tokens and c.tokens[-1] == Vocabulary.end_id) / len(captions)
        results.append(DecodeBenchmark(mode, images, max_steps, seconds, float(np.mean([len(c.tokens) for c in captions])), ended))
    return results[0], results[1]


# ---------------------------------------------------------------- feature extraction


@dataclass
class FeatureBenchmark:
    images: int
    source: str
    weights: str
    batch_size: int
    num_workers: int
    input_size: int
    pipeline_seconds: float
    bare_images: int
    bare_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def pipeline_images_per_s(self) -> float:
        return self.images / self.pipeline_seconds

    @property
    def bare_images_per_s(self) -> float:
        return self.bare_images / self.bare_seconds

    @property
    def ratio(self) -> float:
        return self.pipeline_images_per_s / self.bare_images_per_s


def synthetic_jpegs(directory: Path, count: int, width: int = 500, height: int = 375, seed: int = 0) -> list[CaptionedImage]:
    """``count`` JPEGs of random content at Flickr8k's typical size: smooth random colour fields plus noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(count):
        coarse = Image.fromarray(rng.integers(0, 256, (height // 25 + 1, width // 25 + 1, 3), dtype=np.uint8)).resize((width, height), Image.BICUBIC)
        pixels = np.asarray(coarse, dtype=np.int16) + rng.integers(-20, 21, (height, width, 3))
        path = directory / f"random_{i:05d}.jpg"
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, quality=90)
        records.append(CaptionedImage(path.stem, path, ("random content",), "train"))
    return records


def _shared_weights_dir() -> Path | None:
    from .experiment import PROJECT_ROOT

    candidate = PROJECT_ROOT.parent / "shared" / "weights"
    return candidate if candidate.is_dir() else None


def load_mobilenet(weights: str | None = "IMAGENET1K_V1", input_size: int = 224) -> tuple[torch.nn.Module, str, list[str]]:
    """MobileNetV2 'last' as the feature cache uses it, with ImageNet weights when they can be loaded.

    Without ``$SAT_COURSE_WEIGHTS_DIR``, the project's offline copy in ``../shared/weights`` is used when that
    folder exists (copied into torch's hub cache when missing there, as data/README.md describes); when no
    weights can be loaded, random weights with a note.
    """
    from .encoders import AnnotationEncoder, EncoderSpec

    notes: list[str] = []
    if weights is not None:
        shared = _shared_weights_dir() if not os.environ.get("SAT_COURSE_WEIGHTS_DIR") else None
        if shared is not None:
            os.environ["SAT_COURSE_WEIGHTS_DIR"] = str(shared)
        try:
            encoder = AnnotationEncoder(EncoderSpec("mobilenet_v2", weights=weights, input_size=input_size))
            if shared is not None:
                notes.append(f"SAT_COURSE_WEIGHTS_DIR not set: ImageNet weights looked up in {shared} first")
            return encoder, weights, notes
        except RuntimeError as error:
            notes.append(f"{weights} weights not loadable ({str(error).split('.')[0]}); random weights used instead "
                         "(same architecture and compute; set SAT_COURSE_WEIGHTS_DIR to a folder holding mobilenet_v2-b0353104.pth)")
        finally:
            if shared is not None:
                del os.environ["SAT_COURSE_WEIGHTS_DIR"]
    return AnnotationEncoder(EncoderSpec("mobilenet_v2", weights=None, input_size=input_size)), "none (random)", notes


@torch.inference_mode()
def bare_forward_seconds(encoder: torch.nn.Module, batch_size: int, input_size: int, batches: int, device: torch.device) -> float:
    """Seconds for ``batches`` forward passes on random preprocessed tensors (channels_last), after one warm-up."""
    encoder = encoder.to(device).eval().to(memory_format=torch.channels_last)
    x = torch.randn(batch_size, 3, input_size, input_size, device=device).contiguous(memory_format=torch.channels_last)
    encoder(x).float().cpu()
    _sync(device)
    start = time.perf_counter()
    for _ in range(batches):
        encoder(x).float().cpu()  # as extract_features: features come back to the host
    _sync(device)
    return time.perf_counter() - start


def bench_features(
    images: int = 256,
    root: str | Path | None = None,
    batch_size: int = 32,
    num_workers: int = 2,
    device: torch.device | str = "cpu",
    weights: str | None = "IMAGENET1K_V1",
    input_size: int = 224,
    use_flickr8k: bool = True,
) -> FeatureBenchmark:
    """Extraction throughput through ``extract_features`` beside the bare forward, in the same run.

    The bare forward runs ``ceil(images / batch_size / 2)`` batches (at least 2) after a warm-up, first,
    so both measurements see a warmed-up encoder.
    """
    from .datasets.flickr8k import load_flickr8k
    from .experiment import find_flickr8k
    from .features import extract_features

    if images < 1:
        raise ValueError("--images must be at least 1")
    device = torch.device(device)
    notes: list[str] = []
    encoder, weights_used, weight_notes = load_mobilenet(weights, input_size)
    notes += weight_notes
    bare_batches = max(2, math.ceil(images / batch_size / 2))
    bare_seconds = bare_forward_seconds(encoder, batch_size, input_size, bare_batches, device)
    with tempfile.TemporaryDirectory(prefix="sat_course_bench_") as tmp:
        folder = Path(root) if root else (find_flickr8k() if use_flickr8k else None)
        if folder is not None:
            records = load_flickr8k(folder, "train")[:images]
            source = f"Flickr8k train images from {folder}"
            if len(records) < images:
                notes.append(f"only {len(records)} images available")
        else:
            records = synthetic_jpegs(Path(tmp) / "images", images)
            source = "generated 500x375 random-content JPEGs"
            notes.append("no Flickr8k folder found (pass --root or set SAT_COURSE_FLICKR8K): timed on generated JPEGs")
        start = time.perf_counter()
        extract_features(records, encoder, Path(tmp) / "cache", "bench", "float16", batch_size=batch_size,
                         num_workers=num_workers, device=device, progress=False)
        _sync(device)
        pipeline_seconds = time.perf_counter() - start
    return FeatureBenchmark(len(records), source, weights_used, batch_size, num_workers, input_size,
                            pipeline_seconds, bare_batches * batch_size, bare_seconds, notes)


# ---------------------------------------------------------------- reports


def features_report(r: FeatureBenchmark) -> str:
    rows = [
        ("images", f"{r.images} ({r.source})"),
        ("encoder", f"mobilenet_v2 'last' at {r.input_size}x{r.input_size}, weights {r.weights}, channels_last, batch {r.batch_size}"),
        ("pipeline (extract_features)", f"{r.pipeline_images_per_s:.1f} images/s ({r.pipeline_seconds:.1f} s; JPEG decode + preprocessing in {r.num_workers} workers, forward, float16 cache writes)"),
        ("bare CNN forward", f"{r.bare_images_per_s:.1f} images/s ({r.bare_images} random preprocessed images in {r.bare_seconds:.1f} s)"),
        ("pipeline / bare", f"{100 * r.ratio:.0f}%  (target >= {100 * FEATURE_TARGET:.0f}%: {_verdict(r.ratio, FEATURE_TARGET)})"),
    ]
    rows += [("note", n) for n in r.notes]
    return format_table("Feature extraction", rows)


def train_report(results: Sequence[TrainBenchmark], peak_gflops: float, memory: MemoryEstimate, peak_scope: str) -> str:
    s = results[0].sizes
    rows = [
        ("sizes", f"batch {s.batch_size}, L={s.locations}, D={s.feature_dim}, hidden {s.hidden_dim}, embed {s.embed_dim}, "
                  f"attention {s.attention_dim}, vocabulary {s.vocab_size}, {s.caption_words} words + <start>/<end>"),
        ("parameters", f"{parameter_count(s) / 1e6:.2f} M"),
        ("fp32 matmul peak", f"{peak_gflops:.1f} GFLOP/s (2048x2048 torch.matmul, best of 5)"),
    ]
    fp32_soft = next((r for r in results if r.attention == "soft" and not r.bf16), None)
    for r in results:
        label = "soft" if r.attention == "soft" else "hard (sampled locations)"
        if r.bf16:
            speedup = f", {fp32_soft.ms_per_step / r.ms_per_step:.2f}x the fp32 step" if fp32_soft else ""
            rows.append((f"{label}, bf16 autocast", f"{r.ms_per_step:.0f} ms/step, {r.tokens_per_s:.0f} tokens/s{speedup} (--cpu-amp on CPU, amp on CUDA)"))
            continue
        ratio = r.gflops_per_s / peak_gflops
        rows += [
            (f"{label}: step", f"{r.ms_per_step:.0f} ms/step, {r.tokens_per_s:.0f} tokens/s ({r.steps} steps after 2 warm-up)"),
            (f"{label}: useful FLOPs", f"{r.flops.total / 1e9:.2f} GFLOP/step (forward {r.flops.forward / 1e9:.2f}, backward = 2x forward)"),
            (f"{label}: achieved", f"{r.gflops_per_s:.1f} GFLOP/s = {100 * ratio:.0f}% of peak  (target >= {100 * FLOPS_TARGET:.0f}%: {_verdict(ratio, FLOPS_TARGET)})"),
        ]
    rows += [
        ("peak RSS (ru_maxrss)", f"{memory.peak_rss / GIB:.2f} GiB ({peak_scope})"),
        ("train cache (memory-mapped)", f"{memory.train_cache / GIB:.2f} GiB ({FLICKR8K_TRAIN_IMAGES}x{s.locations}x{s.feature_dim}x2 bytes, float16)"),
        ("val cache (memory-mapped)", f"{memory.val_cache / GIB:.2f} GiB ({FLICKR8K_VAL_IMAGES} images)"),
        ("Flickr8k training estimate", f"{memory.total / GIB:.2f} GiB = peak RSS + both caches fully paged in  "
                                       f"(target <= 4 GiB: {'met' if memory.total <= MEMORY_TARGET_BYTES else 'not met'})"),
    ]
    return format_table("Training", rows)


def decode_report(beam: DecodeBenchmark, greedy: DecodeBenchmark, sizes: Sizes) -> str:
    rows = [
        ("setting", f"{beam.images} random images (L={sizes.locations}, D={sizes.feature_dim}, vocabulary {sizes.vocab_size}), "
                    f"random-weight decoder, at most {beam.max_steps} steps"),
    ]
    for r in (beam, greedy):
        rows.append((r.mode, f"{r.images_per_s:.1f} images/s ({r.seconds:.2f} s; mean length {r.mean_length:.1f}, {100 * r.ended:.0f}% ended with <end>)"))
    rows.append(("note", "an untrained decoder rarely emits <end>: this is the worst case, every caption at the maximum length"))
    return format_table("Decoding", rows)


def run(args: argparse.Namespace) -> int:
    what = args.what
    if what not in ("features", "train", "decode", "all"):
        raise ValueError(f"unknown benchmark {what!r}")
    steps = getattr(args, "steps", 10)
    if steps < 1:
        raise ValueError("--steps must be at least 1")
    device = pick_device(getattr(args, "device", None))
    print(format_table("Machine", machine_info(device)))
    print("(figures are only comparable between runs on an otherwise idle machine; a busy one depresses them)\n", flush=True)
    if what in ("features", "all"):
        result = bench_features(images=args.images, root=getattr(args, "root", None), device=device)
        print(features_report(result) + "\n", flush=True)
    if what in ("train", "all"):
        scoped = reset_peak_rss()
        peak = matmul_peak_gflops(device=device)
        results = [bench_train(attention=kind, steps=steps, device=device) for kind in ("soft", "hard")]
        if device.type == "cpu" and cpu_has_native_bf16():
            results.append(bench_train(attention="soft", steps=steps, device=device, cpu_amp=True))
        scope = "during the training benchmark" if scoped else "whole process so far: an upper bound"
        print(train_report(results, peak, memory_estimate(peak_rss_bytes()), scope) + "\n", flush=True)
    if what in ("decode", "all"):
        sizes = Sizes()
        beam, greedy = bench_decode(sizes, device=device)
        print(decode_report(beam, greedy, sizes) + "\n", flush=True)
    return 0

"""The GPU paths: the same losses, gradients, captions and features on CUDA as on the CPU, hard attention's draws on a
CUDA generator, and a command-line run on CUDA whose checkpoint decodes on a CPU. Skipped without a GPU (the CPU CI);
``scripts/gpu_check.sh`` runs them with the rest of the suite on a GPU machine. The device choice under torchrun is
checked everywhere."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sat_course.checkpoint import load_checkpoint, load_model, restore_rng_states, rng_states, save_atomic
from sat_course.decoding import decode
from sat_course.features import extract_features
from sat_course.model import AttentionDecoder, DecoderConfig
from sat_course.text import Vocabulary
from sat_course.training import pick_device

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(autouse=True)
def true_fp32_on_cuda():
    """Compare in fp32 proper: cuBLAS and cuDNN may otherwise round matrix products to TF32 (10-bit mantissa)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _decoder(attention: str = "soft") -> AttentionDecoder:
    torch.manual_seed(0)
    config = DecoderConfig(vocab_size=40, feature_dim=12, embed_dim=16, hidden_dim=24, attention_dim=16, dropout=0.0, attention=attention)
    return AttentionDecoder(config)


def _annotations_and_tokens(images: int = 6, steps: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    a = torch.randn(images, 9, 12, generator=generator)
    tokens = torch.randint(4, 40, (images, steps), generator=generator)
    tokens[:, 0] = Vocabulary.start_id
    return a, tokens


def test_an_unindexed_cuda_device_is_the_gpu_of_the_local_rank(monkeypatch):
    """Under torchrun every process must take its own GPU: cuda means cuda:LOCAL_RANK (cuda:0 outside torchrun)."""
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert pick_device("cuda") == torch.device("cuda", 0)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert pick_device("cuda") == torch.device("cuda", 1)
    assert pick_device("cuda:0") == torch.device("cuda", 0), "an index asked for is kept"
    assert pick_device("cpu") == torch.device("cpu")


@needs_cuda
@pytest.mark.parametrize("attention", ["soft", "hard"])
def test_teacher_forced_loss_and_gradients_equal_the_cpu(attention):
    """Hard attention at fixed locations (the draws themselves come from each device's own random stream)."""
    a, tokens = _annotations_and_tokens()
    locations = torch.randint(0, 9, (a.shape[0], tokens.shape[1] - 1), generator=torch.Generator().manual_seed(2))
    results = {}
    for device in ("cpu", "cuda"):
        decoder = _decoder(attention).to(device)
        fixed = locations.to(device) if attention == "hard" else None
        out = decoder(a.to(device), tokens.to(device), locations=fixed)
        loss = F.cross_entropy(out.logits.transpose(1, 2), tokens[:, 1:].to(device)) + out.alphas.square().sum() * 0.1
        if attention == "hard":
            loss = loss - out.log_p_locations.sum() * 0.01  # REINFORCE's term: the gradient through log alpha at the locations
        loss.backward()
        results[device] = (loss.detach().cpu(), {n: p.grad.cpu() for n, p in decoder.named_parameters()})
    torch.testing.assert_close(results["cuda"][0], results["cpu"][0], rtol=1e-5, atol=1e-6)
    for name, grad in results["cpu"][1].items():
        torch.testing.assert_close(results["cuda"][1][name], grad, rtol=1e-4, atol=1e-6, msg=name)


@needs_cuda
@pytest.mark.parametrize("beam_size", [1, 3])
def test_decoding_on_cuda_finds_the_cpu_captions(beam_size):
    a, _ = _annotations_and_tokens(images=8)
    captions = {device: decode(_decoder().to(device).eval(), a.to(device), beam_size, 12) for device in ("cpu", "cuda")}
    assert [c.tokens for c in captions["cuda"]] == [c.tokens for c in captions["cpu"]]
    np.testing.assert_allclose([c.log_prob for c in captions["cuda"]], [c.log_prob for c in captions["cpu"]], rtol=1e-5)
    assert all(c.alphas.device.type == "cpu" for c in captions["cuda"]), "captions come back on the CPU, ready to plot"


@needs_cuda
def test_hard_attention_draws_on_a_cuda_generator_follow_alpha():
    """Eq. 8's s_t ~ Multinoulli(alpha): location frequencies over many draws equal alpha within 5 standard errors,
    and one seed gives one sequence of draws."""
    decoder = _decoder("hard").cuda().eval()
    draws = 20000
    a = torch.randn(1, 9, 12, generator=torch.Generator().manual_seed(3)).expand(draws, 9, 12).cuda()
    word = torch.full((draws,), Vocabulary.start_id, device="cuda")
    h, c = decoder.init_state(a)
    with torch.no_grad():
        step = lambda seed: decoder.step(a, decoder.project_annotations(a), word, h, c, "sample", generator=torch.Generator("cuda").manual_seed(seed))
        out = step(0)
        assert torch.equal(out.location, step(0).location) and not torch.equal(out.location, step(1).location)
    alpha = out.alpha[0].double().cpu()
    frequency = torch.bincount(out.location.cpu(), minlength=9).double() / draws
    standard_error = (alpha * (1 - alpha) / draws).sqrt()
    assert ((frequency - alpha).abs() <= 5 * standard_error).all(), (frequency, alpha)


@needs_cuda
def test_features_extracted_on_cuda_equal_the_cpu_ones(tmp_path):
    from test_features import SPEC, _calibrated, _records

    encoder, records = _calibrated(SPEC), _records(tmp_path / "images")
    caches = {device: extract_features(records, encoder.to(device), tmp_path / device, "train", dtype="float32", batch_size=2,
                                       num_workers=2, device=device, progress=False) for device in ("cpu", "cuda")}
    assert caches["cuda"].image_ids == caches["cpu"].image_ids
    # Through MobileNetV2's 50-odd fp32 layers cuDNN's convolutions sum in another order than the CPU's: on an H200 the
    # features (of order 1) differed by up to 8e-5, well inside the float16 rounding (5e-4 of the value) of a real cache.
    scale = np.abs(caches["cpu"].features).max()
    np.testing.assert_allclose(caches["cuda"].features, caches["cpu"].features, rtol=0, atol=2e-4 * scale)


@needs_cuda
def test_random_states_saved_in_a_checkpoint_restore_after_loading_onto_the_gpu(tmp_path):
    """Resuming on a GPU loads last.pt with map_location="cuda", which moves the saved generator states there too."""
    save_atomic({"rng": rng_states()}, tmp_path / "rng.pt")
    expected = torch.rand(3), torch.rand(3, device="cuda")
    restore_rng_states(torch.load(tmp_path / "rng.pt", map_location="cuda", weights_only=False)["rng"])
    assert torch.equal(torch.rand(3), expected[0]) and torch.equal(torch.rand(3, device="cuda"), expected[1])


@needs_cuda
@pytest.mark.slow
def test_a_command_line_run_on_cuda_trains_and_its_checkpoint_decodes_on_a_cpu(tmp_path):
    """The default run on a GPU: cuda:0, bf16 autocast (amp), hard attention; best.pt loads and decodes on the CPU."""
    from test_training import TINY

    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "sat_course", "train", *TINY, "--attention", "hard", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    metrics = json.loads((out / "metrics_val.json").read_text())
    assert metrics["machine"]["device"].startswith("cuda:0"), metrics["machine"]
    history = load_checkpoint(out / "last.pt")["train_state"]["history"]
    assert len(history) == 2 and all(np.isfinite(row["train_loss"]) for row in history)
    model, vocab, _ = load_model(out / "best.pt")  # on the CPU by default
    assert all(p.device.type == "cpu" for p in model.parameters())
    a = model.annotations(torch.rand(2, 3, 64, 64) * 2 - 1)  # images scaled to [-1, 1], as ModelInputs gives them
    captions = decode(model.decoder, a, 3, 10)
    assert all(len(c.tokens) > 0 for c in captions)

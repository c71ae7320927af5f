"""Downloads against a local HTTP server: resume, checksums, extraction, reruns, and the command's errors."""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import threading
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sat_course.datasets import download
from sat_course.datasets.download import (
    DATASETS,
    DownloadError,
    add_download_arguments,
    download_dataset,
    download_file,
    instructions,
    run_download,
)


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``, honouring ``Range: bytes=N-`` unless told not to, and dropping connections halfway on request."""

    server: _FileServer

    def do_GET(self) -> None:
        state = self.server
        requested = self.headers.get("Range")
        state.requests.append((self.path, requested))
        body = state.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        start = 0
        if requested and state.honour_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", requested).group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if state.drops > 0:
            state.drops -= 1
            payload = payload[: len(payload) // 2]  # then the connection closes, short of Content-Length
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


class _FileServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.honour_range = True
        self.drops = 0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_port}/{name}"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setattr(download, "TIMEOUT_S", 10)
    httpd = _FileServer()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _zip(path: Path, members: dict[str, bytes]) -> bytes:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path.read_bytes()


def _flickr8k_archives(folder: Path) -> dict[str, bytes]:
    """Small archives shaped like the public Flickr8k ones (text files at the top of the text archive, macOS debris)."""
    folder.mkdir()
    rng = random.Random(0)
    images = {f"Flicker8k_Dataset/{n}_0a1b2c.jpg": rng.randbytes(30_000) for n in (101, 102, 103)}
    text = {
        "Flickr8k.token.txt": b"101_0a1b2c.jpg#0\tA dog runs .\n102_0a1b2c.jpg#0\tTwo cats sit .\n103_0a1b2c.jpg#0\tA red ball .\n",
        "Flickr_8k.trainImages.txt": b"101_0a1b2c.jpg\n",
        "Flickr_8k.devImages.txt": b"102_0a1b2c.jpg\n",
        "Flickr_8k.testImages.txt": b"103_0a1b2c.jpg\n",
    }
    return {
        "Flickr8k_Dataset.zip": _zip(folder / "Flickr8k_Dataset.zip", {**images, "__MACOSX/Flicker8k_Dataset/._101_0a1b2c.jpg": b"x"}),
        "Flickr8k_text.zip": _zip(folder / "Flickr8k_text.zip", {**text, "__MACOSX/._Flickr8k.token.txt": b"x"}),
    }


def _serve_flickr8k(server: _FileServer, tmp_path: Path) -> dict[str, tuple[download.Source, ...]]:
    """The real Flickr8k sources, pointed at the local server, with the archives' true checksums."""
    archives = _flickr8k_archives(tmp_path / "archives")
    server.files.update(archives)
    sources = tuple(
        replace(s, url=server.url(s.filename), sha256=hashlib.sha256(archives[s.filename]).hexdigest())
        for s in DATASETS["flickr8k"].sources
    )
    return {"flickr8k": sources}


def test_download_dataset_extracts_the_official_flickr8k_layout(server, tmp_path):
    sources = _serve_flickr8k(server, tmp_path)
    root = download_dataset("flickr8k", tmp_path / "data", sources=sources, progress=False)
    assert root == tmp_path / "data" / "flickr8k"
    assert sorted(p.name for p in (root / "Flicker8k_Dataset").iterdir()) == [
        "101_0a1b2c.jpg", "102_0a1b2c.jpg", "103_0a1b2c.jpg",
    ]
    assert (root / "Flickr8k_text" / "Flickr8k.token.txt").read_text().startswith("101_0a1b2c.jpg#0\tA dog runs .")
    assert (root / "Flickr8k_text" / "Flickr_8k.devImages.txt").is_file()
    assert not list(root.rglob("__MACOSX"))
    assert (root / "Flickr8k_Dataset.zip").is_file() and not list(root.glob("*.part"))


def test_rerun_downloads_nothing(server, tmp_path, capsys):
    sources = _serve_flickr8k(server, tmp_path)
    download_dataset("flickr8k", tmp_path / "data", sources=sources, progress=False)
    seen = len(server.requests)
    assert seen == 2
    download_dataset("flickr8k", tmp_path / "data", sources=sources, progress=False)
    assert len(server.requests) == seen
    assert "Flickr8k_Dataset.zip already extracted" in capsys.readouterr().out

    archive = tmp_path / "data" / "flickr8k" / "Flickr8k_text.zip"
    s = sources["flickr8k"][1]
    assert download_file(s.url, archive, s.sha256, progress=False) == archive
    assert len(server.requests) == seen


def test_interrupted_download_resumes_from_the_part_file(server, tmp_path):
    body = random.Random(1).randbytes(100_000)
    server.files["big.zip"] = body
    server.drops = 1
    dest = tmp_path / "big.zip"
    part = tmp_path / "big.zip.part"
    with pytest.raises(DownloadError, match="run the download again to resume"):
        download_file(server.url("big.zip"), dest, progress=False, attempts=1)
    assert not dest.exists() and part.stat().st_size == 50_000

    download_file(server.url("big.zip"), dest, hashlib.sha256(body).hexdigest(), progress=False)
    assert server.requests[-1] == ("/big.zip", "bytes=50000-")
    assert dest.read_bytes() == body and not part.exists()


def test_dropped_connection_is_resumed_within_one_call(server, tmp_path, capsys):
    body = random.Random(2).randbytes(80_000)
    server.files["big.zip"] = body
    server.drops = 1
    dest = download_file(server.url("big.zip"), tmp_path / "big.zip", hashlib.sha256(body).hexdigest())
    assert [r for _, r in server.requests] == [None, "bytes=40000-"]
    assert dest.read_bytes() == body
    assert "resuming (try 2 of 3)" in capsys.readouterr().err


def test_server_that_ignores_range_restarts_cleanly(server, tmp_path):
    body = random.Random(3).randbytes(10_000)
    server.files["big.zip"] = body
    server.honour_range = False
    (tmp_path / "big.zip.part").write_bytes(b"stale bytes from another file")
    dest = download_file(server.url("big.zip"), tmp_path / "big.zip", hashlib.sha256(body).hexdigest(), progress=False)
    assert server.requests == [("/big.zip", "bytes=29-")]
    assert dest.read_bytes() == body


def test_complete_part_file_is_not_fetched_again(server, tmp_path):
    body = b"all of it"
    server.files["small.zip"] = body
    (tmp_path / "small.zip.part").write_bytes(body)
    dest = download_file(server.url("small.zip"), tmp_path / "small.zip", hashlib.sha256(body).hexdigest(), progress=False)
    assert dest.read_bytes() == body and server.requests == [("/small.zip", f"bytes={len(body)}-")]


def test_checksum_mismatch_is_an_error_and_removes_the_file(server, tmp_path):
    server.files["big.zip"] = b"some bytes"
    dest = tmp_path / "big.zip"
    with pytest.raises(DownloadError, match=r"big\.zip: sha256 mismatch .* deleted"):
        download_file(server.url("big.zip"), dest, "0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []

    dest.write_bytes(b"a file put there by hand")
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        download_file(server.url("big.zip"), dest, "0" * 64, progress=False)
    assert not dest.exists() and len(server.requests) == 1


def test_unknown_checksum_is_printed_and_recorded(server, tmp_path, capsys):
    body = b"bytes whose checksum nobody published"
    server.files["new.zip"] = body
    dest = download_file(server.url("new.zip"), tmp_path / "new.zip", progress=False)
    digest = hashlib.sha256(body).hexdigest()
    assert digest in capsys.readouterr().out
    assert (tmp_path / "new.zip.sha256").read_text() == f"{digest}  new.zip\n"
    assert dest.read_bytes() == body


def test_http_error_names_the_url(server, tmp_path):
    with pytest.raises(DownloadError, match=r"missing\.zip: HTTP 404"):
        download_file(server.url("missing.zip"), tmp_path / "missing.zip", progress=False)


def test_archive_that_is_not_a_zip_is_deleted(server, tmp_path):
    server.files["caption_datasets.zip"] = b"<html>not a zip</html>"
    source = replace(DATASETS["karpathy"].sources[0], url=server.url("caption_datasets.zip"))
    with pytest.raises(DownloadError, match="not a valid zip archive"):
        download_dataset("karpathy", tmp_path, sources={"karpathy": (source,)}, progress=False)
    assert not (tmp_path / "karpathy" / "caption_datasets.zip").exists()


def test_archive_with_an_unexpected_layout_is_an_error(server, tmp_path):
    server.files["caption_datasets.zip"] = _zip(tmp_path / "c.zip", {"dataset_flickr8k.json": b"{}"})
    source = replace(DATASETS["karpathy"].sources[0], url=server.url("caption_datasets.zip"))
    with pytest.raises(DownloadError, match="did not produce dataset_flickr30k.json, dataset_coco.json"):
        download_dataset("karpathy", tmp_path / "data", sources={"karpathy": (source,)}, progress=False)
    assert not (tmp_path / "data" / "karpathy" / ".caption_datasets.zip.extracted").exists()


def _command(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_download_arguments(parser)
    return parser.parse_args(list(argv))


def test_unknown_dataset_is_one_clear_line(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown dataset 'flickr9k': choose one of flickr8k, flickr30k, coco, karpathy"):
        download_dataset("flickr9k", tmp_path)
    assert run_download(_command("--dataset", "flickr9k", "--data-dir", str(tmp_path))) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown dataset 'flickr9k'" in err
    assert list(tmp_path.iterdir()) == []


def test_flickr30k_prints_instructions(tmp_path, capsys):
    assert run_download(_command("--dataset", "flickr30k", "--data-dir", str(tmp_path))) == 0
    out = capsys.readouterr().out
    assert "https://shannon.cs.illinois.edu/DenotationGraph/" in out
    assert str(tmp_path / "flickr30k" / "flickr30k-images") in out
    assert "--dataset karpathy" in out
    assert list(tmp_path.iterdir()) == []


def test_registry_entries_are_well_formed():
    assert set(DATASETS) == {"flickr8k", "flickr30k", "coco", "karpathy"}
    for name, info in DATASETS.items():
        assert bool(info.sources) != bool(info.manual), name
        for source in info.sources:
            assert source.url.rsplit("/", 1)[1] == source.filename
            assert source.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", source.sha256)
            assert source.expect
        assert instructions(name)
    assert "http://images.cocodataset.org/zips/val2014.zip (6 GB)" in instructions("coco")

"""Fixtures for the browser tests: Chromium, a JupyterLab server on loopback, and a page in it.

The server runs from the Python that runs pytest (the course's ``.venv``), on 127.0.0.1 with a free port
and a random token, rooted at the project, with throwaway Jupyter config/data/runtime/settings folders so
that the user's own settings and extensions neither leak in nor get touched. Autosave is switched off so
that running a notebook in the browser never writes its outputs back into ``notebooks/``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags, Chromium's own connections are refused in a sandboxed CI.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
SERVER_START_TIMEOUT = 180  # seconds; the machine may be busy


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _ensure_chromium() -> Path:
    """The browser: $SAT_CHROMIUM if set, else /usr/bin/chromium, else a Chromium or Chrome on PATH (as on
    GitHub's runners), else Debian's chromium installed with apt (as root); skips, with the reason, otherwise."""
    chosen = os.environ.get("SAT_CHROMIUM")
    if chosen:
        if not Path(chosen).exists():
            pytest.skip(f"SAT_CHROMIUM={chosen} does not exist")
        return Path(chosen)
    if CHROMIUM.exists():
        return CHROMIUM
    for name in ("chromium", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found and "/snap/" not in os.path.realpath(found):  # a snap's wrapper is not a browser playwright can drive
            return Path(found)
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip(f"no Chromium: {CHROMIUM} is missing and we are not root to `apt-get install chromium` (or set SAT_CHROMIUM)")
    if shutil.which("apt-get") is None:
        pytest.skip(f"no Chromium: {CHROMIUM} is missing and there is no apt-get to install it (or set SAT_CHROMIUM)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            pytest.skip(f"no Chromium: `{' '.join(command)}` took more than 15 minutes")
        if done.returncode != 0:
            output = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            pytest.skip(f"no Chromium: `{' '.join(command)}` exited {done.returncode}:\n{output}")
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium: apt-get installed chromium but {CHROMIUM} is still missing")
    return CHROMIUM


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    return _ensure_chromium()


@pytest.fixture(scope="session")
def browser(chromium_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python package) is not installed")
    with sync_api.sync_playwright() as playwright:
        # Never `playwright install`: it downloads its own browser; the system Chromium is used instead.
        browser = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_kernel() -> None:
    """The notebooks' kernel ``python3`` is this Python (run.py installs it the same way)."""
    spec = Path(sys.prefix) / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    if spec.exists() or sys.prefix == sys.base_prefix:  # outside a venv, leave the system alone
        return
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"], check=True, stdout=subprocess.DEVNULL)


@dataclass
class JupyterLab:
    url: str  # http://127.0.0.1:PORT/
    token: str
    root: Path
    log: Path

    def lab_url(self, path: str, workspace: str | None = None) -> str:
        """The JupyterLab URL that opens ``path`` (relative to the server's root), in a fresh workspace by
        default, so that the tabs of an earlier page are not reopened (and their kernels not restarted)."""
        workspace = workspace or f"test-{secrets.token_hex(4)}"
        return f"{self.url}lab/workspaces/{workspace}/tree/{path}?token={self.token}"

    def log_tail(self) -> str:
        return _tail(self.log)

    def _get(self, api: str):
        request = urllib.request.Request(f"{self.url}{api}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def kernels_idle(self) -> bool:
        """Whether every kernel of the server is idle (as the server sees it)."""
        return all(kernel["execution_state"] == "idle" for kernel in self._get("api/kernels"))

    def notebook_idle(self, path: str) -> bool:
        """Whether the notebook ``path`` has a kernel session and its kernel is idle."""
        return any(s["path"] == path and (s.get("kernel") or {}).get("execution_state") == "idle" for s in self._get("api/sessions"))

    def shutdown_kernels(self) -> None:
        """Shut down every kernel session, so that the next notebook starts on a quiet machine."""
        for session in self._get("api/sessions"):
            request = urllib.request.Request(
                f"{self.url}api/sessions/{session['id']}", headers={"Authorization": f"token {self.token}"}, method="DELETE"
            )
            urllib.request.urlopen(request, timeout=60).close()


def _status_ok(url: str, token: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=5) as response:
            return response.status == 200 and "started" in json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _stop(process: subprocess.Popen) -> None:
    """Terminate the server (it shuts its kernels down), then kill its whole process group if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the server and the kernels it started
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory) -> JupyterLab:
    """A JupyterLab server on 127.0.0.1 rooted at the project; stopped at the end, failures included."""
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed")
    _ensure_kernel()
    home = tmp_path_factory.mktemp("jupyter")
    config, data, runtime, ipython = (home / name for name in ("config", "data", "runtime", "ipython"))
    settings = config / "lab" / "user-settings"
    for folder in (config, data, runtime, ipython, settings):
        folder.mkdir(parents=True, exist_ok=True)
    user_settings = {
        # Running a notebook in the browser must not write its outputs back into the course's notebooks.
        "docmanager-extension/plugin": {"autosave": False},
        # No "Would you like to get notified about official Jupyter news?" toast over the outputs.
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        # Every cell in the DOM and painted, whether scrolled into view or not: outputs can be checked anywhere.
        "notebook-extension/tracker": {"windowingMode": "none"},
    }
    for name, values in user_settings.items():
        folder, plugin = name.split("/")
        (settings / "@jupyterlab" / folder).mkdir(parents=True, exist_ok=True)
        (settings / "@jupyterlab" / folder / f"{plugin}.jupyterlab-settings").write_text(json.dumps(values))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(data),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(config / "lab" / "workspaces"),
        "IPYTHONDIR": str(ipython),
        "PYTHONUNBUFFERED": "1",
    }
    env["SAT_COURSE_TRACK"] = "synthetic"  # the notebooks' default track: minutes, not hours, on a CPU
    env.pop("MPLBACKEND", None)  # the kernel's matplotlib must use the inline backend, not e.g. Agg
    token = secrets.token_hex(24)
    port = _free_port()
    log = home / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={ROOT}",
        f"--FileCheckpoints.root_dir={home / 'checkpoints'}",  # no .ipynb_checkpoints/ in the project
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, to run JupyterLab commands
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # no PyPI queries from the extension manager
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _status_ok(url, token):
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited with {process.returncode} before answering:\n{_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer /api/status within {SERVER_START_TIMEOUT} s:\n{_tail(log)}")
            time.sleep(0.5)
        yield JupyterLab(url=url, token=token, root=ROOT, log=log)
    finally:
        _stop(process)


@pytest.fixture
def lab(jupyterlab) -> JupyterLab:
    """The server, for one test: build/browser/ exists for the screenshots; the test's kernels are shut down after."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield jupyterlab
    jupyterlab.shutdown_kernels()


@pytest.fixture
def page(browser, jupyterlab, request):
    """A fresh browser page (1400x1000); on failure, a screenshot, the console errors and the server log."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    request.node.browser_console = console
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            try:
                page.screenshot(path=str(SCREENSHOTS / f"failed-{request.node.name}.png"))
            except Exception:  # noqa: BLE001 - a screenshot is best effort
                pass
        context.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    if report.when == "call" and report.failed and "jupyterlab" in getattr(item, "fixturenames", ()):
        console = getattr(item, "browser_console", None)
        if console:
            report.sections.append(("browser console errors", "\n".join(console[-30:])))
        server = item.funcargs.get("jupyterlab") if hasattr(item, "funcargs") else None
        if server is not None:
            report.sections.append(("jupyter lab log (tail)", server.log_tail()))

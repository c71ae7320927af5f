"""A lock held across processes, so that one process builds what several ask for at once and the others reuse it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows has no flock
    fcntl = None


@contextmanager
def exclusive_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created when missing) for the ``with`` block; other holders wait.

    The lock goes with the open file: it is released when the block ends, and also when its process dies. Where
    there is no ``fcntl`` (Windows) nothing is locked: run one notebook at a time there.
    """
    with open(path, "w") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield

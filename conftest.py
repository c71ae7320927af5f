"""pytest settings shared by the notebook (nbval) and unit-test runs."""

from __future__ import annotations

import pytest

# nbval waits only 5 s for the rest of a cell's output once the kernel reports the cell finished. A cell that streamed
# progress bars for minutes can need longer on a busy 2-core machine, and nbval then fails a cell that ran fine.
NBVAL_OUTPUT_TIMEOUT_S = 120


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's notebook cells
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT_S

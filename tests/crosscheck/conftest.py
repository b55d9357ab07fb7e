"""Cross-checks against torchvision, transformers, timm, open_clip, PyG: `nox -s crosscheck` only.

Without those libraries (the plain test virtualenv) nothing here is collected; with them, every
test is marked `crosscheck`, which the default `-m` expression of pyproject.toml leaves out.
A complete, passing run writes reports/crosscheck.json and reports/crosscheck.md.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

NEEDED = ("torchvision", "transformers", "timm", "open_clip", "torch_geometric")
collect_ignore_glob = [] if all(importlib.util.find_spec(m) for m in NEEDED) else ["test_*.py"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/crosscheck/" in item.nodeid:
            item.add_marker(pytest.mark.crosscheck)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Overrides tests/conftest.py: paper-size models use both cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the reports after a complete passing run (not after `-k` or a failure)."""
    from tests.crosscheck import report
    from tests.crosscheck.common import FAILURES_SHOWN, RESULTS

    option = session.config.option  # no `lf` when the cache plugin is off (-p no:cacheprovider)
    complete = not option.keyword and not getattr(option, "lf", False)
    if exitstatus == 0 and complete and RESULTS:
        report.write(RESULTS, FAILURES_SHOWN)

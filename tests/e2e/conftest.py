"""Every test here drives a whole stack (the session's, or one of its own), so every test
here is at the `process` level, whichever fixture starts its stack."""

from __future__ import annotations

from pathlib import Path

import pytest
from chat_testkit.plugin import PROCESS

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(PROCESS)

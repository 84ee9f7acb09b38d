"""A missing program skips a test on a developer's machine and fails it under CI."""

from __future__ import annotations

import pytest
from chat_testkit.tools import require_tool


def test_a_found_program_is_answered() -> None:
    assert require_tool("/usr/bin/kubectl", "no kubectl") == "/usr/bin/kubectl"


def test_a_missing_program_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no kubectl"):
        require_tool(None, "no kubectl")


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_a_missing_program_fails_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match=r"no kubectl .*CI=true"):
        require_tool(None, "no kubectl")

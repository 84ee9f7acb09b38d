"""The offline model reads its settings like every service (chat_common.settings), so
`chat_common.serve` starts it; its own ones keep their `OFFLINE_MODEL_` names."""

from __future__ import annotations

import pytest
from chat_common.serve import explain
from offline_model.settings import Settings
from pydantic import ValidationError


def test_own_settings_come_from_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFLINE_MODEL_MODELS", "small, large,")
    monkeypatch.setenv("OFFLINE_MODEL_TOKENS_PER_SECOND", "40")
    monkeypatch.setenv("SHUTDOWN_GRACE_SECONDS", "3")
    monkeypatch.delenv("PORT", raising=False)

    settings = Settings()

    assert settings.models == ("small", "large")
    assert settings.tokens_per_second == 40
    assert settings.shutdown_grace_seconds == 3
    assert settings.port == 8090


def test_a_bad_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFLINE_MODEL_RETRY_AFTER_MS", "soon")

    with pytest.raises(ValidationError) as caught:
        Settings()

    assert explain(caught.value).startswith("OFFLINE_MODEL_RETRY_AFTER_MS: ")

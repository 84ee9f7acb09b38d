"""The nginx template: every placeholder known, the rendered file accepted by nginx."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from devstack.config import find_repo_root
from devstack.gateway import (
    TEMPLATE_VARIABLES,
    GatewaySettings,
    RateLimit,
    nginx_binary,
    render,
    template_path,
)

TEMPLATE = template_path(find_repo_root()).read_text()


def _settings(tmp_path: Path) -> GatewaySettings:
    return GatewaySettings(
        port=18080,
        auth="127.0.0.1:18001",
        conversations="127.0.0.1:18002",
        agents=("127.0.0.1:18003", "127.0.0.1:18004"),
        static_root=tmp_path,
        cors_allowed_origins="http://localhost:3000, https://app.example.com",
        auth_rate=RateLimit("10r/m", burst=20),
        send_rate=RateLimit("5r/s", burst=10),
        chatkit_rate=RateLimit("120r/m", burst=40),
    )


def test_the_template_uses_exactly_the_known_placeholders() -> None:
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", TEMPLATE))
    assert used == set(TEMPLATE_VARIABLES)


def test_devstack_gives_a_value_for_every_placeholder(tmp_path: Path) -> None:
    assert set(_settings(tmp_path).template_values(tmp_path)) == set(TEMPLATE_VARIABLES)


def test_nginx_accepts_the_rendered_config(tmp_path: Path) -> None:
    try:
        nginx = nginx_binary()
    except RuntimeError:
        pytest.skip("nginx is not installed")
    (tmp_path / "tmp").mkdir()
    config = tmp_path / "nginx.conf"
    config.write_text(render(TEMPLATE, _settings(tmp_path).template_values(tmp_path)))
    check = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(config), "-e", "stderr"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr


def test_an_unknown_placeholder_is_an_error_not_left_as_text() -> None:
    with pytest.raises(KeyError, match="NOPE"):
        render("listen ${NOPE};", {})


def test_nginx_variables_are_left_alone() -> None:
    assert render("$host ${GATEWAY_PORT} $request_id", {"GATEWAY_PORT": "80"}) == (
        "$host 80 $request_id"
    )


@pytest.mark.parametrize(
    ("rate", "seconds"), [("10r/m", 6), ("30r/m", 2), ("7r/m", 9), ("5r/s", 1), ("1r/m", 60)]
)
def test_retry_after_is_the_time_until_the_bucket_has_room(rate: str, seconds: int) -> None:
    assert RateLimit(rate, burst=1).retry_after == seconds


def test_a_malformed_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="10r/s"):
        RateLimit("10 per second", burst=1)

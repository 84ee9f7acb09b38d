"""The nginx template: every placeholder known, the rendered file accepted by nginx."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from chat_testkit.tools import require_tool
from devstack.config import StackConfig, find_repo_root
from devstack.gateway import (
    CONTAINER_TOPOLOGY,
    DERIVED,
    GatewaySettings,
    RateLimit,
    container_values,
    load_defaults,
    nginx_binary,
    render,
    template_path,
)

ROOT = find_repo_root()
TEMPLATE = template_path(ROOT).read_text()
DEFAULTS = load_defaults(ROOT)


def _settings(tmp_path: Path, **overrides: str) -> GatewaySettings:
    return GatewaySettings(
        port=18080,
        auth="127.0.0.1:18001",
        conversations="127.0.0.1:18002",
        agents=("127.0.0.1:18003", "127.0.0.1:18004"),
        static_root=tmp_path,
        settings=DEFAULTS | overrides,
    )


def _nginx_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    try:
        nginx = nginx_binary()
    except RuntimeError:
        nginx = require_tool(None, "nginx is not installed")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    config = tmp_path / "nginx.conf"
    config.write_text(text)
    return subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(config), "-e", "stderr"],
        capture_output=True,
        text=True,
    )


def test_the_template_uses_exactly_the_known_placeholders() -> None:
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", TEMPLATE))
    assert used == set(CONTAINER_TOPOLOGY) | set(DEFAULTS) | DERIVED
    assert set(container_values(ROOT)) == used


def test_devstack_gives_a_value_for_every_placeholder(tmp_path: Path) -> None:
    assert set(_settings(tmp_path).template_values(tmp_path)) == set(container_values(ROOT))


def test_nginx_accepts_the_rendered_config(tmp_path: Path) -> None:
    values = _settings(tmp_path).template_values(tmp_path)
    check = _nginx_check(tmp_path, render(TEMPLATE, values))
    assert check.returncode == 0, check.stderr


def test_nginx_accepts_trusted_proxies_and_hsts(tmp_path: Path) -> None:
    settings = _settings(tmp_path, REAL_IP_FROM="10.0.0.0/8 192.168.1.7", HSTS_MAX_AGE="600")
    text = render(TEMPLATE, settings.template_values(tmp_path))
    assert "set_real_ip_from 10.0.0.0/8; set_real_ip_from 192.168.1.7;" in text
    assert "real_ip_header X-Forwarded-For;" in text
    check = _nginx_check(tmp_path, text)
    assert check.returncode == 0, check.stderr


# A value for each gateway setting that differs from its default, so reading it back from
# the rendered file shows the environment was honoured.
ENVIRONMENT = {
    "CORS_ALLOWED_ORIGINS": "https://env.example.com",
    "AUTH_RATE_LIMIT": "7r/m",
    "AUTH_RATE_BURST": "3",
    "SESSION_RATE_LIMIT": "8r/m",
    "SESSION_RATE_BURST": "4",
    "SEND_RATE_LIMIT": "9r/m",
    "SEND_RATE_BURST": "5",
    "CHATKIT_RATE_LIMIT": "11r/m",
    "CHATKIT_RATE_BURST": "6",
    "CHAT_RATE_LIMIT": "13r/s",
    "CHAT_RATE_BURST": "17",
    "CONN_PER_ADDRESS": "19",
    "CONN_PER_USER": "23",
    "REAL_IP_FROM": "10.1.2.0/24",
    "HSTS_MAX_AGE": "4242",
    "ATTACHMENT_MAX_BYTES": "2097152",
    "LOG_FORMAT": "json",
}
RENDERED = {
    "CORS_ALLOWED_ORIGINS": ",https://env.example.com,",
    "AUTH_RATE_LIMIT": "zone=auth_per_ip:10m rate=7r/m;",
    "AUTH_RATE_BURST": "zone=auth_per_ip burst=3 nodelay;",
    "SESSION_RATE_LIMIT": "zone=session_per_ip:10m rate=8r/m;",
    "SESSION_RATE_BURST": "zone=session_per_ip burst=4 nodelay;",
    "SEND_RATE_LIMIT": "zone=send_per_user:10m rate=9r/m;",
    "SEND_RATE_BURST": "zone=send_per_user burst=5 nodelay;",
    "CHATKIT_RATE_LIMIT": "zone=chatkit_per_user:10m rate=11r/m;",
    "CHATKIT_RATE_BURST": "zone=chatkit_per_user burst=6 nodelay;",
    "CHAT_RATE_LIMIT": "zone=chat_per_user:10m rate=13r/s;",
    "CHAT_RATE_BURST": "zone=chat_per_user burst=17 nodelay;",
    "CONN_PER_ADDRESS": "limit_conn conn_per_ip 19;",
    "CONN_PER_USER": "limit_conn conn_per_user 23;",
    "REAL_IP_FROM": "set_real_ip_from 10.1.2.0/24;",
    "HSTS_MAX_AGE": '"max-age=4242; includeSubDomains"',
    "ATTACHMENT_MAX_BYTES": "client_max_body_size 2097152;",
    "LOG_FORMAT": "access_log /dev/stdout gateway_json;",
}


def test_every_gateway_setting_is_tested_here() -> None:
    assert set(ENVIRONMENT) == set(RENDERED) == set(DEFAULTS)


@pytest.mark.parametrize("name", sorted(ENVIRONMENT))
def test_make_run_takes_each_gateway_setting_from_the_environment(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, ENVIRONMENT[name])
    config = StackConfig(repo_root=ROOT)  # as `python -m devstack` builds it
    settings = replace(_settings(tmp_path), settings=config.gateway_settings())
    text = render(TEMPLATE, settings.template_values(tmp_path))
    assert RENDERED[name] in text, f"{name} from the environment is not in the nginx config"


def test_an_empty_variable_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_RATE_LIMIT", "")
    assert (
        StackConfig(repo_root=ROOT).gateway_settings()["CHAT_RATE_LIMIT"]
        == (DEFAULTS["CHAT_RATE_LIMIT"])
    )


def test_explicit_gateway_env_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONN_PER_USER", "3")
    config = StackConfig(repo_root=ROOT, gateway_env={"CONN_PER_ADDRESS": "5"})
    values = config.gateway_settings()
    assert (values["CONN_PER_USER"], values["CONN_PER_ADDRESS"]) == (
        DEFAULTS["CONN_PER_USER"],
        "5",
    )


def test_an_unknown_gateway_setting_is_an_error() -> None:
    with pytest.raises(ValueError, match="CHAT_RATE_LIMITS"):
        StackConfig(repo_root=ROOT, gateway_env={"CHAT_RATE_LIMITS": "1r/s"}).gateway_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHAT_RATE_LIMIT", "600/m"),
        ("CHAT_RATE_BURST", "-1"),
        ("CONN_PER_USER", "0"),
        ("CONN_PER_ADDRESS", "65536"),
        ("HSTS_MAX_AGE", "a year"),
        ("REAL_IP_FROM", "10.0.0.0/8; evil"),
        ("LOG_FORMAT", "yaml"),
    ],
)
def test_a_bad_gateway_setting_is_refused_by_name(name: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=name):
        _settings(tmp_path, **{name: value}).template_values(tmp_path)


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


@pytest.mark.parametrize("rate", ["10 per second", "0r/m"])
def test_a_malformed_rate_is_refused(rate: str) -> None:
    with pytest.raises(ValueError, match="10r/s"):
        RateLimit(rate, burst=1)

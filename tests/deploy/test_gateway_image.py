"""The gateway image: its defaults fill every placeholder of the nginx template, and its
entrypoint script renders a config that nginx accepts (checked with the local nginx)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from devstack.gateway import TEMPLATE_VARIABLES

from tests.deploy.support import (
    GATEWAY_TEMPLATE,
    ROOT,
    dockerfile_env,
    parse_dockerfile,
    template_placeholders,
)

DOCKERFILE = ROOT / "gateway" / "Dockerfile"
ENTRYPOINT = ROOT / "gateway" / "docker-entrypoint.d" / "40-chatkit-gateway.sh"
# Worked out by the entrypoint from the rates when not set.
COMPUTED = {"AUTH_RETRY_AFTER", "SEND_RETRY_AFTER", "CHATKIT_RETRY_AFTER"}
# Differ from devstack on purpose: container paths and compose service names.
IMAGE_SPECIFIC = {
    "STATIC_ROOT",
    "NGINX_TEMP_DIR",
    "AUTH_UPSTREAM",
    "CONVERSATIONS_UPSTREAM",
    "AGENT_UPSTREAM",
}
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def image_env() -> dict[str, str]:
    return dockerfile_env(parse_dockerfile(DOCKERFILE))


def render(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    """Runs the entrypoint script as the image would, with paths moved under tmp_path."""
    env = {"PATH": os.environ["PATH"], **image_env()}
    env |= {
        "GATEWAY_TEMPLATE": str(GATEWAY_TEMPLATE),
        "GATEWAY_CONFIG": str(tmp_path / "nginx.conf"),
        "NGINX_PID_FILE": str(tmp_path / "nginx.pid"),
        "NGINX_TEMP_DIR": str(tmp_path / "tmp"),
        "STATIC_ROOT": str(ROOT / "gateway" / "static"),
        "GATEWAY_PORT": "127.0.0.1:18080",
    }
    env |= overrides
    return subprocess.run(["sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True)


def test_image_has_a_default_for_every_template_placeholder() -> None:
    missing = template_placeholders() - set(image_env()) - COMPUTED
    assert not missing, f"gateway/Dockerfile needs ENV defaults for {sorted(missing)}"


def test_image_defaults_match_the_ones_make_run_uses() -> None:
    env = image_env()
    for name, value in TEMPLATE_VARIABLES.items():
        if name not in IMAGE_SPECIFIC | COMPUTED:
            assert env[name] == value, f"{name}: image {env[name]!r}, devstack {value!r}"


def test_image_serves_the_chat_page_and_runs_unprivileged() -> None:
    instructions = parse_dockerfile(DOCKERFILE)
    copies = " ".join(i.args for i in instructions if i.keyword == "COPY")
    assert "gateway/static/" in copies and "gateway/nginx.conf.template" in copies
    user = next(i.args for i in instructions if i.keyword == "USER")
    assert user.split(":")[0] not in ("0", "root")
    assert any(i.keyword == "HEALTHCHECK" and "/healthz" in i.args for i in instructions)
    # SIGQUIT is nginx's graceful stop: requests in flight finish first.
    assert next(i.args for i in instructions if i.keyword == "STOPSIGNAL") == "SIGQUIT"
    assert image_env()["GATEWAY_PORT"] == "8080"


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_rendered_config_is_accepted_by_nginx(tmp_path: Path) -> None:
    # Upstream re-resolution needs nginx >= 1.27.3 (the image's); Debian's is older.
    result = render(
        tmp_path,
        GATEWAY_UPSTREAM_RESOLVE="off",
        AUTH_UPSTREAM="127.0.0.1:8001",
        CONVERSATIONS_UPSTREAM="127.0.0.1:8002",
        AGENT_UPSTREAM="127.0.0.1:8003",
    )
    assert result.returncode == 0, result.stderr
    assert NGINX
    check = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr


def test_resolve_mode_re_resolves_every_upstream_through_the_local_dns(tmp_path: Path) -> None:
    result = render(tmp_path, GATEWAY_RESOLVER="127.0.0.11")
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "nginx.conf").read_text()
    for name, port in (("auth", 8001), ("conversations", 8002), ("agent", 8003)):
        assert (
            f"server {name}:{port} resolve; zone {name}_upstream 64k; "
            "resolver 127.0.0.11 valid=5s ipv6=off;"
        ) in config


def test_retry_after_follows_the_configured_rate(tmp_path: Path) -> None:
    result = render(tmp_path, AUTH_RATE_LIMIT="4r/m", SEND_RATE_LIMIT="5r/s")
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "nginx.conf").read_text()
    assert "set $rate_retry_after 15;" in config  # 60 s / 4
    assert "set $rate_retry_after 1;" in config


def test_a_missing_setting_stops_the_container_and_names_it(tmp_path: Path) -> None:
    env_without = {k: v for k, v in image_env().items() if k != "CORS_ALLOWED_ORIGINS"}
    result = subprocess.run(
        ["sh", str(ENTRYPOINT)],
        env={
            "PATH": os.environ["PATH"],
            **env_without,
            "GATEWAY_TEMPLATE": str(GATEWAY_TEMPLATE),
            "GATEWAY_CONFIG": str(tmp_path / "nginx.conf"),
            "NGINX_TEMP_DIR": str(tmp_path / "tmp"),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "${CORS_ALLOWED_ORIGINS}" in result.stderr

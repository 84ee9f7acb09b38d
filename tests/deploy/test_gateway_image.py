"""The gateway image: its defaults fill every placeholder of the nginx template, and its
entrypoint script renders a config that nginx accepts (checked with the local nginx)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from chat_testkit.tools import require_tool
from devstack.gateway import (
    CONTAINER_TOPOLOGY,
    DERIVED,
    GatewaySettings,
    load_defaults,
    render,
)

from tests.deploy.support import (
    GATEWAY_TEMPLATE,
    ROOT,
    dockerfile_env,
    parse_dockerfile,
    template_placeholders,
)

DOCKERFILE = ROOT / "gateway" / "Dockerfile"
ENTRYPOINT = ROOT / "gateway" / "docker-entrypoint.d" / "40-chatkit-gateway.sh"
DEFAULTS_FILE = ROOT / "gateway" / "defaults.env"
# Worked out by the entrypoint from the settings.
COMPUTED = DERIVED
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


def run_entrypoint(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    """Runs the entrypoint script as the image would, with paths moved under tmp_path."""
    env = {"PATH": os.environ["PATH"], **image_env()}
    env |= {
        "GATEWAY_TEMPLATE": str(GATEWAY_TEMPLATE),
        "GATEWAY_DEFAULTS": str(DEFAULTS_FILE),
        "GATEWAY_CONFIG": str(tmp_path / "nginx.conf"),
        "NGINX_PID_FILE": str(tmp_path / "nginx.pid"),
        "NGINX_TEMP_DIR": str(tmp_path / "tmp"),
        "STATIC_ROOT": str(ROOT / "gateway" / "static"),
        "GATEWAY_PORT": "127.0.0.1:18080",
    }
    env |= overrides
    return subprocess.run(["sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True)


def test_image_has_a_default_for_every_template_placeholder() -> None:
    missing = template_placeholders() - set(image_env()) - COMPUTED - set(load_defaults(ROOT))
    assert not missing, f"gateway/Dockerfile needs ENV defaults for {sorted(missing)}"


def test_gateway_settings_are_defined_once_not_in_the_image() -> None:
    twice = set(load_defaults(ROOT)) & set(image_env())
    assert not twice, f"{sorted(twice)}: their defaults live in gateway/defaults.env only"


def test_image_topology_matches_devstacks_container_values() -> None:
    env = image_env()
    for name, value in CONTAINER_TOPOLOGY.items():
        if name not in IMAGE_SPECIFIC:
            assert env[name] == value, f"{name}: image {env[name]!r}, devstack {value!r}"


# Every gateway setting, away from its default.
SETTINGS = {
    "CORS_ALLOWED_ORIGINS": "https://a.example.com, https://b.example.com",
    "AUTH_RATE_LIMIT": "4r/m",
    "AUTH_RATE_BURST": "3",
    "SESSION_RATE_LIMIT": "8r/m",
    "SESSION_RATE_BURST": "4",
    "SEND_RATE_LIMIT": "5r/s",
    "SEND_RATE_BURST": "5",
    "CHATKIT_RATE_LIMIT": "11r/m",
    "CHATKIT_RATE_BURST": "6",
    "CHAT_RATE_LIMIT": "13r/m",
    "CHAT_RATE_BURST": "17",
    "CONN_PER_ADDRESS": "19",
    "CONN_PER_USER": "23",
    "REAL_IP_FROM": "10.0.0.0/8, fd00::/8",
    "HSTS_MAX_AGE": "31536000",
    "ATTACHMENT_MAX_BYTES": "2097152",
    "LOG_FORMAT": "json",
}


@pytest.mark.parametrize("given", [{}, SETTINGS], ids=["defaults", "every-setting-changed"])
def test_the_image_renders_the_same_config_as_make_run(
    tmp_path: Path, given: dict[str, str]
) -> None:
    assert set(SETTINGS) == set(load_defaults(ROOT))
    topology = {
        "GATEWAY_UPSTREAM_RESOLVE": "off",
        "AUTH_UPSTREAM": "127.0.0.1:8001",
        "CONVERSATIONS_UPSTREAM": "127.0.0.1:8002",
        "AGENT_UPSTREAM": "127.0.0.1:8003",
    }
    result = run_entrypoint(tmp_path, **topology, **given)
    assert result.returncode == 0, result.stderr
    settings = GatewaySettings(
        port=18080,
        auth=topology["AUTH_UPSTREAM"],
        conversations=topology["CONVERSATIONS_UPSTREAM"],
        agents=(topology["AGENT_UPSTREAM"],),
        static_root=ROOT / "gateway" / "static",
        settings=load_defaults(ROOT) | given,
        worker_processes=image_env()["NGINX_WORKER_PROCESSES"],
    )
    devstack = render(GATEWAY_TEMPLATE.read_text(), settings.template_values(tmp_path))
    assert (tmp_path / "nginx.conf").read_text() == devstack


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHAT_RATE_LIMIT", "600/m"),
        ("CONN_PER_USER", "ten"),
        ("HSTS_MAX_AGE", "1y"),
        ("REAL_IP_FROM", "10.0.0.0/8;evil"),
        ("ATTACHMENT_MAX_BYTES", "10M"),
        ("LOG_FORMAT", "yaml"),
    ],
)
def test_a_bad_setting_stops_the_container_and_names_it(
    tmp_path: Path, name: str, value: str
) -> None:
    result = run_entrypoint(tmp_path, **{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_image_serves_the_chat_page_and_runs_unprivileged() -> None:
    instructions = parse_dockerfile(DOCKERFILE)
    copies = " ".join(i.args for i in instructions if i.keyword == "COPY")
    assert "gateway/static/" in copies and "gateway/nginx.conf.template" in copies
    assert "gateway/defaults.env" in copies
    user = next(i.args for i in instructions if i.keyword == "USER")
    assert user.split(":")[0] not in ("0", "root")
    assert any(i.keyword == "HEALTHCHECK" and "/healthz" in i.args for i in instructions)
    # SIGQUIT is nginx's graceful stop: requests in flight finish first.
    assert next(i.args for i in instructions if i.keyword == "STOPSIGNAL") == "SIGQUIT"
    assert image_env()["GATEWAY_PORT"] == "8080"


def test_rendered_config_is_accepted_by_nginx(tmp_path: Path) -> None:
    require_tool(NGINX, "nginx is not installed")
    # Upstream re-resolution needs nginx >= 1.27.3 (the image's); Debian's is older.
    result = run_entrypoint(
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
    result = run_entrypoint(tmp_path, GATEWAY_RESOLVER="127.0.0.11")
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "nginx.conf").read_text()
    for name, port in (("auth", 8001), ("conversations", 8002), ("agent", 8003)):
        assert (
            f"server {name}:{port} resolve; zone {name}_upstream 64k; "
            "resolver 127.0.0.11 valid=5s ipv6=off;"
        ) in config


def test_retry_after_follows_the_configured_rate(tmp_path: Path) -> None:
    result = run_entrypoint(tmp_path, AUTH_RATE_LIMIT="4r/m", SEND_RATE_LIMIT="5r/s")
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "nginx.conf").read_text()
    assert "set $rate_retry_after 15;" in config  # 60 s / 4
    assert "set $rate_retry_after 1;" in config


def test_a_missing_setting_stops_the_container_and_names_it(tmp_path: Path) -> None:
    env_without = {k: v for k, v in image_env().items() if k != "STATIC_ROOT"}
    result = subprocess.run(
        ["sh", str(ENTRYPOINT)],
        env={
            "PATH": os.environ["PATH"],
            **env_without,
            "GATEWAY_UPSTREAM_RESOLVE": "off",
            "GATEWAY_TEMPLATE": str(GATEWAY_TEMPLATE),
            "GATEWAY_DEFAULTS": str(DEFAULTS_FILE),
            "GATEWAY_CONFIG": str(tmp_path / "nginx.conf"),
            "NGINX_TEMP_DIR": str(tmp_path / "tmp"),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "${STATIC_ROOT}" in result.stderr

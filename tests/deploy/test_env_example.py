""".env.example lists every setting, and deploy/generate-env.sh turns it into a .env
whose secrets the services accept."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.support import (
    COMPOSE_FILE,
    ROOT,
    SERVICES,
    env_example_names,
    interpolations,
    template_placeholders,
)

# Placeholders the gateway image fills in itself (paths inside the image, its listen port).
GATEWAY_IMAGE_ONLY = {
    "GATEWAY_PORT",
    "STATIC_ROOT",
    "NGINX_WORKER_PROCESSES",
    "NGINX_PID_FILE",
    "NGINX_TEMP_DIR",
    "AUTH_UPSTREAM",
    "CONVERSATIONS_UPSTREAM",
    "AGENT_UPSTREAM",
}


def test_every_setting_a_service_reads_is_listed() -> None:
    listed = set(env_example_names())
    for service in SERVICES:
        missing = service.env_names() - listed
        assert not missing, f"{service.name} reads {sorted(missing)}: add them to .env.example"


def test_every_variable_compose_interpolates_is_listed() -> None:
    used = {name for name, _, _ in interpolations(COMPOSE_FILE.read_text())}
    missing = used - set(env_example_names())
    assert not missing, f"docker-compose.yml uses {sorted(missing)}"


def test_every_gateway_setting_an_operator_may_change_is_listed() -> None:
    missing = template_placeholders() - GATEWAY_IMAGE_ONLY - set(env_example_names())
    assert not missing, f"gateway/nginx.conf.template takes {sorted(missing)}"


def test_every_listed_name_is_read_by_something() -> None:
    known = set().union(*(s.env_names() for s in SERVICES))
    known |= {name for name, _, _ in interpolations(COMPOSE_FILE.read_text())}
    known |= template_placeholders()
    known |= {"DATABASE_URL", "GATEWAY_HOST_PORT"}
    stray = set(env_example_names()) - known
    assert not stray, f".env.example lists names nothing reads: {sorted(stray)}"


def test_required_secrets_are_left_blank_in_the_example() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    for secret in ("POSTGRES_PASSWORD", "JWT_PRIVATE_KEYS"):
        assert f"{secret}=" in lines, f"{secret} must be an empty, active line"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_generated_env_has_secrets_that_auth_accepts(tmp_path: Path) -> None:
    from auth.keys import key_ring_from_pems

    out = tmp_path / ".env"
    subprocess.run(["sh", str(ROOT / "deploy" / "generate-env.sh"), str(out)], check=True)
    values = dict(
        line.split("=", 1) for line in out.read_text().splitlines() if line and line[0] != "#"
    )
    assert len(values["POSTGRES_PASSWORD"]) >= 32 and values["POSTGRES_PASSWORD"].isalnum()
    pem = values["JWT_PRIVATE_KEYS"].strip("'")
    assert "\n" not in pem, "the key must stay on one line of the env file"
    ring = key_ring_from_pems(pem, source="generated .env")
    assert ring.signing_key.kid
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_generate_env_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / ".env"
    out.write_text("mine")
    script = ROOT / "deploy" / "generate-env.sh"
    result = subprocess.run(["sh", str(script), str(out)], capture_output=True, text=True)
    assert result.returncode != 0 and out.read_text() == "mine"

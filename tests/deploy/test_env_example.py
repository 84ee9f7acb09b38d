""".env.example lists every setting, and deploy/generate-env.sh turns it into a .env
whose secrets the services accept."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from chat_common import bound_ports
from chat_testkit.tools import require_tool
from devstack.gateway import DERIVED, load_defaults
from pydantic_core import PydanticUndefined

from tests.deploy.support import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    PRODUCT_SERVICES,
    ROOT,
    SERVICES,
    Service,
    env_example_names,
    interpolations,
    pydantic_default,
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
    missing = template_placeholders() - GATEWAY_IMAGE_ONLY - DERIVED - set(env_example_names())
    missing |= set(load_defaults(ROOT)) - set(env_example_names())
    assert not missing, f"gateway/nginx.conf.template takes {sorted(missing)}"


def test_every_listed_name_is_read_by_something() -> None:
    known = set().union(*(s.env_names() for s in SERVICES))
    known |= {name for name, _, _ in interpolations(COMPOSE_FILE.read_text())}
    known |= template_placeholders() | set(load_defaults(ROOT))
    known |= {"DATABASE_URL", "GATEWAY_HOST_PORT", bound_ports.PORT_FILE_ENV}
    stray = set(env_example_names()) - known
    assert not stray, f".env.example lists names nothing reads: {sorted(stray)}"


def test_required_secrets_are_left_blank_in_the_example() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    for secret in ("POSTGRES_PASSWORD", "JWT_PRIVATE_KEYS"):
        assert f"{secret}=" in lines, f"{secret} must be an empty, active line"


def test_generated_env_has_secrets_that_auth_accepts(tmp_path: Path) -> None:
    require_tool(shutil.which("openssl"), "openssl is not installed")
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


# Shown with the value a deployment uses, not the service's local-run default.
DEPLOYMENT_VALUES = {
    "ENVIRONMENT",
    "HOST",
    "PORT",
    "AUTH_JWKS_URL",
    "AUTH_URL",
    "CONVERSATIONS_GRPC_TARGET",
    "OPENAI_BASE_URL",
}


def example_values() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            values.setdefault(match[1], match[2])
    return values


@pytest.mark.parametrize("service", PRODUCT_SERVICES, ids=lambda s: s.name)
def test_listed_defaults_are_the_services_defaults(service: Service) -> None:
    values = example_values()
    for name in sorted(service.env_names() - DEPLOYMENT_VALUES):
        default = pydantic_default(service.settings, name)
        if default in (None, PydanticUndefined) or not values.get(name):
            continue
        shown = values[name]
        if isinstance(default, bool):
            assert shown == str(default).lower(), f".env.example: {name}={shown}, default {default}"
        elif isinstance(default, int | float):
            assert float(shown) == default, f".env.example: {name}={shown}, default {default}"
        else:
            assert shown == str(default), f".env.example: {name}={shown}, default {default}"


def test_listed_gateway_defaults_are_the_gateways_defaults() -> None:
    shown = example_values()
    for name, default in load_defaults(ROOT).items():
        assert shown[name] == default, f".env.example: {name}={shown[name]}, default {default!r}"

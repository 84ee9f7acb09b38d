"""docker-compose.yml agrees with the Dockerfiles, the services' settings and the gateway
(read with PyYAML: no Docker engine here)."""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any
from unittest import mock

import pytest
from devstack.gateway import load_defaults

from tests.deploy.support import (
    COMPOSE_FILE,
    NOT_DEPLOYED,
    PRODUCT_SERVICES,
    ROOT,
    SERVICES,
    SERVICES_BY_NAME,
    Service,
    container_environment,
    dockerfile_env,
    environment,
    interpolations,
    load_compose,
    load_object,
    parse_dockerfile,
    pydantic_default,
    read_dotenv,
)

BY_NAME = pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
# What must be up and healthy for the product to answer: every catalogued service, its
# database and the gateway.
LONG_RUNNING = ("postgres", "gateway", *(s.name for s in SERVICES))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def services(compose: dict[str, Any]) -> dict[str, Any]:
    result = compose["services"]
    assert isinstance(result, dict)
    return result


def seconds(duration: str) -> float:
    """A compose duration such as `30s`, `1m30s`, `500ms`."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts, f"not a duration: {duration}"
    return sum(float(n) * units[u] for n, u in parts)


def test_every_built_service_names_an_existing_dockerfile(compose: dict[str, Any]) -> None:
    for name, spec in services(compose).items():
        if "build" in spec:
            dockerfile = ROOT / spec["build"].get("context", ".") / spec["build"]["dockerfile"]
            assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"


@BY_NAME
def test_each_service_and_its_migrations_build_from_the_one_dockerfile_with_its_args(
    compose: dict[str, Any], service: Service
) -> None:
    names = [service.name] + ([f"{service.name}-migrate"] if service.migrate else [])
    for name in names:
        build = services(compose)[name]["build"]
        assert ROOT / build["context"] / build["dockerfile"] == service.dockerfile, name
        assert {k: str(v) for k, v in build["args"].items()} == service.build_args, name


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        spec = services(compose)[name]
        if "healthcheck" in spec:
            assert spec["healthcheck"].get("test"), f"{name}: empty healthcheck"
            continue
        dockerfile = ROOT / spec["build"]["dockerfile"]
        keywords = {i.keyword for i in parse_dockerfile(dockerfile)}
        assert "HEALTHCHECK" in keywords, f"{name}: no healthcheck in compose or {dockerfile}"


def test_postgres_keeps_its_data_in_a_named_volume_and_reports_readiness(
    compose: dict[str, Any],
) -> None:
    postgres = services(compose)["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "the database must live in a named volume"


@BY_NAME
def test_services_run_in_production_mode_on_all_interfaces(
    compose: dict[str, Any], service: Service
) -> None:
    env = environment(services(compose)[service.name])
    assert env["HOST"] == "0.0.0.0"
    assert str(env["PORT"]) == str(service.port)
    if "ENVIRONMENT" in service.env_names():
        assert env["ENVIRONMENT"] == "production"


@BY_NAME
def test_compose_passes_every_setting_the_service_reads_and_no_other(
    compose: dict[str, Any], service: Service
) -> None:
    passed = set(environment(services(compose)[service.name]))
    image_env = set(service.image_env())
    reads = service.env_names()
    assert reads - NOT_DEPLOYED - passed - image_env == set(), "settings compose never sets"
    assert passed - reads == set(), "compose sets names the service does not read"


@pytest.mark.parametrize("service", PRODUCT_SERVICES, ids=lambda s: s.name)
def test_compose_defaults_agree_with_the_services_defaults(
    compose: dict[str, Any], service: Service
) -> None:
    """`NAME: ${NAME:-x}` must not quietly change a default the service documents."""
    for name, value in environment(services(compose)[service.name]).items():
        found = list(interpolations(str(value)))
        if len(found) == 1 and found[0][0] == name and found[0][1] == ":-" and found[0][2]:
            default = pydantic_default(service.settings, name)
            assert str(default) == found[0][2], f"{service.name}: {name}"


def test_required_secrets_fail_fast_with_a_message() -> None:
    uses = list(interpolations(COMPOSE_FILE.read_text()))
    for secret in ("POSTGRES_PASSWORD", "JWT_PRIVATE_KEYS"):
        forms = [(op, arg) for name, op, arg in uses if name == secret]
        assert forms, f"{secret} is never used"
        assert all(op == ":?" and arg for op, arg in forms), f"use ${{{secret}:?message}}"


def test_migrations_run_once_before_the_services_that_need_them(compose: dict[str, Any]) -> None:
    for service in SERVICES:
        if not service.migrate:
            continue
        job = services(compose)[f"{service.name}-migrate"]
        assert job["command"] == ["python", "-m", service.migrate]
        assert job["restart"] == "no"
        assert job["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert job["image"] == services(compose)[service.name]["image"]
        waits = services(compose)[service.name]["depends_on"][f"{service.name}-migrate"]
        assert waits["condition"] == "service_completed_successfully"


def test_dependencies_wait_for_health(compose: dict[str, Any]) -> None:
    for name, spec in services(compose).items():
        for dependency, rule in (spec.get("depends_on") or {}).items():
            expected = "service_completed_successfully" if "migrate" in dependency else None
            assert rule["condition"] == (expected or "service_healthy"), f"{name} -> {dependency}"


def test_agent_can_be_scaled(compose: dict[str, Any]) -> None:
    agent = services(compose)["agent"]
    assert "container_name" not in agent, "replicas would clash on the name"
    assert "ports" not in agent, "replicas would clash on a published port"


def test_only_the_gateway_is_published(compose: dict[str, Any]) -> None:
    published = {name for name, spec in services(compose).items() if spec.get("ports")}
    assert published == {"gateway"}
    assert services(compose)["gateway"]["ports"][0].endswith(":8080")


def test_offline_model_is_behind_a_profile(compose: dict[str, Any]) -> None:
    assert services(compose)["offline-model"]["profiles"] == ["offline"]
    rule = services(compose)["agent"]["depends_on"]["offline-model"]
    assert rule["required"] is False, "the agent must start without the offline profile"


@BY_NAME
def test_stop_grace_period_outlasts_the_servers_graceful_shutdown(
    compose: dict[str, Any], service: Service
) -> None:
    grace = seconds(services(compose)[service.name]["stop_grace_period"])
    main = (service.directory / "src" / service.module / "__main__.py").read_text()
    waits = [float(x) for x in re.findall(r"timeout_graceful_shutdown=(\d+(?:\.\d+)?)", main)]
    if "SHUTDOWN_GRACE_SECONDS" in service.env_names():
        waits.append(float(pydantic_default(service.settings, "SHUTDOWN_GRACE_SECONDS")))
    assert all(grace > w for w in waits), f"{service.name}: {grace}s <= {waits}"


def test_service_addresses_point_at_compose_services_and_their_ports(
    compose: dict[str, Any],
) -> None:
    agent = environment(services(compose)["agent"])
    conversations = SERVICES_BY_NAME["conversations"]
    assert agent["CONVERSATIONS_GRPC_TARGET"] == f"conversations:{conversations.grpc_port}"
    for name in ("agent", "conversations"):
        url = environment(services(compose)[name])["AUTH_JWKS_URL"]
        assert url == f"http://auth:{SERVICES_BY_NAME['auth'].port}/.well-known/jwks.json"
    assert str(environment(services(compose)["conversations"])["GRPC_PORT"]) == "50051"


def test_gateway_upstreams_are_the_compose_services(compose: dict[str, Any]) -> None:
    gateway = services(compose)["gateway"]
    env = {**dockerfile_env(parse_dockerfile(ROOT / gateway["build"]["dockerfile"]))}
    env.update({k: str(v) for k, v in environment(gateway).items() if v is not None})
    for name in ("auth", "conversations", "agent"):
        assert env[f"{name.upper()}_UPSTREAM"] == f"{name}:{SERVICES_BY_NAME[name].port}"
        assert name in services(compose)


@pytest.fixture(scope="module")
def dotenv(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The .env a user gets from deploy/generate-env.sh (the offline-model setup)."""
    out = tmp_path_factory.mktemp("dotenv") / ".env"
    subprocess.run(["sh", str(ROOT / "deploy" / "generate-env.sh"), str(out)], check=True)
    return read_dotenv(out.read_text())


def settings_in_container(
    compose: dict[str, Any],
    name: str,
    image_env: dict[str, str],
    variables: dict[str, str],
    path: str,
) -> Any:
    """The service's settings, loaded from exactly the environment its container gets."""
    env = container_environment(services(compose)[name], image_env, variables)
    cls = load_object(path)
    with mock.patch.dict(os.environ, env, clear=True):
        return cls.from_env() if hasattr(cls, "from_env") else cls()


@BY_NAME
def test_each_container_environment_is_accepted_by_its_service(
    compose: dict[str, Any], dotenv: dict[str, str], service: Service
) -> None:
    settings = settings_in_container(
        compose, service.name, service.image_env(), dotenv, service.settings
    )
    assert (settings.host, settings.port) == ("0.0.0.0", service.port)
    if service in PRODUCT_SERVICES:
        assert settings.environment == "production"


def test_auth_signs_with_the_generated_key_in_its_container(
    compose: dict[str, Any], dotenv: dict[str, str]
) -> None:
    from auth.keys import load_key_ring

    auth = SERVICES_BY_NAME["auth"]
    settings = settings_in_container(compose, "auth", auth.image_env(), dotenv, auth.settings)
    assert load_key_ring(settings).signing_key.algorithm == "EdDSA"


def test_the_agent_talks_to_the_offline_model_without_a_key_and_openai_with_one(
    compose: dict[str, Any], dotenv: dict[str, str]
) -> None:
    agent = SERVICES_BY_NAME["agent"]
    offline = settings_in_container(compose, "agent", agent.image_env(), dotenv, agent.settings)
    assert offline.openai_base_url == "http://offline-model:8090/v1"
    with_key = dotenv | {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": ""}
    real = settings_in_container(compose, "agent", agent.image_env(), with_key, agent.settings)
    assert real.openai_base_url is None  # the SDK's default: OpenAI itself


# What each `python -m <service>.migrate` loads its settings with.
MIGRATE_SETTINGS = {
    "auth": "chat_common.migrate:MigrateSettings",
    "conversations": "chat_common.migrate:MigrateSettings",
}


@pytest.mark.parametrize("service", [s for s in SERVICES if s.migrate], ids=lambda s: s.name)
def test_migration_containers_reach_the_bundled_database(
    compose: dict[str, Any], dotenv: dict[str, str], service: Service
) -> None:
    settings = settings_in_container(
        compose,
        f"{service.name}-migrate",
        service.image_env(),
        dotenv,
        MIGRATE_SETTINGS[service.name],
    )
    password = dotenv["POSTGRES_PASSWORD"]
    assert settings.database_url == f"postgresql://chatkit:{password}@postgres:5432/chatkit"


def test_compose_refuses_to_start_without_the_secrets(compose: dict[str, Any]) -> None:
    auth = SERVICES_BY_NAME["auth"]
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        settings_in_container(compose, "auth", auth.image_env(), {}, auth.settings)


@pytest.mark.parametrize(
    "variables", [{}, {"ATTACHMENT_MAX_BYTES": "2097152"}], ids=["unset", "set"]
)
def test_gateway_and_conversations_get_the_same_attachment_size(
    compose: dict[str, Any], dotenv: dict[str, str], variables: dict[str, str]
) -> None:
    """The gateway's upload route and conversations refuse files over the same size,
    whether .env sets it or both keep their defaults."""
    variables = dotenv | variables
    gateway = load_defaults(ROOT) | container_environment(
        services(compose)["gateway"], {}, variables
    )
    conversations = SERVICES_BY_NAME["conversations"]
    default = str(pydantic_default(conversations.settings, "ATTACHMENT_MAX_BYTES"))
    env = container_environment(services(compose)["conversations"], {}, variables)
    assert gateway["ATTACHMENT_MAX_BYTES"] == env.get("ATTACHMENT_MAX_BYTES", default)

"""deploy/k8s: the kustomize output is valid Kubernetes (kubernetes-validate's bundled
schemas) and agrees with the services: ports, probes, settings, users, migrations."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from unittest import mock

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from chat_testkit.tools import require_tool
from devstack.gateway import DERIVED, load_defaults

from tests.deploy.support import (
    K8S_DIR,
    NOT_DEPLOYED,
    PRODUCT_SERVICES,
    ROOT,
    SERVICES,
    SERVICES_BY_NAME,
    Service,
    dockerfile_env,
    load_object,
    parse_dockerfile,
    pydantic_default,
    template_placeholders,
)

KUSTOMIZATIONS = ("base", "overlays/production")
# The newest schema the package bundles, and the oldest cluster we claim to support
# (gRPC probes are GA since 1.27).
KUBERNETES_VERSIONS = (kubernetes_validate.latest_version(), "1.29.0")
BY_NAME = pytest.mark.parametrize("service", PRODUCT_SERVICES, ids=lambda s: s.name)
GATEWAY_DOCKERFILE = ROOT / "gateway" / "Dockerfile"


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render(kustomization: str) -> list[dict[str, Any]]:
    """`kubectl kustomize` output; without kubectl, the base's own files one by one."""
    directory = K8S_DIR / kustomization
    binary = kubectl()
    if binary:
        result = subprocess.run(
            [binary, "kustomize", str(directory)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"kustomize {kustomization}: {result.stderr}"
        text = result.stdout
    else:
        files = sorted(p for p in directory.glob("*.yaml") if p.name != "kustomization.yaml")
        text = "\n---\n".join(p.read_text() for p in files)
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return render("base")


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"].startswith(name):
            return doc
    raise AssertionError(f"no {kind} {name}")


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    """The deployment's own container (named as its app label), not a sidecar beside it."""
    name = deployment["metadata"]["labels"]["app.kubernetes.io/name"]
    containers = deployment["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = next(c for c in containers if c["name"] == name)
    return result


def env_file(name: str) -> dict[str, str]:
    lines = (K8S_DIR / "base" / name).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate_against_the_kubernetes_schemas(
    kustomization: str, version: str
) -> None:
    if kustomization != "base":
        require_tool(kubectl(), "no kustomize renderer (kubectl): overlays need one")
    for doc in render(kustomization):
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = f"{doc['kind']}/{doc['metadata']['name']}"
            at = "/".join(str(p) for p in exc.path)
            raise AssertionError(f"{kustomization} {where}: {exc.message} at {at}") from None


def test_no_secret_is_committed() -> None:
    for path in K8S_DIR.rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            assert not (doc and doc.get("kind") == "Secret"), f"{path} holds a Secret"


@BY_NAME
def test_probes_ask_the_services_health_routes_on_their_ports(
    base: list[dict[str, Any]], service: Service
) -> None:
    spec = container(find(base, "Deployment", service.name))
    ports = {p["name"]: p["containerPort"] for p in spec["ports"]}
    assert ports["http"] == service.port
    assert spec["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert spec["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    env = {e["name"]: e.get("value") for e in spec["env"]}
    assert env["PORT"] == str(service.port)
    if service.grpc_port:
        assert ports["grpc"] == service.grpc_port
        assert spec["startupProbe"]["grpc"]["port"] == service.grpc_port


@BY_NAME
def test_services_route_to_the_pods_ports(base: list[dict[str, Any]], service: Service) -> None:
    deployment = find(base, "Deployment", service.name)
    svc = find(base, "Service", service.name)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    names = {p["name"] for p in container(deployment)["ports"]}
    for port in svc["spec"]["ports"]:
        assert port["targetPort"] in names
    assert svc["spec"]["ports"][0]["port"] == service.port


@BY_NAME
def test_pods_get_every_setting_they_need_and_only_known_ones(
    base: list[dict[str, Any]], service: Service
) -> None:
    spec = container(find(base, "Deployment", service.name))
    config = find(base, "ConfigMap", "chatkit-config")["metadata"]["name"]
    assert spec["envFrom"] == [{"configMapRef": {"name": config}}]
    given = set(env_file("config.env")) | {e["name"] for e in spec["env"]}
    needed = {"DATABASE_URL"} & service.env_names()
    if service.name == "auth":
        needed.add("JWT_PRIVATE_KEYS")
    if service.name in ("auth", "agent"):
        needed.add("AGENT_CLIENT_SECRET")  # the agent's service identity, checked by auth
    assert needed <= given
    secrets = {e["name"] for e in spec["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert secrets <= {"DATABASE_URL", "JWT_PRIVATE_KEYS", "OPENAI_API_KEY", "AGENT_CLIENT_SECRET"}


def test_shared_config_names_are_all_read_by_some_service() -> None:
    known = set().union(*(s.env_names() for s in SERVICES))
    assert set(env_file("config.env")) <= known
    config = env_file("config.env")
    assert config["ENVIRONMENT"] == "production" and config["HOST"] == "0.0.0.0"
    conversations = SERVICES_BY_NAME["conversations"]
    target = f"dns:///conversations-grpc:{conversations.grpc_port}"
    assert config["CONVERSATIONS_GRPC_TARGET"] == target
    assert config["AUTH_JWKS_URL"] == "http://auth:8001/.well-known/jwks.json"
    assert config["AUTH_URL"] == "http://auth:8001"  # the agent's /internal/token


def test_the_agent_reaches_every_conversations_pod_through_a_headless_service(
    base: list[dict[str, Any]],
) -> None:
    service = find(base, "Service", "conversations-grpc")["spec"]
    assert service["clusterIP"] == "None", "a ClusterIP would pin each gRPC channel to one pod"
    assert service["selector"] == {"app.kubernetes.io/name": "conversations"}
    port = SERVICES_BY_NAME["conversations"].grpc_port
    assert [p["port"] for p in service["ports"]] == [port]


@BY_NAME
def test_pods_run_as_the_images_unprivileged_user(
    base: list[dict[str, Any]], service: Service
) -> None:
    pod = find(base, "Deployment", service.name)["spec"]["template"]["spec"]
    user = next(i.args for i in service.image() if i.keyword == "USER")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == user.split(":")[0]


def test_every_container_has_resource_requests_and_limits(base: list[dict[str, Any]]) -> None:
    for doc in base:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        for c in pod["containers"] + pod.get("initContainers", []):
            assert {"requests", "limits"} <= set(c["resources"]), f"{c['name']}"


def test_every_deployment_has_a_disruption_budget(base: list[dict[str, Any]]) -> None:
    budgets = [d for d in base if d["kind"] == "PodDisruptionBudget"]
    for doc in base:
        if doc["kind"] == "Deployment":
            labels = doc["spec"]["template"]["metadata"]["labels"]
            assert any(
                b["spec"]["selector"]["matchLabels"].items() <= labels.items() for b in budgets
            ), doc["metadata"]["name"]


def test_the_agent_is_autoscaled(base: list[dict[str, Any]]) -> None:
    hpa = find(base, "HorizontalPodAutoscaler", "agent")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "agent",
    }
    assert hpa["spec"]["minReplicas"] >= 2
    assert "replicas" not in find(base, "Deployment", "agent")["spec"], "the HPA owns it"


def test_migration_job_runs_each_services_migrations_with_its_image(
    base: list[dict[str, Any]],
) -> None:
    pod = find(base, "Job", "chatkit-migrate")["spec"]["template"]["spec"]
    steps = pod["initContainers"] + pod["containers"]
    ran = {tuple(c["command"]): c["image"] for c in steps}
    for service in SERVICES:
        if service.migrate:
            image = container(find(base, "Deployment", service.name))["image"]
            assert ran[("python", "-m", service.migrate)] == image


def test_the_gateway_uses_the_images_template_and_defaults(base: list[dict[str, Any]]) -> None:
    """No copy of the template or of its defaults to keep in sync: the image has both."""
    assert not list(K8S_DIR.rglob("nginx.conf.template"))
    gateway = find(base, "Deployment", "gateway")
    mounts = {m["mountPath"] for m in container(gateway).get("volumeMounts", [])}
    assert "/etc/nginx/chatkit" not in mounts, "it would hide the image's template"


def test_gateway_settings_fill_the_template_and_point_at_the_services(
    base: list[dict[str, Any]],
) -> None:
    image = dockerfile_env(parse_dockerfile(GATEWAY_DOCKERFILE))
    values = image | load_defaults(ROOT) | env_file("gateway.env")
    assert template_placeholders() - set(values) <= DERIVED
    assert not set(load_defaults(ROOT)) & set(env_file("gateway.env")), (
        "gateway.env repeats a default of gateway/defaults.env: set only what differs"
    )
    for name in ("auth", "conversations", "agent"):
        assert values[f"{name.upper()}_UPSTREAM"] == f"{name}:{SERVICES_BY_NAME[name].port}"
    # nginx's resolver ignores the cluster's search domains: keep the Services' stable IPs.
    assert values["GATEWAY_UPSTREAM_RESOLVE"] == "off"
    gateway = container(find(base, "Deployment", "gateway"))
    mounts = {m["mountPath"] for m in gateway["volumeMounts"]}
    assert "/tmp" in mounts
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/healthz"


def test_every_kustomization_lists_only_existing_files() -> None:
    for kustomization in KUSTOMIZATIONS:
        data = yaml.safe_load((K8S_DIR / kustomization / "kustomization.yaml").read_text())
        for resource in data.get("resources", []):
            assert (K8S_DIR / kustomization / resource).exists(), resource
        for generator in data.get("configMapGenerator", []):
            for file in generator.get("envs", []) + generator.get("files", []):
                assert (K8S_DIR / kustomization / Path(file)).is_file(), file


def fake_secret() -> dict[str, str]:
    """The keys deploy/README.md tells operators to put in chatkit-secrets."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "DATABASE_URL": "postgresql://chatkit:secret@chatkit-db-rw:5432/chatkit",
        "JWT_PRIVATE_KEYS": pem.decode(),
        "OPENAI_API_KEY": "sk-test",
        "AGENT_CLIENT_SECRET": "a-long-random-agent-client-secret-for-tests",
    }


def pod_environment(
    spec: dict[str, Any], image_env: dict[str, str], secret: dict[str, str]
) -> dict[str, str]:
    env = image_env | env_file("config.env")
    for item in spec.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        elif item["valueFrom"]["secretKeyRef"]["key"] in secret:
            env[item["name"]] = secret[item["valueFrom"]["secretKeyRef"]["key"]]
    return env


@BY_NAME
def test_each_pod_environment_is_accepted_by_its_service(
    base: list[dict[str, Any]], service: Service
) -> None:
    spec = container(find(base, "Deployment", service.name))
    image_env = service.image_env()
    with mock.patch.dict(os.environ, pod_environment(spec, image_env, fake_secret()), clear=True):
        settings = load_object(service.settings)()
    assert (settings.environment, settings.host) == ("production", "0.0.0.0")
    assert settings.port == service.port


def commented_settings() -> dict[str, str]:
    """config.env's optional settings: `# NAME=default` lines, commented out."""
    found = (re.match(r"^#\s*([A-Z][A-Z0-9_]*)=(.*)$", line) for line in env_lines())
    return {m[1]: m[2] for m in found if m}


def env_lines() -> list[str]:
    return (K8S_DIR / "base" / "config.env").read_text().splitlines()


# Like compose, k8s offers every setting of these services: set in config.env or the
# Deployment, or documented there as a commented default an operator uncomments.
@pytest.mark.parametrize(
    "service", [SERVICES_BY_NAME["conversations"], SERVICES_BY_NAME["agent"]], ids=lambda s: s.name
)
def test_every_setting_the_service_reads_is_in_config_env_or_its_pod(
    base: list[dict[str, Any]], service: Service
) -> None:
    spec = container(find(base, "Deployment", service.name))
    offered = set(env_file("config.env")) | set(commented_settings())
    offered |= {e["name"] for e in spec["env"]} | set(service.image_env())
    assert service.env_names() - NOT_DEPLOYED - offered == set(), "k8s never offers these"


def test_commented_settings_are_read_by_a_service_and_not_also_set() -> None:
    known = set().union(*(s.env_names() for s in SERVICES))
    commented = set(commented_settings())
    assert commented <= known, "config.env documents names no service reads"
    assert not commented & set(env_file("config.env")), "both set and commented out"


@BY_NAME
def test_uncommenting_a_commented_default_changes_nothing(
    base: list[dict[str, Any]], service: Service
) -> None:
    spec = container(find(base, "Deployment", service.name))
    env = pod_environment(spec, service.image_env(), fake_secret())
    defaults = {k: v for k, v in commented_settings().items() if v and k not in env}
    cls = load_object(service.settings)
    with mock.patch.dict(os.environ, env, clear=True):
        plain = cls().model_dump()
    with mock.patch.dict(os.environ, env | defaults, clear=True):
        assert cls().model_dump() == plain


def test_gateway_and_conversations_agree_on_the_attachment_size() -> None:
    """The gateway's upload route and conversations refuse files over the same size."""
    gateway = load_defaults(ROOT) | env_file("gateway.env")
    conversations = SERVICES_BY_NAME["conversations"]
    default = pydantic_default(conversations.settings, "ATTACHMENT_MAX_BYTES")
    configured = env_file("config.env").get("ATTACHMENT_MAX_BYTES", str(default))
    assert gateway["ATTACHMENT_MAX_BYTES"] == configured


def test_the_production_overlay_gives_the_agent_its_public_https_url() -> None:
    """Behind the Ingress the gateway sees plain HTTP: attachment URLs need PUBLIC_URL."""
    overlay = K8S_DIR / "overlays" / "production"
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    config = next(g for g in kustomization["configMapGenerator"] if g["name"] == "chatkit-config")
    literals = dict(item.split("=", 1) for item in config["literals"])
    ingress = yaml.safe_load((overlay / "ingress.yaml").read_text())
    host = ingress["spec"]["rules"][0]["host"]
    assert literals["PUBLIC_URL"] == f"https://{host}"

"""deploy/observability/ agrees with the stack: Prometheus scrapes each service's own
port, Grafana is provisioned with the dashboard, the compose profile holds the whole
observability set, and the Kubernetes pods say where their metrics are."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.deploy.support import ROOT, load_compose
from tests.helpers.metrics import DASHBOARD, dashboard_metric_names

OBSERVABILITY = ROOT / "deploy/observability"
PORTS = {"auth": 8001, "conversations": 8002, "agent": 8003}
PROFILE = {"prometheus", "grafana", "jaeger", "nginx-exporter"}


def load_yaml(path: str) -> Any:
    return yaml.safe_load((OBSERVABILITY / path).read_text())


def scrape_targets() -> dict[str, list[str]]:
    targets: dict[str, list[str]] = {}
    for job in load_yaml("prometheus.yml")["scrape_configs"]:
        static = [t for c in job.get("static_configs", []) for t in c["targets"]]
        dns = [f"{n}:{c['port']}" for c in job.get("dns_sd_configs", []) for n in c["names"]]
        targets[job["job_name"]] = static + dns
    return targets


def test_prometheus_scrapes_each_service_on_its_own_port_and_the_nginx_exporter() -> None:
    targets = scrape_targets()
    for service, port in PORTS.items():
        assert targets[service] == [f"{service}:{port}"], service
    assert targets["nginx"] == ["gateway:9113"]


def test_the_dashboard_is_provisioned_with_its_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["panels"] and all(p["targets"] for p in dashboard["panels"])
    datasources = load_yaml("grafana/provisioning/datasources/prometheus.yaml")["datasources"]
    uids = {d["uid"] for d in datasources}
    used = {p["datasource"]["uid"] for p in dashboard["panels"]}
    assert used <= uids
    provider = load_yaml("grafana/provisioning/dashboards/chatkit.yaml")["providers"][0]
    compose = load_compose()["services"]["grafana"]
    mounted = {v.split(":")[1] for v in compose["volumes"]}
    assert provider["options"]["path"] in mounted


def test_the_dashboard_opens_a_turns_trace_by_the_trace_id_of_its_log_lines() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v["type"] for v in dashboard["templating"]["list"]}
    assert variables.get("trace_id") == "textbox"
    datasources = load_yaml("grafana/provisioning/datasources/prometheus.yaml")["datasources"]
    jaeger = next(d["uid"] for d in datasources if d["type"] == "jaeger")
    trace_link = next(link["url"] for link in dashboard["links"] if "${trace_id}" in link["url"])
    left = json.loads(trace_link.removeprefix("/explore?left="))
    assert left["datasource"] == jaeger
    assert left["queries"][0]["query"] == "${trace_id}"


@pytest.mark.parametrize(
    "title",
    ["Turns per second", "Time to first token", "error rate", "tokens", "gRPC", "DB pool"],
)
def test_the_dashboard_shows(title: str) -> None:
    titles = [p["title"] for p in json.loads(DASHBOARD.read_text())["panels"]]
    assert any(title.lower() in t.lower() for t in titles), title


def test_the_dashboard_queries_name_metrics() -> None:
    names = dashboard_metric_names()
    assert "agent_turns_total" in names
    assert "agent_time_to_first_token_seconds_bucket" in names


def test_the_observability_profile_holds_its_services_and_publishes_nothing() -> None:
    services = load_compose()["services"]
    in_profile = {n for n, s in services.items() if "observability" in s.get("profiles", [])}
    assert in_profile == PROFILE
    assert not any(services[n].get("ports") for n in PROFILE)
    exporter = services["nginx-exporter"]
    assert exporter["network_mode"] == "service:gateway"  # stub_status answers loopback only
    assert any("127.0.0.1:8080/_gateway/status" in part for part in exporter["command"])
    ports = yaml.safe_load((OBSERVABILITY / "compose.ports.yaml").read_text())["services"]
    assert set(ports) <= PROFILE


def test_the_gateway_status_location_is_loopback_only() -> None:
    template = (ROOT / "gateway/nginx.conf.template").read_text()
    block = template.split("location = /_gateway/status {", 1)[1].split("}", 1)[0]
    assert "stub_status;" in block
    assert "deny all;" in block and "allow 127.0.0.1;" in block


@pytest.mark.parametrize("service", sorted(PORTS))
def test_pods_carry_scrape_annotations_for_their_container_port(service: str) -> None:
    docs = yaml.safe_load_all((ROOT / f"deploy/k8s/base/{service}.yaml").read_text())
    deployment = next(d for d in docs if d and d["kind"] == "Deployment")
    template = deployment["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    container_ports = {
        p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])
    }
    assert int(annotations["prometheus.io/port"]) == PORTS[service]
    assert PORTS[service] in container_ports

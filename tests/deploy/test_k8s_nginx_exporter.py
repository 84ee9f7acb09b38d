"""Kubernetes: nginx's counters are exported by the standard exporter as a sidecar of the
gateway pod, reading the loopback-only stub_status, on a port annotated for scraping and
let through by the Prometheus NetworkPolicy."""

from __future__ import annotations

from typing import Any

import yaml

from tests.deploy.support import ROOT

EXPORTER_PORT = 9113


def gateway_pod() -> dict[str, Any]:
    docs = yaml.safe_load_all((ROOT / "deploy/k8s/base/gateway.yaml").read_text())
    deployment = next(d for d in docs if d and d["kind"] == "Deployment")
    template: dict[str, Any] = deployment["spec"]["template"]
    return template


def test_the_gateway_pod_runs_the_nginx_exporter_on_the_loopback_status() -> None:
    containers = {c["name"]: c for c in gateway_pod()["spec"]["containers"]}
    exporter = containers["nginx-exporter"]
    assert exporter["image"].startswith("nginx/nginx-prometheus-exporter:")
    assert "--nginx.scrape-uri=http://127.0.0.1:8080/_gateway/status" in exporter["args"]
    assert [p["containerPort"] for p in exporter["ports"]] == [EXPORTER_PORT]
    assert [p["containerPort"] for p in containers["gateway"]["ports"]] == [8080]


def test_the_exporter_port_is_annotated_for_scraping() -> None:
    annotations = gateway_pod()["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(EXPORTER_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"


def test_prometheus_may_reach_the_exporter() -> None:
    policy = yaml.safe_load((ROOT / "deploy/observability/k8s-allow-prometheus.yaml").read_text())
    [selector] = policy["spec"]["podSelector"]["matchExpressions"]
    assert "gateway" in selector["values"]
    ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert EXPORTER_PORT in ports

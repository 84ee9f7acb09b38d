"""Metrics of the running stack: a turn through the gateway moves the right counters and
histograms (scraped before and after, from each service's own port), label values stay
bounded, `/metrics` is never routed by the gateway, and the dashboard names only metrics
that are exported."""

from __future__ import annotations

import asyncio
import re

import httpx
from chat_testkit.polling import poll_until
from devstack import Stack
from prometheus_client.metrics_core import Metric

from tests.helpers.gateway import GatewayClient
from tests.helpers.metrics import dashboard_metric_names, exported_names, scrape, total

SEND_ROUTE = "/api/chat/conversations/{conversation_id}/messages"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The nginx exporter's names (from stub_status), not scraped here: no exporter runs in tests.
NGINX_EXPORTER = {
    "nginx_up",
    "nginx_connections_active",
    "nginx_connections_accepted",
    "nginx_connections_handled",
    "nginx_http_requests_total",
}


def scrape_all(stack: Stack) -> dict[str, list[Metric]]:
    with httpx.Client(timeout=10) as client:
        agents = [f for url in stack.agent_urls for f in scrape(client, url)]
        return {
            "auth": scrape(client, stack.auth_url),
            "conversations": scrape(client, stack.conversations_url),
            "agent": agents,
        }


async def _quiet(stack: Stack) -> dict[str, list[Metric]]:
    """A scrape with no reply streaming: an earlier test's REST turn whose client left
    goes on in the background, and would move the counters of the turn measured here."""

    async def probe() -> dict[str, list[Metric]]:
        return await asyncio.to_thread(scrape_all, stack)

    return await poll_until(
        probe,
        lambda metrics: total(metrics["agent"], "agent_open_streams") == 0,
        within=60,
        interval=0.2,
        message="replies of earlier tests still streaming",
    )


async def test_a_turn_moves_the_turn_model_grpc_and_http_metrics(
    stack: Stack, gateway: GatewayClient
) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    before = await _quiet(stack)
    response = await gateway.send(user, conversation["id"], "Count me")
    assert response.status_code == 201, response.text
    after = scrape_all(stack)

    def moved(service: str, sample: str, **labels: str) -> float:
        return total(after[service], sample, **labels) - total(before[service], sample, **labels)

    rest = {"protocol": "rest"}
    assert moved("agent", "agent_turns_total", outcome="complete", **rest) == 1
    assert moved("agent", "agent_time_to_first_token_seconds_count", **rest) == 1
    assert moved("agent", "agent_turn_duration_seconds_count", **rest) == 1
    assert moved("agent", "agent_model_tokens_total", direction="output") > 0
    assert total(after["agent"], "agent_open_streams") == 0
    assert moved("agent", "http_requests_total", route=SEND_ROUTE, status="201") == 1
    assert moved("conversations", "conversations_grpc_calls_total", method="StartTurn") == 1
    assert moved("conversations", "conversations_grpc_call_duration_seconds_count") >= 2
    assert moved("auth", "auth_verify_total", result="ok") >= 1
    assert total(after["conversations"], "conversations_db_pool_requests_total") > 0


async def test_logins_are_counted_by_outcome(stack: Stack, gateway: GatewayClient) -> None:
    with httpx.Client(timeout=10) as client:
        before = scrape(client, stack.auth_url)
        user = await gateway.sign_up()
        wrong = {"email": user.email, "password": "not the password"}
        assert (await gateway.http.post("/api/auth/login", json=wrong)).status_code == 401
        after = scrape(client, stack.auth_url)
    for outcome in ("success", "failure"):
        moved = total(after, "auth_logins_total", outcome=outcome) - total(
            before, "auth_logins_total", outcome=outcome
        )
        assert moved == 1, outcome


async def test_label_values_are_bounded(stack: Stack, gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    await gateway.send(user, conversation["id"], "label me")
    await gateway.http.get(f"/api/chat/conversations/{conversation['id']}", headers=user.headers)
    for service, families in scrape_all(stack).items():
        for family in families:
            for sample in family.samples:
                for value in sample.labels.values():
                    assert not UUID.search(value), f"{service} {sample.name}: {value}"


async def test_the_gateway_never_routes_metrics(gateway: GatewayClient) -> None:
    assert (await gateway.http.get("/metrics")).status_code == 404


async def test_the_gateways_status_answers_loopback(gateway: GatewayClient) -> None:
    response = await gateway.http.get("/_gateway/status")
    assert response.status_code == 200  # the test runs on loopback, as the exporter does
    assert response.text.startswith("Active connections:")


async def test_the_dashboard_names_only_exported_metrics(
    stack: Stack, gateway: GatewayClient
) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    await gateway.send(user, conversation["id"], "for the dashboard")
    exported = set(NGINX_EXPORTER)
    for families in scrape_all(stack).values():
        exported |= exported_names(families)
    missing = dashboard_metric_names() - exported
    assert not missing, f"the dashboard names metrics nobody exports: {sorted(missing)}"

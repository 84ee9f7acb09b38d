"""chat_common.metrics in this process: requests counted by route template (never the raw
path), unmatched paths under one fixed label, `/metrics` in the Prometheus text format,
and nothing at all when metrics are off."""

from __future__ import annotations

import httpx
import pytest
from chat_common.metrics import UNMATCHED, install_metrics
from fastapi import FastAPI
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families


def make_app(*, enabled: bool = True) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    install_metrics(app, enabled=enabled)
    return app


def requests_counted(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


@pytest.fixture
def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(make_app()), base_url="http://t")


async def test_a_request_is_counted_by_its_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    before = requests_counted("GET", "/items/{item_id}", "200")
    assert (await client.get("/items/41")).status_code == 200
    assert (await client.get("/items/42")).status_code == 200
    assert requests_counted("GET", "/items/{item_id}", "200") == before + 2
    assert REGISTRY.get_sample_value(
        "http_request_duration_seconds_count", {"method": "GET", "route": "/items/{item_id}"}
    )


async def test_a_validation_error_is_counted_under_the_route(client: httpx.AsyncClient) -> None:
    before = requests_counted("GET", "/items/{item_id}", "422")
    assert (await client.get("/items/not-a-number")).status_code == 422
    assert requests_counted("GET", "/items/{item_id}", "422") == before + 1


async def test_unmatched_paths_share_one_label(client: httpx.AsyncClient) -> None:
    before = requests_counted("GET", UNMATCHED, "404")
    for path in ("/nope", "/a/b/c", "/items"):
        assert (await client.get(path)).status_code == 404
    assert requests_counted("GET", UNMATCHED, "404") == before + 3
    routes = {
        s.labels["route"]
        for family in REGISTRY.collect()
        if family.name == "http_requests"
        for s in family.samples
    }
    assert not routes & {"/nope", "/a/b/c"}, "a raw path became a label value"


async def test_unknown_methods_are_one_label(client: httpx.AsyncClient) -> None:
    before = requests_counted("OTHER", UNMATCHED, "404")
    await client.request("PROPFIND", "/nope")
    assert requests_counted("OTHER", UNMATCHED, "404") == before + 1


async def test_metrics_are_served_in_the_prometheus_text_format(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/items/1")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"http_requests", "http_request_duration_seconds"} <= names


async def test_metrics_off_means_no_route_and_no_counting() -> None:
    app = make_app(enabled=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        before = requests_counted("GET", "/items/{item_id}", "200")
        assert (await c.get("/metrics")).status_code == 404
        await c.get("/items/1")
    assert requests_counted("GET", "/items/{item_id}", "200") == before

"""With ENVIRONMENT=production the developer aids are off: no /docs or /redoc (the
schema stays at /openapi.json on the service's own port), no gRPC server reflection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc
import httpx
import pytest
from conversations.deps import STATE
from conversations.main import create_app
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

if TYPE_CHECKING:
    from conversations.settings import Settings


async def reflected_services(port: int) -> list[str] | grpc.StatusCode:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        try:
            async for response in stub.ServerReflectionInfo(iter([request]), timeout=10):
                return [s.name for s in response.list_services_response.service]
        except grpc.aio.AioRpcError as exc:
            return exc.code()
    return []


@pytest.fixture
async def production(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    prod = settings.model_copy(update={"environment": "production"})  # GRPC_PORT=0 too
    app = create_app(prod)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as http:
            yield http, STATE.of(app).grpc_port


async def test_production_serves_no_docs_but_the_schema(
    production: tuple[httpx.AsyncClient, int],
) -> None:
    http, _ = production

    assert (await http.get("/docs")).status_code == 404
    assert (await http.get("/redoc")).status_code == 404
    assert (await http.get("/openapi.json")).status_code == 200


async def test_production_has_no_grpc_reflection(
    production: tuple[httpx.AsyncClient, int], grpc_port: int
) -> None:
    _, production_grpc_port = production

    assert await reflected_services(production_grpc_port) == grpc.StatusCode.UNIMPLEMENTED
    development = await reflected_services(grpc_port)  # the session's server
    assert isinstance(development, list) and "grpc.health.v1.Health" in development


async def test_development_serves_docs(settings: Settings) -> None:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as http:
        assert (await http.get("/docs")).status_code == 200

"""The real processes: migrations, HTTP health and docs, gRPC health and reflection, and a
graceful stop."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import conversations.models  # noqa: F401  (registers the tables)
import grpc
import httpx
import psycopg
import pytest
from chat_testkit.processes import ServiceProcess
from conversations.migrate import MIGRATIONS
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from sqlmodel import SQLModel

if TYPE_CHECKING:
    from services.conversations.tests.conftest import RunningService

SERVICE = "chat.conversations.v1.ConversationsService"
# The tables this service owns.
TABLES = (
    "conversations",
    "messages",
    "send_budgets",
    "attachments",
    "attachment_keys",
    "usage_days",
)


@pytest.mark.process
def test_concurrent_migrations_on_an_empty_database_both_succeed(
    make_database: Callable[..., str],
) -> None:
    url = make_database("conversations_migrate")
    command = [sys.executable, "-m", "conversations.migrate"]
    env = {"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"}
    runs = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE) for _ in range(2)]

    results = [(run.wait(60), run.stderr.read().decode() if run.stderr else "") for run in runs]

    assert [code for code, _ in results] == [0, 0], results
    with psycopg.connect(url) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version_conversations").fetchall()
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    assert version == [(MIGRATIONS.head(),)]
    assert {t for (t,) in tables} == {*TABLES, "alembic_version_conversations"}


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, is_nullable = 'YES' FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = ANY(%s)",
            (list(TABLES),),
        ).fetchall()
    migrated = set(rows)
    modelled = {
        (table.name, column.name, bool(column.nullable))
        for table in SQLModel.metadata.sorted_tables
        if table.name in TABLES
        for column in table.columns
    }
    assert migrated == modelled


def test_the_migrated_indexes_match_the_models(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
            " AND tablename IN ('conversations', 'messages') AND indexname LIKE 'ix_%'"
        ).fetchall()
    modelled = {
        index.name
        for table in SQLModel.metadata.sorted_tables
        if table.name in ("conversations", "messages")
        for index in table.indexes
    }
    assert {name for (name,) in rows} == modelled


def test_health_readiness_and_openapi_answer(service_process: RunningService) -> None:
    with httpx.Client(base_url=service_process.url) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").json() == {"status": "ready"}
        paths = http.get("/openapi.json").json()["paths"]
    assert "/api/chat/conversations/{conversation_id}/messages" in paths


def test_grpc_health_reports_serving(service_process: RunningService) -> None:
    with grpc.insecure_channel(service_process.grpc_target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", SERVICE):
            response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_grpc_reflection_lists_the_services(service_process: RunningService) -> None:
    with grpc.insecure_channel(service_process.grpc_target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        requests = iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        (response,) = list(stub.ServerReflectionInfo(requests, timeout=5))
    names = {s.name for s in response.list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health"} <= names


@pytest.mark.process
def test_sigterm_stops_the_process_gracefully(service_process: RunningService) -> None:
    env = {**service_process.env, "LOG_LEVEL": "INFO"}
    process = ServiceProcess.python_module(
        "conversations-sigterm", "conversations", env=env, ready_path="/readyz"
    ).start()
    assert process.proc is not None

    process.proc.send_signal(signal.SIGTERM)

    # uvicorn re-raises the signal once shut down, so the exit status is "terminated".
    assert process.proc.wait(15) in (0, -signal.SIGTERM), process.tail()
    log = process.tail(lines=20)
    assert "gRPC server stopped" in log and "Application shutdown complete" in log, log

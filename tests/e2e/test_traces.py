"""Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, one turn sent through the gateway with
a client's W3C `traceparent` arrives at an OTLP/HTTP receiver as spans of that ONE
trace from every hop: the agent (its HTTP server span and the model call), the gRPC
call to conversations (client and server) and conversations' Postgres statements; and
with LOG_FORMAT=json the turn's log lines from the gateway, auth and the agent carry
that trace id.

Without a (well-formed) client `traceparent` the trace starts at the gateway: the trace id
on its access line is the one every service's spans and log lines of that request carry,
and a malformed client value is replaced, never passed on.

The receiver is a tiny HTTP server on loopback, started here, decoding what the
services' exporters POST to /v1/traces."""

from __future__ import annotations

import gzip
import json
import re
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from chat_testkit.plugin import DatabaseFactory
from chat_testkit.polling import poll_until
from devstack import Stack
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from tests.helpers.gateway import GatewayClient
from tests.helpers.stacks import own_stack


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str  # 32 hex digits
    kind: int
    attributes: dict[str, str]


class OtlpReceiver:
    """Collects the spans POSTed to http://127.0.0.1:<port>/v1/traces (OTLP/HTTP protobuf)."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.add(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, request: ExportTraceServiceRequest) -> None:
        spans = []
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(_received(attributes.get("service.name", ""), span))
        with self._lock:
            self.spans.extend(spans)

    def of_trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def __enter__(self) -> OtlpReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _received(service: str, span: PbSpan) -> ReceivedSpan:
    attributes = {a.key: a.value.string_value for a in span.attributes}
    return ReceivedSpan(service, span.name, span.trace_id.hex(), span.kind, attributes)


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def traced_stack(
    make_database: DatabaseFactory,
    tmp_path_factory: pytest.TempPathFactory,
    receiver: OtlpReceiver,
) -> Iterator[Stack]:
    """A stack of its own whose services export traces to the test's receiver."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        # JSON lines, access lines included: a turn's lines must carry its trace id.
        "LOG_FORMAT": "json",
        "ACCESS_LOG": "true",
    }
    with own_stack("traces", make_database, tmp_path_factory, env=env) as running:
        yield running


@pytest.fixture
async def gateway(traced_stack: Stack) -> AsyncIterator[GatewayClient]:
    async with GatewayClient(traced_stack.gateway_url) as client:
        yield client


def is_postgres(span: ReceivedSpan) -> bool:
    return "postgresql" in (span.attributes.get("db.system"), span.attributes.get("db.system.name"))


SERVER: int = PbSpan.SPAN_KIND_SERVER
CLIENT: int = PbSpan.SPAN_KIND_CLIENT
# Each hop of a turn, as a span that must be in its trace.
HOPS: dict[str, Callable[[ReceivedSpan], bool]] = {
    "agent HTTP server (from nginx)": lambda s: s.service == "agent" and s.kind == SERVER,
    "agent model call": lambda s: s.service == "agent" and s.name.startswith("chat "),
    "agent gRPC client": lambda s: s.service == "agent" and s.kind == CLIENT and "Turn" in s.name,
    "conversations gRPC server": lambda s: s.service == "conversations" and s.kind == SERVER,
    "conversations Postgres": lambda s: s.service == "conversations" and is_postgres(s),
}


async def spans_with_hops(
    receiver: OtlpReceiver, trace_id: str, hops: dict[str, Callable[[ReceivedSpan], bool]]
) -> list[ReceivedSpan]:
    """The spans of `trace_id`, once each of `hops` has one there."""

    async def spans_of_the_trace() -> list[ReceivedSpan]:
        return receiver.of_trace(trace_id)

    return await poll_until(
        spans_of_the_trace,
        lambda spans: all(any(seen(s) for s in spans) for seen in hops.values()),
        within=15,
        message=f"a span of every hop ({list(hops)}) under trace id {trace_id}",
    )


async def test_one_turn_is_one_trace_from_the_gateway_to_postgres(
    gateway: GatewayClient, receiver: OtlpReceiver
) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = f"00-{trace_id}-{parent}-01"
    sent = await gateway.send(user, conversation["id"], "trace me", {"traceparent": traceparent})
    assert sent.status_code == 201, sent.text

    spans = await spans_with_hops(receiver, trace_id, HOPS)
    assert {s.service for s in spans} >= {"agent", "conversations"}


def json_lines_of_trace(stack: Stack, process: str, trace_id: str) -> list[dict[str, object]]:
    """`process`'s log lines that name `trace_id`, each parsed (a line not JSON fails)."""
    text = stack.log_path(process).read_text(errors="replace")
    return [json.loads(line) for line in text.splitlines() if trace_id in line]


async def test_json_log_lines_of_a_turn_carry_its_trace_id(traced_stack: Stack) -> None:
    with traced_stack.extra_gateway(gateway_env={"LOG_FORMAT": "json"}) as url:
        async with GatewayClient(url) as client:
            user = await client.sign_up()
            conversation = await client.create_conversation(user)
            trace_id = secrets.token_hex(16)
            traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
            sent = await client.send(
                user, conversation["id"], "log me", {"traceparent": traceparent}
            )
            assert sent.status_code == 201, sent.text
        gateway = f"gateway-{url.rsplit(':', 1)[1]}"
        processes = (gateway, "agent", "auth")

        async def lines_by_process() -> dict[str, list[dict[str, object]]]:
            return {p: json_lines_of_trace(traced_stack, p, trace_id) for p in processes}

        lines = await poll_until(
            lines_by_process,
            lambda found: all(found.values()),
            within=5,
            message=f"a JSON log line with the trace id from each of {processes}",
        )
    for process, found in lines.items():
        assert all(line["trace_id"] == trace_id for line in found), (process, found)
    assert {line["service"] for found in lines.values() for line in found} >= {
        "gateway",
        "agent",
        "auth",
    }


# ---- a trace that starts at the gateway (the client sent no usable traceparent)
GATEWAY_TRACE = re.compile(r'(?:trace=|"trace_id":")([0-9a-f]{32})\b')


async def gateway_trace_id(stack: Stack, request_id: str) -> str:
    """The trace id on the gateway's access line of the request sent with `request_id`."""

    async def traces() -> list[str]:
        text = stack.log_path("gateway").read_text(errors="replace")
        lines = [line for line in text.splitlines() if request_id in line]
        return [m.group(1) for line in lines if (m := GATEWAY_TRACE.search(line))]

    found = await poll_until(traces, within=5, message=f"an access line of {request_id}")
    assert len(found) == 1, found
    return found[0]


async def test_a_turn_without_traceparent_is_traced_under_the_gateways_trace_id(
    traced_stack: Stack, gateway: GatewayClient, receiver: OtlpReceiver
) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    request_id = f"no-traceparent-{secrets.token_hex(8)}"
    sent = await gateway.send(
        user, conversation["id"], "trace me from the gateway", {"X-Request-ID": request_id}
    )
    assert sent.status_code == 201, sent.text

    trace_id = await gateway_trace_id(traced_stack, request_id)
    assert trace_id != "0" * 32
    spans = await spans_with_hops(receiver, trace_id, HOPS)
    assert {s.service for s in spans} >= {"agent", "conversations"}

    # The services' JSON lines of this request (auth's check and the agent's turn) say so.
    for process in ("auth", "agent"):
        lines = [
            line
            for line in json_lines_of_trace(traced_stack, process, trace_id)
            if line.get("request_id") == request_id
        ]
        assert lines, f"no JSON line of {process} for {request_id} with trace {trace_id}"


CONVERSATIONS_SERVER: dict[str, Callable[[ReceivedSpan], bool]] = {
    "conversations HTTP server": lambda s: s.service == "conversations" and s.kind == SERVER,
}


@pytest.mark.parametrize(
    "malformed",
    [
        lambda trace, parent: f"00-{trace.upper()}-{parent}-01",  # W3C: lowercase hex only
        lambda trace, parent: f"00-{trace}-{parent}-01-extra",  # version 00 has 4 fields
    ],
    ids=["uppercase", "trailing-field"],
)
async def test_a_malformed_traceparent_is_replaced_not_passed_on(
    traced_stack: Stack,
    gateway: GatewayClient,
    receiver: OtlpReceiver,
    malformed: Callable[[str, str], str],
) -> None:
    user = await gateway.sign_up()
    client_trace = "abcdef" + secrets.token_hex(13)  # letters, so .upper() changes it
    request_id = f"malformed-traceparent-{secrets.token_hex(8)}"
    listed = await gateway.http.get(
        "/api/chat/conversations",
        headers={
            **user.headers,
            "X-Request-ID": request_id,
            "traceparent": malformed(client_trace, secrets.token_hex(8)),
        },
    )
    assert listed.status_code == 200, listed.text

    trace_id = await gateway_trace_id(traced_stack, request_id)
    assert trace_id != client_trace
    # What conversations received is the gateway's trace, and nothing of the client's.
    await spans_with_hops(receiver, trace_id, CONVERSATIONS_SERVER)
    assert receiver.of_trace(client_trace) == []

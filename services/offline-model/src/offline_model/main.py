"""create_app(): a raw ASGI app routing the few paths the offline model serves.

Raw ASGI rather than a framework: the benchmark uses this server as its "instant model" floor,
so per-request overhead here must stay far below the stack under test.

`GET /_stats` ({"calls": n}: model requests this process received, answered or not) lets a
test see that a refused turn called no model; it is outside the OpenAI paths (no /v1).
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

import orjson

from offline_model import chat_completions, responses, wire
from offline_model.chat_completions import BadRequest
from offline_model.script import FailureCounter, plan
from offline_model.settings import Settings, get_settings
from offline_model.wire import Receive, Scope, Send

log = logging.getLogger("offline_model")


class OfflineModel:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.failures = FailureCounter()
        self.calls = 0  # one event loop per process: a plain int is exact
        self.default_model = settings.models[0] if settings.models else "offline-model"
        self.models_body = orjson.dumps(
            {"object": "list", "data": [self._model(m) for m in settings.models]}
        )
        self.apis: dict[str, ModuleType] = {
            "/chat/completions": chat_completions,
            "/responses": responses,
        }

    @staticmethod
    def _model(model_id: str) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "created": 0, "owned_by": "offline-model"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == "/healthz":
            await wire.send_json(send, 200, b'{"status":"ok"}')
            return
        if path == "/_stats" and scope["method"] == "GET":
            await wire.send_json(send, 200, orjson.dumps({"calls": self.calls}))
            return
        # Accept base URLs with or without /v1.
        path = path.removeprefix("/v1")
        method = scope["method"]
        api = self.apis.get(path)
        if api is not None and method == "POST":
            await self._model_route(api, receive, send)
        elif path == "/models" and method == "GET":
            await wire.send_json(send, 200, self.models_body)
        elif path.startswith("/models/") and method == "GET":
            await wire.send_json(send, 200, orjson.dumps(self._model(path[len("/models/") :])))
        else:
            await wire.send_error(send, 404, message=f"Unknown route {method} {scope['path']}.")

    async def _model_route(self, api: ModuleType, receive: Receive, send: Send) -> None:
        self.calls += 1
        try:
            request = orjson.loads(await wire.read_body(receive))
            if not isinstance(request, dict):
                raise BadRequest("The body must be a JSON object.")
            prompt = api.prompt_of(request)
        except (orjson.JSONDecodeError, BadRequest) as exc:
            await wire.send_error(send, 400, message=str(exc))
            return
        answer = plan(
            prompt, tokens_per_second=self.settings.tokens_per_second, failures=self.failures
        )
        if answer.fail_code:
            await wire.send_error(
                send, answer.fail_code, retry_after_ms=self.settings.retry_after_ms
            )
            return
        model = request.get("model")
        model = model if isinstance(model, str) and model else self.default_model
        if request.get("stream"):
            head, deltas, tail = api.stream_parts(request, answer, model)
            await wire.stream(send, receive, answer, head, deltas, tail)
        else:
            await wire.respond(send, receive, answer, api.complete(request, answer, model))


def create_app(settings: Settings | None = None) -> OfflineModel:
    return OfflineModel(settings or get_settings())

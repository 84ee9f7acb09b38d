"""In process: the tool registry. Whatever the model asks for, a call gives text the
model can read; nothing a tool or its arguments do escapes as an exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agent.tools import NO_PARAMETERS, Tool, ToolRegistry, default_tools


async def echo(args: dict[str, Any]) -> str:
    return f"echo {args}"


async def broken(_: dict[str, Any]) -> str:
    raise RuntimeError("internal detail")


REGISTRY = ToolRegistry(
    [Tool("echo", "Says its arguments.", echo), Tool("broken", "Always fails.", broken)]
)


def test_specs_describe_every_tool_with_its_parameters() -> None:
    assert REGISTRY.specs() == [
        {"name": "echo", "description": "Says its arguments.", "parameters": NO_PARAMETERS},
        {"name": "broken", "description": "Always fails.", "parameters": NO_PARAMETERS},
    ]


async def test_a_tool_gets_its_arguments_as_a_dict() -> None:
    assert await REGISTRY.run("echo", '{"a": 1}') == "echo {'a': 1}"


async def test_empty_arguments_are_no_arguments() -> None:
    assert await REGISTRY.run("echo", "  ") == "echo {}"


@pytest.mark.parametrize(
    ("name", "arguments", "result"),
    [
        ("nope", "{}", "error: there is no tool named 'nope'"),
        ("echo", "{not json", "error: the arguments are not valid JSON"),
        ("echo", "[1, 2]", "error: the arguments must be a JSON object"),
        ("broken", "{}", "error: the tool broken failed"),
    ],
)
async def test_a_bad_call_is_an_error_result_not_an_exception(
    name: str, arguments: str, result: str
) -> None:
    assert await REGISTRY.run(name, arguments) == result


async def test_a_failing_tool_tells_the_model_nothing_of_its_internals() -> None:
    assert "internal detail" not in await REGISTRY.run("broken", "{}")


async def test_get_current_time_is_the_utc_time_in_iso_8601() -> None:
    result = await default_tools().run("get_current_time", "")

    stamp = datetime.fromisoformat(result)
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - stamp) < timedelta(seconds=5)


def test_the_default_tools_are_offered_by_name() -> None:
    assert [spec["name"] for spec in default_tools().specs()] == ["get_current_time"]

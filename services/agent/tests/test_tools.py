"""In process: the tool registry. Whatever the model asks for, a call gives text the
model can read; nothing a tool or its arguments do escapes as an exception."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agent.tools import (
    NO_PARAMETERS,
    Tool,
    ToolContext,
    ToolError,
    ToolRegistry,
    default_tools,
    local_tools,
)


async def echo(args: dict[str, Any], _: ToolContext) -> str:
    return f"echo {args}"


async def broken(_: dict[str, Any], __: ToolContext) -> str:
    raise RuntimeError("internal detail")


async def refusing(_: dict[str, Any], __: ToolContext) -> str:
    raise ToolError("no city given")


async def sleepy(_: dict[str, Any], __: ToolContext) -> str:
    await asyncio.sleep(10)
    return "woke up"


REGISTRY = ToolRegistry(
    [
        Tool("echo", "Says its arguments.", echo),
        Tool("broken", "Always fails.", broken),
        Tool("refusing", "Refuses.", refusing),
        Tool("sleepy", "Sleeps.", sleepy),
    ],
    timeout_seconds=0.2,
)


def test_specs_describe_every_tool_with_its_parameters() -> None:
    assert REGISTRY.specs() == [
        {"name": "echo", "description": "Says its arguments.", "parameters": NO_PARAMETERS},
        {"name": "broken", "description": "Always fails.", "parameters": NO_PARAMETERS},
        {"name": "refusing", "description": "Refuses.", "parameters": NO_PARAMETERS},
        {"name": "sleepy", "description": "Sleeps.", "parameters": NO_PARAMETERS},
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
        ("refusing", "{}", "error: no city given"),  # a ToolError is meant for the model
        ("sleepy", "{}", "error: the tool sleepy did not answer within 0.2 s"),
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


def test_a_second_tool_with_the_same_name_is_refused() -> None:
    tools = default_tools()
    with pytest.raises(ValueError, match="already registered"):
        tools.add(Tool("get_current_time", "Another clock.", echo))


async def test_the_decorator_registers_under_the_function_name_and_passes_progress() -> None:
    tools, updates = ToolRegistry(), list[str]()

    @tools.tool(description="Counts to two.")
    async def count(_: dict[str, Any], context: ToolContext) -> str:
        await context.progress("one")
        await context.progress("two")
        return "done"

    async def progress(text: str) -> None:
        updates.append(text)

    assert await tools.run("count", "{}", ToolContext(progress=progress)) == "done"
    assert updates == ["one", "two"]
    assert [spec["name"] for spec in tools.specs()] == ["count"]


async def test_tool_modules_add_their_tools_beside_the_built_in_ones() -> None:
    tools = local_tools(["services.agent.tests.sample_tools"], timeout_seconds=5)

    assert tools.names() == ["get_current_time", "shout"]
    assert await tools.run("shout", '{"text": "hi"}') == "HI"
    assert await tools.run("shout", "{}") == "error: `text` must be a string"


def test_a_tool_module_without_register_tools_stops_the_start() -> None:
    with pytest.raises(RuntimeError, match="has no register_tools"):
        local_tools(["services.agent.tests.fake_model"], timeout_seconds=5)

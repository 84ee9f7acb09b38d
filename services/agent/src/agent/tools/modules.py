"""Integrators' tools, from TOOL_MODULES: each named module has a `register_tools(tools)`
function that adds its tools to the registry (docs/tools.md).

A module path in a setting, rather than a package entry point: it works for code that
is only on PYTHONPATH (a file mounted into the container), needs no packaging, and the
list of what runs is in the deployment's settings, where an operator can read it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import cast

from agent.tools import builtin
from agent.tools.registry import ToolRegistry

Registrar = Callable[[ToolRegistry], None]


def registrar_of(module_name: str) -> Registrar:
    """The module's `register_tools`; a missing module or function fails the start, loudly."""
    module = importlib.import_module(module_name)
    register = getattr(module, "register_tools", None)
    if not callable(register):
        raise RuntimeError(f"tool module {module_name!r} has no register_tools(tools) function")
    return cast(Registrar, register)


def local_tools(module_names: Iterable[str], *, timeout_seconds: float) -> ToolRegistry:
    """The built-in tools and those of `module_names`, in one registry."""
    tools = ToolRegistry(timeout_seconds=timeout_seconds)
    builtin.register_tools(tools)
    for name in module_names:
        registrar_of(name)(tools)
    return tools

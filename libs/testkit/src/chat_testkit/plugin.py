"""Pytest fixtures every test suite of the repo can use (loaded via `-p chat_testkit.plugin`),
and the test levels.

Levels: a test that starts real processes (a service, the whole stack) is marked `process`,
found from its fixtures: a fixture that starts one says so with `@starts_processes`, and every
test using it, directly or through other fixtures, is marked. A test that starts processes in
its own body is marked by hand (`pytest.mark.process`). Everything else runs in this process
(a real Postgres included) and is what `make test-fast` (`-m "not process"`) runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from chat_testkit.postgres import postgres_server, temporary_database
from chat_testkit.tokens import TestKeys

DatabaseFactory = Callable[..., str]
Fixture = TypeVar("Fixture", bound=Callable[..., object])

PROCESS = "process"
_STARTS_PROCESSES = "_chat_testkit_starts_processes"


def starts_processes(fixture: Fixture) -> Fixture:
    """Declares a fixture that starts real processes (put it under `@pytest.fixture`)."""
    setattr(fixture, _STARTS_PROCESSES, True)
    return fixture


def _uses_processes(item: pytest.Item) -> bool:
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is None:
        return False
    # The last definition of a name is the one the test gets (a closer conftest overrides).
    return any(
        getattr(definitions[-1].func, _STARTS_PROCESSES, False)
        for definitions in fixture_info.name2fixturedefs.values()
        if definitions
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _uses_processes(item):
            item.add_marker(PROCESS)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A Postgres server the tests may create (and must drop) databases on."""
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def test_keys() -> TestKeys:
    return TestKeys()


@pytest.fixture(scope="session")
def make_database(pg_server_url: str) -> Iterator[DatabaseFactory]:
    """A factory of fresh, empty databases, all dropped at the end of the session."""
    with contextlib.ExitStack() as exits:

        def factory(prefix: str = "chat_test") -> str:
            return exits.enter_context(temporary_database(pg_server_url, prefix))

        yield factory

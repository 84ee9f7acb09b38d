"""Pytest fixtures every test suite of the repo can use (loaded via `-p chat_testkit.plugin`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from chat_testkit.postgres import postgres_server, temporary_database
from chat_testkit.tokens import TestKeys

DatabaseFactory = Callable[..., str]


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

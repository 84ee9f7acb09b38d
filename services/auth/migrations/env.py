"""Alembic environment of the auth service (its own version table, its own tables only)."""

from __future__ import annotations

from typing import Any

import auth.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from alembic import context
from auth.migrate import VERSION_TABLE
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

config = context.config


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # Other services share the database (and, in tests, the process's SQLModel metadata):
    # only `auth_*` tables and what hangs off them are compared.
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table is None or table.startswith("auth_")


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=SQLModel.metadata,
        version_table=VERSION_TABLE,
        include_object=_ours,
        compare_type=True,
        **kwargs,
    )


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    engine = create_engine(str(config.get_main_option("sqlalchemy.url")), poolclass=NullPool)
    with engine.connect() as connection:
        _run(connection)
        connection.commit()

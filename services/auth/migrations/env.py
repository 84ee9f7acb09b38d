"""Alembic environment of the auth service (its own version table, its own tables only)."""

from __future__ import annotations

from typing import Any

import auth.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from auth.migrate import MIGRATIONS
from sqlmodel import SQLModel


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # Other services share the database (and, in tests, the process's SQLModel metadata):
    # only `auth_*` tables and what hangs off them are compared.
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table is None or table.startswith("auth_")


MIGRATIONS.run_environment(SQLModel.metadata, include_object=_ours)

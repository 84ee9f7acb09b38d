"""Login throttle per (account, client address) and per address, instead of per account.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The old per-account windows say nothing about addresses: they are simply dropped
    # (at worst an attacker gets a fresh LOGIN_MAX_FAILURES once, at deploy time).
    op.drop_table("auth_login_failures")
    op.create_table(
        "auth_login_throttle",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.create_table(
        "auth_login_address_failures",
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("auth_login_address_failures")
    op.drop_table("auth_login_throttle")
    op.create_table(
        "auth_login_failures",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
    )

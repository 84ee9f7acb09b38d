"""The usage of a reply ended elsewhere is charged when it arrives.

A reply cancelled (or swept) while the model ran becomes final before the agent's final
write (`interrupted`), and migration 0010's trigger charges it then, with no tokens. The
agent then sends its usage alone; conversations accepts that once, on an interrupted
reply whose usage is still empty (sql.UPDATE_MESSAGE), and this trigger adds those
tokens to the ledger. The
turn stays counted where the reply became final: only tokens are added here. Repeating
the same usage changes no empty usage, so it adds nothing.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-21
"""

from __future__ import annotations

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION charge_late_usage() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO usage_days AS d (user_id, day, model, turns, input_tokens, output_tokens)
          VALUES (NEW.user_id, CAST(now() AT TIME ZONE 'UTC' AS date), COALESCE(NEW.model, ''),
                  0, NEW.input_tokens, NEW.output_tokens)
          ON CONFLICT (user_id, day, model) DO UPDATE
          SET input_tokens = d.input_tokens + EXCLUDED.input_tokens,
              output_tokens = d.output_tokens + EXCLUDED.output_tokens;
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER messages_charge_late_usage
        AFTER UPDATE OF input_tokens, output_tokens ON messages
        FOR EACH ROW
        WHEN (NEW.role = 'assistant' AND OLD.status = 'interrupted'
              AND OLD.input_tokens = 0 AND OLD.output_tokens = 0
              AND (NEW.input_tokens > 0 OR NEW.output_tokens > 0))
        EXECUTE FUNCTION charge_late_usage()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER messages_charge_late_usage ON messages")
    op.execute("DROP FUNCTION charge_late_usage()")

"""The usage of a reply ended elsewhere is charged when it arrives, to the day it ended.

A reply cancelled (or swept) while the model ran becomes final before the agent's final
write (`interrupted`), and migration 0010's trigger charges it then, with no tokens. The
agent then sends its usage alone; conversations accepts that once, on an interrupted
reply whose usage is still empty (sql.UPDATE_MESSAGE), and this trigger adds those
tokens to the ledger. The turn was counted under model '' when the reply became final (its
model comes with the usage): it moves to the reply's model now, so the ledger shows one
turn with its tokens. Repeating the same usage changes no empty usage: it adds nothing.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
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
        DECLARE
          -- The day the reply ended (its last write), where its turn was counted: late
          -- usage arriving after midnight still lands beside it.
          ended date := CAST(OLD.updated_at AT TIME ZONE 'UTC' AS date);
          moved integer := 0;
        BEGIN
          IF COALESCE(OLD.model, '') = '' AND COALESCE(NEW.model, '') <> '' THEN
            UPDATE usage_days SET turns = turns - 1
            WHERE user_id = NEW.user_id AND day = ended AND model = '' AND turns > 0;
            IF FOUND THEN
              moved := 1;
              DELETE FROM usage_days
              WHERE user_id = NEW.user_id AND day = ended AND model = ''
                AND turns = 0 AND input_tokens = 0 AND output_tokens = 0;
            END IF;
          END IF;
          PERFORM add_usage_day(NEW.user_id, ended, COALESCE(NEW.model, ''), moved,
                                NEW.input_tokens, NEW.output_tokens);
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

"""The usage ledger as its own table: model tokens per user, UTC day and model.

Until now usage was summed from the live `messages` rows, so deleting a reply (ChatKit's
retry deletes the old one before the new one is charged) or a conversation erased spend:
the tokens-per-day quota let the user go on and `GET /api/chat/usage` lost the tokens.
`usage_days` is added to once per reply, when it becomes final (complete, failed,
interrupted: the agent's final write that carries its usage, a cancel, the stale-reply
sweeper) or is stored final (AppendMessage), by a trigger, so it is the same statement
and no writer has to remember it; a final state is final, so a retried final write adds
nothing. Tokens are charged to the UTC day of that write. A deletion or the retention
purge never touches the ledger; only the deletion of the user's account removes its rows.
`model` is '' for replies stored before models were recorded; `turns` counts the replies
a turn started (reply_to set), not a tool round's further replies.

Backfilled from the final assistant replies stored so far (a reply still in progress is
added by its own final write), by the day it was created (UTC), as the usage route
counted them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-19
"""

from __future__ import annotations

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE usage_days (
          user_id uuid NOT NULL,
          day date NOT NULL,
          model text NOT NULL,
          turns integer NOT NULL DEFAULT 0,
          input_tokens bigint NOT NULL DEFAULT 0,
          output_tokens bigint NOT NULL DEFAULT 0,
          PRIMARY KEY (user_id, day, model)
        )
        """
    )
    op.execute(
        """
        INSERT INTO usage_days (user_id, day, model, turns, input_tokens, output_tokens)
        SELECT m.user_id, CAST(m.created_at AT TIME ZONE 'UTC' AS date), COALESCE(m.model, ''),
               count(m.reply_to), sum(m.input_tokens), sum(m.output_tokens)
        FROM messages m
        WHERE m.role = 'assistant' AND m.status <> 'in_progress'
        GROUP BY 1, 2, 3
        """
    )
    # Adds to the user's row of that UTC day and model; every charge goes through it.
    op.execute(
        """
        CREATE FUNCTION add_usage_day(p_user_id uuid, p_day date, p_model text,
                                      p_turns integer, p_input_tokens bigint,
                                      p_output_tokens bigint)
        RETURNS void LANGUAGE sql AS $$
          INSERT INTO usage_days AS d (user_id, day, model, turns, input_tokens, output_tokens)
          VALUES (p_user_id, p_day, p_model, p_turns, p_input_tokens, p_output_tokens)
          ON CONFLICT (user_id, day, model) DO UPDATE
          SET turns = d.turns + EXCLUDED.turns,
              input_tokens = d.input_tokens + EXCLUDED.input_tokens,
              output_tokens = d.output_tokens + EXCLUDED.output_tokens
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION charge_usage_day() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM add_usage_day(NEW.user_id, CAST(now() AT TIME ZONE 'UTC' AS date),
                                COALESCE(NEW.model, ''),
                                CAST(NEW.reply_to IS NOT NULL AS integer),
                                NEW.input_tokens, NEW.output_tokens);
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER messages_charge_final_reply AFTER UPDATE OF status ON messages
        FOR EACH ROW
        WHEN (NEW.role = 'assistant' AND OLD.status = 'in_progress'
              AND NEW.status <> 'in_progress')
        EXECUTE FUNCTION charge_usage_day()
        """
    )
    op.execute(
        """
        CREATE TRIGGER messages_charge_stored_reply AFTER INSERT ON messages
        FOR EACH ROW
        WHEN (NEW.role = 'assistant' AND NEW.status <> 'in_progress')
        EXECUTE FUNCTION charge_usage_day()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER messages_charge_stored_reply ON messages")
    op.execute("DROP TRIGGER messages_charge_final_reply ON messages")
    op.execute("DROP FUNCTION charge_usage_day()")
    op.execute("DROP FUNCTION add_usage_day(uuid, date, text, integer, bigint, bigint)")
    op.execute("DROP TABLE usage_days")

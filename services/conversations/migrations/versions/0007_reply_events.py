"""Reply events: every change of an assistant reply's text or status is announced on the
`reply_events` channel (payload: the message id), for the events route to follow a reply
written by any agent replica (reply_events.py LISTENs; no poll, no broker).

A trigger, so every writer (gRPC UpdateMessage, the stale-reply sweeper, a cancel) is
covered without the store knowing. Heartbeats and payload-only writes change neither
text nor status and announce nothing. NOTIFY is delivered at commit, and the writes are
autocommit statements, so a listener never sees a change before it can read it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-14
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

CHANNEL = "reply_events"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION notify_reply_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('{CHANNEL}', NEW.id::text);
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER messages_reply_events AFTER UPDATE ON messages
        FOR EACH ROW
        WHEN (NEW.role = 'assistant' AND (OLD.content IS DISTINCT FROM NEW.content
                                          OR OLD.status IS DISTINCT FROM NEW.status))
        EXECUTE FUNCTION notify_reply_event()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER messages_reply_events ON messages")
    op.execute("DROP FUNCTION notify_reply_event()")

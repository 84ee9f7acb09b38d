"""Attachments: the files users send with ChatKit messages (conversations/attachments.py).

A file belongs to a user; `conversation_id` is NULL until it is sent with a message.
It goes with its conversation: at once when the conversation is soft-deleted (a
trigger, so no deleter has to remember it, and the user's bytes do not wait for the
retention purge), and by the foreign key's cascade when it is purged. The bytes are
stored uncompressed out of line (STORAGE EXTERNAL): images and PDFs are compressed
already, and a metadata read never touches them.

`attachment_keys` holds the one random key of image preview tokens (attachments.py), made
here so every replica shares it without a setting (gen_random_uuid: a strong random source).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-18
"""

from __future__ import annotations

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE attachments (
          id uuid PRIMARY KEY,
          user_id uuid NOT NULL,
          conversation_id uuid REFERENCES conversations (id) ON DELETE CASCADE,
          name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
          mime_type text NOT NULL,
          size bigint NOT NULL CHECK (size >= 0),
          state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'uploaded')),
          content bytea,
          created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("ALTER TABLE attachments ALTER COLUMN content SET STORAGE EXTERNAL")
    op.execute(
        """
        CREATE TABLE attachment_keys (
          id integer PRIMARY KEY CHECK (id = 1),
          key bytea NOT NULL
        )
        """
    )
    op.execute(
        "INSERT INTO attachment_keys (id, key)"
        " VALUES (1, uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()))"
    )
    op.execute("CREATE INDEX ix_attachments_user ON attachments (user_id)")
    op.execute(
        "CREATE INDEX ix_attachments_conversation ON attachments (conversation_id)"
        " WHERE conversation_id IS NOT NULL"
    )
    op.execute(
        """
        CREATE FUNCTION delete_conversation_attachments() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM attachments WHERE conversation_id = NEW.id;
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER conversations_delete_attachments AFTER UPDATE OF deleted_at
        ON conversations FOR EACH ROW
        WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
        EXECUTE FUNCTION delete_conversation_attachments()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER conversations_delete_attachments ON conversations")
    op.execute("DROP FUNCTION delete_conversation_attachments()")
    op.execute("DROP TABLE attachment_keys")
    op.execute("DROP TABLE attachments")

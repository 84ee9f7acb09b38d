"""The SQL behind `store.py`: every operation is ONE statement (one round trip, its own
transaction, the connection is in autocommit; TURN_HISTORY rides in START_TURN's round
trip and transaction). Every statement is scoped by user id and
ignores soft-deleted conversations. JSON columns are read as text, so gRPC passes them
through without decoding and re-encoding.

Plain psycopg queries (`%(name)s` parameters), run on the driver connection of the
SQLAlchemy pool: on these hot paths SQLAlchemy's execution layer cost more CPU than the
query itself (see db.py).
"""

from __future__ import annotations

# Column lists; their order matches models.ConversationRecord and models.MessageRecord.
# Ids come back as text: both doors send them as strings, so no UUID objects are made.
CONV_COLS = "CAST(c.id AS text), c.title, c.created_at, c.updated_at, CAST(c.metadata AS text)"
MESSAGE_COLS = (
    "CAST(m.id AS text), CAST(m.conversation_id AS text), m.role, m.content, m.status,"
    " CAST(m.tool_calls AS text),"
    " CAST(m.payload AS text), m.input_tokens, m.output_tokens, m.idempotency_key,"
    " m.created_at, m.seq, m.feedback"
)
# The same columns with payload NULL, for reads that never show it (REST lists): a payload
# may be tens of KiB, and a page of 100 would read every one.
MESSAGE_COLS_NO_PAYLOAD = MESSAGE_COLS.replace("CAST(m.payload AS text)", "CAST(NULL AS text)")
# What the row subqueries of the list statements select (no `*`: payload only if wanted).
_MESSAGE_FIELDS = (
    "m.id, m.conversation_id, m.role, m.content, m.status, m.tool_calls, m.payload,"
    " m.input_tokens, m.output_tokens, m.idempotency_key, m.created_at, m.seq, m.feedback"
)
# Owned by the caller and not deleted.
LIVE_CONV = "c.id = %(conversation_id)s AND c.user_id = %(user_id)s AND c.deleted_at IS NULL"

CREATE_CONVERSATION = f"""
INSERT INTO conversations AS c (id, user_id, title, metadata)
VALUES (%(id)s, %(user_id)s, %(title)s, CAST(%(metadata)s AS jsonb))
ON CONFLICT (id) DO NOTHING
RETURNING {CONV_COLS}
"""

GET_CONVERSATION = f"SELECT {CONV_COLS} FROM conversations c WHERE {LIVE_CONV}"

_LIST_CONVERSATIONS = """
SELECT {cols} FROM conversations c
WHERE c.user_id = %(user_id)s AND c.deleted_at IS NULL {after}
ORDER BY c.updated_at DESC, c.id DESC
LIMIT %(limit)s
"""
LIST_CONVERSATIONS_FIRST = _LIST_CONVERSATIONS.format(cols=CONV_COLS, after="")
# Keyset: strictly after the cursor's (updated_at, id) in (desc, desc) order.
LIST_CONVERSATIONS_AFTER = _LIST_CONVERSATIONS.format(
    cols=CONV_COLS, after="AND (c.updated_at, c.id) < (%(cursor_updated_at)s, %(cursor_id)s)"
)

# ChatKit's threads.list: by creation time either way, after a conversation given by id
# (the caller's: a foreign or deleted one matches nothing, so the page is empty).
_LIST_BY_CREATED = """
SELECT {cols} FROM conversations c
WHERE c.user_id = %(user_id)s AND c.deleted_at IS NULL {after}
ORDER BY c.created_at {way}, c.id {way}
LIMIT %(limit)s
"""
_AFTER_CREATED = """AND (c.created_at, c.id) {op} (
  SELECT a.created_at, a.id FROM conversations a
  WHERE a.id = %(after_id)s AND a.user_id = %(user_id)s AND a.deleted_at IS NULL)"""
# (oldest_first, with an `after_id`) -> statement
LIST_CONVERSATIONS_BY_CREATED = {
    (oldest, anchored): _LIST_BY_CREATED.format(
        cols=CONV_COLS,
        way="ASC" if oldest else "DESC",
        after=_AFTER_CREATED.format(op=">" if oldest else "<") if anchored else "",
    )
    for oldest in (True, False)
    for anchored in (True, False)
}

# A rename moves the conversation up the list; a metadata change (ChatKit bookkeeping) does not.
UPDATE_CONVERSATION = f"""
UPDATE conversations AS c SET
  title = CASE WHEN %(set_title)s THEN CAST(%(title)s AS varchar) ELSE c.title END,
  metadata = CASE WHEN %(set_metadata)s THEN CAST(%(metadata)s AS jsonb) ELSE c.metadata END,
  updated_at = CASE WHEN %(set_title)s THEN now() ELSE c.updated_at END
WHERE {LIVE_CONV}
RETURNING {CONV_COLS}
"""

DELETE_CONVERSATION = f"""
UPDATE conversations AS c SET deleted_at = now() WHERE {LIVE_CONV} RETURNING c.id
"""

# Bumps updated_at (and sets a missing title from a user message) and inserts, atomically.
APPEND_MESSAGE = f"""
WITH conv AS (
  UPDATE conversations AS c
  SET updated_at = now(), title = COALESCE(c.title, CAST(%(auto_title)s AS varchar))
  WHERE {LIVE_CONV}
  RETURNING c.id
)
INSERT INTO messages AS m (id, conversation_id, user_id, role, content, status, tool_calls,
                           payload, input_tokens, output_tokens)
SELECT %(id)s, conv.id, %(user_id)s, %(role)s, %(content)s, %(status)s,
       CAST(%(tool_calls)s AS jsonb), CAST(%(payload)s AS jsonb), %(input_tokens)s,
       %(output_tokens)s
FROM conv
RETURNING {MESSAGE_COLS}
"""

# The user message and the empty in-progress reply in one statement. The conversation row
# is locked first, so turns of one conversation start one at a time; a reused idempotency
# key inserts nothing (ON CONFLICT, no race) and the caller then reads TURN_REPLAY.
START_TURN = f"""
WITH conv AS (
  SELECT c.id FROM conversations c WHERE {LIVE_CONV} FOR UPDATE
), u AS (
  INSERT INTO messages AS m (id, conversation_id, user_id, role, content, status, payload,
                             idempotency_key)
  SELECT %(user_message_id)s, conv.id, %(user_id)s, 'user', %(content)s, 'complete',
         CAST(%(payload)s AS jsonb), %(idempotency_key)s
  FROM conv
  ON CONFLICT (conversation_id, idempotency_key) DO NOTHING
  RETURNING {MESSAGE_COLS}
), a AS (
  INSERT INTO messages AS m (id, conversation_id, user_id, role, content, status, reply_to)
  SELECT %(assistant_message_id)s, %(conversation_id)s, %(user_id)s, 'assistant', '',
         'in_progress', %(user_message_id)s
  FROM u
  RETURNING {MESSAGE_COLS}
), bump AS (
  UPDATE conversations AS c
  SET updated_at = now(), title = COALESCE(c.title, CAST(%(auto_title)s AS varchar))
  WHERE c.id = %(conversation_id)s AND EXISTS (SELECT 1 FROM u)
)
SELECT * FROM u UNION ALL SELECT * FROM a
"""

# The pair a used idempotency key stands for (user message first).
TURN_REPLAY = f"""
SELECT {MESSAGE_COLS} FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE {LIVE_CONV} AND m.conversation_id = %(conversation_id)s
  AND (m.idempotency_key = %(idempotency_key)s OR m.reply_to = (
    SELECT k.id FROM messages k
    WHERE k.conversation_id = %(conversation_id)s AND k.idempotency_key = %(idempotency_key)s))
ORDER BY m.seq
"""

# The history a turn's reply answers: the latest messages up to and including its user
# message (the new one, or the replayed one its idempotency key names), oldest first.
# START_TURN's companion in one pipelined batch (see store.start_turn): a statement of its
# own, so its snapshot is taken after START_TURN got the conversation's lock and sees every
# turn committed before (a CTE of START_TURN would read the older snapshot of its start).
TURN_HISTORY = f"""
SELECT {MESSAGE_COLS}
FROM conversations c
JOIN messages u ON u.conversation_id = c.id
  AND (u.id = %(user_message_id)s OR u.idempotency_key = %(idempotency_key)s)
CROSS JOIN LATERAL (
  SELECT * FROM messages m WHERE m.conversation_id = c.id AND m.seq <= u.seq
  ORDER BY m.seq DESC LIMIT %(history_limit)s
) m
WHERE {LIVE_CONV}
ORDER BY m.seq
"""

GET_MESSAGE = f"""
SELECT {MESSAGE_COLS} FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE {LIVE_CONV} AND m.id = %(message_id)s AND m.conversation_id = %(conversation_id)s
"""

# A final message (complete, failed, interrupted) matches an update only when the update
# changes none of status, content, tool calls and usage (a retried final write, or a
# payload-only write such as a ChatKit item); a heartbeat (no field set) never matches it.
# One exception: an `interrupted` reply's usage, while still empty, may be set once (it was
# cancelled or swept before its agent's final write; migration 0013 charges the ledger).
# In the WHERE clause, so a concurrent final write or sweep is re-checked on the newest row.
_SAME_FINAL_STATE = """
    NOT %(heartbeat)s
    AND COALESCE(CAST(%(content)s AS text) = m.content, true)
    AND COALESCE(CAST(%(status)s AS text) = m.status, true)
    AND (NOT %(set_tool_calls)s
         OR CAST(%(tool_calls)s AS jsonb) IS NOT DISTINCT FROM m.tool_calls)
    AND ((m.status = 'interrupted' AND m.input_tokens = 0 AND m.output_tokens = 0)
         OR (COALESCE(CAST(%(input_tokens)s AS integer) = m.input_tokens, true)
             AND COALESCE(CAST(%(output_tokens)s AS integer) = m.output_tokens, true)
             AND COALESCE(CAST(%(model)s AS text) = m.model, true)))"""

# `content_ok_for_user` is false when new content breaks the user-authored limits: then
# only non-user messages match (the caller tells "too long" from "not found" afterwards).
# Every update moves updated_at, the liveness the stale-reply sweeper reads: an update
# with no field set is the writer's heartbeat.
UPDATE_MESSAGE = f"""
UPDATE messages AS m SET
  content = COALESCE(CAST(%(content)s AS text), m.content),
  status = COALESCE(CAST(%(status)s AS text), m.status),
  tool_calls = CASE WHEN %(set_tool_calls)s THEN CAST(%(tool_calls)s AS jsonb)
                    ELSE m.tool_calls END,
  payload = CASE WHEN %(set_payload)s THEN CAST(%(payload)s AS jsonb) ELSE m.payload END,
  input_tokens = COALESCE(CAST(%(input_tokens)s AS integer), m.input_tokens),
  output_tokens = COALESCE(CAST(%(output_tokens)s AS integer), m.output_tokens),
  model = COALESCE(CAST(%(model)s AS text), m.model),
  updated_at = now()
FROM conversations c
WHERE {LIVE_CONV} AND m.conversation_id = c.id AND m.id = %(message_id)s
  AND (%(content_ok_for_user)s OR m.role <> 'user')
  AND (m.status = 'in_progress' OR ({_SAME_FINAL_STATE}))
RETURNING {MESSAGE_COLS}
"""

# Not scoped by user: the sweeper's maintenance statement (see sweeper.py). A reply still
# `in_progress` but not written for `stale_seconds` lost its agent; it keeps its content.
# SKIP LOCKED: rows another replica's sweep (or a live agent's write) holds are left to
# them, so concurrent sweeps never wait on or deadlock with each other; a locked row is
# re-checked on its newest version, so a reply written meanwhile is not touched.
INTERRUPT_STALE_REPLIES = """
WITH stale AS (
  SELECT s.id FROM messages s
  WHERE s.status = 'in_progress'
    AND s.updated_at < now() - make_interval(secs => %(stale_seconds)s)
  FOR UPDATE SKIP LOCKED
)
UPDATE messages AS m SET status = 'interrupted', updated_at = now()
FROM stale WHERE m.id = stale.id AND m.status = 'in_progress'
"""

# ChatKit feedback on a set of messages of one conversation, all or nothing: `changed`
# only runs when every id is a message of this live conversation of the user. The keys
# are those the agent's ChatKit store reads from the payload. updated_at stays: feedback
# is no sign of life of a reply.
SET_FEEDBACK = f"""
WITH conv AS (
  SELECT c.id FROM conversations c WHERE {LIVE_CONV}
), target AS (
  SELECT m.id FROM messages m JOIN conv ON m.conversation_id = conv.id
  WHERE m.id = ANY(%(message_ids)s)
), changed AS (
  UPDATE messages AS m SET payload = CASE
    WHEN CAST(%(feedback)s AS text) IS NULL THEN m.payload - 'feedback' - 'feedback_at'
    ELSE COALESCE(m.payload, '{{}}'::jsonb) || jsonb_build_object(
      'feedback', CAST(%(feedback)s AS text), 'feedback_at', CAST(%(feedback_at)s AS text))
    END,
    feedback = CAST(%(feedback)s AS varchar)
  FROM target
  WHERE m.id = target.id AND (SELECT count(*) FROM target) = %(count)s
  RETURNING m.id
)
SELECT (SELECT count(*) FROM conv), (SELECT count(*) FROM changed)
"""

DELETE_MESSAGE = f"""
DELETE FROM messages AS m USING conversations c
WHERE {LIVE_CONV} AND m.conversation_id = c.id AND m.id = %(message_id)s
RETURNING m.id
"""


def _list_messages(
    *, anchored: bool, direction: str, comparison: str = "", with_payload: bool = True
) -> str:
    """Rows of (conversation id, anchor seq, message columns…), oldest first. No row: no
    such live conversation of this user; an empty page still yields one row whose
    message columns are NULL (LEFT JOIN); a NULL anchor seq: the anchor is not here."""
    anchor_join = (
        "LEFT JOIN messages a ON a.id = %(anchor_id)s AND a.conversation_id = c.id"
        if anchored
        else ""
    )
    anchor_seq = "a.seq" if anchored else "CAST(NULL AS bigint)"
    window = f"AND m.seq {comparison} a.seq" if anchored else ""
    cols = MESSAGE_COLS if with_payload else MESSAGE_COLS_NO_PAYLOAD
    fields = _MESSAGE_FIELDS if with_payload else _MESSAGE_FIELDS.replace(" m.payload,", "")
    return f"""
SELECT c.id, {anchor_seq}, {cols}
FROM conversations c
{anchor_join}
LEFT JOIN LATERAL (
  SELECT {fields} FROM messages m WHERE m.conversation_id = c.id {window}
  ORDER BY m.seq {direction} LIMIT %(limit)s
) m ON true
WHERE {LIVE_CONV}
ORDER BY m.seq
"""


# By (window, with payload). The window: "latest"/"oldest" (no anchor) or "before"/"after"
# an anchor. Without payload for REST, which never shows it, so its pages never read it.
LIST_MESSAGES = {
    (anchor, with_payload): _list_messages(
        anchored=anchor in ("before", "after"),
        direction="ASC" if anchor in ("after", "oldest") else "DESC",
        comparison={"before": "<", "after": ">"}.get(anchor, ""),
        with_payload=with_payload,
    )
    for anchor in ("latest", "oldest", "before", "after")
    for with_payload in (True, False)
}

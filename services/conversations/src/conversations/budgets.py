"""Per-user turn limits, enforced where every turn begins (`store.start_turn`, and
`reply_start.start_reply` for a reply to a user message already stored: ChatKit's).

Every turn, REST or ChatKit, starts with StartTurn or StartReply, so one budget here
covers both doors (nginx cannot tell a ChatKit send from a ChatKit read). Agents are
stateless replicas, so the state lives in Postgres:

- a token bucket per user (`send_budgets`): `TURN_RATE_PER_MINUTE` tokens a minute, at
  most `TURN_RATE_BURST` saved up; a turn costs one;
- at most `MAX_CONCURRENT_TURNS` in-progress replies per user;
- at most `TOKENS_PER_DAY` model tokens (in + out) per user and UTC day, read from the
  usage ledger (`usage_days`, migration 0010: a few rows, one per model), which deleting
  a reply or a conversation does not lower: a turn starts while the user is under it,
  so the one that crosses it still ends.

A refused turn raises RateLimited (429 / RESOURCE_EXHAUSTED with Retry-After), stores
nothing and is charged nothing; a replay of an idempotency key already used is neither
charged nor refused (it starts no new turn).

Cost on the hot path: no extra round trip. Two statements go first in the pipeline of
the turn's own (one implicit transaction): a per-user advisory lock, then one statement
that checks the replay, counts the running replies and charges the bucket (INSERT … ON
CONFLICT DO UPDATE, atomic on its own) or raises `turn_refused` (a one-line SQL function
of migration 0003), which aborts the turn's statements queued behind it. The lock
serialises check and insert of one user's turns (two concurrent StartTurns must not both
see two running replies and both start a third) until the turn commits. It must be its
own statement: a statement's snapshot is taken before it waits, so only the NEXT
statement sees the turn committed by the lock's previous holder.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import psycopg
from chat_common.errors import RateLimited

if TYPE_CHECKING:
    from conversations.settings import Settings
    from conversations.store import Connection

# Retry-After for a user at the concurrent-turn cap: a reply usually ends within seconds.
BUSY_RETRY_AFTER_SECONDS: Final = 3
# The window of the tokens-per-day quota (it resets at midnight UTC).
SECONDS_PER_DAY: Final = 86_400
# Namespace of the two-key advisory locks (class id), so they never meet another lock.
_LOCK_CLASS: Final = 0x7475726E  # "turn"

# Tokens the user has now: what was left plus the refill since, capped at the burst.
_REFILLED = """LEAST(CAST(%(burst)s AS double precision), {tokens} + %(per_second)s
  * GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - {updated_at})))"""

# The start of today, UTC (a timestamptz).
_UTC_MIDNIGHT = "(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"

LOCK_USER = """
SELECT pg_advisory_xact_lock(CAST(%(lock_class)s AS integer), hashtext(CAST(%(user_id)s AS text)))
"""

# Charges a new turn, or raises turn_refused (migration 0003): the turn then stores
# nothing, and the charge is rolled back with it. A replay is neither charged nor refused.
# The charge updates the row only if a whole token is there (WHERE), atomically with its
# read (ON CONFLICT DO UPDATE locks the row); a refusal reads the tokens from this
# statement's snapshot, exact under the user's lock.
# A StartTurn replays when its idempotency key was used; a StartReply when its user
# message (or a continuation's anchor row) already has a reply, unless it is a retry (the
# reply it replaces is deleted in the same transaction, so the retry is a new turn).
_TURN_REPLAYED = """
    SELECT 1 FROM messages k
    WHERE k.conversation_id = %(conversation_id)s AND k.idempotency_key = %(idempotency_key)s
      AND k.user_id = %(user_id)s"""
_REPLY_REPLAYED = """
    SELECT 1 FROM messages k
    WHERE k.conversation_id = %(conversation_id)s AND k.reply_to = %(user_message_id)s
      AND k.user_id = %(user_id)s AND NOT %(retry)s"""
_CHARGE = f"""
WITH replay AS (
  SELECT EXISTS ({{replayed}}
  ) AS hit
), busy AS (
  SELECT count(*) AS n FROM (
    SELECT 1 FROM messages m
    WHERE m.user_id = %(user_id)s AND m.status = 'in_progress' AND m.role = 'assistant'
    LIMIT %(max_turns)s
  ) running
), spent AS (
  SELECT COALESCE(sum(s.input_tokens + s.output_tokens), 0) AS n FROM usage_days s
  WHERE %(tokens_per_day)s > 0 AND s.user_id = %(user_id)s
    AND s.day = CAST(now() AT TIME ZONE 'UTC' AS date)
), charge AS (
  INSERT INTO send_budgets AS b (user_id, tokens, updated_at)
  SELECT %(user_id)s, %(burst)s - 1, clock_timestamp() FROM replay, busy, spent
  WHERE %(per_second)s > 0 AND NOT replay.hit
    AND (%(max_turns)s = 0 OR busy.n < %(max_turns)s)
    AND (%(tokens_per_day)s = 0 OR spent.n < %(tokens_per_day)s)
  ON CONFLICT (user_id) DO UPDATE
  SET tokens = {_REFILLED.format(tokens="b.tokens", updated_at="b.updated_at")} - 1,
      updated_at = clock_timestamp()
  WHERE {_REFILLED.format(tokens="b.tokens", updated_at="b.updated_at")} >= 1
  RETURNING b.tokens
)
SELECT CASE
  WHEN replay.hit THEN NULL
  WHEN %(max_turns)s > 0 AND busy.n >= %(max_turns)s
    THEN turn_refused('busy', %(busy_retry_after)s)
  WHEN %(tokens_per_day)s > 0 AND spent.n >= %(tokens_per_day)s
    THEN turn_refused('tokens', CAST(ceil(EXTRACT(EPOCH FROM
      {_UTC_MIDNIGHT} + interval '1 day' - clock_timestamp())) AS integer))
  WHEN %(per_second)s > 0 AND NOT EXISTS (SELECT 1 FROM charge)
    THEN turn_refused('rate', CAST(ceil((1 - COALESCE((
      SELECT {_REFILLED.format(tokens="s.tokens", updated_at="s.updated_at")}
      FROM send_budgets s WHERE s.user_id = %(user_id)s), 0)) / %(per_second)s) AS integer))
END
FROM replay, busy, spent
"""
CHARGE = _CHARGE.format(replayed=_TURN_REPLAYED)
CHARGE_REPLY = _CHARGE.format(replayed=_REPLY_REPLAYED)
# The SQLSTATE turn_refused raises (its DETAIL: Retry-After in seconds).
REFUSED_SQLSTATE: Final = "CT429"


@dataclass(frozen=True, slots=True)
class TurnBudget:
    """The limits (from Settings); a zero turns that limit off."""

    per_minute: float = 0.0
    burst: int = 1
    max_concurrent: int = 0
    tokens_per_day: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> TurnBudget:
        return cls(
            per_minute=settings.turn_rate_per_minute,
            burst=settings.turn_rate_burst,
            max_concurrent=settings.max_concurrent_turns,
            tokens_per_day=settings.tokens_per_day,
        )

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0 or self.max_concurrent > 0 or self.tokens_per_day > 0


UNLIMITED: Final = TurnBudget()


async def charge(
    db: Connection, *, budget: TurnBudget, turn: Mapping[str, Any], reply: bool = False
) -> None:
    """Queues the charge of the turn `turn` names (its user_id, conversation_id and
    idempotency_key; with `reply`, StartReply's user_message_id and retry instead) in the
    caller's pipeline, before the turn's own statements: they run in one implicit
    transaction, so the user's lock is held until the turn is committed, and a refusal
    (raised at the pipeline's sync, see `refusals`) skips them."""
    if not budget.enabled:
        return
    params: dict[str, Any] = {
        "lock_class": _LOCK_CLASS,
        "user_id": turn["user_id"],
        "conversation_id": turn["conversation_id"],
        "idempotency_key": turn.get("idempotency_key"),
        "user_message_id": turn.get("user_message_id"),
        "retry": bool(turn.get("retry")),
        "max_turns": budget.max_concurrent,
        "burst": budget.burst,
        "per_second": budget.per_minute / 60,
        "busy_retry_after": BUSY_RETRY_AFTER_SECONDS,
        "tokens_per_day": budget.tokens_per_day,
    }
    await db.execute(LOCK_USER, params)
    await db.execute(CHARGE_REPLY if reply else CHARGE, params)


@contextmanager
def refusals(budget: TurnBudget) -> Iterator[None]:
    """turn_refused's error becomes RateLimited."""
    try:
        yield
    except psycopg.Error as exc:
        if exc.sqlstate != REFUSED_SQLSTATE:
            raise
        retry_after = int(exc.diag.message_detail or 1)
        reason = exc.diag.message_primary
        if reason == "busy":
            message = f"at most {budget.max_concurrent} replies at a time; wait for one to end"
            policy = f'"concurrent";q={budget.max_concurrent}'
        elif reason == "tokens":
            message = f"today's {budget.tokens_per_day} model tokens are spent; try again tomorrow"
            policy = f'"tokens";q={budget.tokens_per_day};w={SECONDS_PER_DAY}'
        else:
            message = "too many messages; slow down"
            refill = math.ceil(budget.burst * 60 / budget.per_minute)
            policy = f'"turns";q={budget.burst};w={refill}'
        raise RateLimited(message, retry_after=retry_after, policy=policy) from None

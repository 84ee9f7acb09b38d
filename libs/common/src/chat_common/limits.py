"""Limits the whole product agrees on, defined once (each service imports them)."""

from __future__ import annotations

from typing import Final

# The longest `Idempotency-Key` any door accepts (the agent's REST header, conversations'
# StartTurn key column): one number, so a key the agent takes is never refused later.
IDEMPOTENCY_KEY_MAX_CHARS: Final = 200

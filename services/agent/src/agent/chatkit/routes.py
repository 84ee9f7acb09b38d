"""`POST /chatkit` (placeholder until the ChatKit server lands)."""

from fastapi import APIRouter

router = APIRouter(tags=["chatkit"])

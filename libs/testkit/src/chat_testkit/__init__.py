"""Helpers for the tests of every service (not shipped in any image)."""

"""Tests that need a program outside Python (kubectl, nginx, openssl, npm, ...).

On a developer's machine a missing program skips the test with what to install. Under CI
(`CI=true`, as GitHub Actions, GitLab and most runners set it) it fails instead: there
`make install` (dev dependencies: kubectl) and `scripts/install_system_deps.sh` (nginx,
Chromium, curl, jq, ...) provide every program, so a missing one is a broken setup that
would otherwise hide the tests needing it behind a quiet skip.
"""

from __future__ import annotations

import os

import pytest

INSTALL_HINT = "make install (uv sync) and scripts/install_system_deps.sh provide it"


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_tool(path: str | None, missing: str) -> str:
    """`path` when the program was found; else a skip, or under CI a failure, saying `missing`."""
    if path:
        return path
    if under_ci():
        pytest.fail(f"{missing} (CI=true: a missing program fails here; {INSTALL_HINT})")
    pytest.skip(missing)

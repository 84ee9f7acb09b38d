"""examples/chatkit-react installs from its lockfile, type-checks and builds (npm registry
only). Runs on a copy, so the working tree gets no node_modules or dist."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from chat_testkit.plugin import starts_processes

from tests.deploy.support import ROOT

EXAMPLE = ROOT / "examples" / "chatkit-react"
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(NPM is None, reason="npm is not installed: no example build")


def run(args: list[str], cwd: Path, timeout: float) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
@starts_processes
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("chatkit-react")
    ignore = shutil.ignore_patterns("node_modules", "dist")
    shutil.copytree(EXAMPLE, work, dirs_exist_ok=True, ignore=ignore)
    assert NPM
    run([NPM, "ci", "--no-audit", "--no-fund", "--prefer-offline"], work, timeout=240)
    return work


def test_example_depends_on_the_chatkit_react_package() -> None:
    package = json.loads((EXAMPLE / "package.json").read_text())
    assert "@openai/chatkit-react" in package["dependencies"]
    assert (EXAMPLE / "package-lock.json").is_file(), "the lockfile must be committed"


def test_example_points_chatkit_at_the_gateway_with_our_token() -> None:
    source = (EXAMPLE / "src" / "App.tsx").read_text()
    assert "useChatKit" in source and "<ChatKit" in source
    assert "url: CHATKIT_URL" in source and "domainKey" in source and "fetch: authFetch" in source
    assert "/chatkit" in (EXAMPLE / "src" / "config.ts").read_text()
    auth = (EXAMPLE / "src" / "auth.ts").read_text()
    assert "/api/auth/login" in auth and "Bearer" in auth


def test_example_type_checks(installed: Path) -> None:
    assert NPM
    run([NPM, "run", "--silent", "typecheck"], installed, timeout=120)


def test_example_builds(installed: Path) -> None:
    assert NPM
    run([NPM, "exec", "--", "vite", "build", "--logLevel", "warn"], installed, timeout=120)
    html = (installed / "dist" / "index.html").read_text()
    assert "chatkit.js" in html, "the page must load ChatKit's web component"
    assert list((installed / "dist" / "assets").glob("*.js"))

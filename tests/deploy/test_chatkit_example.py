"""examples/nextjs installs from its lockfile, type-checks against the ChatKit SDK's own
types and builds with `next build` (npm registry only, telemetry off). Runs on a copy, so
the working tree gets no node_modules or .next."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import pytest
from agent.chatkit.widgets_weather import MAP_ACTION, UNITS_ACTION
from agent.settings import Settings as AgentSettings
from chat_testkit.plugin import starts_processes
from conversations.settings import Settings as ConversationsSettings

from tests.deploy.support import ROOT

EXAMPLE = ROOT / "examples" / "nextjs"
NPM = shutil.which("npm")
CHATKIT_SCRIPT = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"
# What `next build` and `next dev` write: never copied from a developer's tree.
GENERATED = ("node_modules", ".next", "next-env.d.ts", "*.tsbuildinfo")

pytestmark = [
    pytest.mark.skipif(NPM is None, reason="npm is not installed: no example build"),
    # npm ci and next build take 1-2 minutes on a busy 2-core machine: over the default.
    pytest.mark.timeout(600),
]


def run(args: list[str], cwd: Path, timeout: float) -> str:
    env = {**os.environ, "NEXT_TELEMETRY_DISABLED": "1"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
@starts_processes
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("nextjs")
    shutil.copytree(EXAMPLE, work, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*GENERATED))
    assert NPM
    run([NPM, "ci", "--no-audit", "--no-fund", "--prefer-offline"], work, timeout=300)
    run([NPM, "exec", "--", "next", "build"], work, timeout=300)
    return work


def source(path: str) -> str:
    return (EXAMPLE / path).read_text()


def test_example_depends_on_the_chatkit_react_package_and_next() -> None:
    package = json.loads(source("package.json"))
    assert {"@openai/chatkit-react", "next"} <= package["dependencies"].keys()
    assert (EXAMPLE / "package-lock.json").is_file(), "the lockfile must be committed"


def test_the_chat_page_is_a_client_component_on_the_app_router() -> None:
    assert source("app/page.tsx").startswith('"use client";')
    chat = source("components/Chat.tsx")
    assert chat.startswith('"use client";') and "useChatKit" in chat and "<ChatKit" in chat


def test_example_points_chatkit_at_the_gateway_with_our_token() -> None:
    options = source("lib/chatkit-options.ts")
    assert "url: CHATKIT_URL" in options and "domainKey" in options
    assert "fetch: authFetch" in options
    assert "/chatkit" in source("lib/config.ts")
    auth = source("lib/auth.ts")
    assert "/api/auth/login" in auth and "/api/auth/refresh" in auth and "Bearer" in auth


def test_example_turns_on_the_chatkit_features() -> None:
    options = source("lib/chatkit-options.ts")
    for turned_on in (
        'uploadStrategy: { type: "two_phase" }',
        "attachments: ATTACHMENTS",
        "threadItemActions: { feedback: true, retry: true }",
        "models: MODELS",
        "tools: TOOLS",
        "onTagSearch",
        "widgets: { onAction",
    ):
        assert turned_on in options, turned_on


def test_example_builds_a_page_that_loads_chatkit(built: Path) -> None:
    html = (built / ".next" / "server" / "app" / "index.html").read_text()
    assert CHATKIT_SCRIPT in html, "the page must load ChatKit's web component"
    assert list((built / ".next" / "static" / "chunks").glob("*.js"))


def test_example_type_checks_against_the_sdk_types(built: Path) -> None:
    # After the build, so Next's generated route types are checked too.
    assert NPM
    run([NPM, "run", "--silent", "typecheck"], built, timeout=120)


def test_example_handles_the_weather_cards_client_parts() -> None:
    """The agent's weather card: its client action opens the map in the page and is never
    forwarded (the server refuses client-marked types); its effect is handled."""
    widgets = source("lib/widgets.ts")
    assert f'"{MAP_ACTION}": async' in widgets
    assert 'return "done"' in widgets.split(f'"{MAP_ACTION}"')[1].split("},")[0]
    assert f'name === "{UNITS_ACTION}"' in source("lib/effects.ts")
    options = source("lib/chatkit-options.ts")
    assert "onEffect," in options and "onEffect: makeEffectHandler" in source("components/Chat.tsx")


def readme_setting(name: str) -> str:
    """The value of `NAME=...` in the example's README (one line, quotes removed)."""
    for line in source("README.md").splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1].strip("'")
    raise AssertionError(f"the README shows no {name}=")


def agent_settings(**env: str) -> AgentSettings:
    """The agent's settings from exactly these environment variables (and a secret)."""
    with mock.patch.dict(os.environ, {"AGENT_CLIENT_SECRET": "x", **env}, clear=True):
        return AgentSettings()


def test_the_readmes_client_tools_are_the_ones_the_page_runs() -> None:
    declared = agent_settings(CLIENT_TOOLS=readme_setting("CLIENT_TOOLS"))
    page = source("lib/client-tools.ts")
    assert "onClientTool," in source("lib/chatkit-options.ts")
    commented = re.search(r"//\s+CLIENT_TOOLS=(.*)", page)
    assert commented and json.loads(commented[1]) == json.loads(readme_setting("CLIENT_TOOLS"))
    assert declared.client_tools
    for name in declared.client_tools:
        assert f"  {name}: (" in page, f"the page has no client tool {name}"


def test_every_model_of_the_picker_is_accepted_with_the_readmes_allowlist() -> None:
    ids = set(re.findall(r'\{ id: "([^"]+)"', source("lib/models.ts").split("const TOOLS")[0]))
    assert ids, "no model ids found in lib/models.ts"
    settings = agent_settings(MODEL_ALLOWLIST=readme_setting("MODEL_ALLOWLIST"))
    assert ids <= settings.allowed_models()
    assert agent_settings().openai_model in ids, "the default must be allowed without a list"


def test_the_attachment_limits_match_the_backends_defaults() -> None:
    options = source("lib/chatkit-options.ts")
    per_message = agent_settings().attachments_per_message
    max_bytes = ConversationsSettings.model_fields["attachment_max_bytes"].default
    assert f"maxCount: {per_message}," in options
    assert max_bytes == 10 * 1024 * 1024 and "maxSize: 10 * 1024 * 1024," in options
    assert "not yet" not in source("README.md"), "attachments are served now"

"""The README's curl walkthrough, read from README.md and run word for word against the real
stack."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

from chat_testkit.tools import require_tool
from devstack import Stack

README = Path(__file__).resolve().parents[2] / "README.md"
# The walkthrough is the README's own block between these markers: what a reader copies is
# what this test runs, with nothing beside it to drift.
BLOCK = re.compile(r"<!-- walkthrough:start -->\n```bash\n(.*?)```\n<!-- walkthrough:end -->", re.S)


def _script(base_url: str) -> str:
    found = BLOCK.findall(README.read_text())
    assert len(found) == 1, f"{README}: expected one ```bash block between walkthrough markers"
    script: str = found[0]
    assert "BASE=http://127.0.0.1:8080" in script
    # The same commands on this stack's port, with an email of this run's own.
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    return script.replace("http://127.0.0.1:8080", base_url).replace("ada@example.com", email)


def test_the_readme_walkthrough_works_as_written(stack: Stack) -> None:
    require_tool(shutil.which("curl"), "needs curl")
    require_tool(shutil.which("jq"), "needs jq")
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _script(stack.gateway_url)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr + run.stdout
    out = run.stdout
    assert 'You said: \\"Hello!\\". I received 2 messages.' in out, out
    assert "event: delta" in out and "event: assistant_message" in out, out
    assert 'You said: \\"Tell me more\\". I received 4 messages.' in out, out
    assert '"title": "First steps"' in out, out

"""The README's curl walkthrough, run word for word against the real stack."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from devstack import Stack

WALKTHROUGH = Path(__file__).with_name("README_WALKTHROUGH.md")


def _script(base_url: str) -> str:
    blocks = re.findall(r"```bash\n(.*?)```", WALKTHROUGH.read_text(), flags=re.S)
    assert blocks, f"no ```bash block in {WALKTHROUGH}"
    script = "\n".join(blocks)
    assert "BASE=http://127.0.0.1:8080" in script
    # The same commands on this stack's port, with an email of this run's own.
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    return script.replace("http://127.0.0.1:8080", base_url).replace("ada@example.com", email)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl, jq")
def test_the_readme_walkthrough_works_as_written(stack: Stack) -> None:
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

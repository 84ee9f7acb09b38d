"""The gateway serves the chat page from a checkout only its owner can enter (`mktemp -d`
makes such a folder): nginx's workers must reach what they read and write (the static
files, and the temp dir a request body larger than its memory buffer is written to)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from devstack.config import find_repo_root
from devstack.gateway import GatewaySettings, load_defaults, nginx_process
from devstack.processes import free_port

ROOT = find_repo_root()
NOWHERE = "127.0.0.1:9"  # nothing listens: the page is nginx's own, a proxied call fails
# Above nginx's in-memory body buffer (16 KiB) and below the 1 MiB limit: written to disk.
LARGE_BODY = b'{"email": "a@example.com", "password": "' + b"x" * 200_000 + b'"}'

pytestmark = pytest.mark.process  # starts nginx in the test's own body


def test_the_chat_page_is_served_from_a_folder_only_its_owner_can_enter(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    static = private / "checkout" / "gateway" / "static"
    shutil.copytree(ROOT / "gateway" / "static", static)
    settings = GatewaySettings(
        port=free_port(),  # picked: nginx cannot report a port it bound
        auth=NOWHERE,
        conversations=NOWHERE,
        agents=(NOWHERE,),
        static_root=static,
        settings=load_defaults(ROOT),
    )
    gateway = nginx_process(
        "gateway-private",
        settings,
        repo_root=ROOT,
        workdir=private / "checkout" / ".data" / "nginx",
        log_path=tmp_path / "gateway.log",
        echo=False,
    )
    try:
        gateway.start().wait_ready(30)
        page = httpx.get(f"http://127.0.0.1:{settings.port}/", timeout=5)
        script = httpx.get(f"http://127.0.0.1:{settings.port}/app.js", timeout=5)
        login = httpx.post(
            f"http://127.0.0.1:{settings.port}/api/auth/login",
            content=LARGE_BODY,
            headers={"Content-Type": "application/json"},
            timeout=5,
        )
    finally:
        gateway.stop()
    assert page.status_code == 200, f"chat page: {page.status_code}\n{gateway.tail()}"
    assert page.text == (static / "index.html").read_text()
    assert script.status_code == 200, f"app.js: {script.status_code}\n{gateway.tail()}"
    # Written to nginx's temp dir, then refused by the absent upstream (502); an
    # unwritable temp dir would make it nginx's own 500 ("Permission denied").
    assert login.status_code == 502, f"POST with a body: {login.status_code}\n{gateway.tail()}"
    assert "buffered to a temporary file" in gateway.tail()

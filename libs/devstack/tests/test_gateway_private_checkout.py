"""The gateway serves the chat page from a checkout only its owner can enter (`mktemp -d`
makes such a folder): nginx's workers must reach what they read and write."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
from devstack.config import find_repo_root
from devstack.gateway import GatewaySettings, load_defaults, nginx_process
from devstack.processes import free_port

ROOT = find_repo_root()
NOWHERE = "127.0.0.1:9"  # no upstream is asked: the page and /healthz are nginx's own


def test_the_chat_page_is_served_from_a_folder_only_its_owner_can_enter(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    static = private / "checkout" / "gateway" / "static"
    shutil.copytree(ROOT / "gateway" / "static", static)
    settings = GatewaySettings(
        port=free_port(),
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
    finally:
        gateway.stop()
    assert page.status_code == 200, f"chat page: {page.status_code}\n{gateway.tail()}"
    assert page.text == (static / "index.html").read_text()
    assert script.status_code == 200, f"app.js: {script.status_code}\n{gateway.tail()}"

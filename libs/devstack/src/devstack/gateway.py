"""The nginx gateway: render gateway/nginx.conf.template and run nginx as a child.

Rendering substitutes `${NAME}` for the names in TEMPLATE_VARIABLES only, as the
official nginx image's envsubst does with the variables it is given, so nginx's own
`$variables` are left alone and one template serves devstack, Compose and Kubernetes.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import ManagedProcess, http_ok

# Every placeholder of the template, with the value a container deployment would use.
TEMPLATE_VARIABLES: dict[str, str] = {
    "GATEWAY_PORT": "8080",
    "AUTH_UPSTREAM": "auth:8001",
    "CONVERSATIONS_UPSTREAM": "conversations:8002",
    "AGENT_UPSTREAM": "agent:8003",
    "STATIC_ROOT": "/usr/share/nginx/html",
    "CORS_ALLOWED_ORIGINS": "http://localhost:3000",
    "AUTH_RATE_LIMIT": "10r/m",
    "AUTH_RATE_BURST": "20",
    "AUTH_RETRY_AFTER": "6",
    "SEND_RATE_LIMIT": "30r/m",
    "SEND_RATE_BURST": "10",
    "SEND_RETRY_AFTER": "2",
    "CHATKIT_RATE_LIMIT": "120r/m",
    "CHATKIT_RATE_BURST": "40",
    "CHATKIT_RETRY_AFTER": "1",
    "NGINX_WORKER_PROCESSES": "auto",
    "NGINX_PID_FILE": "/tmp/nginx.pid",
    "NGINX_TEMP_DIR": "/tmp",
}

_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
_RATE = re.compile(r"^(\d+)r/([sm])$")

INSTALL_HINT = (
    "nginx is not installed. Install it with `sudo apt-get install nginx` (Debian/Ubuntu), "
    "`sudo dnf install nginx` (Fedora) or `brew install nginx` (macOS), then run `make run` again."
)


@dataclass(frozen=True)
class RateLimit:
    """An nginx rate (`10r/s`, `30r/m`) and how many requests may go over it at once."""

    rate: str
    burst: int

    def __post_init__(self) -> None:
        if not _RATE.match(self.rate):
            raise ValueError(f"rate {self.rate!r} is not like '10r/s' or '30r/m'")

    @property
    def retry_after(self) -> int:
        """Seconds until the bucket has room for one more request."""
        match = _RATE.match(self.rate)
        assert match
        count, unit = int(match[1]), match[2]
        return max(1, math.ceil((60 if unit == "m" else 1) / count))


def template_path(repo_root: Path) -> Path:
    return repo_root / "gateway" / "nginx.conf.template"


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with every known `${NAME}` replaced; unknown names are an error."""
    missing = sorted({m for m in _PLACEHOLDER.findall(template) if m not in values})
    if missing:
        raise KeyError(f"no value for template variables: {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m[1]], template)


def nginx_binary() -> str:
    """The nginx executable, or a RuntimeError that says how to install it."""
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx", "/usr/local/sbin/nginx"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError(INSTALL_HINT)


@dataclass(frozen=True)
class GatewaySettings:
    port: int
    auth: str
    conversations: str
    agents: tuple[str, ...]
    static_root: Path
    cors_allowed_origins: str
    auth_rate: RateLimit
    send_rate: RateLimit
    chatkit_rate: RateLimit
    host: str = "127.0.0.1"
    worker_processes: str = "1"

    def template_values(self, workdir: Path) -> dict[str, str]:
        return {
            "GATEWAY_PORT": f"{self.host}:{self.port}",
            "AUTH_UPSTREAM": self.auth,
            "CONVERSATIONS_UPSTREAM": self.conversations,
            # Several replicas: the template's `server ${AGENT_UPSTREAM};` takes more servers.
            "AGENT_UPSTREAM": "; server ".join(self.agents),
            "STATIC_ROOT": str(self.static_root.resolve()),
            "CORS_ALLOWED_ORIGINS": self.cors_allowed_origins,
            "AUTH_RATE_LIMIT": self.auth_rate.rate,
            "AUTH_RATE_BURST": str(self.auth_rate.burst),
            "AUTH_RETRY_AFTER": str(self.auth_rate.retry_after),
            "SEND_RATE_LIMIT": self.send_rate.rate,
            "SEND_RATE_BURST": str(self.send_rate.burst),
            "SEND_RETRY_AFTER": str(self.send_rate.retry_after),
            "CHATKIT_RATE_LIMIT": self.chatkit_rate.rate,
            "CHATKIT_RATE_BURST": str(self.chatkit_rate.burst),
            "CHATKIT_RETRY_AFTER": str(self.chatkit_rate.retry_after),
            "NGINX_WORKER_PROCESSES": self.worker_processes,
            "NGINX_PID_FILE": str(workdir / "nginx.pid"),
            "NGINX_TEMP_DIR": str(workdir / "tmp"),
        }


def nginx_process(
    name: str,
    settings: GatewaySettings,
    *,
    repo_root: Path,
    workdir: Path,
    log_path: Path,
    echo: bool,
) -> ManagedProcess:
    """Renders the config into `workdir` and returns nginx (not started) serving it."""
    binary = nginx_binary()
    workdir = workdir.resolve()
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    # Workers run as `nobody` when nginx starts as root: they must reach the temp dir.
    for path in (workdir, workdir / "tmp"):
        path.chmod(0o755)
    config = workdir / "nginx.conf"
    config.write_text(
        render(template_path(repo_root).read_text(), settings.template_values(workdir))
    )
    return ManagedProcess(
        name,
        [binary, "-p", str(workdir), "-c", str(config), "-e", "stderr", "-g", "daemon off;"],
        ready=http_ok(f"http://{settings.host}:{settings.port}/healthz"),
        log_path=log_path,
        echo=echo,
    )

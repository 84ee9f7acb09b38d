"""The nginx gateway: render gateway/nginx.conf.template and run nginx as a child.

Rendering substitutes `${NAME}` for the template's upper-case placeholders only, as the
official nginx image's envsubst does with the variables it is given, so nginx's own
`$variables` are left alone and one template serves devstack, Compose and Kubernetes.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import ManagedProcess, http_ok

# The gateway's settings and their defaults are defined once, in gateway/defaults.env
# (read here, by the image's entrypoint and by the deploy tests). The rest of the template's
# placeholders say where things are (ports, upstreams, paths: CONTAINER_TOPOLOGY for a
# container deployment) or are worked out from the settings (derived_values).
DEFAULTS_FILE = Path("gateway") / "defaults.env"
CONTAINER_TOPOLOGY: dict[str, str] = {
    "GATEWAY_PORT": "8080",
    "AUTH_UPSTREAM": "auth:8001",
    "CONVERSATIONS_UPSTREAM": "conversations:8002",
    "AGENT_UPSTREAM": "agent:8003",
    "STATIC_ROOT": "/usr/share/nginx/html",
    "NGINX_WORKER_PROCESSES": "auto",
    "NGINX_PID_FILE": "/tmp/nginx.pid",
    "NGINX_TEMP_DIR": "/tmp",
}
# Rate-limited zones: <NAME>_RATE_LIMIT and <NAME>_RATE_BURST give <NAME>_RETRY_AFTER.
RATE_ZONES = ("AUTH", "SESSION", "SEND", "CHATKIT", "CHAT")
DERIVED = frozenset({*(f"{zone}_RETRY_AFTER" for zone in RATE_ZONES), "REAL_IP_DIRECTIVES"})
# High enough that nothing a test or benchmark does from one address ever meets a limit.
NO_LIMITS: dict[str, str] = {
    **{f"{zone}_RATE_LIMIT": "100000r/s" for zone in RATE_ZONES},
    **{f"{zone}_RATE_BURST": "100000" for zone in RATE_ZONES},
    "CONN_PER_ADDRESS": "65535",  # nginx's highest
    "CONN_PER_USER": "65535",
}

_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
# The access log formats of the template (gateway_text, gateway_json), as the services'.
LOG_FORMATS = ("text", "json")
_RATE = re.compile(r"^([1-9]\d*)r/([sm])$")

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


def load_defaults(repo_root: Path) -> dict[str, str]:
    """gateway/defaults.env: every gateway setting with its default."""
    values: dict[str, str] = {}
    for line in (repo_root / DEFAULTS_FILE).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def settings_from(given: Mapping[str, str], defaults: Mapping[str, str]) -> dict[str, str]:
    """Every setting of `defaults`, taken from `given` where it is set and not empty
    (an empty value means the default, as in the image's entrypoint)."""
    return {name: given.get(name) or default for name, default in defaults.items()}


def rate_settings(zone: str, rate: RateLimit) -> dict[str, str]:
    """The settings of one rate-limited zone (AUTH, SEND, ...) for a RateLimit."""
    return {f"{zone}_RATE_LIMIT": rate.rate, f"{zone}_RATE_BURST": str(rate.burst)}


def _positive(settings: Mapping[str, str], name: str, *, zero: bool = False) -> None:
    value = settings[name]
    if not value.isdigit() or (int(value) == 0 and not zero):
        raise ValueError(f"gateway setting {name}={value!r}: expected a positive whole number")


def real_ip_directives(trusted: str) -> str:
    """nginx real_ip directives for a space-separated list of trusted proxies."""
    sources = trusted.replace(",", " ").split()
    if not sources:
        return "# REAL_IP_FROM is empty: no proxy in front is trusted"
    for source in sources:
        try:
            ipaddress.ip_network(source, strict=False)
        except ValueError:
            raise ValueError(
                f"gateway setting REAL_IP_FROM: {source!r} is not an address or CIDR"
            ) from None
    lines = [f"set_real_ip_from {source};" for source in sources]
    return " ".join([*lines, "real_ip_header X-Forwarded-For;", "real_ip_recursive on;"])


def derived_values(settings: Mapping[str, str]) -> dict[str, str]:
    """Placeholders worked out from the settings (checked here: a bad value is a clear
    ValueError naming the setting, not an nginx syntax error)."""
    values: dict[str, str] = {}
    for zone in RATE_ZONES:
        _positive(settings, f"{zone}_RATE_BURST")
        try:
            rate = RateLimit(settings[f"{zone}_RATE_LIMIT"], int(settings[f"{zone}_RATE_BURST"]))
        except ValueError as exc:
            raise ValueError(f"gateway setting {zone}_RATE_LIMIT: {exc}") from None
        values[f"{zone}_RETRY_AFTER"] = str(rate.retry_after)
    for name in ("CONN_PER_ADDRESS", "CONN_PER_USER"):
        _positive(settings, name)
        if int(settings[name]) > 65535:
            raise ValueError(f"gateway setting {name}: nginx allows at most 65535")
    _positive(settings, "HSTS_MAX_AGE", zero=True)
    _positive(settings, "ATTACHMENT_MAX_BYTES")
    if settings["LOG_FORMAT"] not in LOG_FORMATS:
        raise ValueError(f"gateway setting LOG_FORMAT: expected one of {', '.join(LOG_FORMATS)}")
    values["REAL_IP_DIRECTIVES"] = real_ip_directives(settings["REAL_IP_FROM"])
    return values


def container_values(repo_root: Path) -> dict[str, str]:
    """Every placeholder with the value a container deployment uses by default."""
    defaults = load_defaults(repo_root)
    return CONTAINER_TOPOLOGY | defaults | derived_values(defaults)


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
    """Where nginx listens and sends, and the gateway settings (gateway/defaults.env names)."""

    port: int
    auth: str
    conversations: str | tuple[str, ...]  # host:port of each replica
    agents: tuple[str, ...]
    static_root: Path
    settings: Mapping[str, str]
    host: str = "127.0.0.1"
    worker_processes: str = "1"

    def template_values(self, workdir: Path) -> dict[str, str]:
        return {
            **self.settings,
            **derived_values(self.settings),
            "GATEWAY_PORT": f"{self.host}:{self.port}",
            "AUTH_UPSTREAM": self.auth,
            # Several replicas: the template's `server ${AGENT_UPSTREAM};` takes more servers.
            "CONVERSATIONS_UPSTREAM": _servers(self.conversations),
            "AGENT_UPSTREAM": _servers(self.agents),
            "STATIC_ROOT": str(self.static_root.resolve()),
            "NGINX_WORKER_PROCESSES": self.worker_processes,
            "NGINX_PID_FILE": str(workdir / "nginx.pid"),
            "NGINX_TEMP_DIR": str(workdir / "tmp"),
        }


def _servers(addresses: str | tuple[str, ...]) -> str:
    """An upstream placeholder's value: `a; server b; server c` for several replicas.

    Several replicas are never marked down (max_fails=0): nginx's default marks a replica
    down for 10 s after one error, a killed replica's cut streams count as errors, and once
    both were marked a new turn got 502 "no live upstreams" (tests/faults). Unmarked, a dead
    replica costs a refused connect and the request goes on to the next one."""
    if isinstance(addresses, str):
        return addresses
    if len(addresses) == 1:  # nginx never marks a lone server down: as the image renders it
        return addresses[0]
    return "; server ".join(f"{address} max_fails=0" for address in addresses)


def _global_directives() -> str:
    """nginx started as root runs its workers as `nobody`, who cannot enter a checkout in a
    folder only root can (`mktemp -d`): the chat page would be 404 and request bodies could
    not be buffered. Workers run as the user who started the stack instead (as any other
    user, nginx cannot switch and they run as that user anyway)."""
    return "daemon off; user root;" if os.geteuid() == 0 else "daemon off;"


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
    config = workdir / "nginx.conf"
    config.write_text(
        render(template_path(repo_root).read_text(), settings.template_values(workdir))
    )
    return ManagedProcess(
        name,
        [binary, "-p", str(workdir), "-c", str(config), "-e", "stderr", "-g", _global_directives()],
        ready=http_ok(f"http://{settings.host}:{settings.port}/healthz"),
        log_path=log_path,
        echo=echo,
    )

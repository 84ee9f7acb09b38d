"""What the deployment checks share: where things are, what each service is, and small
parsers for Dockerfiles, the compose file and .env.example. No Docker engine needed."""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import dockerfile  # type: ignore[import-not-found,unused-ignore]
import yaml
from devstack.config import Ports
from devstack.services import CATALOGUE, ServiceSpec
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
GATEWAY_TEMPLATE = ROOT / "gateway" / "nginx.conf.template"
K8S_DIR = ROOT / "deploy" / "k8s"

# Settings a deployment deliberately leaves out: development/test alternatives to what it
# does set (JWT_KEYS_DIR instead of JWT_PRIVATE_KEYS, an inline JWKS instead of the URL).
NOT_DEPLOYED = frozenset({"JWT_KEYS_DIR", "AUTH_JWKS"})


# The one Dockerfile of every Python service; build args say which service (compose's
# `build.args`, Service.build_args).
PYTHON_DOCKERFILE = ROOT / "services" / "Dockerfile"


@dataclass(frozen=True)
class Service:
    """One of our Python services as the deployment sees it (from devstack's catalogue)."""

    name: str  # compose service, k8s Deployment, services/<name>/, uv workspace package
    module: str  # `python -m <module>`
    port: int
    migrate: str | None = None  # `python -m <migrate>` module, for services with tables
    grpc_port: int | None = None
    dev_only: bool = False

    @classmethod
    def from_spec(cls, spec: ServiceSpec) -> Service:
        # Containers listen on the contract's ports, the ones `make run` uses.
        ports = Ports()
        return cls(
            spec.name,
            spec.module,
            spec.port(ports),
            spec.migrate,
            spec.grpc_port(ports),
            spec.dev_only,
        )

    @property
    def package(self) -> str:
        return self.name

    @property
    def settings(self) -> str:
        """ "module:Class" of its settings."""
        return f"{self.module}.settings:Settings"

    @property
    def directory(self) -> Path:
        return ROOT / "services" / self.name

    @property
    def dockerfile(self) -> Path:
        return PYTHON_DOCKERFILE

    @property
    def build_args(self) -> dict[str, str]:
        args = {"SERVICE": self.name, "MODULE": self.module, "PORT": str(self.port)}
        return args | ({"GRPC_PORT": str(self.grpc_port)} if self.grpc_port else {})

    def image(self) -> list[Instruction]:
        """The Dockerfile's instructions as a build with this service's args sees them."""
        return parse_dockerfile(self.dockerfile, self.build_args)

    def image_env(self) -> dict[str, str]:
        return dockerfile_env(self.image())

    def env_names(self) -> set[str]:
        return settings_env_names(self.settings)


SERVICES = tuple(Service.from_spec(spec) for spec in CATALOGUE)
SERVICES_BY_NAME = {s.name: s for s in SERVICES}
# The product's own services (pydantic settings, in production): not the offline model.
PRODUCT_SERVICES = tuple(s for s in SERVICES if not s.dev_only)


def load_object(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


class _RecordingEnviron(dict[str, str]):
    """os.environ stand-in that remembers every name a settings loader asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return super().__contains__(key)


@cache
def settings_env_names(path: str) -> set[str]:
    """The environment variables a settings class reads.

    pydantic-settings classes: each field (alias, or env_prefix + NAME). Anything else must
    have a `from_env()` that reads os.environ: it is run against a recording environment.
    """
    cls = load_object(path)
    if isinstance(cls, type) and issubclass(cls, BaseSettings):
        prefix = str(cls.model_config.get("env_prefix") or "")
        return {(field.alias or prefix + name).upper() for name, field in cls.model_fields.items()}
    recorder = _RecordingEnviron()
    with mock.patch.object(os, "environ", recorder):
        cls.from_env()
    return recorder.asked


def pydantic_default(path: str, env_name: str) -> Any:
    """The default of the pydantic-settings field read from `env_name`."""
    cls = load_object(path)
    for name, field in cls.model_fields.items():
        if (field.alias or name).upper() == env_name:
            return field.default
    raise KeyError(f"{path} has no setting {env_name}")


# ---------------------------------------------------------------- Dockerfiles


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, COPY, RUN, ...
    value: tuple[str, ...]  # the arguments, as Docker's parser splits them
    flags: tuple[str, ...]  # --from=..., --mount=..., --interval=...
    json: bool  # exec form (["python", "-m", ...])
    stage: int  # 0-based index of the FROM it belongs to

    @property
    def args(self) -> str:
        return " ".join(" ".join(self.value).split())


_BUILD_ARG = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _substitute(words: tuple[str, ...], args: Mapping[str, str], *, split: bool) -> tuple[str, ...]:
    """`${NAME}` of the declared build args replaced (others, like $PATH, left as they are);
    `split`: words split again after it, as EXPOSE does (an empty arg is no word)."""
    done = tuple(_BUILD_ARG.sub(lambda m: args.get(m[1], m[0]), word) for word in words)
    return tuple(" ".join(done).split()) if split else done


def parse_dockerfile(path: Path, build_args: Mapping[str, str] | None = None) -> list[Instruction]:
    """Instructions in order, read by Docker's own (BuildKit's) parser, with `${ARG}` of
    every declared ARG substituted (the build arg given, else its default, else empty; in
    RUN the shell would do it, with the same result)."""
    given = build_args or {}
    args: dict[str, str] = {}
    instructions: list[Instruction] = []
    stage = -1
    for command in dockerfile.parse_file(str(path)):
        keyword = command.cmd.upper()
        stage += keyword == "FROM"
        value = _substitute(command.value, args, split=keyword == "EXPOSE")
        if keyword == "ARG":
            name, _, default = value[0].partition("=")
            args[name] = given.get(name, default)
        instructions.append(Instruction(keyword, value, command.flags, command.json, stage))
    return instructions


def dockerfile_env(instructions: list[Instruction]) -> dict[str, str]:
    """ENV of the final stage."""
    last = max(i.stage for i in instructions)
    env: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword == "ENV" and ins.stage == last:
            env.update(zip(ins.value[::2], ins.value[1::2], strict=True))
    return env


# ---------------------------------------------------------------- compose and .env


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}")


def interpolations(text: str) -> Iterator[tuple[str, str | None, str | None]]:
    """(name, operator, argument) of every ${...} in compose text; `$${...}` is escaped."""
    for match in _INTERPOLATION.finditer(text):
        if match.start() > 0 and text[match.start() - 1] == "$":
            continue
        yield match[1], match[2], match[3]


def env_example_names() -> dict[str, bool]:
    """Names in .env.example -> whether the line is active (False: a `# NAME=` default)."""
    names: dict[str, bool] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=", line)
        if match:
            names[match[2]] = names.get(match[2], False) or match[1] is None
    return names


def environment(service: Mapping[str, Any]) -> dict[str, Any]:
    """A compose service's environment as a mapping (list form converted)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    assert isinstance(env, dict)
    return env


def template_placeholders() -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", GATEWAY_TEMPLATE.read_text()))


def read_dotenv(text: str) -> dict[str, str]:
    """A .env file as Compose reads it (the subset we write: KEY=VALUE, quoted or not)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if not match:
            continue
        value = match[2].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = re.sub(r"\s+#.*$", "", value)
        values[match[1]] = value
    return values


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR:+other}."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match[1], match[2], match[3] or ""
        current = variables.get(name)
        empty = not current
        if op in (":-", "-"):
            return arg if (empty if op == ":-" else current is None) else str(current)
        if op in (":?", "?"):
            if empty if op == ":?" else current is None:
                raise ValueError(f"required variable {name} is missing: {arg}")
            return str(current)
        if op in (":+", "+"):
            return "" if (empty if op == ":+" else current is None) else arg
        return current or ""

    escaped = value.replace("$$", "\0")
    return _INTERPOLATION.sub(one, escaped).replace("\0", "$")


def container_environment(
    service: Mapping[str, Any], image_env: Mapping[str, str], variables: Mapping[str, str]
) -> dict[str, str]:
    """What a compose service's process sees: the image's ENV, then compose's values
    (interpolated), pass-through names only when the variables have them."""
    env = dict(image_env)
    for name, value in environment(service).items():
        if value is None:
            if name in variables:
                env[name] = variables[name]
        else:
            env[name] = interpolate(str(value), variables)
    return env

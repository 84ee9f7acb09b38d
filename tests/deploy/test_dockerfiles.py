"""The one Python Dockerfile, with each service's build args, builds the image the
deployment expects (read, not built: there is no Docker engine here), and its dependency
layer really installs from the files it copies (replayed with uv in a scratch directory)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from string import Template

import pytest

from tests.deploy.support import (
    PYTHON_DOCKERFILE,
    ROOT,
    SERVICES,
    Instruction,
    Service,
    dockerfile_env,
    parse_dockerfile,
)

BY_NAME = pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def only(instructions: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in instructions if i.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {len(found)}"
    return found[0]


@BY_NAME
def test_every_service_has_a_dockerfile_and_an_entry_point(service: Service) -> None:
    assert service.dockerfile.is_file(), f"{service.dockerfile} is missing"
    main = service.directory / "src" / service.module / "__main__.py"
    assert main.is_file(), f"`python -m {service.module}` needs {main}"


def test_the_python_services_share_one_dockerfile() -> None:
    copies = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("services/*/Dockerfile"))
    assert not copies, f"build these with {PYTHON_DOCKERFILE.relative_to(ROOT)} and args"


def test_a_build_without_its_args_is_refused() -> None:
    # The args left for the shell to read from the environment, as a build runs RUN.
    as_shell_reads = {"MODULE": "$MODULE", "PORT": "$PORT"}
    final = final_stage(parse_dockerfile(PYTHON_DOCKERFILE, as_shell_reads))
    check = next(i.args for i in final if i.keyword == "RUN" and "test -n" in i.args)
    given = {"MODULE": "auth", "PORT": "8001"}
    assert subprocess.run(["sh", "-c", check], env=given, capture_output=True).returncode == 0
    for missing in given:
        env = {name: value for name, value in given.items() if name != missing}
        refused = subprocess.run(["sh", "-c", check], env=env, capture_output=True)
        assert refused.returncode != 0, f"a build without {missing} must fail"


@BY_NAME
def test_image_runs_as_an_unprivileged_numeric_user(service: Service) -> None:
    user = only(final_stage(service.image()), "USER").value[0]
    uid = user.split(":")[0]
    # Numeric, so Kubernetes' runAsNonRoot can verify it without looking inside the image.
    assert uid.isdigit() and int(uid) != 0, f"USER {user} must be a non-root numeric id"


@BY_NAME
def test_image_healthcheck_asks_the_liveness_route_on_the_service_port(service: Service) -> None:
    instructions = final_stage(service.image())
    check = only(instructions, "HEALTHCHECK").args
    assert "/healthz" in check and "python" in check  # slim images have no curl
    assert dockerfile_env(instructions)["PORT"] == str(service.port)
    assert "os.environ['PORT']" in check, "the check must ask the port the service uses"


@BY_NAME
def test_image_stops_with_sigterm_and_starts_the_module(service: Service) -> None:
    instructions = final_stage(service.image())
    assert only(instructions, "STOPSIGNAL").value == ("SIGTERM",)
    cmd = only(instructions, "CMD")
    assert cmd.json and cmd.value[:2] == ("/bin/sh", "-c")
    # What the shell runs, with the image's environment: `exec` makes the service PID 1,
    # so the stop signal reaches it and not a shell.
    script = Template(cmd.value[2]).substitute(dockerfile_env(instructions))
    assert shlex.split(script) == ["exec", "python", "-m", service.module]


@BY_NAME
def test_image_listens_on_all_interfaces_in_production_mode(service: Service) -> None:
    env = service.image_env()
    assert env["HOST"] == "0.0.0.0"
    assert env["ENVIRONMENT"] == "production"
    exposed = only(final_stage(service.image()), "EXPOSE").value
    wanted = {str(service.port)} | ({str(service.grpc_port)} if service.grpc_port else set())
    assert set(exposed) == wanted


@BY_NAME
def test_dependencies_install_from_the_lockfile_before_the_code_is_copied(
    service: Service,
) -> None:
    build = [i for i in service.image() if i.stage == 0]
    syncs = [n for n, i in enumerate(build) if i.keyword == "RUN" and "uv sync" in i.args]
    assert len(syncs) == 2, "one sync for dependencies, one for the workspace code"
    deps_sync, code_sync = (build[n].args for n in syncs)
    for args in (deps_sync, code_sync):
        assert f"--frozen --no-dev --package {service.package}" in args
    assert "--no-install-workspace" in deps_sync
    copied_before = [i.value for i in build[: syncs[0]] if i.keyword == "COPY"]
    assert any("uv.lock" in c for c in copied_before), "uv.lock must come before the sync"
    # Before the dependency layer only manifests are copied: code changes keep it cached.
    for copy in copied_before:
        sources = copy[:-1]
        assert all(
            s in ("pyproject.toml", "uv.lock") or s.endswith("/pyproject.toml") for s in sources
        ), copy
    copied_after = " ".join(i.args for i in build[syncs[0] : syncs[1]] if i.keyword == "COPY")
    assert f"services/{service.name}/" in copied_after


def copy_like_docker(src: Path, dest: Path, *, into: bool) -> None:
    """COPY semantics: a directory's contents go to dest; a file goes into a dest/ dir."""
    if src.is_dir():
        ignore = shutil.ignore_patterns("tests", "__pycache__")  # as .dockerignore does
        shutil.copytree(src, dest, dirs_exist_ok=True, ignore=ignore)
        return
    target = dest / src.name if into else dest
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, target)


def replay_build_stage(service: Service, workdir: Path) -> Path:
    """Runs the build stage's COPY and `uv sync` steps in `workdir` (the image's /app)."""
    venv = workdir / ".venv"
    for ins in service.image():
        if ins.stage != 0:
            continue
        if ins.keyword == "COPY":
            *sources, dest = ins.value
            for source in sources:
                copy_like_docker(ROOT / source, workdir / dest, into=dest.endswith("/"))
        elif ins.keyword == "RUN" and "uv sync" in ins.args:
            command = re.search(r"(uv sync[^&]*)", ins.args)
            assert command
            env = {
                **os.environ,
                "UV_PROJECT_ENVIRONMENT": str(venv),
                "UV_LINK_MODE": "hardlink",
                "UV_PYTHON": sys.executable,
            }
            # Offline first: the workspace's own `uv sync` has filled uv's cache; only a
            # pruned cache needs the registry.
            for mode in (["--offline"], []):
                result = subprocess.run(
                    [*command[1].split(), *mode, "--quiet"],
                    cwd=workdir,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
                if result.returncode == 0:
                    break
            assert result.returncode == 0, f"{command[1]} failed:\n{result.stderr}"
    return venv


@pytest.mark.process
@BY_NAME
def test_build_stage_installs_a_working_service_from_what_it_copies(
    service: Service, tmp_path: Path
) -> None:
    venv = replay_build_stage(service, tmp_path)
    python = venv / "bin" / "python"
    # find_spec, not import: the code and its entry points are where the venv looks,
    # without paying for a cold import of the whole dependency tree.
    modules = [service.module, f"{service.module}.__main__", service.settings.split(":")[0]]
    modules += [service.migrate] if service.migrate else []
    probe = (
        "import importlib.util, sys; "
        "missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]; "
        "sys.exit(f'not installed: {missing}' if missing else 0)"
    )
    result = subprocess.run(
        [str(python), "-c", probe, *modules],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"the image could not import its code:\n{result.stderr}"
    if service.migrate:
        migrations = tmp_path / "services" / service.name / "migrations"
        assert (migrations / "env.py").is_file(), "migrations must be in the image"

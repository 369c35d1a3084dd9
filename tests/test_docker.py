"""docker/: the image installs the project as `make setup` does, and the compose file is valid.

No Docker engine runs here, so the image is not built: its Dockerfile is parsed and checked
against the Makefile and pyproject.toml, and the compose file is checked by `docker-compose config`
(Debian's docker-compose package) and by reading it.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from pydantic import BaseModel

from riposte import metrics
from riposte.api.metrics import Metrics
from riposte.settings import Settings
from tenant_emulator.seed import load_seed
from tenant_emulator.server import tenant_settings_for

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DEMO_ENV = DOCKER / "demo.env"
OPERATIONS = ROOT / "docs" / "OPERATIONS.md"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RIPOSTE_SERVICES = ("worker", "api", "audit-migrate", "emulator")


# -- reading the files ----------------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile as stages of (INSTRUCTION, arguments), continuations joined."""
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), " ".join(arguments.split())))
    return stages


def make_setup_commands() -> list[str]:
    """The commands `make setup` runs from scratch, as make itself prints them (nothing runs)."""
    make = shutil.which("make")
    assert make is not None, "make is needed to read the Makefile's setup recipe"
    done = subprocess.run(
        [make, "--dry-run", "--always-make", "setup"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def dockerignored(relative: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = relative.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
        for pattern in patterns
        for prefix in prefixes
    ) or any(fnmatch.fnmatch(part, p.removeprefix("**/")) for p in patterns for part in parts)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def environment(service: dict[str, Any]) -> dict[str, Any]:
    env: dict[str, Any] = service.get("environment") or {}
    return env


def setting_exists(variable: str) -> bool:
    """Whether a RIPOSTE_* environment variable sets a field of `Settings`."""
    path = variable.removeprefix("RIPOSTE_").lower().split("__")
    model: type[BaseModel] = Settings
    for depth, name in enumerate(path):
        field = model.model_fields.get(name)
        if field is None:
            return False
        if depth < len(path) - 1:
            annotation = field.annotation
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


# -- the image --------------------------------------------------------------------------------


def test_the_image_installs_the_project_by_running_make_setup() -> None:
    """The build runs `make setup` itself, whose recipe is the pip install of the project, and
    nothing else in the Dockerfile installs a package: the two cannot drift apart."""
    build = dockerfile_stages()[0]
    runs = [arguments for instruction, arguments in build if instruction == "RUN"]
    assert "make setup" in runs
    recipe = make_setup_commands()
    assert ".venv/bin/pip install --quiet -e '.[dev]'" in recipe, recipe
    everything = [args for stage in dockerfile_stages() for kind, args in stage if kind == "RUN"]
    installs = [run for run in everything if re.search(r"\bpip3? install\b|-m pip install", run)]
    assert installs == []
    copied = [args for kind, args in build if kind == "COPY"]
    assert copied and copied[0] == ". ."  # the whole context, before make setup runs
    assert build.index(("COPY", ". .")) < build.index(("RUN", "make setup"))


def test_the_image_removes_only_the_dev_tools() -> None:
    """The one uninstall names the `dev` extra's packages, none of which the project needs."""
    runs = [args for kind, args in dockerfile_stages()[0] if kind == "RUN"]
    uninstalls = [run for run in runs if "uninstall" in run]
    assert uninstalls == [
        ".venv/bin/pip uninstall --yes $(.venv/bin/python docker/dev_packages.py)"
    ]
    done = subprocess.run(
        [shutil.which("python3") or "python3", str(DOCKER / "dev_packages.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    removed = set(done.stdout.split())
    dev = {Requirement(r).name for r in PYPROJECT["project"]["optional-dependencies"]["dev"]}
    runtime = {Requirement(r).name for r in PYPROJECT["project"]["dependencies"]}
    assert removed == dev
    assert not removed & runtime


def test_the_context_holds_what_make_setup_reads() -> None:
    """.dockerignore keeps out caches and tests, never a file the install or the image needs."""
    needed = [
        "Makefile",
        "pyproject.toml",
        "README.md",
        "worker.py",
        "riposte/cli/__init__.py",
        "riposte/audit/migrations/postgres/0001_initial.sql",
        "emulator/tenant_emulator/seed.yaml",
        "workflows/respond_to_alert.py",
        "activities/audit.py",
        "policies/m365-account-takeover.yaml",
        "docker/dev_packages.py",
        "docker/entrypoint.sh",
    ]
    assert [path for path in needed if dockerignored(path)] == []
    for unwanted in (".venv/bin/python", ".git/HEAD", "riposte/__pycache__/x.pyc", "tests/x.py"):
        assert dockerignored(unwanted), unwanted


def test_the_runtime_stage_copies_everything_the_install_points_at() -> None:
    """Every package and module pyproject.toml installs (editable, from /app) is copied to the
    runtime stage, with the venv; so is the policy folder the image defaults to."""
    runtime = dockerfile_stages()[-1]
    copied = {
        args.split()[-1]
        for kind, args in runtime
        if kind == "COPY" and args.startswith("--from=build")
    }
    setuptools = PYPROJECT["tool"]["setuptools"]
    tops = {pattern.rstrip("*") for pattern in setuptools["packages"]["find"]["include"]}
    modules = {f"{module}.py" for module in setuptools["py-modules"]}
    expected = {f"/app/{name}" for name in tops | modules} | {"/app/.venv", "/app/policies"}
    assert copied == expected
    env = " ".join(args for kind, args in runtime if kind == "ENV")
    assert "RIPOSTE_POLICIES_DIR=/app/policies" in env.split()


def test_the_image_is_small_python_and_runs_unprivileged() -> None:
    """Both stages are python:3.11-slim; the runtime runs as a named non-root user through
    the entry point, which hands its arguments to `riposte`."""
    stages = dockerfile_stages()
    assert [stage[0][1].split()[0] for stage in stages] == ["python:3.11-slim"] * 2
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    runtime = stages[-1]
    users = [args for kind, args in runtime if kind == "USER"]
    assert users == ["riposte"]
    assert ("ENTRYPOINT", '["riposte-entrypoint"]') in runtime
    assert ("CMD", '["worker"]') in runtime
    script = (DOCKER / "entrypoint.sh").read_text().strip().splitlines()
    assert script[-1] == 'exec riposte "$@"'


# -- the compose file -------------------------------------------------------------------------


def docker_compose(*args: str) -> dict[str, Any]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    done = subprocess.run(
        [binary, "-f", str(COMPOSE), *args, "config"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def test_docker_compose_accepts_the_stack() -> None:
    """`docker-compose config` accepts the file: PostgreSQL, Temporal on it, its UI, a worker and
    the API, wired by environment variables."""
    services = docker_compose()["services"]
    assert {"postgres", "temporal", "temporal-ui", "worker", "api"} <= set(services)
    assert environment(services["temporal"])["DB"] == "postgres12"
    worker = environment(services["worker"])
    assert worker["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert worker["RIPOSTE_AUDIT_URL"].startswith("postgresql://riposte_writer:")
    assert worker["RIPOSTE_METRICS_ADDRESS"] == "0.0.0.0:9464"
    assert worker["RIPOSTE_TENANT__CLIENT_SECRET"] is None  # unset unless the operator sets it
    assert services["api"]["command"][0] == "serve"


def test_the_demo_profile_points_the_worker_at_the_emulator() -> None:
    """With demo.env and the demo profile, the emulator shares the worker's network and the
    worker's tenant settings name it and trust its CA."""
    services = docker_compose("--env-file", str(DEMO_ENV), "--profile", "demo")["services"]
    emulator = services["emulator"]
    assert emulator["network_mode"] == "service:worker"
    assert emulator["command"][0] == "emulator"
    worker = environment(services["worker"])
    assert worker["RIPOSTE_TENANT__GRAPH_URL"] == "https://127.0.0.1:8443/v1.0"
    assert worker["RIPOSTE_TENANT__CA_BUNDLE"].startswith("/var/lib/riposte-emulator/")


def test_demo_env_matches_the_emulator_seed() -> None:
    """The demo's tenant settings are the shipped seed's: tenant, client, subscription, NSGs."""
    seeded = tenant_settings_for(load_seed(None), "https://127.0.0.1:8443", Path("ca.pem"))
    values = env_file(DEMO_ENV)
    assert values["RIPOSTE_TENANT__TENANT_ID"] == seeded.tenant_id
    assert values["RIPOSTE_TENANT__CLIENT_ID"] == seeded.client_id
    assert seeded.client_secret is not None
    assert values["RIPOSTE_TENANT__CLIENT_SECRET"] == seeded.client_secret.get_secret_value()
    assert values["RIPOSTE_TENANT__SUBSCRIPTION_ID"] == seeded.subscription_id
    nsgs = yaml.safe_load(values["RIPOSTE_TENANT__NSGS"])
    assert nsgs == [nsg.model_dump() for nsg in seeded.nsgs]


def test_every_riposte_variable_named_is_a_real_setting() -> None:
    """Each RIPOSTE_* variable the containers get, demo.env sets or OPERATIONS.md documents is
    a field of Settings (compose's own ${...} variables aside), so none is silently ignored."""
    services = compose()["services"]
    named = {
        key
        for name in RIPOSTE_SERVICES
        for key in environment(services[name])
        if key.startswith("RIPOSTE_")
    }
    named |= set(env_file(DEMO_ENV))
    named |= set(re.findall(r"\bRIPOSTE_[A-Z_]*[A-Z]", OPERATIONS.read_text()))
    interpolated = set(re.findall(r"\$\{(RIPOSTE_\w+)", COMPOSE.read_text()))
    unknown = sorted(v for v in named - interpolated if not setting_exists(v))
    assert unknown == []
    assert "RIPOSTE_METRICS_ADDRESS" in named


def test_the_metrics_documented_are_the_metrics_exposed() -> None:
    """Every riposte_* metric the operations guide tells operators to alert on is one Riposte
    exposes (the worker's, or the API's with prometheus_client's `_total` on counters)."""
    worker = {metrics.ACTIONS, metrics.APPROVAL_WAIT, metrics.AUDIT_EVENTS, metrics.REVERT_BACKLOG}
    api: set[str] = set()
    for family in Metrics().registry.collect():
        api.add(family.name + ("_total" if family.type == "counter" else ""))
    text = OPERATIONS.read_text()
    section = text[text.index("## 7. Metrics") : text.index("## 8.")]
    documented = {
        name.removesuffix("_bucket").removesuffix("_count")
        for name in re.findall(r"\briposte_[a-z_]+[a-z]", section)
    }
    assert worker <= documented
    assert sorted(documented - worker - api) == []


def test_the_entry_point_waits_for_the_tenant_ca_then_runs_riposte(tmp_path: Path) -> None:
    """With the tenant CA bundle not written yet (the demo emulator writes it), the entry point
    waits for it, then hands its arguments to `riposte`."""
    bundle = tmp_path / "emulator-ca.pem"
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "RIPOSTE_TENANT__CA_BUNDLE": str(bundle),
    }
    writer = threading.Timer(1.0, lambda: bundle.write_text("-----BEGIN CERTIFICATE-----\n"))
    writer.start()
    try:
        done = subprocess.run(
            ["sh", str(DOCKER / "entrypoint.sh"), "doctor", "--help"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        writer.cancel()
    assert done.returncode == 0, done.stderr
    assert "waiting for the tenant CA bundle" in done.stderr
    assert done.stdout.startswith("usage: riposte doctor")

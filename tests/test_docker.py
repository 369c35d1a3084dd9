"""docker/, read: the image installs the lock, and the compose file is valid.

These read the files; tests/test_containers.py builds the images and runs the stack.
The compose file is checked by `docker-compose config` (Debian's docker-compose package).
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
from pydantic import BaseModel

from riposte import metrics
from riposte.api.metrics import Metrics
from riposte.cli.common import TOKEN_ENV
from riposte.settings import Settings
from riposte.temporal_server import SEARCH_ATTRIBUTES, cli_type
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
    """The Dockerfile as stages of (INSTRUCTION, arguments), continuations joined; the global
    ARGs before the first FROM are left out."""
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        if not stages:
            continue  # a global ARG, before the first stage
        stages[-1].append((instruction.upper(), " ".join(arguments.split())))
    return stages


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


def runs(stage: list[tuple[str, str]]) -> list[str]:
    return [arguments for instruction, arguments in stage if instruction == "RUN"]


def test_the_image_installs_the_lock_hash_checked_and_nothing_else() -> None:
    """The build's only installs are requirements.lock with --require-hashes and the project
    with --no-deps, so the image runs exactly the pins the tests ran."""
    stages = dockerfile_stages()
    installs = [
        command
        for stage in stages
        for run in runs(stage)
        for command in run.split("&&")
        if re.search(r"\bpip3? install\b|-m pip install", command)
    ]
    assert [" ".join(c.split()) for c in installs] == [
        "/app/.venv/bin/python -m pip install --quiet --require-hashes --no-deps --no-compile "
        "--find-links /wheels -r requirements.lock",
        "/app/.venv/bin/python -m pip install --quiet --no-deps --no-build-isolation "
        "--no-compile .",
    ]
    assert ("COPY", "requirements.lock ./") in stages[0]
    assert any("pip check" in run for run in runs(stages[0]))


def test_the_base_is_a_build_argument_defaulting_to_slim_python() -> None:
    """The build and the runtime start from ${BASE}, the slim Python 3.11 image unless the
    offline build names its Debian base; the default target, last, is the runtime without the
    emulator."""
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE=python:3\.11-slim$", text, re.MULTILINE)
    froms = [stage[0][1].split() for stage in dockerfile_stages()]
    assert froms == [
        ["${BASE}", "AS", "build"],
        ["${BASE}", "AS", "base"],
        ["base", "AS", "emulator"],
        ["base", "AS", "runtime"],
    ]
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"


def test_every_file_the_build_copies_is_in_the_context() -> None:
    """Each COPY source exists and .dockerignore lets it through, while caches and tests stay
    out of the context."""
    sources = [
        source
        for stage in dockerfile_stages()
        for kind, arguments in stage
        if kind == "COPY" and not arguments.startswith("--from=")
        for source in arguments.split()[:-1]
    ]
    assert "requirements.lock" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not dockerignored(source.rstrip("/")), source
    for unwanted in (".venv/bin/python", ".git/HEAD", "riposte/__pycache__/x.pyc", "tests/x.py"):
        assert dockerignored(unwanted), unwanted


def test_the_runtime_runs_unprivileged_through_the_entry_point() -> None:
    """The runtime (the `base` stage, as is) runs as uid 10001 and hands its arguments to
    `riposte`."""
    runtime = dockerfile_stages()[1]
    assert dockerfile_stages()[-1] == [("FROM", "base AS runtime")]
    assert [args for kind, args in runtime if kind == "USER"] == ["10001:10001"]
    assert ("ENTRYPOINT", '["riposte-entrypoint"]') in runtime
    assert ("CMD", '["worker"]') in runtime
    env = " ".join(args for kind, args in runtime if kind == "ENV")
    assert "RIPOSTE_POLICIES_DIR=/app/policies" in env.split()
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


def test_the_offline_override_runs_only_local_images() -> None:
    """With compose.offline.yaml, every service that runs takes an image docker/build-offline
    makes (localhost/...), Temporal is the dev server with its UI on the UI port, and the
    official UI is left to its own profile."""
    offline = str(DOCKER / "compose.offline.yaml")
    services = docker_compose("-f", offline, "--env-file", str(DEMO_ENV), "--profile", "demo")[
        "services"
    ]
    running = {
        name: s for name, s in services.items() if "official-ui" not in s.get("profiles", [])
    }
    assert set(running) == set(services) - {"temporal-ui"}
    assert {name: s["image"].split("/")[0] for name, s in running.items()} == {
        name: "localhost" for name in running
    }
    assert services["emulator"]["image"].startswith("localhost/riposte-emulator:")
    assert "8233" in str(services["temporal"]["ports"])


def test_demo_env_matches_the_emulator_seed() -> None:
    """The demo's tenant settings are the shipped seed's: tenant, client, subscription, NSGs."""
    seeded = tenant_settings_for(load_seed(None), "https://127.0.0.1:8443", Path("ca.pem"))
    values = env_file(DEMO_ENV)
    assert values["RIPOSTE_TENANT__TENANT_ID"] == seeded.tenant_id
    assert values["RIPOSTE_TENANT__CLIENT_ID"] == seeded.client_id
    assert seeded.client_secret is not None
    assert values["RIPOSTE_TENANT__CLIENT_SECRET"] == seeded.client_secret.get_secret_value()
    assert values["RIPOSTE_TENANT__SUBSCRIPTION_ID"] == seeded.subscription_id
    assert values["RIPOSTE_TENANT__BLOB_URL"] == seeded.blob_url
    nsgs = yaml.safe_load(values["RIPOSTE_TENANT__NSGS"])
    binding = type(seeded.nsgs[0])
    assert [binding.model_validate(nsg) for nsg in nsgs] == list(seeded.nsgs)


def test_every_riposte_variable_named_is_a_real_setting() -> None:
    """Each RIPOSTE_* variable the containers get, demo.env sets or OPERATIONS.md documents is
    a field of Settings (compose's own ${...} variables and the CLI's token variable aside), so
    none is silently ignored."""
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
    cli_own = {TOKEN_ENV}  # the CLI's decision token, read by the CLI alone
    unknown = sorted(v for v in named - interpolated - cli_own if not setting_exists(v))
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


def test_the_namespace_job_registers_every_search_attribute() -> None:
    """docker/temporal/setup-namespace.sh registers exactly the search attributes the workflows
    set (riposte/temporal_server.py), with the same types: one missing fails every response."""
    script = (DOCKER / "temporal" / "setup-namespace.sh").read_text()
    [listed] = re.findall(r"^for attribute in (.+); do$", script, re.MULTILINE)
    assert sorted(listed.split()) == sorted(f"{k.name}={cli_type(k)}" for k in SEARCH_ATTRIBUTES)

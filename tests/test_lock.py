"""The lock files: every dependency pinned once, with hashes, above the known advisories.

`make setup` installs requirements-dev.lock and the image installs requirements.lock, both with
pip's --require-hashes; these tests read the files (no index is asked) so that a dependency added
to pyproject.toml without `make lock` fails here, before any install.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCAL = {"riposte", "tenant-emulator"}
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def pins(lock: Path) -> dict[str, list[tuple[Version, str, int]]]:
    """name -> [(version, environment marker, number of hashes)], from a uv-compiled lock."""
    found: dict[str, list[tuple[Version, str, int]]] = {}
    last: list[tuple[Version, str, int]] | None = None
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            name, version, marker = match.groups()
            last = found.setdefault(canonicalize_name(name), [])
            last.append((Version(version), (marker or "").strip(), 0))
        elif line.strip().startswith("--hash=sha256:") and last is not None:
            version, marker, hashes = last[-1]
            last[-1] = (version, marker, hashes + 1)
    return found


RUNTIME = pins(ROOT / "requirements.lock")
DEV = pins(ROOT / "requirements-dev.lock")


def requirements(group: str | None) -> list[Requirement]:
    project = PYPROJECT["project"]
    listed = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return [Requirement(text) for text in listed]


def test_every_pin_carries_hashes_and_no_local_project_is_pinned() -> None:
    """Each pinned release lists its sha256 hashes, and riposte (or the emulator) is never taken
    from an index, where a project of the same name could stand in for ours."""
    for lock in (RUNTIME, DEV):
        assert lock
        assert not LOCAL & set(lock)
        for name, entries in lock.items():
            assert all(hashes >= 1 for _, _, hashes in entries), name


def test_every_dependency_in_pyproject_is_locked_within_its_range() -> None:
    """Each runtime dependency is pinned in both locks, and each dev one in the dev lock, at a
    version its specifier admits: a requirement added without `make lock` fails here."""
    for requirement, locks in [(r, (RUNTIME, DEV)) for r in requirements(None)] + [
        (r, (DEV,)) for r in requirements("dev")
    ]:
        for lock in locks:
            name = canonicalize_name(requirement.name)
            assert name in lock, f"{name} is not in the lock: run `make lock`"
            for version, _, _ in lock[name]:
                assert requirement.specifier.contains(version, prereleases=True), (name, version)


def test_the_runtime_lock_is_the_dev_lock_without_the_dev_tools() -> None:
    """What the image runs is what the tests ran: every runtime pin is the dev lock's, and no
    test or lint tool reaches the image's lock."""
    for name, entries in RUNTIME.items():  # markers may differ: each lock resolves its own set
        assert {v for v, _, _ in DEV.get(name, [])} == {v for v, _, _ in entries}, name
    for requirement in requirements("dev"):
        assert canonicalize_name(requirement.name) not in RUNTIME


def test_the_locks_stay_above_the_known_advisories() -> None:
    """The releases installed are past the advisories the floors were set for, and so is the
    setuptools that builds the project."""
    floors = {
        "jinja2": "3.1.6",
        "aiohttp": "3.12.14",
        "starlette": "0.47.2",
        "cryptography": "44.0.1",
        "setuptools": "78.1.1",
        "h11": "0.16.0",
    }
    for lock in (RUNTIME, DEV):
        for name, floor in floors.items():
            assert name in lock, name
            assert all(version >= Version(floor) for version, _, _ in lock[name]), name

"""Fixtures for the tenant emulator: one HTTPS emulator per session, reset before each test.

emulator        RunningEmulator (session): .url, .ca_path, .tenant_settings()
emulator_seam   EmulatorSeam (session): .state(), .calls(), .call_count(key),
                .add_fault(route=..., status=429, retry_after=1), .clear_faults(), .reset()
tenant          TenantSettings (per test) for a tenant just reset to the shipped seed
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from riposte.emulator.client import EmulatorSeam
from riposte.emulator.server import RunningEmulator, start_emulator
from riposte.settings import TenantSettings


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(tmp_path_factory.mktemp("emulator")) as running:
        yield running


@pytest.fixture(scope="session")
def emulator_seam(emulator: RunningEmulator) -> Iterator[EmulatorSeam]:
    seam = EmulatorSeam(emulator.url, emulator.ca_path)
    yield seam
    seam.close()


@pytest.fixture
def tenant(emulator: RunningEmulator, emulator_seam: EmulatorSeam) -> TenantSettings:
    emulator_seam.reset()
    return emulator.tenant_settings()

"""Fixtures for the tenant emulator: one HTTPS emulator per session, reset before each test.

emulator        RunningEmulator (session): .url, .ca_path, .tenant_settings()
emulator_seam   EmulatorSeam (session): .state(), .calls(), .call_count(key),
                .add_fault(route=..., status=429, retry_after=1), .clear_faults(), .reset()
tenant          TenantSettings (per test) for a tenant just reset to the shipped seed
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam
from tenant_emulator.server import RunningEmulator, start_emulator

# msgraph-sdk's generated request builders (and kiota's query parameters) warn with a
# DeprecationWarning in their class bodies, i.e. at import, for their own deprecated classes.
# Under `filterwarnings = error` the first test to touch a builder would fail for it, so those
# two import-time warnings, and only those, are ignored for every test that loads this plugin.
SDK_IMPORT_WARNINGS = (
    r"ignore:This class is deprecated\. Please use the generic RequestConfiguration"
    r":DeprecationWarning:msgraph",
    r"ignore:GetQueryParameters is deprecated:DeprecationWarning:kiota_abstractions",
)


def pytest_configure(config: pytest.Config) -> None:
    for line in SDK_IMPORT_WARNINGS:
        config.addinivalue_line("filterwarnings", line)


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

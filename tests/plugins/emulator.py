"""Fixtures for the tenant emulator: one HTTPS emulator per session, reset before each test.

emulator        RunningEmulator (session): .url, .ca_path, .tenant_settings()
emulator_seam   EmulatorSeam (session): .state(), .calls(), .call_count(key),
                .add_fault(route=..., status=429, retry_after=1), .clear_faults(), .reset()
tenant          TenantSettings (per test) for a tenant just reset to the shipped seed
graph           the real msgraph-sdk GraphServiceClient on that tenant (per test)
network         the real azure-mgmt-network NetworkManagementClient (aio) on it (per test)
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from azure.identity.aio import ClientSecretCredential as AsyncClientSecretCredential
from azure.mgmt.network.aio import NetworkManagementClient
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory  # type: ignore[import-untyped]

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


GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def _credential(tenant: TenantSettings) -> AsyncClientSecretCredential:
    assert tenant.client_secret is not None
    return AsyncClientSecretCredential(
        tenant.tenant_id,
        tenant.client_id,
        tenant.client_secret.get_secret_value(),
        authority=tenant.authority_host,
        disable_instance_discovery=True,
        connection_verify=str(tenant.ca_bundle),
    )


@pytest.fixture
async def graph(tenant: TenantSettings) -> AsyncIterator[GraphServiceClient]:
    credential = _credential(tenant)
    host = httpx.URL(tenant.graph_url).host
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=[GRAPH_SCOPE], allowed_hosts=[host]
    )
    # msgraph-core's middleware transport does not close the transport it wraps, so keep a
    # handle on the real one and close it ourselves.
    transport = httpx.AsyncHTTPTransport(
        verify=ssl.create_default_context(cafile=str(tenant.ca_bundle))
    )
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=transport, base_url=tenant.graph_url)
    )
    adapter = GraphRequestAdapter(auth, http)
    adapter.base_url = tenant.graph_url
    yield GraphServiceClient(request_adapter=adapter)
    await http.aclose()
    await transport.aclose()
    await credential.close()


@pytest.fixture
async def network(tenant: TenantSettings) -> AsyncIterator[NetworkManagementClient]:
    credential = _credential(tenant)
    client = NetworkManagementClient(
        credential,
        tenant.subscription_id,
        base_url=tenant.arm_endpoint,
        connection_verify=str(tenant.ca_bundle),
    )
    async with credential, client:
        yield client

"""Credentials and SDK clients, built once from `TenantSettings`.

The code path is the same for the public cloud, a national cloud and the local emulator; only
the settings differ (authority, Graph URL, ARM endpoint, CA bundle). Two things are deliberate:

- **One retry layer.** The kiota RetryHandler and azure-core's RetryPolicy are switched off (and
  so is azure-identity's token retry), so a 429 or 503 reaches the activity at once, with its
  Retry-After, and Temporal's retry policy decides.
- **Certificates.** With `ca_bundle` set, every client (httpx for Graph, aiohttp for ARM and the
  token endpoint) trusts that bundle instead of the system store.
"""

from __future__ import annotations

import ssl
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from azure.identity import AzureAuthorityHosts
from azure.identity.aio import CertificateCredential, ClientSecretCredential, DefaultAzureCredential
from azure.mgmt.network.aio import NetworkManagementClient
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption, UrlReplaceHandlerOption
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import APIVersion, GraphClientFactory
from msgraph_core.middleware.options import (
    GraphTelemetryHandlerOption,
)

from riposte.failures import misconfigured
from riposte.settings import TenantSettings

PUBLIC_AUTHORITIES = frozenset(
    host.rstrip("/").lower()
    for host in (
        AzureAuthorityHosts.AZURE_PUBLIC_CLOUD,
        AzureAuthorityHosts.AZURE_GOVERNMENT,
        AzureAuthorityHosts.AZURE_CHINA,
    )
)
LRO_POLL_SECONDS = 2.0  # between long-running-operation polls when ARM sends no Retry-After
_TIMEOUT = httpx.Timeout(60.0, connect=15.0)


@dataclass(frozen=True)
class TenantClients:
    """The clients the activities use, and what closes them."""

    credential: AsyncTokenCredential
    graph: GraphServiceClient
    network: NetworkManagementClient
    http: httpx.AsyncClient
    transport: httpx.AsyncBaseTransport  # under Graph's middleware, which does not close it

    async def close(self) -> None:
        await self.http.aclose()
        await self.transport.aclose()
        await self.network.close()
        await self.credential.close()


def connect(tenant: TenantSettings) -> TenantClients:
    """Build the credential and the Graph and ARM clients (no request is made here)."""
    credential = credential_for(tenant)
    transport = graph_transport(tenant)
    http = graph_http_client(tenant, transport)
    return TenantClients(
        credential=credential,
        graph=graph_client(tenant, credential, http),
        network=network_client(tenant, credential),
        http=http,
        transport=transport,
    )


def credential_for(tenant: TenantSettings) -> AsyncTokenCredential:
    """A client-secret, certificate or managed-identity credential, in that order of preference."""
    options: dict[str, Any] = {"authority": tenant.authority_host, "retry_total": 0}
    if tenant.authority_host.rstrip("/").lower() not in PUBLIC_AUTHORITIES:
        options["disable_instance_discovery"] = True
    if tenant.ca_bundle is not None:
        options["connection_verify"] = str(tenant.ca_bundle)
    if tenant.client_secret is not None:
        return ClientSecretCredential(
            tenant.tenant_id, tenant.client_id, tenant.client_secret.get_secret_value(), **options
        )
    if tenant.certificate_path is not None:
        return CertificateCredential(
            tenant.tenant_id,
            tenant.client_id,
            certificate_path=str(tenant.certificate_path),
            **options,
        )
    if tenant.managed_identity:
        options.pop("disable_instance_discovery", None)
        if _is_uuid(tenant.client_id):
            options["managed_identity_client_id"] = tenant.client_id
        return DefaultAzureCredential(**options)
    return MissingCredential()


def graph_transport(tenant: TenantSettings) -> httpx.AsyncHTTPTransport:
    """The connection pool under Graph's middleware, trusting `ca_bundle` when set.

    msgraph-core wraps it in an AsyncGraphTransport that has no `aclose`, so closing the client
    does not close it: `TenantClients.close` does.
    """
    verify: ssl.SSLContext | bool = True
    if tenant.ca_bundle is not None:
        verify = ssl.create_default_context(cafile=str(tenant.ca_bundle))
    return httpx.AsyncHTTPTransport(verify=verify)


def graph_http_client(
    tenant: TenantSettings, transport: httpx.AsyncBaseTransport
) -> httpx.AsyncClient:
    """The httpx client under msgraph: Graph's middleware without its RetryHandler."""
    client = httpx.AsyncClient(base_url=_graph_base(tenant), transport=transport, timeout=_TIMEOUT)
    options = {
        RetryHandlerOption.get_key(): RetryHandlerOption(
            delay=0, max_retries=0, should_retry=False
        ),
        UrlReplaceHandlerOption.get_key(): UrlReplaceHandlerOption(
            enabled=True, replacement_pairs={"/users/me-token-to-replace": "/me"}
        ),
        GraphTelemetryHandlerOption.get_key(): GraphTelemetryHandlerOption(
            api_version=APIVersion.v1
        ),
    }
    wired: httpx.AsyncClient = GraphClientFactory.create_with_default_middleware(
        client=client, options=options
    )
    return wired


def graph_client(
    tenant: TenantSettings, credential: AsyncTokenCredential, http: httpx.AsyncClient
) -> GraphServiceClient:
    """msgraph's client at `graph_url`, authenticating for that cloud's Graph resource."""
    base = _graph_base(tenant)
    parts = urlsplit(base)
    auth = AzureIdentityAuthenticationProvider(
        credential,
        scopes=[f"{parts.scheme}://{parts.netloc}/.default"],
        allowed_hosts=[parts.hostname or ""],
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = base
    return GraphServiceClient(request_adapter=adapter)


def network_client(
    tenant: TenantSettings, credential: AsyncTokenCredential
) -> NetworkManagementClient:
    """azure-mgmt-network's async client at `arm_endpoint`, without azure-core's retries."""
    arm = tenant.arm_endpoint.rstrip("/")
    options: dict[str, Any] = {
        "base_url": arm,
        "credential_scopes": [arm + "/.default"],
        "retry_total": 0,
        "polling_interval": LRO_POLL_SECONDS,
    }
    if tenant.ca_bundle is not None:
        options["connection_verify"] = str(tenant.ca_bundle)
    return NetworkManagementClient(credential, tenant.subscription_id, **options)


class MissingCredential(AsyncTokenCredential):
    """Stands in when settings name no credential; the first call fails with a clear message."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise misconfigured(
            "no tenant credential configured: set tenant.client_secret, "
            "tenant.certificate_path or tenant.managed_identity"
        )

    async def close(self) -> None:
        return None

    async def __aexit__(self, *args: object) -> None:
        return None


def _graph_base(tenant: TenantSettings) -> str:
    return tenant.graph_url.rstrip("/")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True

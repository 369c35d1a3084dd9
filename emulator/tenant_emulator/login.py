"""The Microsoft identity platform endpoints azure-identity (MSAL) uses for client credentials.

MSAL reads the tenant's OpenID configuration, then posts the client id and secret to its token
endpoint. With a custom authority host MSAL would first ask login.microsoftonline.com for
instance discovery; clients turn that off (azure-identity `disable_instance_discovery=True`,
harmless against the real cloud, whose host MSAL knows). The emulator also answers instance
discovery itself, for clients pointed at it.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlparse

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tenant_emulator.errors import LoginError
from tenant_emulator.guard import guarded, state_of
from tenant_emulator.routes import RouteInfo
from tenant_emulator.state import TOKEN_LIFETIME
from tenant_emulator.tenant import Tenant

NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


def base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _known_tenant(tenant: Tenant, name: str) -> str:
    """The tenant id for a tenant id or one of its domains, or AADSTS90002."""
    folded = name.lower()
    if folded == tenant.id.lower() or folded in tenant.domains:
        return tenant.id
    raise LoginError(400, "invalid_tenant", 90002, f"Tenant '{name}' not found.")


async def instance_discovery(request: Request) -> Response:
    host = request.url.netloc
    endpoint = urlparse(request.query_params.get("authorization_endpoint", ""))
    tenant = [*endpoint.path.split("/"), "", ""][1] or "common"
    return JSONResponse(
        {
            "tenant_discovery_endpoint": (
                f"{base_url(request)}/{tenant}/v2.0/.well-known/openid-configuration"
            ),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }
    )


async def openid_configuration(request: Request) -> Response:
    tenant_id = _known_tenant(state_of(request).tenant, request.path_params["tenant"])
    base = f"{base_url(request)}/{tenant_id}"
    return JSONResponse(
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }
    )


async def token(request: Request) -> Response:
    state = state_of(request)
    tenant_id = _known_tenant(state.tenant, request.path_params["tenant"])
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    if form.get("grant_type") != "client_credentials":
        raise LoginError(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type; the emulator issues client_credentials.",
        )
    client_id = form.get("client_id", "")
    expected = state.tenant.clients.get(client_id)
    if expected is None:
        raise LoginError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant_id}'.",
        )
    secret = form.get("client_secret")
    if not secret:
        raise LoginError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )
    if not secrets.compare_digest(secret.encode(), expected.encode()):
        raise LoginError(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the "
            f"client secret value, not the client secret ID, for a secret added to app "
            f"'{client_id}'.",
        )
    scopes = form.get("scope", "").split()
    resource_scopes = [s for s in scopes if s not in ("openid", "profile", "offline_access")]
    if not resource_scopes or not all(s.endswith("/.default") for s in resource_scopes):
        raise LoginError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {form.get('scope', '')} is not valid. Client "
            "credential flows must have a scope value with /.default suffixed to the resource "
            "identifier (application ID URI).",
        )
    body = {
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "ext_expires_in": TOKEN_LIFETIME,
        "access_token": state.issue_token(client_id),
    }
    return JSONResponse(body, headers=NO_STORE)


ROUTES: list[Route] = [
    guarded(
        RouteInfo("login.instance_discovery", "GET", "/common/discovery/instance"),
        instance_discovery,
    ),
    guarded(
        RouteInfo("login.openid", "GET", "/{tenant}/v2.0/.well-known/openid-configuration"),
        openid_configuration,
    ),
    guarded(RouteInfo("login.token", "POST", "/{tenant}/oauth2/v2.0/token"), token),
]

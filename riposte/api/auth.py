"""Who may call what: bearer tokens to principals, roles to permissions, and refusals audited.

sender    send alerts
approver  decide approvals, release actions, read responses
auditor   read the audit trail, read responses
admin     everything
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

import structlog
from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from riposte.api.context import ApiContext, api_context
from riposte.api.errors import Forbidden, TooManyRequests, Unauthenticated
from riposte.api.tokens import Principal, Role
from riposte.errors import NotPermitted, RiposteError

log = structlog.get_logger("riposte.api")

ANONYMOUS = "anonymous"


class Permission(StrEnum):
    SEND_ALERTS = "send_alerts"
    DECIDE = "decide"  # approve, reject, release
    READ_RESPONSES = "read_responses"
    READ_AUDIT = "read_audit"
    BACKTEST = "backtest"  # admin only: replays history through the policies on disk


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.SENDER: frozenset({Permission.SEND_ALERTS}),
    Role.APPROVER: frozenset({Permission.DECIDE, Permission.READ_RESPONSES}),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT, Permission.READ_RESPONSES}),
    Role.ADMIN: frozenset(Permission),
}


def allows(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]


_bearer = HTTPBearer(auto_error=False, description="A token from `riposte token create`")


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency that yields the caller's principal, or refuses (401/403) and audits it."""

    async def authorize(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(_bearer),  # noqa: B008
    ) -> Principal:
        ctx = api_context(request)
        token = credentials.credentials if credentials is not None else ""
        principal = ctx.tokens.authenticate(token) if token else None
        return await check(ctx, request, principal, permission, presented=bool(token))

    return authorize


async def check(
    ctx: ApiContext,
    request: Request,
    principal: Principal | None,
    permission: Permission,
    *,
    presented: bool,
) -> Principal:
    """Let `principal` through if its role allows `permission`; else refuse, audited."""
    if principal is None:
        slow_down = await slowed_down(ctx, request)
        if slow_down is not None:
            raise slow_down
        reason = "unknown token" if presented else "no credentials"
        await deny(ctx, request, Unauthenticated(reason), None)
        raise Unauthenticated(reason)
    if not allows(principal.role, permission):
        refusal = Forbidden(f"the {principal.role.value} role may not {permission.value}")
        await deny(ctx, request, refusal, principal)
        raise refusal
    return principal


async def slowed_down(ctx: ApiContext, request: Request) -> TooManyRequests | None:
    """For a request without valid credentials: the 429 its address has earned by being
    refused too often in this window (audited with the rest), else None."""
    if not ctx.denials.limited(client_of(request)):
        return None
    slow_down = TooManyRequests("too many refused requests from this address; try again later")
    await deny(ctx, request, slow_down, None)
    return slow_down


async def deny(
    ctx: ApiContext, request: Request, refusal: RiposteError, principal: Principal | None
) -> None:
    """Count a refused attempt, for the audit's folded `denied` event (never the credential)."""
    status = 403 if isinstance(refusal, NotPermitted) else 401
    status = 429 if isinstance(refusal, TooManyRequests) else status
    ctx.metrics.denied.labels(str(status)).inc()
    actor = principal.name if principal else ANONYMOUS
    ctx.denials.record(
        client_of(request), actor, status, str(refusal), request.method, request.url.path
    )


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"

"""Signing in to the console, and the guard every page passes through.

The session is the API token itself, in a cookie that scripts cannot read (HttpOnly) and other
sites cannot send (SameSite=Strict); every request checks it against the token store again, so a
revoked token ends its sessions at once. Form posts must also come from this origin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from riposte.api.auth import Permission, allows, deny
from riposte.api.context import api_context
from riposte.api.errors import Forbidden, Unauthenticated
from riposte.api.tokens import Principal
from riposte.console.render import page

COOKIE = "riposte_session"
_SESSION_SECONDS = 12 * 3600


class ConsoleRefusal(Exception):
    """Stops a page and answers with `response` instead (a redirect to sign in, a 403 page)."""

    def __init__(self, response: Response) -> None:
        super().__init__("console refusal")
        self.response = response


def signed_in(request: Request) -> Principal | None:
    token = request.cookies.get(COOKIE, "")
    return api_context(request).tokens.authenticate(token) if token else None


def start_session(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=_SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def guard(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the signed-in principal whose role allows `permission`."""

    async def check(request: Request) -> Principal:
        ctx = api_context(request)
        token = request.cookies.get(COOKIE, "")
        principal = ctx.tokens.authenticate(token) if token else None
        if principal is None:
            if token:  # a token that no longer exists
                await deny(ctx, request, Unauthenticated("unknown token"), None)
            target = quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
            redirect = RedirectResponse(f"/login?next={target}", status_code=303)
            end_session(redirect)
            raise ConsoleRefusal(redirect)
        if not allows(principal.role, permission):
            refusal = Forbidden(f"the {principal.role.value} role may not {permission.value}")
            await deny(ctx, request, refusal, principal)
            raise ConsoleRefusal(
                page("message.html", 403, user=principal, title="Not allowed", text=str(refusal))
            )
        if request.method == "POST":
            same_origin(request)
        return principal

    return check


def same_origin(request: Request) -> None:
    """Refuse a form posted from another site (the cookie's SameSite=Strict is the first wall)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise ConsoleRefusal(
            page("message.html", 403, title="Not allowed", text="a form from another site")
        )


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the last value of each)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {name: values[-1] for name, values in parse_qs(body, keep_blank_values=True).items()}

"""remove_auth_methods {registered_within}: delete the authentication methods registered in the
window before the alert (the attacker's own authenticator, key or app), after saving them.

The window starts `registered_within` before the alert's time (`ActionParams.since`) and runs to
now: an attacker who keeps registering after the alert fired is caught too. Phone and email
methods carry no registration time in Graph, so they are never judged recent and are kept, and
the password method is never deleted. Every method chosen is saved (Graph's JSON) in the
heartbeat before any deletion and in the result, whose summary the audit keeps: the saved copy
is evidence. Not reversible: an authenticator cannot be registered again on someone's behalf.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from msgraph.generated.models.authentication_method import AuthenticationMethod
from msgraph.generated.models.email_authentication_method import EmailAuthenticationMethod
from msgraph.generated.models.fido2_authentication_method import Fido2AuthenticationMethod
from msgraph.generated.models.microsoft_authenticator_authentication_method import (
    MicrosoftAuthenticatorAuthenticationMethod,
)
from msgraph.generated.models.phone_authentication_method import PhoneAuthenticationMethod
from msgraph.generated.models.software_oath_authentication_method import (
    SoftwareOathAuthenticationMethod,
)
from msgraph.generated.models.temporary_access_pass_authentication_method import (
    TemporaryAccessPassAuthenticationMethod,
)
from msgraph.generated.models.windows_hello_for_business_authentication_method import (
    WindowsHelloForBusinessAuthenticationMethod,
)
from msgraph.graph_service_client import GraphServiceClient

from activities import progress
from activities.errors import status_of, translated
from activities.mailbox import to_json
from activities.outcome import outcome
from riposte.actions import validation
from riposte.actions.catalogue import REMOVE_AUTH_METHODS
from riposte.actions.payloads import ActionInput, ActionName, ActionResult, RevertState
from riposte.failures import refuse

NEEDS = REMOVE_AUTH_METHODS.graph
# Graph's path segment for each deletable kind, and how the summaries name it.
KINDS: dict[type[AuthenticationMethod], tuple[str, str]] = {
    MicrosoftAuthenticatorAuthenticationMethod: (
        "microsoftAuthenticatorMethods",
        "Microsoft Authenticator",
    ),
    Fido2AuthenticationMethod: ("fido2Methods", "FIDO2 key"),
    SoftwareOathAuthenticationMethod: ("softwareOathMethods", "OATH app"),
    WindowsHelloForBusinessAuthenticationMethod: (
        "windowsHelloForBusinessMethods",
        "Windows Hello",
    ),
    TemporaryAccessPassAuthenticationMethod: (
        "temporaryAccessPassMethods",
        "Temporary Access Pass",
    ),
    PhoneAuthenticationMethod: ("phoneMethods", "phone"),
    EmailAuthenticationMethod: ("emailMethods", "email"),
}


class AuthMethodActivities:
    """remove_auth_methods, on one msgraph client."""

    def __init__(self, graph: GraphServiceClient) -> None:
        self.graph = graph

    @REMOVE_AUTH_METHODS.act.defn
    async def remove_auth_methods(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.REMOVE_AUTH_METHODS, request.action)
        upn = validation.user(request.target)
        since = request.params.since
        if since is None:
            raise refuse("remove_auth_methods needs the window's start (registered_within)")
        with translated(f"listing the authentication methods of {upn}", NEEDS):
            page = await self.graph.users.by_user_id(upn).authentication.methods.get()
        methods = list(page.value or []) if page is not None else []
        earlier = progress.recall()
        if earlier is not None and earlier.methods:
            saved = earlier.methods  # an earlier attempt chose these, and may have deleted some
        else:
            saved = tuple(to_json(m) for m in methods if _recent(m, since))
        present = {str(m.id) for m in methods}
        pending = [m for m in methods if str(m.id) in {str(s.get("id")) for s in saved}]
        undated = sum(1 for m in methods if _deletable(m) and m.created_date_time is None)
        names = ", ".join(describe(method) for method in saved)
        window = f"registered since {since.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        kept = f"; {undated} undated (phone, email) kept" if undated else ""
        calls = [f"DELETE {_path(upn, m)}" for m in pending]
        if not saved:
            summary = f"no authentication method of {upn} was {window} ({len(methods)} checked)"
            summary += kept + (
                "; would change nothing" if request.simulate else "; nothing changed"
            )
            return outcome(request, changed=False, summary=summary)
        total = len(methods) + sum(1 for s in saved if str(s.get("id")) not in present)
        if request.simulate:
            summary = f"would delete {len(saved)} of {total} authentication methods of {upn} "
            summary += f"{window}: {names}{kept}"
            return outcome(request, changed=False, summary=summary, calls=calls)
        evidence = RevertState(methods=saved)
        progress.remember(evidence)
        for method in pending:
            with translated(f"deleting {describe(to_json(method))} of {upn}", NEEDS):
                await self._delete(upn, method)
        summary = f"deleted {len(saved)} of {total} authentication methods of {upn} {window}: "
        summary += f"{names}{kept}; saved: {json.dumps(list(saved), sort_keys=True)}"
        return outcome(request, changed=True, summary=summary, calls=calls, revert=evidence)

    async def _delete(self, upn: str, method: AuthenticationMethod) -> None:
        """Delete one method through its kind's path; one already gone is fine."""
        try:
            await _deleter(self.graph, upn, method)()
        except Exception as err:
            if status_of(err) != 404:
                raise


def describe(method: dict[str, Any]) -> str:
    """ "Microsoft Authenticator 'SM-A515F' (registered 2026-12-01T20:32:00Z)"."""
    kind = next(
        (label for cls, (_, label) in KINDS.items() if method.get("@odata.type") == _odata(cls)),
        str(method.get("@odata.type") or "method"),
    )
    name = method.get("displayName") or method.get("phoneNumber") or method.get("emailAddress")
    when = method.get("createdDateTime")
    return f"{kind}{f' {name!r}' if name else ''}{f' (registered {when})' if when else ''}"


def _recent(method: AuthenticationMethod, since: datetime) -> bool:
    created = method.created_date_time
    return _deletable(method) and created is not None and created >= since


def _deletable(method: AuthenticationMethod) -> bool:
    return type(method) in KINDS


def _path(upn: str, method: AuthenticationMethod) -> str:
    segment, _ = KINDS[type(method)]
    return f"/users/{upn}/authentication/{segment}/{method.id}"


def _odata(cls: type[AuthenticationMethod]) -> str:
    name = cls.__name__.removesuffix("AuthenticationMethod")
    return "#microsoft.graph." + name[0].lower() + name[1:] + "AuthenticationMethod"


def _deleter(
    graph: GraphServiceClient, upn: str, method: AuthenticationMethod
) -> Callable[[], Awaitable[None]]:
    auth = graph.users.by_user_id(upn).authentication
    mid = str(method.id)
    found: Any
    match method:
        case MicrosoftAuthenticatorAuthenticationMethod():
            builder: Any = auth.microsoft_authenticator_methods
            found = builder.by_microsoft_authenticator_authentication_method_id(mid)
        case Fido2AuthenticationMethod():
            found = auth.fido2_methods.by_fido2_authentication_method_id(mid)
        case SoftwareOathAuthenticationMethod():
            found = auth.software_oath_methods.by_software_oath_authentication_method_id(mid)
        case WindowsHelloForBusinessAuthenticationMethod():
            builder = auth.windows_hello_for_business_methods
            found = builder.by_windows_hello_for_business_authentication_method_id(mid)
        case TemporaryAccessPassAuthenticationMethod():
            builder = auth.temporary_access_pass_methods
            found = builder.by_temporary_access_pass_authentication_method_id(mid)
        case PhoneAuthenticationMethod():
            found = auth.phone_methods.by_phone_authentication_method_id(mid)
        case EmailAuthenticationMethod():
            found = auth.email_methods.by_email_authentication_method_id(mid)
        case _:
            raise refuse(f"{type(method).__name__} {mid} cannot be deleted by Riposte")
    delete: Callable[[], Awaitable[None]] = found.delete
    return delete

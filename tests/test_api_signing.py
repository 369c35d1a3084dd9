"""Signed alert intake: HMAC-SHA256 over a timestamp and the body, fresh and used only once."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from pydantic import SecretStr
from starlette.datastructures import Headers

from riposte.api.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BadSignature,
    SignatureGuard,
    SignatureProblem,
    signed_headers,
)
from riposte.api.tokens import Role
from riposte.audit.events import AuditFilter, AuditKind
from tests.plugins.api import ApiFactory, ApiHarness

SECRET = "correct horse battery staple"


def body() -> bytes:
    alert = {
        "id": f"dt-{uuid.uuid4().hex[:10]}",
        "source": "darktrace",
        "name": "Nothing / Matches",
        "severity": "low",
        "score": 0.1,
        "time": "2021-06-09T09:12:00Z",
    }
    return json.dumps(alert).encode()


async def post(api: ApiHarness, content: bytes, headers: dict[str, str]) -> tuple[int, str]:
    answer = await api.http.post(
        "/v1/alerts", content=content, headers={**api.auth(Role.SENDER), **headers}
    )
    return answer.status_code, answer.json().get("message", "")


async def test_a_signed_alert_is_accepted_once_and_its_replay_refused(
    make_api: ApiFactory,
) -> None:
    """A correctly signed alert is 202; the very same request again is 401 as a replay."""
    api = await make_api({}, hmac_secret=SECRET)
    content = body()
    headers = signed_headers(SECRET, content)
    assert await post(api, content, headers) == (202, "")
    assert await post(api, content, headers) == (401, "alert signature replayed")


async def test_bad_missing_and_stale_signatures_are_refused_and_audited(
    make_api: ApiFactory,
) -> None:
    """A wrong secret, a changed body, no signature, and a signature older than five minutes
    are each 401, audited as denied, and start nothing."""
    api = await make_api({}, hmac_secret=SECRET)
    content = body()
    old = int(time.time()) - 301
    attempts = [
        (content, signed_headers("wrong secret", content)),
        (content.replace(b"low", b"critical"), signed_headers(SECRET, content)),
        (content, {}),
        (content, signed_headers(SECRET, content, timestamp=old)),
        (content, {TIMESTAMP_HEADER: "yesterday", SIGNATURE_HEADER: "sha256=00"}),
    ]
    results = [await post(api, c, h) for c, h in attempts]
    assert results == [
        (401, "alert signature mismatch"),
        (401, "alert signature mismatch"),
        (401, "alert signature missing"),
        (401, "alert signature stale"),
        (401, "alert signature malformed"),
    ]
    [denied] = api.denied()  # folded: one event per client and actor, with a count
    assert denied.detail.startswith("5 refused") and "401: 5" in denied.detail
    assert denied.actor == api.name(Role.SENDER)
    assert api.stack.store.query(AuditFilter(kind=AuditKind.ALERT_RECEIVED)) == []


async def test_without_a_secret_no_signature_is_needed(make_api: ApiFactory) -> None:
    """With no secret configured, intake takes unsigned alerts."""
    api = await make_api({})
    assert await post(api, body(), {}) == (202, "")


class Clock:
    """A clock the test moves by hand (the guard takes its clock as an argument)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_signature_from_the_future_beyond_the_window_is_stale() -> None:
    """A timestamp more than the allowed age ahead of the clock is refused like an old one."""
    clock = Clock(1_700_000_000)
    guard = SignatureGuard(SecretStr(SECRET), 300, clock)
    content = body()
    ahead = Headers(signed_headers(SECRET, content, timestamp=1_700_000_000 + 301))
    with pytest.raises(BadSignature) as refused:
        guard.verify(ahead, content)
    assert refused.value.problem is SignatureProblem.STALE


def test_a_replay_is_remembered_for_exactly_as_long_as_it_could_pass() -> None:
    """The guard forgets a signature once it is too old to be accepted anyway, and not before."""
    clock = Clock(1_700_000_000)
    guard = SignatureGuard(SecretStr(SECRET), 300, clock)
    content = body()
    headers = Headers(signed_headers(SECRET, content, timestamp=1_700_000_000))
    guard.verify(headers, content)
    clock.now += 299
    with pytest.raises(BadSignature) as replay:
        guard.verify(headers, content)
    assert replay.value.problem is SignatureProblem.REPLAYED
    clock.now += 2
    with pytest.raises(BadSignature) as stale:
        guard.verify(headers, content)
    assert stale.value.problem is SignatureProblem.STALE
    assert guard.remembered == 1
    fresh = body()
    guard.verify(Headers(signed_headers(SECRET, fresh, timestamp=int(clock.now))), fresh)
    assert guard.remembered == 1  # the old one is forgotten, the new one kept

"""HMAC-SHA256 signatures on alert intake, timestamped so a captured request cannot be replayed.

The sender signs `"{timestamp}." + body` with the shared secret and sends

    X-Riposte-Timestamp: 1718000000            (Unix seconds)
    X-Riposte-Signature: sha256=<hex digest>

A signature older (or further in the future) than the allowed age is refused, and so is one
already seen within that age. Replays are remembered per process: a replay that reaches another
replica still cannot start a second response, because intake is idempotent.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import re
import time
from collections.abc import Callable
from enum import StrEnum

from pydantic import SecretStr
from starlette.datastructures import Headers

from riposte.api.errors import Unauthenticated

TIMESTAMP_HEADER = "X-Riposte-Timestamp"
SIGNATURE_HEADER = "X-Riposte-Signature"
SCHEME = "sha256="


class SignatureProblem(StrEnum):
    MISSING = "missing"
    MALFORMED = "malformed"
    STALE = "stale"
    MISMATCH = "mismatch"
    REPLAYED = "replayed"


class BadSignature(Unauthenticated):
    def __init__(self, problem: SignatureProblem) -> None:
        super().__init__(f"alert signature {problem.value}")
        self.problem = problem


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Both headers a sender adds (senders and tests use this)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, body)}


class SignatureGuard:
    """Checks signatures and remembers the fresh ones it accepted."""

    def __init__(
        self, secret: SecretStr, max_age_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self._max_age = max_age_seconds
        self._clock = clock
        self._seen: set[str] = set()
        self._expiry: list[tuple[float, str]] = []  # a heap: when each seen signature goes stale

    def verify(self, headers: Headers, body: bytes) -> None:
        """Return if the body carries a fresh, correct, first-seen signature; else raise."""
        stamp_text = headers.get(TIMESTAMP_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        if not stamp_text or not signature:
            raise BadSignature(SignatureProblem.MISSING)
        if not re.fullmatch(r"[0-9]{1,12}", stamp_text) or not signature.startswith(SCHEME):
            raise BadSignature(SignatureProblem.MALFORMED)
        now = self._clock()
        stamp = int(stamp_text)
        if abs(now - stamp) > self._max_age:
            raise BadSignature(SignatureProblem.STALE)
        expected = sign(self._secret.get_secret_value(), stamp, body)
        if not hmac.compare_digest(expected, signature):
            raise BadSignature(SignatureProblem.MISMATCH)
        self._forget_stale(now)
        if signature in self._seen:
            raise BadSignature(SignatureProblem.REPLAYED)
        self._seen.add(signature)
        heapq.heappush(self._expiry, (stamp + self._max_age, signature))

    @property
    def remembered(self) -> int:
        """How many accepted signatures it holds: those still inside the window, at most."""
        return len(self._seen)

    def _forget_stale(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] < now:
            _, signature = heapq.heappop(self._expiry)
            self._seen.discard(signature)

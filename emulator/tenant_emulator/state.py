"""The running emulator's state: the tenant, the faults in force, call counts, issued tokens."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from tenant_emulator.faults import Fault, Faults
from tenant_emulator.seed import Seed
from tenant_emulator.tenant import Tenant

TOKEN_LIFETIME = 3599


@dataclass
class EmulatorState:
    """Owned by the app; every handler runs on its event loop, so no locking is needed.

    Reset goes back to how the emulator started: the start seed, no calls, the start faults.
    Issued tokens survive a reset, as a real tenant's would, so cached credentials keep working.
    """

    start_seed: Seed
    start_faults: tuple[Fault, ...] = ()
    lro_polls: int = 1
    lro_delay_ms: int = 20
    tenant: Tenant = field(init=False)
    faults: Faults = field(default_factory=Faults)
    calls: Counter[str] = field(default_factory=Counter)
    effects: Counter[str] = field(default_factory=Counter)  # writes that succeeded
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> client, expiry

    def __post_init__(self) -> None:
        self.reset()

    def reset(self, seed: Seed | None = None) -> None:
        self.tenant = Tenant(seed or self.start_seed)
        self.tenant.network.polls = self.lro_polls
        self.calls.clear()
        self.effects.clear()
        self.faults.clear()
        for fault in self.start_faults:
            self.faults.add(fault)

    def add_faults(self, faults: Iterable[Fault]) -> None:
        for fault in faults:
            self.faults.add(fault)

    def issue_token(self, client_id: str) -> str:
        token = secrets.token_urlsafe(48)
        self.tokens[token] = (client_id, time.time() + TOKEN_LIFETIME)
        return token

    def token_state(self, authorization: str | None) -> str:
        """ "ok", "missing", "invalid" or "expired" for an Authorization header."""
        if not authorization:
            return "missing"
        scheme, _, token = authorization.partition(" ")
        issued = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if issued is None:
            return "invalid"
        return "ok" if issued[1] > time.time() else "expired"

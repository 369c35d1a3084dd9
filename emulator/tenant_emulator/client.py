"""A small client for the emulator's /_emulator test seam, for tests and the local stack."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx

from tenant_emulator.faults import Fault


def trusting(ca_path: Path) -> ssl.SSLContext:
    """An SSL context that trusts the emulator's CA (and nothing else)."""
    return ssl.create_default_context(cafile=str(ca_path))


class EmulatorSeam:
    """Read the tenant's state and call counts, set faults, reset; over HTTPS, no token."""

    def __init__(self, url: str, ca_path: Path) -> None:
        self._http = httpx.Client(base_url=f"{url}/_emulator", verify=trusting(ca_path))

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self._get("/state")
        return state

    def calls(self) -> dict[str, int]:
        calls: dict[str, int] = self._get("/calls")
        return calls

    def effects(self) -> dict[str, int]:
        """Writes that succeeded, by route: the side effects actually applied."""
        effects: dict[str, int] = self._get("/effects")
        return effects

    def call_count(self, key: str) -> int:
        """Requests so far on one route, e.g. `call_count("PATCH /v1.0/users/{id}")`."""
        return self.calls().get(key, 0)

    def flow(self, src: str, dst: str, port: int, proto: str = "tcp") -> dict[str, Any]:
        """Whether that flow would pass the NSGs: {decision: allow|deny, nsg, rule, ...}."""
        response = self._http.get(
            "/flow", params={"src": src, "dst": dst, "port": port, "proto": proto}
        )
        response.raise_for_status()
        decision: dict[str, Any] = response.json()
        return decision

    def faults(self) -> list[dict[str, Any]]:
        faults: list[dict[str, Any]] = self._get("/faults")
        return faults

    def add_fault(self, fault: Fault | None = None, /, **fields: Any) -> None:
        """Add one fault: a `Fault`, or its fields (route=..., status=429, retry_after=1)."""
        body = (fault or Fault.model_validate(fields)).model_dump(mode="json")
        self._http.post("/faults", json=body).raise_for_status()

    def clear_faults(self) -> None:
        self._http.delete("/faults").raise_for_status()

    def reset(self, seed: dict[str, Any] | None = None) -> None:
        """Back to the start seed (or to `seed`, a seed file's content), no calls or faults."""
        body = {"seed": seed} if seed is not None else None
        self._http.post("/reset", json=body).raise_for_status()

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str) -> Any:
        response = self._http.get(path)
        response.raise_for_status()
        return response.json()

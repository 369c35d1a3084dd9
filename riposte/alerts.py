"""The native alert: what every adapter produces and every response starts from."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from riposte.model import Frozen


class Severity(StrEnum):
    """Alert severity, ordered from weakest to strongest."""

    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Entities(Frozen):
    """What the alert is about. Every field is optional; policies say which they need."""

    user: str | None = None
    ip: str | None = None
    asn: str | None = None
    device: str | None = None
    messages: tuple[str, ...] = ()
    inbox_rules: tuple[str, ...] = ()

    @field_validator("user", "ip", "asn", "device")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None

    def present(self) -> frozenset[str]:
        """The names of the entities this alert actually carries."""
        return frozenset(name for name, value in self if value not in (None, ()))


class Alert(Frozen):
    """One alert in Riposte's native shape (see DESIGN.md, "Alert")."""

    id: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=512)
    severity: Severity
    score: float = Field(ge=0.0, le=1.0)
    time: datetime
    entities: Entities = Entities()
    raw: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        """The dedup key, which is also the response (workflow) id."""
        return f"{self.source}:{self.id}"

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

    id: str = Field(min_length=1)
    source: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1)
    severity: Severity
    score: float = Field(ge=0.0, le=1.0)
    time: datetime
    entities: Entities = Entities()
    # The vendor's own incident this alert belongs to (Darktrace AI Analyst incident, Defender
    # incidentId, Sentinel incident name): the strongest correlation key.
    incident: str | None = Field(
        default=None, min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._:@-]+$"
    )
    raw: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        """The dedup key, which is also the response (workflow) id."""
        return f"{self.source}:{self.id}"


class AlertCaps(Frozen):
    """The longest each alert field may be (characters; list fields also by item count).

    Set with `RIPOSTE_ALERT_CAPS__<FIELD>`; an alert past any cap is refused naming the field.
    """

    id: int = Field(default=256, gt=0)
    source: int = Field(default=64, gt=0)
    name: int = Field(default=512, gt=0)
    user: int = Field(default=320, gt=0)
    ip: int = Field(default=64, gt=0)
    asn: int = Field(default=32, gt=0)
    device: int = Field(default=256, gt=0)
    message: int = Field(default=998, gt=0)  # one message id (RFC 5322's line limit)
    messages: int = Field(default=1000, gt=0)  # how many message ids
    inbox_rule: int = Field(default=256, gt=0)
    inbox_rules: int = Field(default=1000, gt=0)
    raw: int = Field(default=524_288, gt=0)  # the vendor's own JSON, as compact text
    depth: int = Field(default=32, gt=0)  # JSON nesting, counted from the alert itself

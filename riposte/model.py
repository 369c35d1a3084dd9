"""The base every boundary-crossing model shares: frozen, strict about unknown fields."""

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """An immutable value that crosses a boundary (Temporal payload, API body, audit event)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

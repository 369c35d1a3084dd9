"""Riposte's own alert shape (DESIGN.md, "Alert"), validated with the failing field's path."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from riposte.adapters.fields import invalid, mapping
from riposte.alerts import Alert

_REQUIRED = frozenset({"id", "source", "name", "severity"})


def looks_like(body: object) -> bool:
    return isinstance(body, Mapping) and body.keys() >= _REQUIRED


def parse(body: object) -> Alert:
    alert = mapping(body, "")
    try:
        return Alert.model_validate(alert)
    except ValidationError as err:
        raise invalid(err) from None

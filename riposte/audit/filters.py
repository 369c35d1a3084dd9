"""An `AuditFilter` as a SQL WHERE clause, for either backend's parameter style."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from riposte.audit.events import AuditFilter
from riposte.errors import InvalidInput

_EQUAL = ("response_id", "target", "action", "actor", "policy", "kind")


def where_clause(
    f: AuditFilter, mark: str, time_value: Callable[[datetime], object]
) -> tuple[str, list[object]]:
    """(" WHERE ... ORDER BY seq [LIMIT n]" text, its parameters). `since` <= time < `until`."""
    if f.after_seq < 0:
        raise InvalidInput("after_seq must be 0 or more")
    terms = ["seq > " + mark]
    params: list[object] = [f.after_seq]
    if f.since is not None:
        terms.append("time >= " + mark)
        params.append(time_value(f.since))
    if f.until is not None:
        terms.append("time < " + mark)
        params.append(time_value(f.until))
    for name in _EQUAL:
        value = getattr(f, name)
        if value is not None:
            terms.append(f"{name} = {mark}")
            params.append(str(value))
    sql = " WHERE " + " AND ".join(terms) + " ORDER BY seq"
    if f.limit is not None:
        if f.limit < 0:
            raise InvalidInput("limit must be 0 or more")
        sql += " LIMIT " + mark
        params.append(f.limit)
    return sql, params

"""The OData query options Graph list routes take: `$filter`, `$select`, `$top`, `$skip`,
`$orderby`.

`$filter` accepts comparisons (`eq ne gt ge lt le`) of a property path (`from/emailAddress/
address`) with a string ('it''s'), a date-time (2024-06-09T09:12:00Z), a number, true, false or
null; joined by `and` / `or`, grouped with parentheses. String comparison ignores case, as
Exchange does for addresses. Anything else is refused with Graph's 400, never silently ignored.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tenant_emulator.errors import GraphError

Item = Mapping[str, Any]
Predicate = Callable[[Item], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<paren>[()])"
    r"|(?P<datetime>\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)?)"
    r"|(?P<number>-?\d+(?:\.\d+)?)(?![\w/])|(?P<word>[A-Za-z_@][\w/@.]*))"
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_MISSING = object()


def bad_query(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise bad_query(f"Invalid filter clause: unexpected text at {text[pos:]!r}")
        tokens.append(_Token(match.lastgroup, match.group(match.lastgroup)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.pos != len(self.tokens):
            raise bad_query(f"Invalid filter clause: unexpected {self.tokens[self.pos].text!r}")
        return predicate

    def _peek_word(self) -> str:
        token = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        return token.text.lower() if token and token.kind == "word" else ""

    def _next(self) -> _Token:
        if self.pos >= len(self.tokens):
            raise bad_query("Invalid filter clause: the expression ends too early")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek_word() == "or":
            self.pos += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else lambda item: any(p(item) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._atom()]
        while self._peek_word() == "and":
            self.pos += 1
            parts.append(self._atom())
        return parts[0] if len(parts) == 1 else lambda item: all(p(item) for p in parts)

    def _atom(self) -> Predicate:
        token = self._next()
        if token.kind == "paren" and token.text == "(":
            inner = self._or()
            if self._next().text != ")":
                raise bad_query("Invalid filter clause: a parenthesis is not closed")
            return inner
        if token.kind != "word":
            raise bad_query(f"Invalid filter clause: expected a property, got {token.text!r}")
        path = token.text.split("/")
        op_token = self._next()
        compare = _OPS.get(op_token.text.lower())
        if op_token.kind != "word" or compare is None:
            raise bad_query(f"Invalid filter clause: unsupported operator {op_token.text!r}")
        literal = _literal(self._next())
        return lambda item: _compare(_lookup(item, path), literal, compare)


def _literal(token: _Token) -> Any:
    if token.kind == "string":
        return token.text[1:-1].replace("''", "'")
    if token.kind == "datetime":
        return _as_time(token.text)
    if token.kind == "number":
        return float(token.text)
    words: dict[str, Any] = {"true": True, "false": False, "null": None}
    if token.kind == "word" and token.text.lower() in words:
        return words[token.text.lower()]
    raise bad_query(f"Invalid filter clause: {token.text!r} is not a literal")


def _as_time(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _lookup(item: Item, path: Sequence[str]) -> Any:
    value: Any = item
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _compare(value: Any, literal: Any, compare: Callable[[Any, Any], bool]) -> bool:
    if value is _MISSING:
        return False
    if isinstance(literal, dt.datetime) and isinstance(value, str):
        value = _as_time(value)
    elif isinstance(literal, str) and isinstance(value, str):
        value, literal = value.casefold(), literal.casefold()
    elif isinstance(literal, float) and isinstance(value, int | float):
        value = float(value)
    if value is None or literal is None:
        return (compare is operator.eq and value is literal) or (
            compare is operator.ne and value is not literal
        )
    try:
        return compare(value, literal)
    except TypeError:
        return False


def parse_filter(text: str) -> Predicate:
    """Compile a `$filter` expression into a predicate over Graph JSON objects."""
    return _Parser(text).parse()


def select(item: Item, fields: str | None, always: Sequence[str] = ("id",)) -> dict[str, Any]:
    """Apply `$select` (a comma-separated list) to one Graph object."""
    if not fields:
        return dict(item)
    wanted = {f.strip() for f in fields.split(",") if f.strip()} | set(always)
    return {k: v for k, v in item.items() if k in wanted or k.startswith("@odata.")}


def order(items: list[dict[str, Any]], orderby: str | None) -> list[dict[str, Any]]:
    """Apply `$orderby` ("receivedDateTime desc, subject")."""
    if not orderby:
        return items
    for clause in reversed([c.split() for c in orderby.split(",") if c.strip()]):
        path = clause[0].split("/")
        descending = len(clause) > 1 and clause[1].lower() == "desc"
        present = [i for i in items if _lookup(i, path) not in (_MISSING, None)]
        absent = [i for i in items if _lookup(i, path) in (_MISSING, None)]
        present.sort(key=lambda i: _sort_key(_lookup(i, path)), reverse=descending)
        items = present + absent
    return items


def _sort_key(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def page_bounds(query: Mapping[str, str], default_top: int) -> tuple[int, int]:
    """The (`$skip`, `$top`) of a list request."""
    try:
        top = int(query.get("$top", default_top))
        skip = int(query.get("$skip", 0))
    except ValueError as err:
        raise bad_query("$top and $skip must be integers") from err
    if top < 1 or top > 1000 or skip < 0:
        raise bad_query("$top must be between 1 and 1000 and $skip at least 0")
    return skip, top

"""The backtest's streaming reader: values across window edges, lines, and recovery."""

from __future__ import annotations

import io
import json

import pytest

from riposte.backtest import sources
from riposte.backtest.sources import values_of


@pytest.fixture(autouse=True)
def tiny_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read 7 characters at a time, so every value straddles the window's edge."""
    monkeypatch.setattr(sources, "CHUNK", 7)


def decoded(text: str) -> list[tuple[int, object]]:
    return [
        (line, f"error: {v.msg}" if isinstance(v, json.JSONDecodeError) else v)
        for line, v in values_of(io.StringIO(text))
    ]


def test_a_pretty_printed_array_yields_each_element_with_its_line() -> None:
    """Elements of an indented array come out whole, each with the line it starts on."""
    items = [{"id": f"a{n}", "score": 0.123456789 * n, "tags": ["x", "y"]} for n in range(3)]
    text = json.dumps(items, indent=2)
    starts = [n + 1 for n, row in enumerate(text.splitlines()) if row == "  {"]
    assert decoded(text) == list(zip(starts, items, strict=True))


def test_ndjson_and_numbers_cut_by_the_window_read_whole() -> None:
    """A number split across two reads is one number, and NDJSON lines are counted."""
    text = '{"a": 1}\n12345678901234\n{"b": [true, null]}\n'
    assert decoded(text) == [(1, {"a": 1}), (2, 12345678901234), (3, {"b": [True, None]})]


def test_a_broken_line_is_reported_where_it_starts_and_reading_goes_on() -> None:
    """A truncated line is one error at its own line; the next line still decodes."""
    text = '{"a": 1}\n{"b": "cut\n{"c": 3}\n{"x": [1, 2\n{"d": 4}'
    assert decoded(text) == [
        (1, {"a": 1}),
        (2, "error: Invalid control character at"),
        (3, {"c": 3}),
        (4, "error: Expecting ',' delimiter"),
        (5, {"d": 4}),
    ]

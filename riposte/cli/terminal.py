"""Human output that a hostile alert cannot use to drive the terminal.

Alert names, ids, targets and audit details are attacker text. Written raw, `\\x1b[2J` clears
the screen and an OSC sequence retitles the window. While a command runs, its stdout and stderr
go through `Escaped`, which turns every C0 and C1 control character (but newline and tab), DEL,
and the bidirectional overrides behind "Trojan Source" into visible `\\xNN` / `\\uNNNN` text. JSON
output passes unchanged: `json.dump` already escapes every control character.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO

_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
_TABLE: dict[int, str] = {
    code: f"\\x{code:02x}"
    for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))
    if chr(code) not in "\n\t"
}
_TABLE.update({code: f"\\u{code:04x}" for code in _BIDI})

RAW_COMMANDS = frozenset({"dev", "worker", "serve", "emulator"})
"""Long-running commands whose output is structlog's own (colours included), not records."""


def printable(text: str) -> str:
    """The text with every terminal control character made visible (linear: one translate)."""
    return text.translate(_TABLE)


class Escaped:
    """A text stream that escapes what it writes, then hands it to the real one."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


@contextlib.contextmanager
def escaped_output(command: str, fmt: str = "") -> Iterator[None]:
    """Escape stdout and stderr while one command runs (not the long-running servers)."""
    if command in RAW_COMMANDS:
        yield
        return
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = Escaped(stdout) if fmt != "csv" else stdout  # CSV: records for a program
    sys.stderr = Escaped(stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr

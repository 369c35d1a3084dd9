"""Alert names and the patterns that match them: globs and RE2 regexes, in linear time.

Darktrace writes a model's name as "SaaS::Compromise::Unusual Login" in its API and as
"SaaS / Compromise / Unusual Login" in its UI. `display_name` turns both into the UI form, and
every name pattern is normalized the same way, so either spelling matches either.

Alert names are attacker-influenced text, so every pattern is compiled with RE2, which matches in
time linear in the input and has no backtracking to exploit. Compiled patterns are cached per
pattern string; nothing here performs I/O, so workflow code may call it.
"""

from __future__ import annotations

import functools
import re

import re2

_SPACES = re.compile(r"\s+")  # always matches where it starts, so `sub` stays linear
MAX_PATTERN = 1024


class PatternError(ValueError):
    """A regex RE2 cannot compile (RE2 has no backreferences or look-around)."""


def display_name(name: str) -> str:
    """The " / " form of an alert name: "SaaS::Access::X" and "SaaS / Access / X" agree.

    Split and strip rather than one regex: `\\s*(?:::|/)\\s*` backtracks quadratically on a run
    of spaces, and this runs on attacker text.
    """
    parts = (piece.strip() for chunk in name.strip().split("::") for piece in chunk.split("/"))
    return _SPACES.sub(" ", " / ".join(parts))


def _options(*, case_sensitive: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # errors are raised, not printed on stderr
    options.case_sensitive = case_sensitive
    return options


def glob_to_regex(glob: str) -> str:
    """An RE2 pattern for a shell-style glob: * any text, ? one character, [abc] / [!abc] sets."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        i += 1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = glob.find("]", i + 1 if i < n and glob[i] in "!^" else i)
            if end == -1 or end == i:
                out.append(re.escape(char))
                continue
            body = glob[i:end]
            negate = body[:1] in ("!", "^")
            members = body[1:] if negate else body
            escaped = "".join("\\" + c if c in "\\]^[" else c for c in members)
            out.append(f"[{'^' if negate else ''}{escaped}]")
            i = end + 1
        else:
            out.append(re.escape(char))
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def compiled_globs(globs: tuple[str, ...]) -> re2._Regexp:
    """One case-insensitive matcher for any of these globs (normalized like alert names)."""
    pattern = "|".join(f"(?:{glob_to_regex(display_name(glob))})" for glob in globs)
    return re2.compile(pattern, _options(case_sensitive=False))


@functools.lru_cache(maxsize=4096)
def compiled_regex(pattern: str) -> re2._Regexp:
    """The compiled RE2 matcher for a `name_regex`; PatternError if RE2 rejects it."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"regex longer than {MAX_PATTERN} characters")
    try:
        return re2.compile(pattern, _options(case_sensitive=True))
    except re2.error as err:
        detail = err.args[0] if err.args else err
        text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        raise PatternError(f"RE2 cannot compile regex {pattern!r}: {text}") from None


def glob_matches(globs: str | tuple[str, ...], name: str) -> bool:
    """Whether a (normalized) alert name matches a glob, or any of several, whole, ignoring case."""
    return compiled_globs((globs,) if isinstance(globs, str) else globs).fullmatch(name) is not None


def regex_matches(pattern: str, name: str) -> bool:
    """Whether a regex finds a match anywhere in the (normalized) alert name."""
    return compiled_regex(pattern).search(name) is not None

"""The audit key: the secret that seals the chain (HMAC-SHA256), never kept in the store.

It comes from the settings (`RIPOSTE_AUDIT_KEY`) or from the secret file `DATA_DIR/audit.key`
(mode 0600). Writers (`riposte dev`, `worker`, `serve`) create the file on first start when
neither exists; readers (`audit verify`, `audit checkpoint`) never do, so a missing key is
reported instead of silently replaced. The key is the text's UTF-8 bytes, so the file's content
and the setting are interchangeable.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from riposte.errors import InvalidInput
from riposte.settings import Settings

KEY_FILE = "audit.key"


@dataclass(frozen=True)
class AuditKey:
    """The key's bytes, kept out of every repr, log line and error."""

    secret: bytes = field(repr=False)
    origin: str = ""  # where it came from: "settings" or the file's path


def macs_equal(found: str, expected: str) -> bool:
    """Constant-time equality of two MACs as text, whatever the stored text holds.

    `hmac.compare_digest` refuses a str that is not ASCII (TypeError), and a MAC read from the
    store or a checkpoint file is whatever someone wrote there: compare the UTF-8 bytes instead.
    """
    return hmac.compare_digest(
        found.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def key_path(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def audit_key(settings: Settings, *, create: bool) -> AuditKey | None:
    """The configured key; with `create`, a new key file when none is configured."""
    if settings.audit_key is not None:
        text = settings.audit_key.get_secret_value().strip()
        if not text:
            raise InvalidInput("the audit key setting is empty", location="audit_key")
        return AuditKey(text.encode("utf-8"), "settings")
    path = key_path(settings)
    if not path.exists():
        if not create:
            return None
        _create(path)
    try:
        text = path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"cannot read the audit key file {path}: {err}") from None
    if not text:
        raise InvalidInput(f"the audit key file {path} is empty")
    return AuditKey(text.encode("utf-8"), str(path))


def _create(path: Path) -> None:
    """Write a fresh key, mode 0600, atomically: a racing writer's key wins, never half a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):  # another writer made it first
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)

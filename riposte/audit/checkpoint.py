"""Checkpoints: a signed chain head (seq, hash, count, time) to keep outside the store.

`riposte audit checkpoint` prints one as a JSON line; `riposte audit verify --checkpoint FILE`
then proves that the events up to it are the ones it saw: the store still holds as many
events up to `seq`, and the event at `seq` still carries `hash`. With a keyed chain that
hash seals everything before it, so an edit, deletion, reordering or re-chaining anywhere up to
the checkpoint, or a store cut short of it, is found. The signature (HMAC-SHA256 under the audit
key) stops anyone without the key from writing a checkpoint that fits a tampered store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from pydantic import Field, ValidationError

from riposte.audit.key import AuditKey, macs_equal
from riposte.errors import InvalidInput
from riposte.model import Frozen

SCHEME = "hmac-sha256"


class Checkpoint(Frozen):
    seq: int = Field(ge=0)
    hash: str
    count: int = Field(ge=0)
    time: datetime
    keyed_from: int = Field(default=1, ge=1)
    signature: str = ""


def _message(checkpoint: Checkpoint) -> bytes:
    body = checkpoint.model_dump(mode="json", exclude={"signature"})
    return ("riposte-audit-checkpoint:" + json.dumps(body, sort_keys=True)).encode()


def sign(checkpoint: Checkpoint, key: AuditKey) -> Checkpoint:
    mac = hmac.new(key.secret, _message(checkpoint), hashlib.sha256).hexdigest()
    return checkpoint.model_copy(update={"signature": f"{SCHEME}:{mac}"})


def signature_ok(checkpoint: Checkpoint, key: AuditKey) -> bool:
    return macs_equal(checkpoint.signature, sign(checkpoint, key).signature)


def read_checkpoint(text: str, where: str) -> Checkpoint:
    """A checkpoint from its JSON text; InvalidInput saying what is wrong with it."""
    try:
        return Checkpoint.model_validate_json(text.strip() or "null")
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "the file"
        raise InvalidInput(
            f"not a Riposte audit checkpoint ({field}: {first['msg']})", location=where
        ) from None

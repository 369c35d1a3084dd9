"""How an action is carried out, and what an unanswered approval request means. Pure values.

The workflow and the pure policy engine use these; settings only take them as defaults.
"""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    PASSIVE = "passive"
    HUMAN_CONFIRM = "human-confirm"
    AUTONOMOUS = "autonomous"


class OnTimeout(StrEnum):
    EXPIRE = "expire"
    EXECUTE = "execute"

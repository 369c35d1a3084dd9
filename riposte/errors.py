"""Domain errors. The API maps each to a status code in one handler; the CLI to an exit code.

RiposteError
├── InvalidInput            bad alert, policy or argument (400 / 422; exit 2)
│   └── UnknownFormat       an alert format no adapter reads
├── NotFound                unknown response or action (404)
├── Conflict                a decision or release the action's state does not allow (409)
├── NotPermitted            an identity that may not do this (403), e.g. deciding on its own alert
└── Unavailable             Temporal or the audit store cannot be reached (503)
"""

from __future__ import annotations


class RiposteError(Exception):
    """The root of every error Riposte raises on purpose."""


class InvalidInput(RiposteError):
    def __init__(self, message: str, *, location: str = "") -> None:
        super().__init__(f"{location}: {message}" if location else message)
        self.location = location


class UnknownFormat(InvalidInput):
    pass


class NotFound(RiposteError):
    pass


class Conflict(RiposteError):
    def __init__(self, message: str, *, state: str) -> None:
        super().__init__(message)
        self.state = state


class NotPermitted(RiposteError):
    """The caller is known, but may not do this (the API answers 403, saying why)."""


class Unavailable(RiposteError):
    pass

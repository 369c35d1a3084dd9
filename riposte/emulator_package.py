"""Whether the tenant emulator is installed.

The emulator (import name `tenant_emulator`, distribution `emulator/`) is a test and demo
double: `make setup` installs it for `make run` and the tests, and the production image never
holds it. The commands that need it (`riposte emulator`, `riposte dev`, `riposte demo`) ask here
first, so that its absence is one clear sentence rather than an ImportError.
"""

from __future__ import annotations

import importlib.util

from riposte.errors import Unavailable

MISSING = (
    "the tenant emulator (package tenant_emulator) is not installed: it is a test and demo "
    "double, absent from the production image; install it with `make setup` "
    "(or `pip install -e ./emulator`)"
)


class EmulatorNotInstalled(Unavailable):
    pass


def require_emulator() -> None:
    """Raise EmulatorNotInstalled unless `tenant_emulator` can be imported."""
    if importlib.util.find_spec("tenant_emulator") is None:
        raise EmulatorNotInstalled(MISSING)

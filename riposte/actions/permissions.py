"""What the policies' actions need in Microsoft 365 and Azure, derived from the catalogue.

Each catalogue entry names its least-privilege Graph application permissions (`Need`, with the
broader ones that also grant it) and, for NSG actions, its Azure role. `riposte doctor` compares
them with the permissions an access token carries.
"""

from __future__ import annotations

from collections.abc import Iterable

from riposte.actions.catalogue import CATALOGUE, READ_PROTECTED_ROLES
from riposte.actions.descriptor import AzureRole, Target
from riposte.actions.payloads import ActionName


def missing_graph(actions: Iterable[ActionName], roles: Iterable[str]) -> dict[str, list[str]]:
    """The Graph permissions `actions` need that `roles` do not grant: permission -> actions."""
    granted = tuple(roles)
    wanted = set(actions)
    missing: dict[str, list[str]] = {}
    for name, entry in CATALOGUE.items():
        if name not in wanted:
            continue
        guard = (READ_PROTECTED_ROLES,) if entry.target is Target.USER else ()
        for need in (*entry.graph, *guard):
            if not need.met_by(granted):
                missing.setdefault(need.permission, []).append(name.value)
    return missing


def azure_roles(actions: Iterable[ActionName]) -> dict[AzureRole, list[ActionName]]:
    """The Azure roles `actions` need: role -> the actions needing it."""
    roles: dict[AzureRole, list[ActionName]] = {}
    wanted = set(actions)
    for name, entry in CATALOGUE.items():
        if name in wanted and entry.azure is not None:
            roles.setdefault(entry.azure, []).append(name)
    return roles

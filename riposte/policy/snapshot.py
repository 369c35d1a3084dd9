"""The immutable policy snapshot a response evaluates, and the activity request that takes it.

A running response keeps the snapshot it started with, so a policy edited mid-response does not
change it; each policy travels with its content hash, which the audit records.
"""

from __future__ import annotations

from riposte.activity_refs import ActivityRef
from riposte.model import Frozen
from riposte.modes import Mode
from riposte.policy.models import Network, Policy


class SnapshotPolicy(Frozen):
    """One policy and its version: the sha256 of its file's bytes, in hex."""

    policy: Policy
    hash: str


class PolicySnapshot(Frozen):
    """Everything `evaluate` needs besides the alert (a Temporal payload)."""

    policies: tuple[SnapshotPolicy, ...] = ()
    default_mode: Mode = Mode.PASSIVE
    force_passive: bool = False  # the engine-wide kill switch
    protected_users: tuple[str, ...] = ()  # never acted on, by any policy
    protected_ranges: tuple[Network, ...] = ()  # addresses / CIDR ranges never acted on
    budgets: bool = True  # False: no budget limits set, so autonomous actions skip the ledger


class SnapshotRequest(Frozen):
    """The input of the `snapshot_policies` activity (empty today; fields may be added)."""


SNAPSHOT_POLICIES = ActivityRef("snapshot_policies", SnapshotRequest, PolicySnapshot)
"""Loads the policies into a snapshot (`activities.policy`)."""

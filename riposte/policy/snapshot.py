"""The immutable policy snapshot a response evaluates, and the activity request that takes it.

A running response keeps the snapshot it started with, so a policy edited mid-response does not
change it; each policy travels with its content hash, which the audit records.
"""

from __future__ import annotations

from enum import StrEnum

from riposte.model import Frozen
from riposte.policy.models import Network, Policy
from riposte.settings import Mode


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


class SnapshotRequest(Frozen):
    """The input of the `snapshot_policies` activity (empty today; fields may be added)."""


class PolicyErrorType(StrEnum):
    """The `type` of the non-retryable ApplicationError `snapshot_policies` raises."""

    INVALID_POLICY = "InvalidPolicy"  # a file has errors; the message lists FILE:LINE: message
    NO_POLICY_DIR = "NoPolicyDir"  # the configured policies folder does not exist

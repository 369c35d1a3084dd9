"""The policy engine: from an alert and a policy snapshot to a response plan. Pure, no I/O.

`evaluate` runs inside workflow code, so it is deterministic and imports nothing that performs
I/O.

Rules, in order:
- Incident-scope policies are skipped: an incident evaluates them as it grows.
- Policies are tried in name order; every policy whose `match` holds contributes its actions in
  the order it lists them.
- A policy's mode is `passive` when the engine-wide kill switch is on, else its own `mode`, else
  the engine default.
- An action acts on the alert entity its catalogue entry targets (a policy must require that
  entity, so the target is always there), with the parameters its entry binds from the policy
  and the alert.
- An action is excluded, and never acted on, when its target is an engine-wide protected user or
  inside a protected range, or when its policy's `exclude` names it. An IP target that is not a
  single host's address (unparseable, unspecified, loopback, multicast) is excluded too.
- Two policies may plan the same (action, target): one is kept, the first by policy name that is
  not excluded (an excluded one is kept only when no policy would carry it out).
- Action ids are "{response_id}:a{n}", n counting from 1 over the kept actions in that order, so
  the same alert and snapshot always give the same ids.

The snapshot is compiled once into matchers (`riposte.policy.compiled`); evaluating tests them
and builds the plan's models from parts already validated.
"""

from __future__ import annotations

from riposte.actions.catalogue import CATALOGUE
from riposte.actions.payloads import ActionName
from riposte.alerts import Alert
from riposte.model import Frozen
from riposte.modes import Mode
from riposte.policy.compiled import Guard, compile_snapshot
from riposte.policy.models import Policy
from riposte.policy.snapshot import PolicySnapshot, SnapshotPolicy, SnapshotRequest
from riposte.response import MatchedPolicy, PlannedAction

__all__ = [
    "PolicySnapshot",
    "ResponsePlan",
    "SnapshotPolicy",
    "SnapshotRequest",
    "evaluate",
    "plan_mode",
    "protection",
]


class ResponsePlan(Frozen):
    """What the policies call for. `actions` holds excluded ones too, with `excluded_reason` set."""

    matched: tuple[MatchedPolicy, ...] = ()
    actions: tuple[PlannedAction, ...] = ()
    no_match_reason: str = ""  # set when no policy matched

    @property
    def to_carry_out(self) -> tuple[PlannedAction, ...]:
        return tuple(a for a in self.actions if not a.excluded_reason)

    @property
    def excluded(self) -> tuple[PlannedAction, ...]:
        return tuple(a for a in self.actions if a.excluded_reason)


def plan_mode(policy: Policy, snapshot: PolicySnapshot) -> Mode:
    """Precedence: the kill switch, then the policy's mode, then the engine default."""
    if snapshot.force_passive:
        return Mode.PASSIVE
    return policy.mode or snapshot.default_mode


def evaluate(
    alert: Alert, snapshot: PolicySnapshot, response_id: str, *, normalise_addresses: bool = True
) -> ResponsePlan:
    """The response plan for `alert` under `snapshot`; deterministic in its inputs.

    `normalise_addresses=False` replays responses started before IPs were normalised."""
    compiled = compile_snapshot(snapshot, normalise=normalise_addresses)
    verdict, actions, reason = compiled.plan(alert, response_id)
    return ResponsePlan(
        matched=tuple(policy.matched for policy in verdict.matched),
        actions=tuple(actions),
        no_match_reason=reason,
    )


def protection(action: ActionName, target: str, snapshot: PolicySnapshot) -> str:
    """Why no policy, and no admin command, may act on `target`; "" when nothing forbids it.

    Users are matched by UPN, so only UPNs are acted on: an object id (which Graph also accepts)
    could otherwise reach a protected account. An IP must be a single host's address.
    """
    guard = Guard(snapshot.protected_users, snapshot.protected_ranges)
    return guard.refusal(CATALOGUE[action].target, target)

"""Incident-scope policies in a backtest: incidents regrown from the alerts, in time order.

Each alert grows its incident as `TrackIncident` and `policy test` grow it
(`riposte.incidents.rehearsal.grow_incident`): it joins the incident of its correlation key
whose window holds its time (else it opens the key's next one), and the incident-scope policies
are evaluated on the grown incident. Each new task is decided as the live incident-scope
response would decide it: its own alert, under the snapshot narrowed to its one policy. So
`matched` counts, for an incident-scope policy, the responses it would have started.

The escalations in force in the alert's incident by then, those its arrival recorded included,
go back with them: the backtest gives their mode to the alert's own planned actions
(`riposte.backtest.replay`), as the live response takes them when it joins its incident.

In time order only a key's latest incident can still grow (a window that holds an alert's time
holds it in every later-opened incident too), so only that one is kept per key.
"""

from __future__ import annotations

from datetime import timedelta

from riposte.backtest.replay import Growth
from riposte.incidents.models import IncidentRecord, Member
from riposte.incidents.rehearsal import grow_incident
from riposte.incidents.scope import incident_alert, narrowed
from riposte.policy.compiled import compile_snapshot
from riposte.policy.matchers import Facts
from riposte.policy.models import Scope
from riposte.policy.snapshot import PolicySnapshot


def incident_policies(snapshot: PolicySnapshot) -> tuple[str, ...]:
    """The names of the snapshot's incident-scope policies, in name order."""
    return tuple(
        sorted(p.policy.name for p in snapshot.policies if p.policy.scope is Scope.INCIDENT)
    )


class IncidentReplay:
    """The incidents of a backtest, grown one alert at a time (alerts in time order); per key,
    the latest."""

    def __init__(self, snapshot: PolicySnapshot, window_seconds: int) -> None:
        self.snapshot = snapshot
        self.names = incident_policies(snapshot)
        self.window = timedelta(seconds=window_seconds)
        self.incidents: dict[str, list[IncidentRecord]] = {}

    def grow(self, facts: Facts) -> Growth:
        alert = facts.alert
        if alert.raw:
            alert = alert.model_copy(update={"raw": {}})  # incidents read entities, never raw
        member = Member(response_id=alert.key, alert=alert)
        record, plan = grow_incident(self.incidents, member, self.snapshot, self.window)
        del self.incidents[record.key][:-1]  # the key's earlier ones: no later alert joins them
        verdicts = tuple(
            compile_snapshot(narrowed(self.snapshot, task)).decide(
                Facts(incident_alert(task, record.members))
            )
            for task in plan.tasks
        )
        return Growth(verdicts, record.escalations, record.incident_id, plan.escalations)

"""Incident-scope policies in a backtest: incidents regrown from the alerts, in time order.

Each alert joins the incident of its correlation key whose window holds its time (else it opens
the key's next one), as `TrackIncident` does; after each join the incident-scope policies are
evaluated on the grown incident (`riposte.incidents.scope.evaluate_incident`), and each new task
is decided as the live incident-scope response would decide it: its own alert, under the
snapshot narrowed to its one policy. So `matched` counts, for an incident-scope policy, the
responses it would have started.

Not replayed: `escalate` (the mode change of the incident's other responses); the report says
which incident-scope policies would have escalated, in their own tally of matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from riposte.incidents.correlation import correlation_key
from riposte.incidents.models import IncidentRecord, Member, incident_id_of
from riposte.incidents.scope import evaluate_incident, fired_key, incident_alert, narrowed
from riposte.policy.compiled import Verdict, compile_snapshot
from riposte.policy.matchers import Facts
from riposte.policy.models import Scope
from riposte.policy.snapshot import PolicySnapshot


def incident_policies(snapshot: PolicySnapshot) -> tuple[str, ...]:
    """The names of the snapshot's incident-scope policies, in name order."""
    return tuple(
        sorted(p.policy.name for p in snapshot.policies if p.policy.scope is Scope.INCIDENT)
    )


class IncidentReplay:
    """The incidents of a backtest, grown one alert at a time (alerts in time order)."""

    def __init__(self, snapshot: PolicySnapshot, window_seconds: int) -> None:
        self.snapshot = snapshot
        self.names = incident_policies(snapshot)
        self.window = timedelta(seconds=window_seconds)
        self.incidents: dict[str, list[IncidentRecord]] = {}

    def grow(self, facts: Facts) -> Sequence[Verdict]:
        alert = facts.alert
        key = correlation_key(alert)
        records = self.incidents.setdefault(key, [])
        kept = alert.model_copy(update={"raw": {}})  # incidents read entities, never raw
        index = self._admit(key, records, Member(response_id=alert.key, alert=kept))
        record = records[index]
        plan = evaluate_incident(record, self.snapshot)
        verdicts: list[Verdict] = []
        for task in plan.tasks:
            raised = incident_alert(task, record.members)
            compiled = compile_snapshot(narrowed(self.snapshot, task))
            verdicts.append(compiled.decide(Facts(raised)))
        records[index] = record.model_copy(
            update={
                "fired": (*record.fired, *(fired_key(t) for t in plan.tasks)),
                "escalations": (*record.escalations, *plan.escalations),
            }
        )
        return verdicts

    def _admit(self, key: str, records: list[IncidentRecord], member: Member) -> int:
        when = member.alert.time
        for index in range(len(records) - 1, -1, -1):
            if records[index].opened <= when <= records[index].opened + self.window:
                record = records[index]
                records[index] = record.model_copy(update={"members": (*record.members, member)})
                return index
        number = len(records) + 1
        records.append(
            IncidentRecord(
                incident_id=incident_id_of(key, number),
                key=key,
                number=number,
                opened=when,
                members=(member,),
            )
        )
        return len(records) - 1

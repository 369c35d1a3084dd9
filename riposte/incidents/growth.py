"""How an incident grows: which of a key's incidents an alert joins. Pure, no I/O.

`TrackIncident` runs this inside workflow code, and `policy test` runs it over a file of alerts
to show how their incidents would grow, so both read the same rules:
- an alert joins the latest incident of its key whose window (from its first alert's time)
  holds the alert's time; an alert older than every incident joins the current one;
- otherwise it opens the key's next incident, and the one before is closed;
- the same response joining twice changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from riposte.incidents.models import IncidentRecord, Member, incident_id_of


def admit(incidents: list[IncidentRecord], key: str, window: timedelta, member: Member) -> int:
    """Add `member` to the right incident in `incidents` (changed in place); its index."""
    for seen, record in enumerate(incidents):
        if any(m.response_id == member.response_id for m in record.members):
            return seen
    when = member.alert.time
    index: int | None = next(
        (
            i
            for i in range(len(incidents) - 1, -1, -1)
            if incidents[i].opened <= when <= incidents[i].opened + window
        ),
        None,
    )
    if index is None and incidents and when < incidents[-1].opened:
        index = len(incidents) - 1  # earlier than anything seen: the current incident
    if index is None:
        if incidents:
            incidents[-1] = incidents[-1].model_copy(update={"closed": True})
        number = (incidents[-1].number + 1) if incidents else 1
        incidents.append(
            IncidentRecord(
                incident_id=incident_id_of(key, number),
                key=key,
                number=number,
                opened=when,
                members=(member,),
            )
        )
        return len(incidents) - 1
    record = incidents[index]
    incidents[index] = record.model_copy(
        update={"members": (*record.members, member), "opened": min(record.opened, when)}
    )
    return index

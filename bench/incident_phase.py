"""Phase (d) of bench/throughput.py: what joining each alert to its incident costs.

The join is one more Temporal call at intake (signal-with-start on the key's `TrackIncident`),
and the response waits for its incident's answer before acting. Alerts come ten to an attacker
IP, so each incident workflow takes a stream of joins, as in a campaign.
"""

from __future__ import annotations

from typing import Any

from measure import Phase, percentile

PER_INCIDENT = 10


def incident_ip(n: int) -> str:
    """The attacker IP of bench alert `n`: one per `PER_INCIDENT` consecutive alerts."""
    group = n // PER_INCIDENT
    return f"203.0.{113 + group // 250 % 2}.{group % 250 + 1}"


def incident_join(
    b2: Phase, d: Phase, b2_idle: Phase, d_idle: Phase, a1_idle: Phase
) -> dict[str, Any]:
    """Alerts/s and idle p50 alert-to-first-action, without the join (b2) and with it (d); and
    issue 9's aim, the join costing at most one more server round trip, judged against (a1)'s
    idle p50 from the start of a bare workflow to its one activity."""
    without = percentile(b2_idle.first_action_ms(), 0.5)
    joined = percentile(d_idle.first_action_ms(), 0.5)
    round_trip = percentile(a1_idle.first_action_ms(), 0.5)
    result = {
        "alerts_per_s": {"without_join": round(b2.rate, 1), "with_join": round(d.rate, 1)},
        "idle_p50_first_action_ms": {"without_join": round(without), "with_join": round(joined)},
        "throughput_ratio": round(d.rate / b2.rate, 3) if b2.rate else None,
        "extra_ms_p50": round(joined - without),
        "round_trip_ms_p50": round(round_trip),
        "at_most_one_round_trip": joined - without <= round_trip,
    }
    print(f"(d) incident join: {result}", flush=True)
    met = "met" if result["at_most_one_round_trip"] else "not met"
    print(f"aim incident_join_at_most_one_round_trip: {met}", flush=True)
    return result

"""Incidents: the alerts of one campaign, correlated into one durable `TrackIncident` workflow.

alert ─► correlation key (vendor incident > attacker public IP > ASN > target)
      ─► signal-with-start `TrackIncident` (one workflow per key, one incident per window)
      ─► incident grows ─► incident-scope policies ─► responses for its shared entities,
                                                    escalation of its alert responses
"""

"""One router per concept: alerts, responses, approvals, audit, health."""

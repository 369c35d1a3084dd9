"""Doctor checks for one NSG Riposte manages: will its deny rules hold, and cut live sessions?

- `nsg NAME band`: FAIL when an Allow rule sits above Riposte's band or inside it (a block of a
  device it matches would not hold), or when the band has no free priority in a direction.
- flushConnection off is reported in the NSG's own line: rule changes then reach only new
  flows until Riposte turns it on, which it does with its first block on that NSG.
"""

from __future__ import annotations

from collections.abc import Sequence

from riposte.doctor.report import Check, fail, ok
from riposte.domain.nsg_band import RuleView, allows_not_below
from riposte.settings import NsgBinding

_DIRECTIONS = ("Inbound", "Outbound")


def band_check(binding: NsgBinding, rules: Sequence[RuleView]) -> Check:
    band = binding.band
    name = f"nsg {binding.name} band"
    allows = allows_not_below(rules, band)
    problems = []
    if allows:
        listed = ", ".join(f"{r.name} ({r.priority}, {r.direction})" for r in allows)
        problems.append(
            f"allow rules above or inside Riposte's band {band}: {listed}; a block of a device "
            "they match would not hold: move them below the band"
        )
    for direction in _DIRECTIONS:
        taken = [r.priority for r in rules if r.direction == direction]
        if band.free(taken) is None:
            problems.append(f"no free {direction.lower()} priority in the band {band}")
    if problems:
        return fail(name, "; ".join(problems))
    return ok(name, f"Riposte's band {band} is clear of allow rules and has room")


def flush_note(flush_connection: bool) -> str:
    if flush_connection:
        return "flushConnection on"
    return (
        "flushConnection off: a block cuts live sessions only once Riposte turns it on "
        "(it does with its first block here; that needs networkSecurityGroups/write)"
    )

"""How vendors' severities and scores map onto Riposte's severity and 0-to-1 score.

- Darktrace gives a breach score from 0 to 1. Severity follows it: 0.95 and up is critical, 0.7
  high, 0.4 medium, 0.2 low, below that informational. A model in Darktrace's "Critical" category
  is critical whatever the score, and one in its "Informational" category is informational.
- Defender and Sentinel give a severity and no score. The score is read off the severity:
  informational 0.1, low 0.3, medium 0.5, high 0.8, critical 0.95. A severity the vendor leaves
  "unknown" counts as informational, so that it never meets a policy's severity floor by accident.
"""

from __future__ import annotations

from riposte.alerts import Severity

SCORE_OF: dict[Severity, float] = {
    Severity.INFORMATIONAL: 0.1,
    Severity.LOW: 0.3,
    Severity.MEDIUM: 0.5,
    Severity.HIGH: 0.8,
    Severity.CRITICAL: 0.95,
}

_FLOORS: tuple[tuple[float, Severity], ...] = (
    (0.95, Severity.CRITICAL),
    (0.7, Severity.HIGH),
    (0.4, Severity.MEDIUM),
    (0.2, Severity.LOW),
)


def severity_of_score(score: float, category: str = "") -> Severity:
    """Darktrace: severity from the breach score, overridden by the model's category."""
    match category.casefold():
        case "critical":
            return Severity.CRITICAL
        case "informational":
            return Severity.INFORMATIONAL
    for floor, severity in _FLOORS:
        if score >= floor:
            return severity
    return Severity.INFORMATIONAL


def severity_named(name: str) -> Severity:
    """Defender / Sentinel: "High", "medium", "unknown" ... onto Riposte's severity."""
    folded = name.strip().casefold()
    for severity in Severity:
        if severity.value == folded:
            return severity
    return Severity.INFORMATIONAL

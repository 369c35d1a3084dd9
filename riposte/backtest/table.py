"""The backtest report as text a person reads at a glance (`policy backtest --format table`)."""

from __future__ import annotations

from collections.abc import Sequence

from riposte.backtest.report import BacktestReport

SAMPLE = 3  # targets named per policy; the rest are counted


def render_report(report: BacktestReport) -> str:
    lines = [_headline(report), ""]
    rows = [("POLICY", "MATCHED", "MODE", "ACTION", "COUNT", "TARGETS", "EXCLUDED", "BUDGET")]
    for name, policy in report.policies.items():
        first = (name, str(policy.matched))
        rest = (
            _sample(policy.targets),
            str(policy.excluded),
            f"{len(policy.budget_hours)}h tripped" if policy.budget_hours else "-",
        )
        actions = [
            (mode, action, str(count))
            for mode, counts in policy.by_mode.items()
            for action, count in counts.items()
        ] or [("-", "-", "0")]
        for n, action in enumerate(actions):
            rows.append((*first, *action, *rest) if n == 0 else ("", "", *action, "", "", ""))
    lines += _rows(rows)
    if report.budget_hours:
        budgets = report.budgets
        lines += [
            "",
            f"budgets tripped (autonomous actions per {budgets.window_seconds}s sliding window:"
            f" {budgets.per_action} per action, {budgets.total} in all):",
        ]
        lines += [
            f"  {hour.hour}  {hour.action}: {hour.deferred} would have waited for approval"
            for hour in report.budget_hours
        ]
    if report.changed is not None:
        lines += ["", f"{len(report.changed)} alert(s) change outcome against the other set:"]
        for alert in report.changed:
            lines.append(f"  {alert.time}  {alert.alert}  {_clean(alert.name)}")
            lines += [f"    {c.policy}: {c.kind.value}: {_clean(c.reason)}" for c in alert.changes]
    lines.append("(a backtest: nothing was changed)")
    return "\n".join(lines) + "\n"


def _headline(report: BacktestReport) -> str:
    parts = [f"{report.alerts} alerts replayed", f"{report.unmatched} matched no policy"]
    if report.duplicates:
        parts.append(f"{report.duplicates} duplicates ignored")
    if report.bad_input:
        parts.append(f"{report.bad_input} unreadable values skipped")
    if report.skipped_events:
        parts.append(f"{report.skipped_events} older events without their alert skipped")
    return ", ".join(parts)


def _sample(targets: Sequence[str]) -> str:
    if not targets:
        return "-"
    named = ", ".join(_clean(t) for t in targets[:SAMPLE])
    more = len(targets) - SAMPLE
    return f"{len(targets)}: {named}" + (f" (+{more})" if more > 0 else "")


def _clean(text: str) -> str:
    """Attacker-influenced text on one line, without control characters."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _rows(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]

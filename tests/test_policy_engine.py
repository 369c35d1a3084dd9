"""The engine: from an alert and a snapshot to a deterministic plan, exclusions and modes."""

from __future__ import annotations

from typing import Any

from temporalio.contrib.pydantic import pydantic_data_converter

from riposte.actions.payloads import ActionName, ActionParams, RuleSelection
from riposte.alerts import Alert
from riposte.modes import Mode, OnTimeout
from riposte.policy.engine import PolicySnapshot, ResponsePlan, evaluate
from riposte.policy.models import Policy
from riposte.policy.snapshot import SnapshotPolicy

TAKEOVER: dict[str, Any] = {
    "name": "takeover",
    "match": {"source": "darktrace", "name": "SaaS / Compromise / *", "entities": ["user"]},
    "mode": "human-confirm",
    "approval": {"timeout": "30m", "on_timeout": "execute"},
    "actions": [
        "disable_sign_in",
        "revoke_sessions",
        {"delete_inbox_rules": {"which": "all"}},
        {"quarantine_mail": {"sent_within": "24h"}},
    ],
    "duration": "24h",
    "exclude": {"users": ["ceo@contoso.com", "svc-*@contoso.com"]},
}
NETWORK: dict[str, Any] = {
    "name": "network",
    "match": {"name": "Device / *", "entities": ["ip"]},
    "mode": "autonomous",
    "actions": [{"block_ports": {"ports": [445, 9401]}}, "block_outbound"],
    "duration": "2h",
    "exclude": {"ips": ["10.0.0.0/24", "192.0.2.9"]},
}


def alert(**fields: Any) -> Alert:
    base: dict[str, Any] = {
        "id": "dt-1",
        "source": "darktrace",
        "name": "SaaS / Compromise / Unusual Login and New Email Rule",
        "severity": "high",
        "score": 0.93,
        "time": "2021-06-09T09:12:00Z",
        "entities": {
            "user": "ben@contoso.com",
            "ip": "198.51.100.7",
            "messages": ["<m1@contoso.com>"],
            "inbox_rules": [".", "RSS"],
        },
    }
    return Alert.model_validate(base | fields)


def snapshot(*policies: dict[str, Any], **settings: Any) -> PolicySnapshot:
    entries = tuple(
        SnapshotPolicy(policy=Policy.model_validate(p), hash=f"hash-{p['name']}") for p in policies
    )
    return PolicySnapshot(policies=entries, **settings)


def test_a_match_plans_each_action_with_its_target_params_and_timings() -> None:
    """Each action gets its id, the alert's user, params from policy and alert, and timings."""
    plan = evaluate(alert(), snapshot(TAKEOVER), "darktrace:dt-1")
    assert [m.name for m in plan.matched] == ["takeover"]
    assert plan.matched[0].hash == "hash-takeover"
    assert [(a.action_id, a.action, a.target) for a in plan.actions] == [
        ("darktrace:dt-1:a1", ActionName.DISABLE_SIGN_IN, "ben@contoso.com"),
        ("darktrace:dt-1:a2", ActionName.REVOKE_SESSIONS, "ben@contoso.com"),
        ("darktrace:dt-1:a3", ActionName.DELETE_INBOX_RULES, "ben@contoso.com"),
        ("darktrace:dt-1:a4", ActionName.QUARANTINE_MAIL, "ben@contoso.com"),
    ]
    rules, mail = plan.actions[2], plan.actions[3]
    assert rules.params == ActionParams(which=RuleSelection.ALL, rule_names=(".", "RSS"))
    assert mail.params == ActionParams(message_ids=("<m1@contoso.com>",), sent_within_seconds=86400)
    assert all(
        a.mode is Mode.HUMAN_CONFIRM and a.policy_hash == "hash-takeover" for a in plan.actions
    )
    assert [a.duration_seconds for a in plan.actions] == [86400, None, 86400, 86400]
    assert {(a.approval_timeout_seconds, a.on_timeout) for a in plan.actions} == {
        (1800, OnTimeout.EXECUTE)
    }
    assert plan.no_match_reason == ""


def test_network_actions_target_the_ip_with_ports() -> None:
    """block_ports and block_outbound act on the alert's IP; block_ports carries the ports."""
    plan = evaluate(alert(name="Device / Network Scan"), snapshot(NETWORK), "r")
    assert [(a.action, a.target, a.params.ports) for a in plan.actions] == [
        (ActionName.BLOCK_PORTS, "198.51.100.7", (445, 9401)),
        (ActionName.BLOCK_OUTBOUND, "198.51.100.7", ()),
    ]
    assert {a.mode for a in plan.actions} == {Mode.AUTONOMOUS}


def test_action_ids_are_deterministic() -> None:
    """The same alert and snapshot always give the same plan, ids included."""
    snap = snapshot(NETWORK, TAKEOVER)
    first = evaluate(alert(), snap, "darktrace:dt-1")
    assert evaluate(alert(), snap, "darktrace:dt-1") == first
    assert [a.action_id for a in first.actions] == [f"darktrace:dt-1:a{n}" for n in range(1, 5)]


def test_policies_apply_in_name_order_and_duplicates_keep_the_first() -> None:
    """Two policies planning the same (action, target) yield one action, from the first by name."""
    second = TAKEOVER | {"name": "a-first", "mode": "autonomous", "actions": ["revoke_sessions"]}
    plan = evaluate(alert(), snapshot(TAKEOVER, second), "r")
    assert [m.name for m in plan.matched] == ["a-first", "takeover"]
    revokes = [a for a in plan.actions if a.action is ActionName.REVOKE_SESSIONS]
    assert [(a.policy, a.mode) for a in revokes] == [("a-first", Mode.AUTONOMOUS)]
    assert [a.action_id for a in plan.actions] == [f"r:a{n}" for n in range(1, 5)]


def test_a_duplicate_excluded_by_one_policy_is_carried_out_by_another() -> None:
    """A policy's own exclusion does not cancel another matching policy's action."""
    shy = TAKEOVER | {"name": "a-shy", "actions": ["revoke_sessions"]}
    shy = shy | {"exclude": {"users": ["ben@contoso.com"]}}
    plan = evaluate(alert(), snapshot(shy, TAKEOVER), "r")
    revokes = [a for a in plan.actions if a.action is ActionName.REVOKE_SESSIONS]
    assert [(a.policy, a.excluded_reason) for a in revokes] == [("takeover", "")]


def test_policy_excluded_users_are_never_acted_on() -> None:
    """A user named (or globbed) in the policy's exclude gets excluded actions only."""
    for user in ("CEO@contoso.com", "svc-backup@contoso.com"):
        plan = evaluate(alert(entities={"user": user}), snapshot(TAKEOVER), "r")
        assert plan.actions and plan.to_carry_out == ()
        assert all(
            a.excluded_reason == f"policy takeover excludes user {user}" for a in plan.actions
        )


def test_policy_excluded_ips_and_ranges_are_never_acted_on() -> None:
    """An IP inside an excluded CIDR, or equal to an excluded address, is not blocked."""
    for ip, cidr in (("10.0.0.4", "10.0.0.0/24"), ("192.0.2.9", "192.0.2.9/32")):
        plan = evaluate(alert(name="Device / Scan", entities={"ip": ip}), snapshot(NETWORK), "r")
        assert plan.to_carry_out == ()
        assert (
            plan.excluded[0].excluded_reason == f"policy network excludes {cidr}, which holds {ip}"
        )
    plan = evaluate(
        alert(name="Device / Scan", entities={"ip": "10.0.1.4"}), snapshot(NETWORK), "r"
    )
    assert len(plan.to_carry_out) == 2


def test_protected_accounts_and_ranges_are_never_acted_on() -> None:
    """Engine-wide protected users and ranges exclude whatever any policy says."""
    snap = snapshot(
        TAKEOVER,
        NETWORK,
        protected_users=("BreakGlass@contoso.com",),
        protected_ranges=("10.8.0.0/24",),
    )
    plan = evaluate(alert(entities={"user": "breakglass@contoso.com"}), snap, "r")
    assert {a.excluded_reason for a in plan.actions} == {
        "breakglass@contoso.com is a protected account"
    }
    plan = evaluate(alert(name="Device / Scan", entities={"ip": "10.8.0.25"}), snap, "r")
    assert {a.excluded_reason for a in plan.actions} == {
        "10.8.0.25 is in protected range 10.8.0.0/24"
    }


def test_an_ip_that_is_no_single_host_is_never_blocked() -> None:
    """Malformed, unspecified and loopback addresses are excluded rather than sent to the NSG."""
    for ip in ("not-an-ip", "0.0.0.0", "127.0.0.1"):
        plan = evaluate(alert(name="Device / Scan", entities={"ip": ip}), snapshot(NETWORK), "r")
        assert plan.to_carry_out == () and len(plan.excluded) == 2


def test_mode_precedence_kill_switch_then_policy_then_default() -> None:
    """force_passive beats the policy's mode, which beats the engine default."""
    no_mode = {k: v for k, v in TAKEOVER.items() if k != "mode"}
    default = evaluate(alert(), snapshot(no_mode, default_mode=Mode.AUTONOMOUS), "r")
    assert {a.mode for a in default.actions} == {Mode.AUTONOMOUS}
    own = evaluate(alert(), snapshot(TAKEOVER, default_mode=Mode.AUTONOMOUS), "r")
    assert {a.mode for a in own.actions} == {Mode.HUMAN_CONFIRM}
    killed = evaluate(alert(), snapshot(TAKEOVER, NETWORK, force_passive=True), "r")
    assert {a.mode for a in killed.actions} == {Mode.PASSIVE}
    assert {m.mode for m in killed.matched} == {Mode.PASSIVE}


def test_no_match_explains_the_closest_policy() -> None:
    """With nothing matched, the reason names the closest policy and what it lacked."""
    plan = evaluate(alert(entities={"ip": "198.51.100.7"}), snapshot(TAKEOVER, NETWORK), "r")
    assert plan.matched == () and plan.actions == ()
    assert plan.no_match_reason == "takeover: alert lacks entity user"
    assert evaluate(alert(), snapshot(), "r").no_match_reason == "no policies loaded"


def test_a_snapshot_and_a_plan_cross_temporal_unchanged() -> None:
    """Both are payloads: the pydantic data converter round-trips them exactly."""
    snap = snapshot(TAKEOVER, NETWORK, protected_ranges=("10.8.0.0/24",))
    plan = evaluate(alert(), snap, "r")
    converter = pydantic_data_converter.payload_converter
    [snap_payload, plan_payload] = converter.to_payloads([snap, plan])
    assert converter.from_payload(snap_payload, PolicySnapshot) == snap
    assert converter.from_payload(plan_payload, ResponsePlan) == plan

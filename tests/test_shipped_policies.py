"""The shipped policies load, carry examples that hold, and behave as their comments say."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from riposte.actions.payloads import ActionName, RuleSelection
from riposte.adapters import parse_alert
from riposte.alerts import Alert
from riposte.modes import Mode, OnTimeout
from riposte.policy.check import example_errors
from riposte.policy.engine import PolicySnapshot, ResponsePlan, evaluate
from riposte.policy.loader import LoadedPolicy, load_policies, snapshot_of
from riposte.policy.models import Scope
from riposte.policy.snapshot import SnapshotPolicy
from riposte.settings import Settings

POLICIES = Path(__file__).resolve().parents[1] / "policies"
LOADED = load_policies([POLICIES])
BY_NAME = {p.policy.name: p for p in LOADED.policies}


def examples() -> list[Any]:
    cases = []
    for loaded in LOADED.policies:
        if loaded.policy.scope is Scope.INCIDENT:
            continue  # its examples are incidents (lists of alerts): see the campaign's test
        for key, bodies in (
            ("match", loaded.examples.match),
            ("no_match", loaded.examples.no_match),
        ):
            for index, body in enumerate(bodies):
                case = (loaded, key == "match", body)
                cases.append(pytest.param(*case, id=f"{loaded.policy.name}-{key}-{index}"))
    return cases


def alone(loaded: LoadedPolicy) -> PolicySnapshot:
    return PolicySnapshot(policies=(SnapshotPolicy(policy=loaded.policy, hash=loaded.hash),))


def shipped(alert: Alert, **settings: Any) -> ResponsePlan:
    """The plan under every shipped policy and the default settings (plus overrides)."""
    return evaluate(alert, snapshot_of(LOADED.policies, Settings(**settings)), alert.key)


def native(name: str, **fields: Any) -> Alert:
    base: dict[str, Any] = {
        "id": "dt-1",
        "source": "darktrace",
        "name": name,
        "severity": "high",
        "score": 0.93,
        "time": "2021-06-09T09:12:00Z",
    }
    return Alert.model_validate(base | fields)


def test_every_shipped_policy_loads_without_error() -> None:
    """policies/ loads clean, with the policies of both incidents and a passive one."""
    assert LOADED.errors == ()
    assert set(BY_NAME) == {
        "m365-account-takeover",
        "m365-attacker-sign-ins",
        "m365-campaign",
        "m365-suspicious-activity",
        "network-lateral-movement",
    }
    assert all(p.examples.match and p.examples.no_match for p in LOADED.policies)


@pytest.mark.parametrize(("loaded", "should_match", "body"), examples())
def test_each_example_holds(loaded: LoadedPolicy, should_match: bool, body: Any) -> None:
    """Every `examples:` alert is matched (or not) by its policy, as the file says."""
    plan = evaluate(parse_alert(body), alone(loaded), "example")
    assert bool(plan.matched) is should_match, plan.no_match_reason


def test_account_takeover_asks_a_human_and_contains_the_account() -> None:
    """Takeover: human-confirm, 4h expiring approval, seven user actions, 24h reverts; the
    recent-registration windows count back from the alert's time."""
    alert = native(
        "SaaS::Compromise::Unusual Login and New Email Rule",
        entities={
            "user": "b.smith@contoso.com",
            "messages": ["<m@contoso.com>"],
            "inbox_rules": ["."],
        },
    )
    plan = shipped(alert)
    assert [m.name for m in plan.matched] == ["m365-account-takeover"]
    assert [a.action for a in plan.actions] == [
        ActionName.DISABLE_SIGN_IN,
        ActionName.REVOKE_SESSIONS,
        ActionName.FORCE_PASSWORD_CHANGE,
        ActionName.REMOVE_AUTH_METHODS,
        ActionName.REVOKE_APP_CONSENTS,
        ActionName.DELETE_INBOX_RULES,
        ActionName.QUARANTINE_MAIL,
    ]
    assert {(a.target, a.mode) for a in plan.actions} == {
        ("b.smith@contoso.com", Mode.HUMAN_CONFIRM)
    }
    assert {(a.approval_timeout_seconds, a.on_timeout) for a in plan.actions} == {
        (4 * 3600, OnTimeout.EXPIRE)
    }
    assert [a.duration_seconds for a in plan.actions] == [86400, None, None, None, 86400] + [
        86400
    ] * 2
    methods, consents = plan.actions[3], plan.actions[4]
    assert methods.params.since == alert.time - timedelta(hours=24) == consents.params.since
    rules, mail = plan.actions[5], plan.actions[6]
    assert (rules.params.which, rules.params.rule_names) == (RuleSelection.SUSPICIOUS, (".",))
    assert (mail.params.sent_within_seconds, mail.params.message_ids) == (
        86400,
        ("<m@contoso.com>",),
    )


def test_account_takeover_never_touches_breakglass() -> None:
    """breakglass@ is excluded by the policy and protected by default: planned, never acted on."""
    plan = shipped(
        native("SaaS / Compromise / Unusual Login", entities={"user": "breakglass@contoso.com"})
    )
    assert plan.matched and plan.to_carry_out == ()
    assert len(plan.excluded) == 7


def test_a_takeover_with_an_address_asks_to_block_sign_ins_from_it() -> None:
    """The attacker's public address gets a human-confirm sign-in block for 7 days, beside the
    account's containment; the tenant's own networks are never blocked."""
    alert = native(
        "SaaS / Compromise / Unusual Login",
        entities={"user": "ben@contoso.com", "ip": "198.51.100.7"},
    )
    plan = shipped(alert)
    assert [m.name for m in plan.matched] == ["m365-account-takeover", "m365-attacker-sign-ins"]
    [block] = [a for a in plan.actions if a.action is ActionName.BLOCK_SIGN_IN_FROM]
    assert (block.target, block.mode, block.duration_seconds) == (
        "198.51.100.7",
        Mode.HUMAN_CONFIRM,
        7 * 86400,
    )
    assert block.params.prefix == 32
    inside = shipped(
        native(
            "SaaS / Compromise / Unusual Login",
            entities={"user": "ben@contoso.com", "ip": "10.8.0.25"},
        )
    )
    [kept] = [a for a in inside.actions if a.action is ActionName.BLOCK_SIGN_IN_FROM]
    assert "excludes 10.0.0.0/8" in kept.excluded_reason


def test_network_policy_blocks_the_vpn_address_autonomously_for_two_hours() -> None:
    """Vishing: ports 445 and 9401 and all outbound traffic blocked at once, for 2h."""
    plan = shipped(
        native("Device::SMB Session Brute Force (Non-Admin)", entities={"ip": "10.8.0.25"})
    )
    assert [m.name for m in plan.matched] == ["network-lateral-movement"]
    assert [(a.action, a.target, a.params.ports) for a in plan.actions] == [
        (ActionName.BLOCK_PORTS, "10.8.0.25", (445, 9401)),
        (ActionName.ENFORCE_PATTERN_OF_LIFE, "10.8.0.25", ()),
    ]
    assert {(a.mode, a.duration_seconds) for a in plan.actions} == {(Mode.AUTONOMOUS, 7200)}


def test_network_policy_never_blocks_the_domain_controllers() -> None:
    """10.0.0.0/24 (domain controllers) is excluded."""
    plan = shipped(native("Device / Network Scan", entities={"ip": "10.0.0.10"}))
    assert plan.matched and plan.to_carry_out == ()
    assert all("10.0.0.0/24" in a.excluded_reason for a in plan.excluded)


def test_weaker_saas_signs_are_passive() -> None:
    """A new email rule alone is planned in passive mode: recorded, never executed."""
    plan = shipped(
        native(
            "SaaS / Compliance / New Email Rule",
            severity="medium",
            score=0.45,
            entities={"user": "chris@contoso.com", "inbox_rules": ["."]},
        )
    )
    assert [m.name for m in plan.matched] == ["m365-suspicious-activity"]
    assert {a.mode for a in plan.actions} == {Mode.PASSIVE}


def test_the_kill_switch_makes_every_shipped_policy_passive() -> None:
    """force_passive turns the autonomous network policy passive."""
    plan = shipped(
        native("Device / Network Scan", entities={"ip": "10.8.0.25"}), force_passive=True
    )
    assert {a.mode for a in plan.actions} == {Mode.PASSIVE}


def test_an_alert_without_a_user_is_no_match_with_the_reason() -> None:
    """An account-takeover alert that lacks the user matches nothing, and says why."""
    plan = shipped(native("SaaS / Compromise / Unusual Login", entities={"ip": "198.51.100.7"}))
    assert plan.matched == ()
    assert plan.no_match_reason == "m365-account-takeover: alert lacks entity user"


def test_the_real_darktrace_breach_sample_drives_the_network_policy() -> None:
    """The public "Device::Attack and Recon Tools" breach plans blocks for its device's IP."""
    sample = Path(__file__).resolve().parent / "fixtures/alerts/darktrace"
    alert = parse_alert(json.loads((sample / "xsoar-breach_details.json").read_text()))
    plan = shipped(alert)
    assert [(a.action_id, a.target) for a in plan.actions] == [
        ("darktrace:dt-30859:a1", "192.168.1.6"),
        ("darktrace:dt-30859:a2", "192.168.1.6"),
    ]


def test_the_campaign_policy_answers_incidents_of_two_accounts() -> None:
    """m365-campaign: incident scope, from the second account within 72h block the attacker's
    address at sign-in and escalate the takeover policy to autonomous; its incident examples
    (lists of alerts) hold."""
    loaded = BY_NAME["m365-campaign"]
    policy = loaded.policy
    assert policy.scope is Scope.INCIDENT and policy.mode is Mode.AUTONOMOUS
    assert policy.match.incident is not None and str(policy.match.incident.accounts) == ">= 2"
    assert [a.name.value for a in policy.actions] == ["block_sign_in_from"]
    assert policy.escalate is not None and policy.escalate.policies == ("m365-account-takeover",)
    assert loaded.examples.match and loaded.examples.no_match
    assert example_errors(loaded) == []

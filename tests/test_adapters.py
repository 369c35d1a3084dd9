"""Adapters on the real public samples in tests/fixtures/alerts (see its SOURCES.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from riposte.adapters import SUPPORTED_FORMATS, detect_format, parse_alert
from riposte.alerts import Entities, Severity
from riposte.errors import InvalidInput, UnknownFormat

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alerts"


def sample(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_darktrace_v5_breaches_give_device_ip_and_hostname() -> None:
    """Both breaches of fetch_breach.json: v5 model names, critical category, device entities."""
    first, second = (parse_alert(b) for b in sample("darktrace/xsoar-fetch_breach.json"))
    assert (first.id, first.source, first.key) == ("dt-30960", "darktrace", "darktrace:dt-30960")
    assert first.name == "Compromise / Watched Domain"
    assert (first.severity, first.score) == (Severity.CRITICAL, 0.592)
    assert first.time == datetime(2023, 1, 24, 1, 4, 25, tzinfo=UTC)
    assert first.entities == Entities(ip="192.168.16.100")
    assert second.name == "Attack Path Modelling / Model Breach on Critical Attack Path"
    assert second.entities == Entities(device="EC2AMAZ-44COMHV")


def test_darktrace_breach_with_components_reads_the_breach_model_then() -> None:
    """get_breach.json: the model as it was (`then`), its category, the device IP and hostname."""
    alert = parse_alert(sample("darktrace/xsoar-get_breach.json"), "darktrace")
    assert (alert.id, alert.name) == ("dt-95", "Testing / Cats DNS")
    assert (alert.severity, alert.score) == (Severity.INFORMATIONAL, 0.729)
    assert alert.entities == Entities(ip="10.0.0.1", device="ip-10-0-0-1")
    assert alert.raw["pbid"] == 95


def test_darktrace_breach_details_find_the_device_in_the_connections() -> None:
    """breach_details.json: the policybreach event named by "::", its device found by id."""
    alert = parse_alert(sample("darktrace/xsoar-breach_details.json"))
    assert (alert.id, alert.name) == ("dt-30859", "Device / Attack and Recon Tools")
    assert (alert.severity, alert.score) == (Severity.HIGH, 0.8711497)
    assert alert.time == datetime(2023, 1, 20, 17, 36, 5, tzinfo=UTC)
    assert alert.entities == Entities(ip="192.168.1.6")  # the source, not the DNS server


def test_a_darktrace_model_definition_is_not_a_breach() -> None:
    """model.json describes a model, not a breach: auto refuses it, darktrace names the field."""
    body = sample("darktrace/xsoar-model.json")
    with pytest.raises(UnknownFormat) as auto:
        parse_alert(body)
    assert "darktrace" in str(auto.value)
    with pytest.raises(InvalidInput) as explicit:
        parse_alert(body, "darktrace")
    assert explicit.value.location == "pbid"


def test_a_darktrace_email_incident_is_not_a_model_breach() -> None:
    """A Darktrace/Email incident is not a model breach, and its recipient is never a target."""
    with pytest.raises(UnknownFormat):
        parse_alert(sample("darktrace/xsoar-email-incident_01.json"))


def test_darktrace_saas_device_is_a_user_and_filters_add_asn_and_ip() -> None:
    """A SaaS "device" names the user; component filters add the ASN and the source IP."""
    breach = {
        "pbid": 7,
        "time": 1623230400000,
        "score": 0.93,
        "model": {"then": {"name": "SaaS::Compromise::Unusual Login", "category": "Suspicious"}},
        "device": {"did": 1, "hostname": "SaaS::Office365: ben@contoso.com"},
        "triggeredComponents": [
            {
                "triggeredFilters": [
                    {"filterType": "ASN", "trigger": {"value": "AS64500 (Example Hosting)"}},
                    {"filterType": "Connection hostname", "trigger": {"value": "198.51.100.7"}},
                ]
            }
        ],
    }
    alert = parse_alert(breach)
    assert alert.name == "SaaS / Compromise / Unusual Login"
    assert alert.severity is Severity.HIGH
    assert alert.entities == Entities(user="ben@contoso.com", asn="AS64500", ip="198.51.100.7")


def test_graph_alert_v2_example_gives_device_and_its_interface_address() -> None:
    """The Graph docs alerts_v2 example: deviceEvidence gives the host name and its IP."""
    alert = parse_alert(sample("defender/graph-docs-alert-v2-example.json"))
    assert (alert.id, alert.source) == ("da637578995287051192_756343937", "defender")
    assert alert.name == "Suspicious execution of hidden file"
    assert (alert.severity, alert.score) == (Severity.LOW, 0.3)
    assert alert.time == datetime(2021, 4, 27, 12, 19, 27, 721130, tzinfo=UTC)
    assert alert.entities == Entities(device="tempDns", ip="1.1.1.1")


def test_graph_alerts_v2_from_search_keep_local_accounts_and_no_address_out() -> None:
    """A user with no UPN ("root") is no M365 user, and ipEvidence 0.0.0.0 is no address."""
    wrapper = sample("defender/xsoar-test_search_alerts_command.json")
    first, second = (parse_alert(a) for a in wrapper["test_case_2"]["mock_response"]["value"])
    assert (first.name, first.severity) == ("test alert", Severity.MEDIUM)
    assert first.entities == Entities(device="msde-agent-host-centos7.c.dmst-integrations.internal")
    assert (second.severity, second.score) == (Severity.INFORMATIONAL, 0.1)
    assert second.entities == Entities(device="desktop-s2455r8")


def test_legacy_graph_alerts_read_host_states() -> None:
    """v1 security/alerts: hostStates give the host and its address."""
    wrapper = sample("defender/xsoar-test_search_alerts_command.json")
    alerts = [parse_alert(a) for a in wrapper["test_case_1"]["mock_response"]["value"]]
    assert [a.id for a in alerts] == [
        "da637229984903196572_-755436942",
        "da637218501473413212_-1554891308",
        "da637226278996299656_1986871053",
    ]
    assert {a.entities for a in alerts} == {Entities(device="desktop-s2455r8", ip="127.0.0.1")}


def test_graph_alert_details_in_both_shapes() -> None:
    """get_alert_details: the v1 alerts and the bare alerts_v2 alert with no evidence."""
    wrapper = sample("defender/xsoar-test_get_alert_details_command.json")
    legacy = parse_alert(wrapper["test_case_1"]["mock_response"])
    assert legacy.name == "An active 'Wintapp' backdoor was detected"
    assert legacy.entities == Entities(device="desktop-s2455r8", ip="127.0.0.1")
    v2 = parse_alert(wrapper["test_case_3"]["mock_response"], "defender")
    assert (v2.id, v2.name, v2.severity) == ("alert_id", "Automated", Severity.INFORMATIONAL)
    assert v2.entities == Entities()


def test_graph_incidents_are_refused_with_a_reason() -> None:
    """A list of Graph incidents, or one incident, is not an alert, and the error says so."""
    listing = sample("defender/xsoar-incidents_list_response.json")
    with pytest.raises(InvalidInput, match="collection"):
        parse_alert(listing)
    with pytest.raises(InvalidInput, match="incident, not an alert"):
        parse_alert(listing["value"][0], "defender")


def test_defender_evidence_gives_user_ip_and_messages() -> None:
    """userEvidence, ipEvidence and analyzedMessageEvidence become user, ip and messages."""
    body = {
        "@odata.type": "#microsoft.graph.security.alert",
        "id": "da1",
        "title": "Suspicious email sending patterns detected",
        "severity": "high",
        "createdDateTime": "2021-06-09T09:12:00.1234567Z",
        "evidence": [
            {
                "@odata.type": "#microsoft.graph.security.userEvidence",
                "userAccount": {"accountName": "ben", "userPrincipalName": "ben@contoso.com"},
            },
            {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "198.51.100.7"},
            {
                "@odata.type": "#microsoft.graph.security.analyzedMessageEvidence",
                "internetMessageId": "<AM6PR01MB1234@contoso.com>",
            },
            {
                "@odata.type": "#microsoft.graph.security.mailboxEvidence",
                "primaryAddress": "adele@contoso.com",
            },
        ],
    }
    alert = parse_alert(body)
    assert (alert.severity, alert.score) == (Severity.HIGH, 0.8)
    assert alert.entities == Entities(
        user="ben@contoso.com", ip="198.51.100.7", messages=("<AM6PR01MB1234@contoso.com>",)
    )


def test_sentinel_incident_from_the_arm_example() -> None:
    """Incidents_Get: name as id, title, severity; the assigned analyst is not an entity."""
    body = sample("sentinel/azure-rest-api-specs-Incidents_Get.json")["responses"]["200"]["body"]
    alert = parse_alert(body)
    assert (alert.id, alert.source) == ("73e01a99-5cd7-4139-a149-9f2736ff2ab5", "sentinel")
    assert (alert.name, alert.severity, alert.score) == ("My incident", Severity.HIGH, 0.8)
    assert alert.time == datetime(2019, 1, 1, 13, 15, 30, tzinfo=UTC)
    assert alert.entities == Entities()


def test_sentinel_related_entities_in_an_automation_trigger() -> None:
    """An automation trigger's incident: Account, Ip, Host and MailMessage entities."""
    body = sample("sentinel/azure-rest-api-specs-Incidents_Get.json")["responses"]["200"]["body"]
    body["properties"]["relatedEntities"] = [
        {"kind": "Account", "properties": {"accountName": "ben", "upnSuffix": "contoso.com"}},
        {"kind": "Ip", "properties": {"address": "198.51.100.7"}},
        {"kind": "Host", "properties": {"hostName": "laptop-7", "dnsDomain": "contoso.com"}},
        {"kind": "MailMessage", "properties": {"internetMessageId": "<m1@contoso.com>"}},
    ]
    alert = parse_alert({"objectSchemaType": "Incident", "object": body})
    assert alert.source == "sentinel"
    assert alert.entities == Entities(
        user="ben@contoso.com",
        ip="198.51.100.7",
        device="laptop-7.contoso.com",
        messages=("<m1@contoso.com>",),
    )


def test_native_alerts_pass_through_and_name_the_broken_field() -> None:
    """A native alert parses as is; an invalid one names the field path that broke."""
    native = {
        "id": "dt-30960",
        "source": "darktrace",
        "name": "SaaS / Compromise / Unusual Login and New Email Rule",
        "severity": "high",
        "score": 0.93,
        "time": "2021-06-09T09:12:00Z",
        "entities": {"user": "b.smith@contoso.com", "inbox_rules": ["."]},
        "raw": {},
    }
    assert parse_alert(native).entities == Entities(user="b.smith@contoso.com", inbox_rules=(".",))
    with pytest.raises(InvalidInput) as err:
        parse_alert(native | {"entities": {"messages": [1]}}, "native")
    assert err.value.location == "entities.messages[0]"
    with pytest.raises(InvalidInput) as err:
        parse_alert({k: v for k, v in native.items() if k != "time"})
    assert err.value.location == "time"


def test_an_unknown_format_names_the_supported_ones() -> None:
    """A format no adapter reads is refused with the list of those that exist."""
    with pytest.raises(UnknownFormat) as err:
        parse_alert({}, "splunk")
    assert all(name in str(err.value) for name in (*SUPPORTED_FORMATS, "auto"))


def test_auto_detection_tells_each_format_by_shape() -> None:
    """Each sample is recognised as its own format."""
    wrapper = sample("defender/xsoar-test_search_alerts_command.json")
    sentinel = sample("sentinel/azure-rest-api-specs-Incidents_Get.json")["responses"]["200"]
    assert detect_format(sample("darktrace/xsoar-get_breach.json")) == "darktrace"
    assert detect_format(sample("darktrace/xsoar-breach_details.json")) == "darktrace"
    assert detect_format(sample("defender/graph-docs-alert-v2-example.json")) == "defender"
    assert detect_format(wrapper["test_case_1"]["mock_response"]["value"][0]) == "defender"
    assert detect_format(sentinel["body"]) == "sentinel"
    with pytest.raises(InvalidInput):
        detect_format("just text")

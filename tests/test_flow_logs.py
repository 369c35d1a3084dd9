"""Reading the demo device's VNet flow logs through the real azure-mgmt-network and
azure-storage-blob clients against the emulator, and learning its pattern of life from them."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable

import pytest
from azure.identity.aio import ClientSecretCredential
from azure.mgmt.network.aio import NetworkManagementClient
from azure.storage.blob.aio import BlobServiceClient

from activities.flow_logs import DeviceNic, FlowLogConfig, FlowLogSource
from riposte.flow_logs import CONTAINER
from riposte.pattern_of_life import (
    AllowListTooLarge,
    DeviceNotFound,
    NoFlowLogConfiguration,
    PatternLearner,
)
from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam

VPN_IP = "10.8.0.25"
WEEK = dt.timedelta(days=7)


@pytest.fixture
async def blob_service_for(
    tenant: TenantSettings,
) -> AsyncIterator[Callable[[str], BlobServiceClient]]:
    assert tenant.client_secret is not None
    credential = ClientSecretCredential(
        tenant.tenant_id,
        tenant.client_id,
        tenant.client_secret.get_secret_value(),
        authority=tenant.authority_host,
        disable_instance_discovery=True,
        connection_verify=str(tenant.ca_bundle),
    )

    def service(account: str) -> BlobServiceClient:
        url = tenant.blob_url.format(account=account)
        return BlobServiceClient(url, credential, connection_verify=str(tenant.ca_bundle))

    async with credential:
        yield service


@pytest.fixture
def source(
    network: NetworkManagementClient, blob_service_for: Callable[[str], BlobServiceClient]
) -> FlowLogSource:
    return FlowLogSource(network, blob_service_for)


async def _learn(source: FlowLogSource, nic: DeviceNic, log: FlowLogConfig) -> PatternLearner:
    until = dt.datetime.now(dt.UTC)
    learner = PatternLearner(
        VPN_IP, int((until - WEEK).timestamp() * 1000), int(until.timestamp() * 1000)
    )
    async for name, content in source.blobs(log, nic, until - WEEK, until):
        learner.add_blob(name, content)
    return learner


async def test_nic_and_flow_log_configuration_lead_to_the_storage_account(
    source: FlowLogSource,
) -> None:
    """The device's NIC is found by its IP (with its MAC), and the VNet's flow log names the
    storage account its blobs are in."""
    nic = await source.nic_for(VPN_IP)
    assert (nic.name, nic.mac) == ("nic-vpn-025", "000D3A2B0019")
    log = await source.flow_log_for(nic)
    assert log.storage_account == "stcontosoflowlogs"
    assert log.target.endswith("/virtualNetworks/vnet-contoso")


async def test_a_week_of_blobs_learns_the_usual_destinations_only(
    source: FlowLogSource, emulator_seam: EmulatorSeam
) -> None:
    """From the seeded week the learned allow-list is exactly DNS on the DCs, the file server
    and the intranet's /24 on 443, and sign-in; the last hour's LDAP, SMB scan and 9401 would
    be denied."""
    nic = await source.nic_for(VPN_IP)
    learner = await _learn(source, nic, await source.flow_log_for(nic))
    assert learner.skipped == [] and learner.blobs >= 150
    allow = learner.allow_list(min_days=2, cap=40)
    assert [d.text for d in allow] == [
        "10.0.0.4/32 udp/53",
        "10.0.0.5/32 udp/53",
        "10.0.1.0/24 tcp/443",
        "10.0.2.10/32 tcp/443",
        "20.190.151.7/32 tcp/443",
    ]
    denied = learner.denied_recently(allow)
    assert {d.port for d in denied} == {389, 445, 9401}
    assert sum(d.flows for d in denied if d.port == 445) == 300
    assert emulator_seam.call_count("GET /{account}/{container}/{blob:path}") == learner.blobs


async def test_the_cap_refuses_an_allow_list_that_is_too_large(source: FlowLogSource) -> None:
    """A cap below the learned size fails with AllowListTooLarge naming both numbers."""
    nic = await source.nic_for(VPN_IP)
    learner = await _learn(source, nic, await source.flow_log_for(nic))
    with pytest.raises(AllowListTooLarge) as refused:
        learner.allow_list(min_days=2, cap=3)
    assert (refused.value.size, refused.value.cap) == (5, 3)


async def test_malformed_blobs_are_skipped_counted_and_named(
    source: FlowLogSource, blob_service_for: Callable[[str], BlobServiceClient]
) -> None:
    """Bad JSON, a 12-field tuple, a version-2 NSG flow log, a flowRecords that is not an
    object, flowGroups that is a number, a port "²" (a digit to isdigit(), not to int()) and
    JSON nested too deeply to parse, uploaded with the real SDK beside the good blobs, are each
    skipped with a reason, nothing escaping; the allow-list is unchanged."""
    nic = await source.nic_for(VPN_IP)
    log = await source.flow_log_for(nic)
    hour = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    good = await _learn(source, nic, log)
    v4 = b'{"records":[{"flowLogVersion":4,"category":"FlowLogFlowEvent","flowRecords":'
    bad = {
        "bad-json": b'{"records": [',
        "twelve": (
            b'{"records":[{"flowLogVersion":4,"category":"FlowLogFlowEvent","flowRecords":'
            b'{"flows":[{"flowGroups":[{"rule":"r","flowTuples":'
            b'["1,10.8.0.25,10.0.0.9,1,445,6,O,B,NX,0,0,0"]}]}]}}]}'
        ),
        "nsg-v2": b'{"records":[{"category":"NetworkSecurityGroupFlowEvent","properties":'
        b'{"Version":2,"flows":[]}}]}',
        "records-not-object": v4 + b'["flows"]}]}',
        "groups-number": v4 + b'{"flows":[{"flowGroups":7}]}}]}',
        "superscript-port": (  # the destination port is "²", in UTF-8
            v4 + b'{"flows":[{"flowGroups":[{"rule":"r","flowTuples":'
            b'["1,10.8.0.25,10.0.0.9,1,\xc2\xb2,6,O,B,NX,0,0,0,0"]}]}]}}]}'
        ),
        "deep": b'{"records":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    }
    async with blob_service_for(log.storage_account) as service:
        container = service.get_container_client(CONTAINER)
        for i, content in enumerate(bad.values()):
            moment = hour + dt.timedelta(minutes=i)
            name = (
                f"flowLogResourceID={log.id.upper()}/y={moment:%Y}/m={moment:%m}/d={moment:%d}"
                f"/h={moment:%H}/m={i:02d}/macAddress={nic.mac}/PT1H.json"
            )
            await container.upload_blob(name, content)
    learner = await _learn(source, nic, log)
    reasons = [s.reason for s in learner.skipped]
    assert len(reasons) == len(bad)
    assert any(r.startswith("not JSON (") and "deeply" not in r for r in reasons)
    assert any("has 12 fields, not 13" in r for r in reasons)
    assert any("NSG flow log version 2" in r for r in reasons)
    assert "a record has no flowRecords.flows list" in reasons
    assert "a flow is not an object with a flowGroups list" in reasons
    assert any("bad port '²'" in r for r in reasons)
    assert "not JSON (nested too deeply to parse)" in reasons
    assert all(s.name.endswith(f"macAddress={nic.mac}/PT1H.json") for s in learner.skipped)
    assert learner.allow_list(2, 40) == good.allow_list(2, 40)


async def test_unknown_device_and_missing_configuration_are_typed(
    source: FlowLogSource, emulator_seam: EmulatorSeam
) -> None:
    """An IP no NIC holds is DeviceNotFound; a tenant without flow logs is
    NoFlowLogConfiguration naming the NIC's VNet."""
    with pytest.raises(DeviceNotFound):
        await source.nic_for("10.8.0.99")
    seed = _seed_without_flow_logs()
    emulator_seam.reset(seed)
    nic = await source.nic_for(VPN_IP)
    with pytest.raises(NoFlowLogConfiguration) as missing:
        await source.flow_log_for(nic)
    assert "vnet-contoso" in str(missing.value)


def _seed_without_flow_logs() -> dict[str, object]:
    import yaml

    from tenant_emulator.seed import default_seed_path

    seed: dict[str, object] = yaml.safe_load(default_seed_path().read_text())
    del seed["flow_logs"]
    return seed

"""Reading a device's VNet flow logs: its NIC by private IP (azure-mgmt-network), the Network
Watcher flow log that covers the NIC's VNet and the storage account it writes to, then the
blobs of the NIC's MAC address (azure-storage-blob), one hour at a time.

    source = FlowLogSource(network, blob_service_for)
    nic = await source.nic_for("10.8.0.25")              # DeviceNotFound
    log = await source.flow_log_for(nic)                 # NoFlowLogConfiguration
    async for name, content in source.blobs(log, nic, since, until):   # one blob in memory
        ...
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from azure.mgmt.network.aio import NetworkManagementClient
from azure.storage.blob.aio import BlobServiceClient

from riposte.flow_logs import CONTAINER, blob_mac, blob_prefix
from riposte.model import Frozen
from riposte.pattern_of_life import DeviceNotFound, NoFlowLogConfiguration


class DeviceNic(Frozen):
    name: str
    id: str
    mac: str  # 12 hex digits, upper case, as blob names carry it
    subnet_id: str

    @property
    def vnet_id(self) -> str:
        return self.subnet_id.split("/subnets/")[0]


class FlowLogConfig(Frozen):
    id: str
    storage_account: str
    target: str


_HOUR = re.compile(r"/y=(\d{4})/m=(\d\d)/d=(\d\d)/h=(\d\d)/")


def _resource_name(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


class FlowLogSource:
    def __init__(
        self,
        network: NetworkManagementClient,
        blob_service_for: Callable[[str], BlobServiceClient],
    ) -> None:
        self.network = network
        self.blob_service_for = blob_service_for

    async def nic_for(self, address: str) -> DeviceNic:
        """The NIC whose IP configuration holds `address` (ARM has no filter: list them)."""
        async for nic in self.network.network_interfaces.list_all():
            for config in nic.ip_configurations or []:
                if config.private_ip_address == address and nic.mac_address:
                    subnet: Any = config.subnet
                    return DeviceNic(
                        name=str(nic.name),
                        id=str(nic.id),
                        mac=nic.mac_address.replace("-", "").upper(),
                        subnet_id=str(subnet.id if subnet else ""),
                    )
        raise DeviceNotFound(f"no network interface has the private IP {address}")

    async def flow_log_for(self, nic: DeviceNic) -> FlowLogConfig:
        """The enabled flow log whose target is the NIC, its subnet or its VNet."""
        targets = {nic.id.lower(), nic.subnet_id.lower(), nic.vnet_id.lower()}
        watchers = [w async for w in self.network.network_watchers.list_all()]
        for watcher in watchers:
            group = str(watcher.id).split("/resourceGroups/")[1].split("/")[0]
            async for log in self.network.flow_logs.list(group, str(watcher.name)):
                target = str(log.target_resource_id or "").lower()
                if target in targets and log.enabled and log.storage_id:
                    return FlowLogConfig(
                        id=str(log.id),
                        storage_account=_resource_name(log.storage_id),
                        target=str(log.target_resource_id),
                    )
        names = ", ".join(str(w.name) for w in watchers) or "none"
        raise NoFlowLogConfiguration(
            f"no enabled Network Watcher flow log covers {nic.name} or its VNet "
            f"{_resource_name(nic.vnet_id)} (network watchers: {names})"
        )

    async def blobs(
        self, log: FlowLogConfig, nic: DeviceNic, since: dt.datetime, until: dt.datetime
    ) -> AsyncIterator[tuple[str, bytes]]:
        """(name, content) of each hourly blob of the NIC between `since` and `until`."""
        service = self.blob_service_for(log.storage_account)
        async with service:
            container = service.get_container_client(CONTAINER)
            day = since.astimezone(dt.UTC).date()
            while day <= until.astimezone(dt.UTC).date():
                prefix = blob_prefix(log.id, day.year, day.month, day.day)
                async for item in container.list_blobs(name_starts_with=prefix):
                    if blob_mac(item.name) != nic.mac or not _within(item.name, since, until):
                        continue
                    downloader = await container.download_blob(item.name)
                    yield item.name, await downloader.readall()
                day += dt.timedelta(days=1)


def _within(name: str, since: dt.datetime, until: dt.datetime) -> bool:
    """Whether the blob's hour overlaps [since, until]."""
    found = _HOUR.search(name)
    if found is None:
        return True  # an odd name: let the parser judge (and skip) its content
    try:
        year, month, day, hour_of_day = (int(g) for g in found.groups())
        hour = dt.datetime(year, month, day, hour_of_day, tzinfo=dt.UTC)
    except ValueError:
        return True
    return hour + dt.timedelta(hours=1) > since and hour <= until

"""VNet flow logs: the Network Watcher flow-log resource, and a device's traffic written as
Azure writes it (flow log version 4) into the storage account's blobs.

    flow_logs:
      network_watcher: {name, resource_group}
      name, target (a VNet of the seed), storage_account: {name, resource_group}
      devices:
        - nic: NIC name
          days: 7                              # of history, ending now
          usual: [{dst: [IP, ...], port, proto: tcp|udp, per_day, hours: [first, last]}]
          intrusion: [{dst: [IP, ...] | dst_range: CIDR, port, proto, count}]

Blob names follow Azure's layout in container `insights-logs-flowlogflowevent`:
`flowLogResourceID=/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/{RG}/PROVIDERS/MICROSOFT.NETWORK/
NETWORKWATCHERS/{WATCHER}/FLOWLOGS/{NAME}/y=YYYY/m=MM/d=DD/h=HH/m=00/macAddress={MAC}/PT1H.json`,
one per hour and MAC, records of ten minutes each. Each flow is a B tuple and an E tuple
(packets and bytes each way), grouped by the NSG rule that allowed it (the flow check decides).
The usual traffic repeats daily; the intrusion happens in the 40 minutes ending 20 minutes ago,
inside one UTC day, so it is never "seen on two days".
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import random
import uuid
from collections import defaultdict
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tenant_emulator.blobs import BlobStore
from tenant_emulator.flow import EPHEMERAL_PORT, Protocol, stage
from tenant_emulator.topology import Address, Nic, Topology

CONTAINER = "insights-logs-flowlogflowevent"
PROTOCOL_NUMBERS = {Protocol.TCP: 6, Protocol.UDP: 17, Protocol.ICMP: 1}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Named(_Model):
    name: str = Field(min_length=1)
    resource_group: str = Field(min_length=1)


class Usual(_Model):
    dst: tuple[str, ...]
    port: int
    proto: Protocol = Protocol.TCP
    per_day: int = Field(ge=1)
    hours: tuple[int, int] = (0, 23)


class Intrusion(_Model):
    dst: tuple[str, ...] = ()
    dst_range: str | None = None
    port: int
    proto: Protocol = Protocol.TCP
    count: int = Field(ge=1)


class Device(_Model):
    nic: str
    days: int = Field(default=7, ge=1, le=31)
    usual: tuple[Usual, ...] = ()
    intrusion: tuple[Intrusion, ...] = ()


class FlowLogSeed(_Model):
    network_watcher: Named
    name: str
    target: str
    storage_account: Named
    devices: tuple[Device, ...] = ()


def blob_name(flow_log_id: str, hour: dt.datetime, mac: str) -> str:
    mac_text = mac.replace("-", "").upper()
    return (
        f"flowLogResourceID={flow_log_id.upper()}"
        f"/y={hour:%Y}/m={hour:%m}/d={hour:%d}/h={hour:%H}/m=00/macAddress={mac_text}/PT1H.json"
    )


class FlowLogs:
    """The flow-log configuration, and the blobs it wrote, generated once when seeded."""

    def __init__(
        self,
        seed: FlowLogSeed,
        subscription: str,
        location: str,
        topology: Topology,
        blobs: BlobStore,
        now: dt.datetime,
    ) -> None:
        self.seed = seed
        self.subscription = subscription
        self.location = location
        self.topology = topology
        self.watcher = seed.network_watcher.name
        self.watcher_group = seed.network_watcher.resource_group
        self.name = seed.name
        self.guid = str(uuid.uuid5(uuid.NAMESPACE_URL, seed.name))
        blobs.accounts.setdefault(seed.storage_account.name, {}).setdefault(CONTAINER, {})
        for device in seed.devices:
            nic = topology.nics.get(device.nic.lower())
            if nic is None:
                raise ValueError(f"flow_logs: no NIC {device.nic!r}")
            self._write(blobs, nic, device, now)

    @property
    def watcher_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.watcher_group}"
            f"/providers/Microsoft.Network/networkWatchers/{self.watcher}"
        )

    @property
    def flow_log_id(self) -> str:
        return f"{self.watcher_id}/flowLogs/{self.name}"

    @property
    def storage_id(self) -> str:
        account = self.seed.storage_account
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{account.resource_group}"
            f"/providers/Microsoft.Storage/storageAccounts/{account.name}"
        )

    def target_id(self) -> str:
        group = next(
            (
                s.resource_group
                for s in self.topology.subnets.values()
                if s.vnet == self.seed.target
            ),
            self.watcher_group,
        )
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{group}"
            f"/providers/Microsoft.Network/virtualNetworks/{self.seed.target}"
        )

    def watcher_json(self) -> dict[str, Any]:
        return {
            "name": self.watcher,
            "id": self.watcher_id,
            "etag": 'W/"00000000-0000-0000-0000-00000000000a"',
            "type": "Microsoft.Network/networkWatchers",
            "location": self.location,
            "properties": {"provisioningState": "Succeeded"},
        }

    def flow_log_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.flow_log_id,
            "etag": 'W/"00000000-0000-0000-0000-00000000000b"',
            "type": "Microsoft.Network/networkWatchers/flowLogs",
            "location": self.location,
            "properties": {
                "provisioningState": "Succeeded",
                "targetResourceId": self.target_id(),
                "targetResourceGuid": self.guid,
                "storageId": self.storage_id,
                "enabled": True,
                "retentionPolicy": {"days": 30, "enabled": True},
                "format": {"type": "JSON", "version": 2},
            },
        }

    def _flows(self, device: Device, now: dt.datetime, rng: random.Random) -> list[tuple[Any, ...]]:
        """(start, dst, port, proto) for every flow of the device's history."""
        flows: list[tuple[Any, ...]] = []
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        start = now - dt.timedelta(days=device.days)
        for day in range(device.days + 1):
            midnight = today - dt.timedelta(days=day)
            for usual in device.usual:
                first, last = usual.hours
                for _ in range(usual.per_day):
                    moment = midnight + dt.timedelta(
                        hours=rng.randint(first, last), seconds=rng.randint(0, 3599)
                    )
                    if start <= moment <= now:
                        flows.append((moment, rng.choice(usual.dst), usual.port, usual.proto))
        end = now - dt.timedelta(minutes=10)
        begin = max(end - dt.timedelta(minutes=40), end.replace(hour=0, minute=0, second=0))
        span = max(int((end - begin).total_seconds()), 1)
        for attack in device.intrusion:
            hosts = list(attack.dst)
            network = ipaddress.ip_network(attack.dst_range) if attack.dst_range else None
            for i in range(attack.count):
                moment = begin + dt.timedelta(seconds=span * i / attack.count)
                if network is not None:
                    host = network[rng.randint(1, network.num_addresses - 2)]
                    dst = str(host)
                else:
                    dst = hosts[i % len(hosts)]
                flows.append((moment, dst, attack.port, attack.proto))
        return sorted(flows, key=lambda f: f[0])

    def _write(self, blobs: BlobStore, nic: Nic, device: Device, now: dt.datetime) -> None:
        rng = random.Random(f"{nic.name}:{device.days}")
        src = nic.private_ip
        by_hour: dict[dt.datetime, list[tuple[Any, ...]]] = defaultdict(list)
        for flow in self._flows(device, now, rng):
            by_hour[flow[0].replace(minute=0, second=0, microsecond=0)].append(flow)
        rules: dict[tuple[str, int, Protocol], str] = {}
        for hour, flows in by_hour.items():
            records = []
            for tenth in range(6):
                chunk = [f for f in flows if f[0].minute // 10 == tenth]
                if not chunk:
                    continue
                groups: dict[str, list[str]] = defaultdict(list)
                for moment, dst, port, proto in chunk:
                    key = (dst, port, proto)
                    if key not in rules:
                        rules[key] = self._rule(src, dst, port, proto)
                    ms = int(moment.timestamp() * 1000)
                    sport = rng.randint(49152, 65535)
                    number = PROTOCOL_NUMBERS[proto]
                    base = f"{src},{dst},{sport},{port},{number},O"
                    packets = rng.randint(2, 40)
                    groups[rules[key]] += [
                        f"{ms},{base},B,NX,0,0,0,0",
                        f"{ms + rng.randint(20, 900)},{base},E,NX,{packets},"
                        f"{packets * 120},{packets - 1},{packets * 900}",
                    ]
                records.append(
                    self._record(hour + dt.timedelta(minutes=tenth * 10 + 9), nic, groups)
                )
            content = json.dumps({"records": records}, separators=(",", ":")).encode()
            name = blob_name(self.flow_log_id, hour, nic.mac)
            blobs.put(self.seed.storage_account.name, CONTAINER, name, content).modified = hour

    def _rule(self, src: Address, dst: str, port: int, proto: Protocol) -> str:
        """The outbound rule of the device's NSG that let the flow out, as flow logs name it."""
        flow = (src, ipaddress.ip_address(dst), port, proto, EPHEMERAL_PORT)
        found = stage(self.topology, src, "Outbound", flow)
        if found is None or found["priority"] < 65000:
            return str(found["rule"]) if found else "DefaultRule_AllowVnetOutBound"
        return f"DefaultRule_{found['rule']}"

    def _record(self, when: dt.datetime, nic: Nic, groups: dict[str, list[str]]) -> dict[str, Any]:
        return {
            "time": when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
            "flowLogVersion": 4,
            "flowLogGUID": self.guid,
            "macAddress": nic.mac.replace("-", "").upper(),
            "category": "FlowLogFlowEvent",
            "flowLogResourceID": self.flow_log_id.upper(),
            "targetResourceID": self.target_id(),
            "operationName": "FlowLogFlowEvent",
            "flowRecords": {
                "flows": [
                    {
                        "aclID": str(uuid.uuid5(uuid.NAMESPACE_URL, nic.subnet.nsg or nic.name)),
                        "flowGroups": [
                            {"rule": rule, "flowTuples": tuples} for rule, tuples in groups.items()
                        ],
                    }
                ]
            },
        }

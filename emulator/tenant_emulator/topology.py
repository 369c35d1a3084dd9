"""The tenant's virtual networks, subnets and NICs: which NSG protects an address, and the NICs
(private IP, MAC address) that ARM serves and flow logs are written for.

An address is protected by the NSG of the NIC that holds it, else of the subnet that contains it
(the longest prefix), else of the seed NSG whose `protects` range contains it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from tenant_emulator.errors import ArmError
from tenant_emulator.network import Network, Nsg
from tenant_emulator.seed import SeedNic, SeedVnet

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Prefix = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Subnet:
    vnet: str
    resource_group: str
    name: str
    prefix: Prefix
    nsg: str | None


@dataclass(frozen=True)
class Nic:
    name: str
    resource_group: str
    subnet: Subnet
    private_ip: Address
    mac: str


class Topology:
    def __init__(
        self, network: Network, vnets: tuple[SeedVnet, ...], nics: tuple[SeedNic, ...]
    ) -> None:
        self.network = network
        self.address_space: list[Prefix] = []
        self.subnets: dict[str, Subnet] = {}
        for vnet in vnets:
            self.address_space += [ipaddress.ip_network(p) for p in vnet.address_space]
            for sub in vnet.subnets:
                prefix = ipaddress.ip_network(sub.prefix)
                self.subnets[sub.name.lower()] = Subnet(
                    vnet.name, vnet.resource_group, sub.name, prefix, sub.nsg
                )
        self.nics: dict[str, Nic] = {}
        for nic in nics:
            subnet = self.subnets.get(nic.subnet.lower())
            if subnet is None:
                raise ValueError(f"nics: {nic.name}: no subnet {nic.subnet!r}")
            address = ipaddress.ip_address(nic.private_ip)
            self.nics[nic.name.lower()] = Nic(
                nic.name, nic.resource_group, subnet, address, nic.mac
            )

    def in_vnet(self, address: Address) -> bool:
        return any(address in space for space in self.address_space)

    def _nsg_named(self, name: str) -> Nsg | None:
        return next((n for n in self.network.nsgs.values() if n.name.lower() == name.lower()), None)

    def nsg_for(self, address: Address) -> Nsg | None:
        """The NSG that protects `address`, or None."""
        containing = [s for s in self.subnets.values() if address in s.prefix]
        if containing:
            best = max(containing, key=lambda s: s.prefix.prefixlen)
            return self._nsg_named(best.nsg) if best.nsg else None
        for nsg in self.network.nsgs.values():
            if address in ipaddress.ip_network(nsg.cidr, strict=False):
                return nsg
        return None

    def nic(self, resource_group: str, name: str) -> Nic:
        found = self.nics.get(name.lower())
        if found is None or found.resource_group.lower() != resource_group.lower():
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Network/networkInterfaces/{name}' under resource "
                f"group '{resource_group}' was not found. For more details please go to "
                "https://aka.ms/ARMResourceNotFoundFix",
            )
        return found

    def nic_id(self, nic: Nic) -> str:
        return (
            f"/subscriptions/{self.network.subscription}/resourceGroups/{nic.resource_group}"
            f"/providers/Microsoft.Network/networkInterfaces/{nic.name}"
        )

    def nic_json(self, nic: Nic, location: str) -> dict[str, Any]:
        """A networkInterface as ARM returns it (the parts azure-mgmt-network reads)."""
        sub = self.network.subscription
        subnet_id = (
            f"/subscriptions/{sub}/resourceGroups/{nic.subnet.resource_group}/providers/"
            f"Microsoft.Network/virtualNetworks/{nic.subnet.vnet}/subnets/{nic.subnet.name}"
        )
        nic_id = self.nic_id(nic)
        return {
            "name": nic.name,
            "id": nic_id,
            "etag": 'W/"00000000-0000-0000-0000-000000000001"',
            "type": "Microsoft.Network/networkInterfaces",
            "location": location,
            "properties": {
                "provisioningState": "Succeeded",
                "resourceGuid": "6f9a0f1e-0000-4000-8000-" + nic.mac.replace("-", "").lower(),
                "ipConfigurations": [
                    {
                        "name": "ipconfig1",
                        "id": f"{nic_id}/ipConfigurations/ipconfig1",
                        "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
                        "properties": {
                            "provisioningState": "Succeeded",
                            "privateIPAddress": str(nic.private_ip),
                            "privateIPAllocationMethod": "Static",
                            "privateIPAddressVersion": f"IPv{nic.private_ip.version}",
                            "subnet": {"id": subnet_id},
                            "primary": True,
                        },
                    }
                ],
                "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
                "macAddress": nic.mac,
                "enableAcceleratedNetworking": False,
                "enableIPForwarding": False,
                "primary": True,
                "nicType": "Standard",
            },
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            nic.name: {
                "resource_group": nic.resource_group,
                "private_ip": str(nic.private_ip),
                "mac": nic.mac,
                "subnet": nic.subnet.name,
                "nsg": nic.subnet.nsg,
            }
            for nic in self.nics.values()
        }

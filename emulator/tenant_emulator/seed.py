"""The seed file: what the emulated tenant holds when it starts or is reset.

A seed is YAML (or JSON), read with `yaml.safe_load`. Users and inbox rules are written as the
Graph objects they become (camelCase); mail is written once per send and delivered like Exchange
would: a copy in the sender's Sent Items and one in each in-tenant recipient's Inbox (or
`folder`). Times are either ISO 8601 or an offset from the moment the seed is loaded ("-3h",
"-1d2h", "-45m"), so "sent within 24h" stays true whenever the emulator starts.

    tenant: {id, domains, subscription_id, location}
    clients: [{client_id, client_secret}]
    users: [{userPrincipalName, displayName, ...Graph user properties}]
    mailboxes: {UPN: {folders: [name], rules: [Graph messageRule, moveToFolder by folder name]}}
    mail: [{internetMessageId, from, to, cc, subject, body, sent, folder, isRead, importance}]
    nsgs: [{name, resource_group, location, protects, flushConnection, security_rules: [...]}]
    auth_methods: {UPN: [{type: microsoftAuthenticator|phone|fido2|..., created, ...Graph props}]}
    service_principals: [{displayName, appId, publisherName, id}]
    app_consents: {UPN: [{app: SP displayName, resource: SP displayName, scope, granted}]}
    directory_roles: [{displayName, roleTemplateId, members: [UPN]}]
    named_locations, conditional_access_policies: [Graph objects] (none in the demo)
    virtual_networks: [{name, resource_group, address_space, subnets: [{name, prefix, nsg}]}]
    nics: [{name, resource_group, subnet, private_ip, mac}]
    flow_logs: see tenant_emulator.flowlog_seed
"""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from riposte.errors import InvalidInput

_OFFSET = re.compile(r"^([+-])((?:\d+[dhms])+)$")
_PART = re.compile(r"(\d+)([dhms])")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class _Seed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SeedTenant(_Seed):
    id: str = "00000000-0000-0000-0000-000000000001"
    domains: tuple[str, ...] = ("contoso.com",)
    subscription_id: str = "00000000-0000-0000-0000-000000000002"
    location: str = "westeurope"


class SeedClient(_Seed):
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)


class SeedUser(BaseModel):
    """A Graph user; any further Graph user property is kept as written."""

    model_config = ConfigDict(frozen=True, extra="allow")

    userPrincipalName: str = Field(min_length=3)
    displayName: str
    accountEnabled: bool = True
    id: str | None = None


class SeedMailbox(_Seed):
    folders: tuple[str, ...] = ()
    rules: tuple[dict[str, Any], ...] = ()


class SeedMail(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    internetMessageId: str | None = None
    sender: str = Field(alias="from")
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    subject: str = ""
    body: str = ""
    sent: str | dt.datetime
    folder: str = "Inbox"
    isRead: bool = False
    importance: str = "normal"
    hasAttachments: bool = False

    @field_validator("sent")
    @classmethod
    def _valid_time(cls, value: str | dt.datetime) -> str | dt.datetime:
        resolve_time(value, dt.datetime.now(dt.UTC))
        return value


class SeedSecurityRule(BaseModel):
    """An ARM securityRule's name and properties, written flat."""

    model_config = ConfigDict(frozen=True, extra="allow")

    name: str = Field(min_length=1)
    priority: int
    direction: str
    access: str
    protocol: str = "*"


class SeedNsg(_Seed):
    name: str = Field(min_length=1)
    resource_group: str = Field(min_length=1)
    location: str | None = None
    protects: str
    flushConnection: bool = False
    security_rules: tuple[SeedSecurityRule, ...] = ()


class SeedAuthMethod(BaseModel):
    """An authentication method: its kind (the Graph route's stem) and its Graph properties."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str = Field(min_length=1)
    id: str | None = None
    created: str | None = None

    @field_validator("created")
    @classmethod
    def _valid_time(cls, value: str | None) -> str | None:
        if value is not None:
            resolve_time(value, dt.datetime.now(dt.UTC))
        return value


class SeedServicePrincipal(_Seed):
    displayName: str = Field(min_length=1)
    appId: str = Field(min_length=1)
    publisherName: str | None = None
    id: str | None = None


class SeedConsent(_Seed):
    app: str = Field(min_length=1)  # the client service principal's displayName
    resource: str = "Microsoft Graph"
    scope: str = Field(min_length=1)
    granted: str = "-400d"

    @field_validator("granted")
    @classmethod
    def _valid_time(cls, value: str) -> str:
        resolve_time(value, dt.datetime.now(dt.UTC))
        return value


class SeedRole(_Seed):
    displayName: str = Field(min_length=1)
    roleTemplateId: str = Field(min_length=1)
    description: str = ""
    members: tuple[str, ...] = ()


class SeedSubnet(_Seed):
    name: str = Field(min_length=1)
    prefix: str
    nsg: str | None = None


class SeedVnet(_Seed):
    name: str = Field(min_length=1)
    resource_group: str = Field(min_length=1)
    address_space: tuple[str, ...]
    subnets: tuple[SeedSubnet, ...] = ()


class SeedNic(_Seed):
    name: str = Field(min_length=1)
    resource_group: str = Field(min_length=1)
    subnet: str
    private_ip: str
    mac: str = Field(pattern=r"^[0-9A-F]{2}(-[0-9A-F]{2}){5}$")


class Seed(_Seed):
    tenant: SeedTenant = SeedTenant()
    clients: tuple[SeedClient, ...] = ()
    users: tuple[SeedUser, ...] = ()
    mailboxes: dict[str, SeedMailbox] = {}
    mail: tuple[SeedMail, ...] = ()
    nsgs: tuple[SeedNsg, ...] = ()
    auth_methods: dict[str, tuple[SeedAuthMethod, ...]] = {}
    service_principals: tuple[SeedServicePrincipal, ...] = ()
    app_consents: dict[str, tuple[SeedConsent, ...]] = {}
    directory_roles: tuple[SeedRole, ...] = ()
    named_locations: tuple[dict[str, Any], ...] = ()
    conditional_access_policies: tuple[dict[str, Any], ...] = ()
    virtual_networks: tuple[SeedVnet, ...] = ()
    nics: tuple[SeedNic, ...] = ()
    flow_logs: dict[str, Any] = {}


def default_seed_path() -> Path:
    """The shipped demo tenant of DESIGN.md."""
    return Path(str(resources.files("tenant_emulator").joinpath("seed.yaml")))


def load_seed(path: Path | None = None) -> Seed:
    """Read and check a seed file (the shipped one when `path` is None)."""
    path = path or default_seed_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise InvalidInput(f"cannot read seed: {err}", location=str(path)) from err
    return parse_seed(data, location=str(path))


def parse_seed(data: object, *, location: str = "seed") -> Seed:
    from pydantic import ValidationError

    try:
        return Seed.model_validate(data or {})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}", location=location) from err


def resolve_time(value: str | dt.datetime, now: dt.datetime) -> dt.datetime:
    """An ISO 8601 time, or an offset like "-3h" or "-1d2h" from `now`."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    value = value.strip()
    match = _OFFSET.match(value)
    if match:
        seconds = sum(int(n) * _UNIT[unit] for n, unit in _PART.findall(match.group(2)))
        return now + dt.timedelta(seconds=seconds if match.group(1) == "+" else -seconds)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise ValueError(f"{value!r} is neither ISO 8601 nor an offset like -3h") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)

"""Azure VNet flow logs (flow log version 4), parsed one blob at a time. Pure: no I/O.

A blob is one hour of one NIC (`.../macAddress=MAC/PT1H.json`): `{"records": [...]}`, each
record with `flowLogVersion` 4, `category` "FlowLogFlowEvent" and `flowRecords.flows[]` of
`{aclID, flowGroups[] of {rule, flowTuples[]}}`. A tuple is 13 comma-separated fields:

    time (ms since epoch), source IP, destination IP, source port, destination port,
    protocol (IANA number), direction (I|O), state (B|C|E|D), encryption,
    packets and bytes source to destination, packets and bytes back (0 or empty on B)

A blob that is not valid JSON (or nests too deeply to parse), holds another kind or version of
flow log (an NSG flow log, version 2), has a part of the wrong type or a malformed tuple raises
`MalformedFlowLog` and nothing else, so the caller skips the blob whole, counts it and names it,
instead of learning from half of it.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, NamedTuple

CONTAINER = "insights-logs-flowlogflowevent"
VERSION = 4
FIELDS = 13
_DIRECTIONS = frozenset("IO")


class FlowState(StrEnum):
    BEGIN = "B"
    CONTINUING = "C"
    END = "E"
    DENIED = "D"


_STATES = {state.value: state for state in FlowState}


class MalformedFlowLog(ValueError):
    """A blob that is not a version-4 VNet flow log; the message says what is wrong."""


class FlowTuple(NamedTuple):
    time_ms: int
    src: str
    dst: str
    src_port: int
    dst_port: int
    protocol: int
    outbound: bool
    state: FlowState


def blob_prefix(flow_log_id: str, year: int, month: int, day: int) -> str:
    """The blob-name prefix of one UTC day of one flow log (every MAC and hour under it)."""
    return f"flowLogResourceID={flow_log_id.upper()}/y={year:04d}/m={month:02d}/d={day:02d}/"


def blob_mac(name: str) -> str | None:
    """The MAC address (12 hex digits, upper case) a blob name is for, or None."""
    for part in name.split("/"):
        if part.startswith("macAddress="):
            return part.removeprefix("macAddress=").replace("-", "").upper()
    return None


def _number(text: str, digits: int) -> bool:
    """Whether `text` is at most `digits` ASCII digits: "²" passes isdigit() but not int()."""
    return text.isascii() and text.isdigit() and len(text) <= digits


def _port(text: str, line: str) -> int:
    if not _number(text, 5) or int(text) > 65535:
        raise MalformedFlowLog(f"tuple {line!r}: bad port {text!r}")
    return int(text)


def parse_tuple(line: str) -> FlowTuple:
    fields = line.split(",")
    if len(fields) != FIELDS:
        raise MalformedFlowLog(f"tuple {line[:80]!r} has {len(fields)} fields, not {FIELDS}")
    time_ms, src, dst, sport, dport, proto, direction, state = fields[:8]
    if not _number(time_ms, 16) or not _number(proto, 3):
        raise MalformedFlowLog(f"tuple {line[:80]!r}: bad time or protocol")
    if direction not in _DIRECTIONS or state not in _STATES:
        raise MalformedFlowLog(f"tuple {line[:80]!r}: bad direction or state")
    if not (_is_address(src) and _is_address(dst)):
        raise MalformedFlowLog(f"tuple {line[:80]!r}: bad IP address")
    return FlowTuple(
        int(time_ms),
        src,
        dst,
        _port(sport, line),
        _port(dport, line),
        int(proto),
        direction == "O",
        _STATES[state],
    )


@functools.lru_cache(maxsize=65536)
def _is_address(text: str) -> bool:
    """Whether `text` is an IP address (a device talks to few, so this is mostly a hit)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _records(content: bytes) -> list[Any]:
    try:
        data = json.loads(content)
    except RecursionError as err:
        raise MalformedFlowLog("not JSON (nested too deeply to parse)") from err
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, a number over int's limit
        raise MalformedFlowLog(f"not JSON ({getattr(err, 'msg', err)})") from err
    records = data.get("records") if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise MalformedFlowLog('no "records" list')
    return records


def _tuples_of(record: Any) -> Iterator[str]:
    if not isinstance(record, dict):
        raise MalformedFlowLog("a record is not an object")
    version = record.get("flowLogVersion")
    if version != VERSION or record.get("category") != "FlowLogFlowEvent":
        props = record.get("properties")
        old = props.get("Version") if isinstance(props, dict) else None
        kind = f"NSG flow log version {old}" if old is not None else f"version {version!r}"
        raise MalformedFlowLog(f"not a VNet flow log version {VERSION} ({kind})")
    flow_records = record.get("flowRecords")
    flows = flow_records.get("flows") if isinstance(flow_records, dict) else None
    if not isinstance(flows, list):
        raise MalformedFlowLog("a record has no flowRecords.flows list")
    for flow in flows:
        groups = flow.get("flowGroups", []) if isinstance(flow, dict) else None
        if not isinstance(groups, list):
            raise MalformedFlowLog("a flow is not an object with a flowGroups list")
        for group in groups:
            tuples = group.get("flowTuples") if isinstance(group, dict) else None
            if not isinstance(tuples, list) or not all(isinstance(t, str) for t in tuples):
                raise MalformedFlowLog("a flow group has no flowTuples list of strings")
            yield from tuples


def parse_blob(content: bytes) -> list[FlowTuple]:
    """Every tuple of one blob, or MalformedFlowLog (nothing of a malformed blob is used)."""
    return [parse_tuple(line) for record in _records(content) for line in _tuples_of(record)]

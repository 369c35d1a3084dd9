"""Azure Blob Storage, path-style (as Azurite serves it): https://HOST/{account}/{container}/...

    GET /{account}/{container}?restype=container&comp=list[&prefix=&marker=&maxresults=]
    GET /{account}/{container}/{blob}          (Range: bytes=a-b answers 206)
    PUT /{account}/{container}/{blob}          (Put Blob, x-ms-blob-type: BlockBlob)

Callers authenticate as for ARM: a bearer token from the login endpoint (scope
https://storage.azure.com/.default). Errors are Storage's XML with `x-ms-error-code`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from email.utils import format_datetime
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenant_emulator.blobs import BlobStore
from tenant_emulator.errors import StorageError
from tenant_emulator.guard import guarded, state_of
from tenant_emulator.routes import RouteInfo

API_VERSION = "2025-01-05"
MAX_RESULTS = 5000


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "x-ms-request-id": str(uuid.uuid4()),
        "x-ms-version": API_VERSION,
        "Date": format_datetime(dt.datetime.now(dt.UTC), usegmt=True),
        **(extra or {}),
    }


def _store(request: Request) -> BlobStore:
    return state_of(request).tenant.blobs


async def list_blobs(request: Request) -> Response:
    query = request.query_params
    if query.get("restype") != "container" or query.get("comp") != "list":
        raise StorageError(400, "InvalidQueryParameterValue", "Only List Blobs is supported.")
    params = request.path_params
    blobs = _store(request).container(params["account"], params["container"])
    prefix, marker = query.get("prefix", ""), query.get("marker", "")
    limit = min(int(query.get("maxresults", MAX_RESULTS)), MAX_RESULTS)
    names = sorted(n for n in blobs if n.startswith(prefix) and n >= marker)
    page, rest = names[:limit], names[limit:]
    items = "".join(
        f"<Blob><Name>{escape(name)}</Name><Properties>"
        f"<Last-Modified>{format_datetime(blobs[name].modified, usegmt=True)}</Last-Modified>"
        f"<Etag>{escape(blobs[name].etag)}</Etag>"
        f"<Content-Length>{len(blobs[name].content)}</Content-Length>"
        "<Content-Type>application/json</Content-Type><BlobType>BlockBlob</BlobType>"
        "<AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred>"
        "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>"
        "<ServerEncrypted>true</ServerEncrypted></Properties><OrMetadata /></Blob>"
        for name in page
    )
    endpoint = f"{request.base_url}{params['account']}"
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<EnumerationResults ServiceEndpoint="{escape(endpoint)}/" '
        f'ContainerName="{escape(params["container"])}">'
        f"<Prefix>{escape(prefix)}</Prefix><Marker>{escape(marker)}</Marker>"
        f"<MaxResults>{limit}</MaxResults><Blobs>{items}</Blobs>"
        f"<NextMarker>{escape(rest[0]) if rest else ''}</NextMarker></EnumerationResults>"
    )
    return Response(body, 200, _headers(), media_type="application/xml")


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    if not header or not header.startswith("bytes="):
        return None
    first, _, last = header[len("bytes=") :].partition("-")
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size:
        raise StorageError(
            416,
            "InvalidRange",
            "The range specified is invalid for the current size of the resource.",
        )
    return start, end


async def get_blob(request: Request) -> Response:
    params = request.path_params
    blob = _store(request).blob(params["account"], params["container"], params["blob"])
    size = len(blob.content)
    common = {
        "ETag": blob.etag,
        "Last-Modified": format_datetime(blob.modified, usegmt=True),
        "x-ms-blob-type": "BlockBlob",
        "x-ms-creation-time": format_datetime(blob.modified, usegmt=True),
        "x-ms-lease-status": "unlocked",
        "x-ms-lease-state": "available",
        "x-ms-server-encrypted": "true",
        "Accept-Ranges": "bytes",
    }
    wanted = _range(request.headers.get("x-ms-range") or request.headers.get("range"), size)
    if wanted is None:
        return Response(blob.content, 200, _headers(common), media_type="application/json")
    start, end = wanted
    common["Content-Range"] = f"bytes {start}-{end}/{size}"
    part = blob.content[start : end + 1]
    return Response(part, 206, _headers(common), media_type="application/json")


async def put_blob(request: Request) -> Response:
    params = request.path_params
    if request.headers.get("x-ms-blob-type") != "BlockBlob":
        raise StorageError(400, "InvalidHeaderValue", "Only block blobs are supported.")
    content = await request.body()
    store = _store(request)
    store.container(params["account"], params["container"])
    blob = store.put(params["account"], params["container"], params["blob"], content)
    headers = {
        "ETag": blob.etag,
        "Last-Modified": format_datetime(blob.modified, usegmt=True),
        "x-ms-request-server-encrypted": "true",
    }
    return Response(None, 201, _headers(headers))


CONTAINER = "/{account}/{container}"
ROUTES: list[Route] = [
    guarded(RouteInfo("storage.blobs.list", "GET", CONTAINER), list_blobs),
    guarded(RouteInfo("storage.blobs.get", "GET", CONTAINER + "/{blob:path}"), get_blob),
    guarded(RouteInfo("storage.blobs.put", "PUT", CONTAINER + "/{blob:path}"), put_blob),
]

"""Downstreams in front of scim2-server that are stricter or weaker than it.

Run one as a process with ``python -m tests.support.adapted_downstreams KIND
--port PORT --upstream URL [options]``; :func:`start_adapted` does that. Each
forwards what it accepts to the upstream scim2-server, path for path.

``strict``
    Answers 400 to anything that is not canonical RFC 7644: op values not in
    lower case, booleans sent as strings, schema URNs the upstream does not
    announce, removal with a value list, dotted or read-only keys in a
    path-less value, a bare manager id, and ``add`` on a single-valued
    attribute. A successful PATCH is answered 204 without a body.
``limited``
    Lacks what the options say: ``--no-patch``, ``--no-filter``,
    ``--max-results N``, ``--ignore-paging``, ``--cursor-only`` (RFC 9865),
    ``--no-bulk``, ``--no-discovery``, ``--list-404``, ``--no-search`` (POST
    ``.search`` answered 404), ``--filter-attributes A,B`` (a filter on any
    other attribute gets 400 ``invalidFilter``). ``--devices``
    announces a third resource type, ``Device`` at ``/Devices``, whose
    resources are the upstream's users. ``.search`` bodies get the same
    treatment as GET list parameters.

Both answer ``/fail/CODE/...`` with status CODE and a body shaped like a
non-SCIM API error (409 and 412 as SCIM errors without ``scimType``); 429 and
503 carry ``Retry-After: 7``, 304 carries an ETag and no body.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import uvicorn

from tests.support.downstreams import (
    App,
    Receive,
    Scope,
    Send,
    html_page,
    read_body,
    respond,
    respond_json,
)
from tests.support.processes import ManagedProcess, start_server

REPO_ROOT = Path(__file__).resolve().parents[2]
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
KNOWN_SCHEMAS = {
    "urn:ietf:params:scim:schemas:core:2.0:user",
    "urn:ietf:params:scim:schemas:core:2.0:group",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user",
    "urn:ietf:params:scim:api:messages:2.0:patchop",
}
MULTI_VALUED = {
    "emails",
    "phonenumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509certificates",
    "members",
}
BOOLEANS = {"active", "primary"}
PASSED_HEADERS = {
    "accept",
    "authorization",
    "content-type",
    "if-match",
    "if-none-match",
}
RETURNED_HEADERS = {"content-type", "etag", "location"}
DEVICE_SCHEMA = "urn:example:params:scim:schemas:core:2.0:Device"
LISTED = ("users", "groups", "devices")


def scim_error(
    status: int, detail: str, scim_type: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "schemas": [ERROR],
        "status": str(status),
        "detail": detail,
    }
    if scim_type:
        error["scimType"] = scim_type
    return error


def strict_problem(method: str, document: Any) -> str | None:
    """Return why a strict server refuses a body, or None."""
    if not isinstance(document, dict):
        return None
    problem = _schema_problem(document) or _boolean_problem(document)
    if problem or method != "PATCH":
        return problem
    for operation in document.get("Operations") or []:
        problem = _operation_problem(operation)
        if problem:
            return problem
    return None


def _schema_problem(document: dict[str, Any]) -> str | None:
    for urn in document.get("schemas") or []:
        if urn.lower() not in KNOWN_SCHEMAS and not urn.startswith(
            "urn:ietf:params:scim:api:messages"
        ):
            return f"unknown schema {urn}"
    return None


def _boolean_problem(value: Any) -> str | None:
    if isinstance(value, list):
        return next((p for item in value if (p := _boolean_problem(item))), None)
    if not isinstance(value, dict):
        return None
    for key, item in value.items():
        if key.lower() in BOOLEANS and isinstance(item, str):
            return f"{key} must be a JSON boolean"
        if key.lower() == "manager" and isinstance(item, str):
            return "manager must be a complex value"
        problem = _boolean_problem(item)
        if problem:
            return problem
    return None


def _operation_problem(operation: dict[str, Any]) -> str | None:
    op = operation.get("op")
    path = str(operation.get("path") or "")
    value = operation.get("value")
    if op not in ("add", "remove", "replace"):
        return f"op {op!r} is not add, remove or replace"
    if op == "remove" and "value" in operation:
        return "remove takes no value"
    if path.lower() == "active" and isinstance(value, str):
        return "active must be a JSON boolean"
    if path.lower().endswith(":manager") and isinstance(value, str):
        return "manager must be a complex value"
    if op == "add" and path and "[" not in path and _single_valued(path):
        return f"add on the single-valued attribute {path}"
    if not path and isinstance(value, dict):
        for key in value:
            if _unwritable_key(key):
                return f"{key} cannot be written in a path-less value"
    return None


def _unwritable_key(key: str) -> bool:
    lowered = key.lower()
    if lowered.startswith("urn:"):
        return lowered not in KNOWN_SCHEMAS
    return "." in key or lowered in ("id", "meta", "schemas")


def _single_valued(path: str) -> bool:
    name = path.rpartition(":")[2] if path.lower().startswith("urn:") else path
    return name.split(".")[0].lower() not in MULTI_VALUED


class Front:
    """Forwards to the upstream scim2-server, applying a kind's behaviour."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.client = httpx.AsyncClient(
            base_url=options.upstream, trust_env=False, timeout=30
        )
        self.public_host = f"{options.host}:{options.port}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        path = scope["raw_path"].decode("latin-1")
        query = scope["query_string"].decode("latin-1")
        if path.startswith("/fail/"):
            await self.fail(send, int(path.split("/")[2]))
            return
        answer = await self.handle(scope, path, query, body)
        status, payload, headers = answer
        await respond(send, status, payload, headers)

    async def fail(self, send: Send, status: int) -> None:
        if status in (409, 412):
            await respond_json(
                send,
                status,
                scim_error(
                    status,
                    f"refused with {status}: userName is already taken"
                    if status == 409
                    else "version mismatch",
                ),
            )
        elif status == 304:
            await respond(send, 304, b"", [(b"etag", b'W/"9"')])
        else:
            payload = json.dumps(
                {"error": {"message": "rate limited, slow down", "code": status}}
            ).encode()
            await respond(
                send,
                status,
                payload,
                [(b"content-type", b"application/json"), (b"retry-after", b"7")],
            )

    async def handle(
        self, scope: Scope, path: str, query: str, body: bytes
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        method = scope["method"]
        segments = [s for s in path.split("/") if s]
        last = segments[-1].lower() if segments else ""
        options = self.options
        if options.kind == "strict" and body:
            document = json.loads(body)
            problem = strict_problem(method, document)
            if problem is None and method == "PATCH":
                problem = await self.unknown_member(scope, path, document)
            if problem:
                return _json(400, scim_error(400, problem, "invalidValue"))
        if options.kind == "limited":
            if options.devices:
                path = _devices_as_users(path)
            refusal = self.refusal(method, last, query)
            if refusal is not None:
                return refusal
            if last == "serviceproviderconfig" and method == "GET":
                return await self.config(path)
            if last == "resourcetypes" and method == "GET":
                return await self.resource_types(scope, path)
            if method == "GET" and last in LISTED:
                return await self.listing(scope, path, query)
            if method == "POST" and last == ".search":
                return await self.search(scope, path, body)
        status, payload, headers = await self.forward(scope, method, path, query, body)
        if options.kind == "strict" and method == "PATCH" and status == 200:
            return 204, b"", [h for h in headers if h[0] == b"etag"]
        return status, payload, headers

    async def unknown_member(
        self, scope: Scope, path: str, document: dict[str, Any]
    ) -> str | None:
        """Return why a PATCH that adds a member who does not exist is refused."""
        base = path.rsplit("/Groups/", 1)[0]
        for operation in document.get("Operations") or []:
            if operation.get("op") != "add" or operation.get("path") != "members":
                continue
            for member in operation.get("value") or []:
                target = f"{base}/Users/{member['value']}"
                status, _payload, _headers = await self.forward(
                    scope, "GET", target, "", b""
                )
                if status == 404:
                    return "a member does not exist"
        return None

    def refusal(
        self, method: str, last: str, query: str
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]] | None:
        options = self.options
        if options.no_patch and method == "PATCH":
            return _json(501, scim_error(501, "PATCH is not implemented"))
        if options.no_search and last == ".search":
            return 404, html_page(404), [(b"content-type", b"text/html")]
        if options.no_bulk and last == "bulk":
            return _json(501, scim_error(501, "Bulk is not implemented"))
        if options.no_discovery and last in (
            "serviceproviderconfig",
            "schemas",
            "resourcetypes",
        ):
            return 404, html_page(404), [(b"content-type", b"text/html")]
        if method in ("GET", "POST") and self.filter_rejected(query):
            return _json(
                400,
                scim_error(
                    400, "filtering on that attribute is not supported", "invalidFilter"
                ),
            )
        if options.cursor_only and "startindex=" in query.lower():
            return _json(
                400,
                scim_error(400, "this server pages with cursors only", "invalidValue"),
            )
        return None

    def filter_rejected(self, query: str) -> bool:
        """Tell whether a filter names an attribute outside --filter-attributes."""
        if not self.options.filter_attributes:
            return False
        allowed = {name.lower() for name in self.options.filter_attributes.split(",")}
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name.lower() == "filter" and value.split()[0].lower() not in allowed:
                return True
        return False

    async def config(self, path: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        response = await self.client.get(
            path, headers={"authorization": f"Bearer {self.options.token}"}
        )
        config = response.json()
        options = self.options
        config["patch"] = {"supported": not options.no_patch}
        config["bulk"]["supported"] = not options.no_bulk
        config["filter"] = {
            "supported": not options.no_filter,
            "maxResults": options.max_results or 1000,
        }
        if options.cursor_only:
            config["pagination"] = {
                "cursor": True,
                "index": False,
                "defaultPaginationMethod": "cursor",
            }
        return _json(200, config)

    async def resource_types(
        self, scope: Scope, path: str
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        status, payload, headers = await self.forward(scope, "GET", path, "", b"")
        if status != 200 or not self.options.devices:
            return status, payload, headers
        document = json.loads(payload)
        document["Resources"].append(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": "Device",
                "name": "Device",
                "endpoint": "/Devices",
                "schema": DEVICE_SCHEMA,
            }
        )
        document["totalResults"] = len(document["Resources"])
        return _json(200, document)

    async def search(
        self, scope: Scope, path: str, body: bytes
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Respond to POST .search as to a GET with the body's parameters."""
        document = json.loads(body or b"{}")
        params = [
            (name, ",".join(value) if isinstance(value, list) else str(value))
            for name, value in document.items()
            if name != "schemas"
        ]
        if self.filter_rejected(urlencode(params)):
            return _json(
                400,
                scim_error(
                    400, "filtering on that attribute is not supported", "invalidFilter"
                ),
            )
        return await self.listing(
            scope, path.rsplit("/", 1)[0] or "/", urlencode(params), search=True
        )

    async def listing(
        self, scope: Scope, path: str, query: str, search: bool = False
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        params = parse_qsl(query, keep_blank_values=True)
        cursor = next((v for k, v in params if k == "cursor"), None)
        offset = int(cursor) if cursor else 0
        upstream = self.upstream_params(params, offset)
        if search:
            body = json.dumps(_search_body(upstream)).encode()
            status, payload, headers = await self.forward(
                scope, "POST", path.rstrip("/") + "/.search", "", body
            )
        else:
            status, payload, headers = await self.forward(
                scope, "GET", path, urlencode(upstream), b""
            )
        if status != 200:
            return status, payload, headers

        document = json.loads(payload)
        if self.options.list_404 and not document.get("Resources"):
            return _json(404, scim_error(404, "no resources found"))
        if self.options.cursor_only:
            document.pop("startIndex", None)
            end = offset + len(document.get("Resources", []))
            if end < document["totalResults"]:
                document["nextCursor"] = str(end)
        return _json(200, document)

    def upstream_params(
        self, params: list[tuple[str, str]], offset: int
    ) -> list[tuple[str, str]]:
        """Drop, cap or translate list parameters as this server's limits say."""
        options = self.options
        kept = [
            (k, v)
            for k, v in params
            if k != "cursor"
            and not (options.no_filter and k == "filter")
            and k.lower() not in ("startindex", "count")
        ]
        paging = {
            k.lower(): v for k, v in params if k.lower() in ("startindex", "count")
        }
        count = int(paging["count"]) if "count" in paging else None
        if options.max_results:
            count = min(count or options.max_results, options.max_results)
        if options.cursor_only:
            return [*kept, ("startIndex", str(offset + 1)), ("count", str(count or 10))]
        if options.ignore_paging:
            return [*kept, ("count", "100000")]
        if "startindex" in paging:
            kept.append(("startIndex", paging["startindex"]))
        if count is not None:
            kept.append(("count", str(count)))
        return kept

    async def forward(
        self, scope: Scope, method: str, path: str, query: str, body: bytes
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope["headers"]
            if key.decode("latin-1").lower() in PASSED_HEADERS
        }
        headers["x-forwarded-host"] = self.public_host
        headers["x-forwarded-proto"] = "http"
        target = path + (f"?{query}" if query else "")
        response = await self.client.request(
            method, target, headers=headers, content=body
        )
        returned = [
            (key.encode(), value.encode())
            for key, value in response.headers.items()
            if key.lower() in RETURNED_HEADERS
        ]
        return response.status_code, response.content, returned


def _devices_as_users(path: str) -> str:
    """Serve ``/Devices`` from the upstream's ``/Users``."""
    head, separator, tail = path.partition("/Devices")
    return head + "/Users" + tail if separator else path


def _search_body(params: list[tuple[str, str]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]
    }
    for name, value in params:
        if name in ("startIndex", "count"):
            body[name] = int(value)
        elif name in ("attributes", "excludedAttributes"):
            body[name] = value.split(",")
        else:
            body[name] = value
    return body


def _json(status: int, payload: Any) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    return (
        status,
        json.dumps(payload).encode(),
        [(b"content-type", b"application/scim+json")],
    )


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["strict", "limited"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--token", required=True, help="the upstream's bearer token")
    for flag in (
        "no-patch",
        "no-filter",
        "ignore-paging",
        "cursor-only",
        "no-bulk",
        "no-discovery",
        "list-404",
        "no-search",
        "devices",
    ):
        parser.add_argument(f"--{flag}", action="store_true")
    parser.add_argument("--max-results", type=int, default=0)
    parser.add_argument("--filter-attributes", default="")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    options = parse_arguments(argv)
    app: App = Front(options)
    uvicorn.run(
        app,
        host=options.host,
        port=options.port,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=1,
    )


def start_adapted(
    kind: str, log_dir: Path, upstream: str, token: str, *options: str
) -> ManagedProcess:
    """Start a strict or limited downstream on a free loopback port."""

    def build_argv(port: int) -> list[str]:
        module = "tests.support.adapted_downstreams"
        return [
            sys.executable,
            "-m",
            module,
            kind,
            "--port",
            str(port),
            "--upstream",
            upstream,
            "--token",
            token,
            *options,
        ]

    return start_server(
        f"downstream-{kind}", build_argv, log_dir=log_dir, cwd=REPO_ROOT
    )


if __name__ == "__main__":
    main(sys.argv[1:])

"""Small downstream servers that the end-to-end tests point relay integrations at.

Run one as a process with ``python downstreams.py KIND --port PORT [options]``;
:func:`start_downstream` does that and waits until it listens. The kinds are:

``gate``
    Forwards a request to an upstream SCIM server only when its
    ``X-Request-Origin`` header carries the expected value. Any other request
    gets 403 with a plain text body, as from an API gateway.
``html``
    Returns an HTML error page. The first path segment is the status code
    (``/503/Users`` returns 503); a path without a numeric first segment
    returns 500.
``slow``
    Sleeps ``--delay`` seconds, then returns an empty SCIM list.
``echo``
    Returns, as JSON, the method, the raw path and query string, the headers
    and the body of the request it received. ``--content-type`` sets the
    response's media type, ``application/scim+json`` by default, and
    ``--record FILE`` appends each request to FILE as a JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from html import escape
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tests.support.processes import ManagedProcess, start_server

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCIM_JSON = "application/scim+json"
GATE_HEADER = "x-request-origin"
FORWARDED_REQUEST_HEADERS = {
    "accept",
    "authorization",
    "content-type",
    "if-match",
    "if-none-match",
    "x-request-id",
}
FORWARDED_RESPONSE_HEADERS = {"content-type", "etag", "location"}
EMPTY_LIST = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
    "totalResults": 0,
    "startIndex": 1,
    "itemsPerPage": 0,
    "Resources": [],
}


async def read_body(receive: Receive) -> bytes:
    """Read the whole request body from the ASGI ``receive`` channel."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break

    return b"".join(chunks)


async def respond(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
) -> None:
    """Send a complete response with a Content-Length header."""
    length = (b"content-length", str(len(body)).encode())
    await send(
        {"type": "http.response.start", "status": status, "headers": [*headers, length]}
    )
    await send({"type": "http.response.body", "body": body})


async def respond_json(send: Send, status: int, payload: object) -> None:
    body = json.dumps(payload).encode()
    await respond(send, status, body, [(b"content-type", SCIM_JSON.encode())])


def header_value(scope: Scope, name: str) -> str | None:
    """Return the first value of the request header ``name``, or None."""
    expected_name = name.lower().encode()
    for key, value in scope["headers"]:
        if key.lower() == expected_name:
            return str(value.decode("latin-1"))

    return None


def make_echo_app(content_type: str, record: Path | None) -> App:
    """Build the app that returns what it received, as JSON of ``content_type``.

    With ``record``, the app also appends each request to that file as a JSON
    line, which a test can read even where the relay masks the response.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        received = {
            "method": scope["method"],
            "raw_path": scope["raw_path"].decode("latin-1"),
            "query_string": scope["query_string"].decode("latin-1"),
            "headers": [
                [key.decode("latin-1"), value.decode("latin-1")]
                for key, value in scope["headers"]
            ],
            "body": body.decode("utf-8", errors="replace"),
        }
        encoded = json.dumps(received).encode()
        if record is not None:
            with record.open("ab") as lines:
                lines.write(encoded + b"\n")

        await respond(send, 200, encoded, [(b"content-type", content_type.encode())])

    return app


def make_html_app() -> App:
    """Build the app that returns an HTML error page for every request."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        first_segment = scope["path"].strip("/").split("/")[0]
        status = int(first_segment) if first_segment.isdigit() else 500
        await respond(
            send, status, html_page(status), [(b"content-type", b"text/html")]
        )

    return app


def html_page(status: int) -> bytes:
    """Return an error page shaped like the ones load balancers serve."""
    phrase = escape(HTTPStatus(status).phrase)
    page = (
        "<!DOCTYPE html>\n<html><head><title>"
        f"{status} {phrase}</title></head>\n"
        f"<body><center><h1>{status} {phrase}</h1></center>\n"
        "<hr><center>edge-proxy</center></body></html>\n"
    )

    return page.encode()


def make_slow_app(delay: float) -> App:
    """Build the app that waits ``delay`` seconds before it returns a list."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await asyncio.sleep(delay)
        await respond_json(send, 200, EMPTY_LIST)

    return app


def make_gate_app(upstream: str, expected_origin: str, public_host: str) -> App:
    """Build the app that forwards to ``upstream`` when the gate header matches."""
    client = httpx.AsyncClient(base_url=upstream, trust_env=False, timeout=30.0)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        if header_value(scope, GATE_HEADER) != expected_origin:
            message = b"Forbidden: missing or wrong X-Request-Origin header\n"
            await respond(send, 403, message, [(b"content-type", b"text/plain")])
            return

        upstream_response = await client.request(
            scope["method"],
            gate_target(scope),
            headers=gate_request_headers(scope, public_host),
            content=body,
        )
        headers = [
            (key.encode(), value.encode())
            for key, value in upstream_response.headers.items()
            if key.lower() in FORWARDED_RESPONSE_HEADERS
        ]
        await respond(
            send, upstream_response.status_code, upstream_response.content, headers
        )

    return app


def gate_target(scope: Scope) -> str:
    """Return the path and query of a request, byte for byte."""
    target: str = scope["raw_path"].decode("latin-1")
    if scope["query_string"]:
        target += "?" + scope["query_string"].decode("latin-1")

    return target


def gate_request_headers(scope: Scope, public_host: str) -> dict[str, str]:
    """Keep the headers a SCIM server needs and name the gate as the host."""
    headers = {
        key.decode("latin-1").lower(): value.decode("latin-1")
        for key, value in scope["headers"]
        if key.decode("latin-1").lower() in FORWARDED_REQUEST_HEADERS
    }
    headers["x-forwarded-host"] = public_host
    headers["x-forwarded-proto"] = "http"

    return headers


def build_app(options: argparse.Namespace) -> App:
    if options.kind == "echo":
        return make_echo_app(options.content_type, options.record)

    if options.kind == "html":
        return make_html_app()

    if options.kind == "slow":
        return make_slow_app(options.delay)

    public_host = f"{options.host}:{options.port}"

    return make_gate_app(options.upstream, options.expect_origin, public_host)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["echo", "gate", "html", "slow"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=30.0, help="seconds (slow)")
    parser.add_argument("--content-type", default=SCIM_JSON, help="media type (echo)")
    parser.add_argument("--record", type=Path, help="JSON lines file (echo)")
    parser.add_argument("--upstream", help="base URL to forward to (gate)")
    parser.add_argument("--expect-origin", help="required X-Request-Origin (gate)")
    options = parser.parse_args(argv)
    if options.kind == "gate" and not (options.upstream and options.expect_origin):
        parser.error("gate needs --upstream and --expect-origin")

    return options


def main(argv: list[str]) -> None:
    options = parse_arguments(argv)
    uvicorn.run(
        build_app(options),
        host=options.host,
        port=options.port,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=1,
    )


def start_downstream(kind: str, log_dir: Path, *options: str) -> ManagedProcess:
    """Start a downstream of ``kind`` on a free loopback port and wait for it."""

    def build_argv(port: int) -> list[str]:
        module = "tests.support.downstreams"
        return [sys.executable, "-m", module, kind, "--port", str(port), *options]

    return start_server(
        f"downstream-{kind}", build_argv, log_dir=log_dir, cwd=REPO_ROOT
    )


def recorded_request(record: Path, request_id: str) -> dict[str, Any]:
    """Return the request an echo downstream recorded with ``X-Request-ID``."""
    for line in record.read_text(encoding="utf-8").splitlines():
        received: dict[str, Any] = json.loads(line)
        ids = [value for key, value in received["headers"] if key == "x-request-id"]
        if ids == [request_id]:
            return received

    raise AssertionError(f"{record} has no request with X-Request-ID {request_id}")


if __name__ == "__main__":
    main(sys.argv[1:])

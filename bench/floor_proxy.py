"""Minimal pass-through proxy: the lower bound on any Python relay's cost.

Usage: floor_proxy.py PORT UPSTREAM_BASE PATH_PREFIX, with the headers to add
as a JSON object in FLOOR_HEADERS. Requests under PATH_PREFIX go to
UPSTREAM_BASE; there is no auth, no request log and no URL rewriting.

FLOOR_SERVER (uvicorn or granian) and FLOOR_CLIENT (aiohttp or httpx) choose
the stack, for the server and client comparison; the default is the relay's.
"""

import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
import uvicorn

Message = dict[str, Any]
FORWARDED_HEADERS = ("content-type", "location", "etag")
INJECTED_HEADERS: dict[str, str] = json.loads(os.environ.get("FLOOR_HEADERS", "{}"))
CLIENT = os.environ.get("FLOOR_CLIENT", "aiohttp")
UPSTREAM = os.environ.get("FLOOR_UPSTREAM", "")
PREFIX = os.environ.get("FLOOR_PREFIX", "")
sessions: list[Any] = []


async def forward_aiohttp(
    method: str, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, Any, bytes]:
    if not sessions:
        sessions.append(aiohttp.ClientSession())
    async with sessions[0].request(method, url, data=body, headers=headers) as reply:
        return reply.status, reply.headers, await reply.read()


async def forward_httpx(
    method: str, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, Any, bytes]:
    if not sessions:
        sessions.append(httpx.AsyncClient())
    reply = await sessions[0].request(method, url, content=body, headers=headers)
    return reply.status_code, reply.headers, reply.content


FORWARD = forward_httpx if CLIENT == "httpx" else forward_aiohttp


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    chunks: list[bytes] = []
    message: Message = {"more_body": True}
    while message.get("more_body"):
        message = await receive()
        chunks.append(message.get("body", b""))
    body = b"".join(chunks)
    path = scope["path"].removeprefix(PREFIX)
    query = scope["query_string"].decode()
    url = UPSTREAM + path + (f"?{query}" if query else "")
    headers = dict(INJECTED_HEADERS)
    for name, value in scope["headers"]:
        if name == b"content-type":
            headers["Content-Type"] = value.decode()
    status, reply_headers, payload = await FORWARD(scope["method"], url, body, headers)
    forwarded = [
        (name.encode(), reply_headers[name].encode())
        for name in FORWARDED_HEADERS
        if name in reply_headers
    ]
    await send({"type": "http.response.start", "status": status, "headers": forwarded})
    await send({"type": "http.response.body", "body": payload})


def serve_granian(port: int) -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    Granian(
        "floor_proxy:app",
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        loop=Loops.uvloop,
        log_enabled=False,
    ).serve()


if __name__ == "__main__":
    port = int(sys.argv[1])
    UPSTREAM = os.environ["FLOOR_UPSTREAM"] = sys.argv[2]
    PREFIX = os.environ["FLOOR_PREFIX"] = sys.argv[3]
    if os.environ.get("FLOOR_SERVER") == "granian":
        serve_granian(port)
    else:
        uvicorn.run(
            app,
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            http="httptools",
            lifespan="off",
            access_log=False,
            log_level="warning",
        )

"""Minimal pass-through proxy: the lower bound on any Python relay's cost.

Usage: floor_proxy.py PORT UPSTREAM_BASE PATH_PREFIX, with the headers to add
as a JSON object in FLOOR_HEADERS. Requests under PATH_PREFIX go to
UPSTREAM_BASE; there is no auth, no request log and no URL rewriting.
"""

import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import uvicorn

Message = dict[str, Any]
FORWARDED_HEADERS = ("content-type", "location", "etag")
INJECTED_HEADERS: dict[str, str] = json.loads(os.environ.get("FLOOR_HEADERS", "{}"))
sessions: list[aiohttp.ClientSession] = []


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
    if not sessions:
        sessions.append(aiohttp.ClientSession())
    path = scope["path"].removeprefix(sys.argv[3])
    query = scope["query_string"].decode()
    url = sys.argv[2] + path + (f"?{query}" if query else "")
    headers = dict(INJECTED_HEADERS)
    for name, value in scope["headers"]:
        if name == b"content-type":
            headers["Content-Type"] = value.decode()
    method = scope["method"]
    async with sessions[0].request(method, url, data=body, headers=headers) as reply:
        payload = await reply.read()
        forwarded = [
            (name.encode(), reply.headers[name].encode())
            for name in FORWARDED_HEADERS
            if name in reply.headers
        ]
    await send(
        {"type": "http.response.start", "status": reply.status, "headers": forwarded}
    )
    await send({"type": "http.response.body", "body": payload})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )

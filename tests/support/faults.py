"""A downstream that misbehaves on request, for the fault-injection tests.

Run it as a process with ``python -m tests.support.faults --port PORT``;
:func:`start_faults` does that. It speaks HTTP/1.1 over raw asyncio streams,
so that it can send what no well-behaved server framework would: invalid
header bytes, a body cut short, bytes that are not HTTP at all.

The first path segment picks the behaviour, so an integration whose SCIM URL
is ``http://127.0.0.1:PORT/drop`` always meets a dropped connection:

``ok``           200 with a SCIM list (201 with the resource for POST)
``echo``         200 with the request's headers and body as JSON
``slow``         waits 60 seconds, then answers like ``ok``
``drop``         promises 1000 bytes of body, sends 10, closes the connection
``garbage``      answers bytes that are not HTTP, then closes
``garbagebody``  200 labelled SCIM JSON whose body is random bytes
``huge``         200 with a chunked body of ``--huge-bytes`` bytes
``bigdeclared``  200 declaring a 1 GB body, sending a little
``html``         200 with an HTML login page
``ratelimited``  429 with ``Retry-After: 17``
``unavailable``  503 with ``Retry-After: 120``
``badheader``    200 whose ETag, Location and Retry-After are malformed
``ctlheader``    200 whose ETag holds a NUL byte
``badstatus``    status 999
``redirect``     302 to the cloud metadata address
``wrongtype``    200 with a JSON string instead of an object
``flappy``       like ``ok``, 503, or a connection closed without an answer, as
                 set by ``POST /_control/healthy``, ``failing`` or ``dropping``
``failtwice``    503 for the first two requests of each path, then like ``ok``

``GET /_control/stats`` returns how many requests each behaviour received,
by method; ``POST /_control/reset`` clears the counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from pathlib import Path

from tests.support.processes import ManagedProcess, start_server

REPO_ROOT = Path(__file__).resolve().parents[2]
LIST = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
    "totalResults": 0,
    "startIndex": 1,
    "itemsPerPage": 0,
    "Resources": [],
}
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
FLAPPY_MODES = ("healthy", "failing", "dropping")


class Faults:
    """Per-process state: request counts and the flapping mode."""

    def __init__(self, huge_bytes: int) -> None:
        self.counts: Counter[str] = Counter()
        self.path_counts: Counter[str] = Counter()
        self.mode = "healthy"
        self.huge_bytes = huge_bytes

    async def serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _one(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
        length = next(
            (int(v) for k, v in headers if k.strip().lower() == "content-length"), 0
        )
        body = await reader.readexactly(length) if length else b""
        path = target.split("?", 1)[0]
        kind = path.strip("/").split("/")[0]
        if kind == "_control":
            return await self._control(writer, method, path)
        self.counts[f"{kind} {method}"] += 1
        self.path_counts[path] += 1
        return await self._behave(writer, kind, method, path, headers, body)

    async def _control(
        self, writer: asyncio.StreamWriter, method: str, path: str
    ) -> bool:
        action = path.rstrip("/").rsplit("/", 1)[-1]
        if action in FLAPPY_MODES:
            self.mode = action
        elif action == "reset":
            self.counts.clear()
            self.path_counts.clear()
        await send(writer, 200, json.dumps(dict(self.counts)).encode())
        return True

    async def _behave(
        self,
        writer: asyncio.StreamWriter,
        kind: str,
        method: str,
        path: str,
        headers: list[list[str]],
        body: bytes,
    ) -> bool:
        if kind == "slow":
            await asyncio.sleep(60)
        if kind == "drop":
            writer.write(status_line(200) + b"Content-Length: 1000\r\n\r\n0123456789")
            await writer.drain()
            return False
        if kind == "garbage":
            writer.write(os.urandom(64) + b"\r\n\r\n")
            await writer.drain()
            return False
        if kind == "huge":
            await send_chunked(writer, self.huge_bytes)
            return True
        if kind == "bigdeclared":
            writer.write(status_line(200) + b"Content-Length: 1000000000\r\n\r\n{")
            await writer.drain()
            return False
        if kind == "failtwice" and self.path_counts[path] <= 2:
            return await send_error(writer, 503, "warming up")
        if kind == "flappy" and self.mode == "failing":
            return await send_error(writer, 503, "flapping")
        if kind == "flappy" and self.mode == "dropping":
            return False
        return await self._answer(writer, kind, method, headers, body)

    async def _answer(
        self,
        writer: asyncio.StreamWriter,
        kind: str,
        method: str,
        headers: list[list[str]],
        body: bytes,
    ) -> bool:
        if kind == "echo":
            echoed = {"headers": headers, "body": body.decode("utf-8", "replace")}
            return await send(writer, 200, json.dumps(echoed).encode())
        if kind == "garbagebody":
            return await send(writer, 200, b"{" + os.urandom(200))
        if kind == "html":
            page = (
                b"<html><head><title>Sign in</title></head><body>Log in</body></html>"
            )
            return await send(writer, 200, page, content_type=b"text/html")
        if kind == "ratelimited":
            return await send_error(writer, 429, "slow down", b"Retry-After: 17\r\n")
        if kind == "unavailable":
            return await send_error(writer, 503, "maintenance", b"Retry-After: 120\r\n")
        if kind == "badheader":
            extra = (
                b'ETag: "a\x01\xffb"\r\n'
                b"Location: http://x/\xe9\r\n"
                b"Retry-After: soon\r\n"
            )
            return await send(writer, 200, json.dumps(LIST).encode(), extra=extra)
        if kind == "ctlheader":
            extra = b'ETag: "a\x00b"\r\n'
            return await send(writer, 200, json.dumps(LIST).encode(), extra=extra)
        if kind == "badstatus":
            return await send(writer, 999, json.dumps(LIST).encode())
        if kind == "redirect":
            target = b"Location: http://169.254.169.254/latest/meta-data/\r\n"
            return await send(writer, 302, b"", extra=target)
        if kind == "wrongtype":
            return await send(writer, 200, b'"just a string"')
        if method == "POST":
            created = {**json.loads(body or b"{}"), "id": os.urandom(8).hex()}
            return await send(writer, 201, json.dumps(created).encode())
        if method == "DELETE":
            return await send(writer, 204, b"")
        return await send(writer, 200, json.dumps(LIST).encode())


def status_line(status: int) -> bytes:
    return f"HTTP/1.1 {status} Whatever\r\n".encode()


async def send(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    *,
    content_type: bytes = b"application/scim+json",
    extra: bytes = b"",
) -> bool:
    writer.write(
        status_line(status)
        + b"Content-Type: "
        + content_type
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n"
        + extra
        + b"\r\n"
        + body
    )
    await writer.drain()
    return True


async def send_error(
    writer: asyncio.StreamWriter, status: int, detail: str, extra: bytes = b""
) -> bool:
    document = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    return await send(writer, status, json.dumps(document).encode(), extra=extra)


async def send_chunked(writer: asyncio.StreamWriter, size: int) -> None:
    writer.write(
        status_line(200)
        + b"Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * 65536
    sent = 0
    while sent < size:
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sent += len(chunk)
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()


async def main(port: int, huge_bytes: int) -> None:
    faults = Faults(huge_bytes)
    server = await asyncio.start_server(faults.serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def start_faults(log_dir: Path, huge_bytes: int = 8 * 1024 * 1024) -> ManagedProcess:
    """Start the fault-injection downstream on a free loopback port."""

    def build_argv(port: int) -> list[str]:
        module = "tests.support.faults"
        size = str(huge_bytes)
        return [sys.executable, "-m", module, "--port", str(port), "--huge", size]

    return start_server("faults", build_argv, log_dir=log_dir, cwd=REPO_ROOT)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--huge", type=int, default=8 * 1024 * 1024)
    options = parser.parse_args()
    asyncio.run(main(options.port, options.huge))

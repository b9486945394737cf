"""A downstream holding many users, paging them at most ``--max-results`` at a time.

Run it with ``python -m tests.support.large_downstream --port PORT --users N
--max-results M``; :func:`start_large` does that. Users are generated at start
in a fixed order (``user-000001``, ...), so a reader can check that each one
arrives once and in order. Only ``GET /Users`` with ``startIndex`` and
``count`` and ``GET /ServiceProviderConfig`` are served; anything else is 404.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import uvicorn

from tests.support.downstreams import Receive, Scope, Send, read_body, respond
from tests.support.processes import ManagedProcess, start_server

REPO_ROOT = Path(__file__).resolve().parents[2]
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
JSON_HEADERS = [(b"content-type", b"application/scim+json")]


def user_name(number: int) -> str:
    return f"user-{number:06d}"


class Directory:
    """Serves its users in pages no larger than ``max_results``."""

    def __init__(self, users: int, max_results: int) -> None:
        self.max_results = max_results
        self.users = [
            {
                "schemas": [USER],
                "id": f"{number:06d}",
                "userName": user_name(number),
                "active": True,
                "meta": {"resourceType": "User"},
            }
            for number in range(1, users + 1)
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        path = scope["path"].rstrip("/")
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        if scope["method"] == "GET" and path.endswith("/ServiceProviderConfig"):
            await self.answer(send, self.config())
        elif scope["method"] == "GET" and path.endswith("/Users"):
            await self.answer(send, self.page(query))
        else:
            await respond(send, 404, b"", [])

    def config(self) -> dict[str, Any]:
        return {
            "schemas": [CONFIG],
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": False, "maxResults": self.max_results},
            "changePassword": {"supported": False},
            "sort": {"supported": False},
            "etag": {"supported": False},
            "authenticationSchemes": [],
        }

    def page(self, query: dict[str, str]) -> dict[str, Any]:
        start = max(1, int(query.get("startIndex", "1")))
        count = min(int(query.get("count", str(self.max_results))), self.max_results)
        resources = self.users[start - 1 : start - 1 + max(0, count)]
        return {
            "schemas": [LIST],
            "totalResults": len(self.users),
            "startIndex": start,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }

    async def answer(self, send: Send, document: dict[str, Any]) -> None:
        await respond(send, 200, json.dumps(document).encode(), JSON_HEADERS)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--max-results", type=int, required=True)
    options = parser.parse_args(argv)
    uvicorn.run(
        Directory(options.users, options.max_results),
        host="127.0.0.1",
        port=options.port,
        lifespan="off",
        log_level="warning",
    )


def start_large(log_dir: Path, users: int, max_results: int) -> ManagedProcess:
    """Start the downstream on a free loopback port."""

    def build_argv(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "tests.support.large_downstream",
            "--port",
            str(port),
            "--users",
            str(users),
            "--max-results",
            str(max_results),
        ]

    return start_server("downstream-large", build_argv, log_dir=log_dir, cwd=REPO_ROOT)


if __name__ == "__main__":
    main(sys.argv[1:])

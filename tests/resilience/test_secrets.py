"""Secrets kept: known secret values driven through every path, searched for.

The downstream token, a header marked secret, a password attribute and the
SCIM API key are sent through success, error and fault paths; then every
output is searched: answers, the request log, the server's output, the
database and spool files, and ``integration show``.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RelayFactory
from tests.resilience.conftest import DOWNSTREAM_TOKEN, wait_until_served
from tests.support.processes import ManagedProcess

HEADER_SECRET = "hdr-secret-Jm3kQ9wz"
PASSWORD = "pw-secret-Vb72LpQs"
PATHS = ["/echo/Users", "/html/Users", "/drop/Users", "/ratelimited/Users", "/ok/Users"]


def stored_bytes(data_dir: Path) -> bytes:
    """Every file the relay wrote: database, WAL, spool, state, key file aside."""
    files = [path for path in data_dir.rglob("*") if path.is_file()]
    return b"".join(p.read_bytes() for p in files if p.name != "secret.key")


def test_no_secret_appears_in_any_output(
    relay_factory: RelayFactory, faults: ManagedProcess
) -> None:
    relay = relay_factory(
        faults.url,
        DOWNSTREAM_TOKEN,
        options=["--secret-header", f"X-Api-Secret: {HEADER_SECRET}"],
    )
    api_key = relay.api_key
    answers = []
    with relay.client() as client:
        for path in PATHS:
            for method in ("GET", "POST", "PATCH"):
                body = {"userName": "u", "password": PASSWORD}
                json_body = None if method == "GET" else body
                answers.append(client.request(method, path, json=json_body))
    with relay.client(api_key=api_key + "x") as client:
        answers.append(client.get("/ok/Users"))
    ids = {answer.headers["x-request-id"] for answer in answers}
    entries = relay.wait_for_logs(
        lambda found: ids <= {entry["request_id"] for entry in found}
    )
    shown = relay.cli.run("integration", "show", str(relay.integration["id"]))
    relay.stop()

    outputs = {
        "answers": "".join(answer.text for answer in answers),
        "log": str(entries),
        "server output": relay.output(),
        "integration show": shown.stdout + shown.stderr,
        "stored files": stored_bytes(relay.data_dir).decode("latin-1"),
    }
    secrets = [DOWNSTREAM_TOKEN, HEADER_SECRET, PASSWORD, api_key]
    leaks = [
        (name, where)
        for where, text in outputs.items()
        for name, secret in zip(
            ["token", "header", "password", "key"], secrets, strict=True
        )
        if secret in text
    ]
    assert leaks == []
    assert "[secure]" in outputs["answers"]  # The echoed token was masked.
    assert "header X-Api-Secret: [secure]" in shown.stdout


def test_non_secret_header_values_are_shown(
    relay_factory: RelayFactory, faults: ManagedProcess
) -> None:
    relay = relay_factory(
        f"{faults.url}/ok", DOWNSTREAM_TOKEN, headers=["X-Request-Origin: braze"]
    )

    shown = relay.cli.json("integration", "show", str(relay.integration["id"]))

    assert shown["headers"] == [
        {"name": "X-Request-Origin", "value": "braze", "secret": False}
    ]


def test_rotate_secret_key_keeps_the_relay_serving(
    relay_factory: RelayFactory, faults: ManagedProcess
) -> None:
    relay = relay_factory(f"{faults.url}/ok", DOWNSTREAM_TOKEN)
    key_file = relay.data_dir / "secret.key"
    old_key = key_file.read_text().strip()

    rotated = relay.cli.json("rotate-secret-key")

    with relay.client() as client:
        assert client.get("/Users").status_code == 200
    keys = key_file.read_text().strip().split(",")
    assert rotated["integrations"] == 1
    assert keys[1] == old_key and keys[0] != old_key
    relay.stop()
    relay.serve(relay.data_dir.parent / "logs-rotated")
    relay.cli.json("rotate-secret-key", "--drop-old-keys")
    assert key_file.read_text().strip() == keys[0]
    relay.stop()
    relay.serve(relay.data_dir.parent / "logs-one-key")
    integration = relay.cli.json("integration", "show", str(relay.integration["id"]))
    wait_until_served(relay, integration | {"api_key": relay.api_key})
    with relay.client() as client:
        assert client.get("/Users").status_code == 200

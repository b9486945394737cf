"""Errors of a token endpoint that returns a web page instead of OAuth JSON."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scimrelay.errors import SourceError
from scimrelay.sync.google import DirectoryReader, GoogleSourceConfig
from tests.support.google import make_service_account

HTML_PAGE = (
    "<!DOCTYPE HTML>\n<html lang='en'>\n  <head><title>Error response</title></head>"
    "\n  <body>\n    <h1>Error response</h1>\n    <p>Error code: 501</p>\n"
    + "    <p>Padding line.</p>\n" * 40
    + "  </body>\n</html>\n"
)


class _HtmlHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = HTML_PAGE.encode()
        self.send_response(501)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def html_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _config(token_uri: str) -> GoogleSourceConfig:
    account = make_service_account("html-endpoint")
    return GoogleSourceConfig(
        integration_id="integration-1",
        key_info=json.loads(account.key_json(token_uri)),
        subject="admin@example.com",
        customer="my_customer",
        domain=None,
        org_units=(),
        group_patterns=(),
        sync_groups=True,
        delete_users=False,
        api_url=None,
        mapping={},
    )


def test_html_token_response_names_token_uri(html_endpoint: str) -> None:
    token_uri = f"{html_endpoint}/token"
    reader = DirectoryReader(_config(token_uri), html_endpoint, retry_seconds=0.01)

    with pytest.raises(SourceError) as caught:
        reader.read()

    message = str(caught.value)
    assert token_uri in message
    assert "not an OAuth error" in message
    assert "check the token_uri" in message
    assert "domain-wide delegation" not in message
    assert "\n" not in message
    assert len(message) < 500

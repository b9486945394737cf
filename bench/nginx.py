"""nginx configurations for the fixed downstream and the proxy_pass reference."""

from __future__ import annotations

import shutil
import subprocess
from contextlib import ExitStack
from pathlib import Path

from bench import fixtures
from bench.process import LOOPBACK, start_process, wait_until_ready

SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
# Access log of the downstream's group PATCH requests, in its workdir.
MEMBERS_LOG = "members.log"


def nginx_binary() -> str:
    """Return the path of the nginx executable, which Debian puts in /usr/sbin."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found is None:
        raise FileNotFoundError("nginx not found; install it with apt-get")
    return found


def quote(text: str) -> str:
    """Quote `text` as an nginx string whose value is `text` unchanged.

    nginx unescapes backslashes inside quotes and expands `$name`, so both are
    escaped; `$dollar` is defined by `geo` in `_main_block`.
    """
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return "'" + escaped.replace("$", "${dollar}") + "'"


def _main_block(workdir: Path, server_blocks: str) -> str:
    return f"""
daemon off;
master_process on;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 65s;
    server_tokens off;
    geo $dollar {{
        default "$";
    }}
{server_blocks}
}}
"""


def _scim_error(status: int, detail: str) -> str:
    body = {"schemas": [SCIM_ERROR_SCHEMA], "status": str(status), "detail": detail}
    return f"return {status} {quote(fixtures.to_json(body))};"


def _header_checks() -> str:
    # Reject any request without the token and custom headers that the relay
    # must inject, so a load run against a misconfigured proxy shows up as
    # non-2xx responses instead of fast successes.
    token = f"Bearer {fixtures.DOWNSTREAM_TOKEN}"
    lines = [
        f"if ($http_authorization != {quote(token)}) "
        f"{{ {_scim_error(401, 'missing or invalid downstream token')} }}"
    ]
    for name, value in fixtures.CUSTOM_HEADERS.items():
        variable = "$http_" + name.lower().replace("-", "_")
        detail = f"missing or invalid {name} header"
        lines.append(
            f"if ({variable} != {quote(value)}) {{ {_scim_error(400, detail)} }}"
        )
    return "\n            ".join(lines)


def downstream_config(port: int, workdir: Path) -> str:
    """Render a SCIM downstream returning one fixed user for GET and POST.

    It also returns 204 to a PATCH of any group, logging each request's size
    to `members.log` in `workdir`.
    """
    base_url = f"http://{LOOPBACK}:{port}/scim/v2"
    user = quote(fixtures.to_json(fixtures.stored_user(base_url)))
    location = quote(fixtures.user_location(base_url))
    checks = _header_checks()
    server = f"""
    log_format members '$request_method $status $content_length';
    server {{
        listen {LOOPBACK}:{port};
        default_type application/scim+json;
        location = /healthz {{
            return 200 'ok';
        }}
        location ~ ^/scim/v2/Users/[^/]+$ {{
            if ($request_method != GET) {{ {_scim_error(405, "use GET")} }}
            {checks}
            return 200 {user};
        }}
        location = /scim/v2/Users {{
            if ($request_method != POST) {{ {_scim_error(405, "use POST")} }}
            {checks}
            add_header Location {location} always;
            return 201 {user};
        }}
        location ~ ^/scim/v2/Groups/[^/]+$ {{
            access_log {workdir / MEMBERS_LOG} members;
            client_max_body_size 0;
            if ($request_method != PATCH) {{ {_scim_error(405, "use PATCH")} }}
            {checks}
            return 204;
        }}
        location / {{
            {_scim_error(404, "not found")}
        }}
    }}"""
    return _main_block(workdir, server)


def pages_config(port: int, workdir: Path, pages_dir: Path) -> str:
    """Render a SCIM downstream serving `GET /Users` pages from files.

    `pages_dir/N.json` is the page starting at index N. It is returned
    whatever `count` the request sets, as by a downstream that caps its page
    size.
    """
    server = f"""
    server {{
        listen {LOOPBACK}:{port};
        default_type application/scim+json;
        location = /healthz {{
            return 200 'ok';
        }}
        location = /scim/v2/Users {{
            if ($request_method != GET) {{ {_scim_error(405, "use GET")} }}
            {_header_checks()}
            root {pages_dir};
            try_files /$arg_startindex.json =404;
        }}
        location / {{
            {_scim_error(404, "not found")}
        }}
    }}"""
    return _main_block(workdir, server)


def proxy_config(
    port: int, downstream_port: int, path_prefix: str, workdir: Path
) -> str:
    """Render a proxy_pass reference doing the relay's header and URL work.

    It replaces the Authorization header, adds the custom headers, and maps
    downstream URLs in the Location header and the body back to itself.
    """
    downstream_base = f"http://{LOOPBACK}:{downstream_port}/scim/v2/"
    public_base = f"http://{LOOPBACK}:{port}{path_prefix}/"
    headers = {"Authorization": f"Bearer {fixtures.DOWNSTREAM_TOKEN}"}
    headers.update(fixtures.CUSTOM_HEADERS)
    set_headers = "\n            ".join(
        f"proxy_set_header {name} {quote(value)};" for name, value in headers.items()
    )
    server = f"""
    upstream downstream {{
        server {LOOPBACK}:{downstream_port};
        keepalive 64;
    }}
    server {{
        listen {LOOPBACK}:{port};
        location = /healthz {{
            return 200 'ok';
        }}
        location {path_prefix}/ {{
            proxy_pass http://downstream/scim/v2/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host {LOOPBACK}:{downstream_port};
            proxy_set_header Accept-Encoding "";
            {set_headers}
            proxy_redirect {downstream_base} {public_base};
            sub_filter {quote(downstream_base)} {quote(public_base)};
            sub_filter_once off;
            sub_filter_types application/scim+json application/json;
        }}
    }}"""
    return _main_block(workdir, server)


def start_nginx(
    stack: ExitStack, name: str, config: str, port: int, workdir: Path, log_dir: Path
) -> subprocess.Popen[bytes]:
    """Run nginx in the foreground with `config` and wait until it is ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "nginx.conf"
    config_path.write_text(config)
    command = [
        nginx_binary(),
        "-p",
        str(workdir),
        "-c",
        str(config_path),
        "-e",
        str(workdir / "error.log"),
    ]
    process = start_process(stack, name, command, log_dir)
    health_url = f"http://{LOOPBACK}:{port}/healthz"
    wait_until_ready(process, health_url, log_dir / f"{name}.log")
    return process

"""Start, probe and stop the servers that a benchmark run owns."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from contextlib import ExitStack, suppress
from pathlib import Path

LOOPBACK = "127.0.0.1"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")

# An opener that ignores *_proxy variables, so probes only reach loopback.
_DIRECT_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerStartError(RuntimeError):
    """A server exited or did not become ready in time."""


def free_port() -> int:
    """Return a TCP port on the loopback address that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return this process's environment without proxy settings, plus `extra`.

    Dropping the proxy variables keeps every client that honours them (urllib,
    httpx, curl) on loopback.
    """
    environment = {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in PROXY_VARIABLES
    }
    environment["NO_PROXY"] = "127.0.0.1,localhost,::1"
    environment.update(extra or {})
    return environment


def start_process(
    stack: ExitStack,
    name: str,
    command: Sequence[str],
    log_dir: Path,
    environment: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `command` in its own session and stop it when `stack` closes.

    Output goes to `log_dir/NAME.log`, so a chatty server never blocks on a
    full pipe.
    """
    log_path = log_dir / f"{name}.log"
    log_file = stack.enter_context(log_path.open("ab"))
    process = subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=child_environment(environment),
        start_new_session=True,
    )
    stack.callback(stop_process, process)
    return process


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """Send SIGTERM to the process group of `process`, then SIGKILL if needed."""
    if process.poll() is not None:
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=timeout_s)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    # start_new_session made the child a group leader, so its group id is its
    # pid; signalling the group also reaches its worker processes.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def wait_until_ready(
    process: subprocess.Popen[bytes],
    url: str,
    log_path: Path,
    timeout_s: float = 30.0,
) -> None:
    """Poll `url` until it returns a 2xx status, raising if the process dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(
                f"{url}: server exited with status {process.returncode}; see {log_path}"
            )
        if _returns_success(url):
            return
        time.sleep(0.1)
    raise ServerStartError(
        f"{url}: server not ready after {timeout_s:.0f} s; see {log_path}"
    )


def _returns_success(url: str) -> bool:
    try:
        with _DIRECT_OPENER.open(url, timeout=2) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def open_url(
    request: urllib.request.Request, timeout_s: float = 10.0
) -> tuple[int, dict[str, str], bytes]:
    """Send `request` without any proxy and return status, headers and body.

    HTTP error statuses are returned rather than raised.
    """
    try:
        with _DIRECT_OPENER.open(request, timeout=timeout_s) as response:
            return int(response.status), dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()

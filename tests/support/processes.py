"""Start, watch and stop the real server processes that the end-to-end tests use.

Every server listens on the loopback interface only. Each process writes its
stdout and stderr to files, so that a failure to start shows what the process
printed, and so that tests can search everything a server printed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.05
PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


class ProcessStartError(RuntimeError):
    """A server process exited or did not open its port in time."""


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port on ``host`` that no socket is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]

    return port


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return this process's environment without proxy settings, plus ``extra``.

    Without proxy variables, every child sends its loopback traffic directly.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if name.lower() not in PROXY_VARIABLES
    }
    env.update(extra or {})

    return env


def port_accepts(host: str, port: int) -> bool:
    """Return whether a TCP connection to ``host:port`` succeeds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)

        return probe.connect_ex((host, port)) == 0


@dataclass
class ManagedProcess:
    """A server process started by the tests, with its output files."""

    name: str
    argv: Sequence[str]
    host: str
    port: int
    log_dir: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"{self.name}-{self.port}.stdout"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"{self.name}-{self.port}.stderr"

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def start(self, env: Mapping[str, str], cwd: Path | None = None) -> None:
        """Start the process and wait until its port accepts connections."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (
            self.stdout_path.open("ab") as stdout,
            self.stderr_path.open("ab") as stderr,
        ):
            self.popen = subprocess.Popen(
                list(self.argv),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        assert self.popen is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise ProcessStartError(
                    f"{self.name} exited with code {self.popen.returncode} "
                    f"before listening on port {self.port}\n{self.describe()}"
                )

            if port_accepts(self.host, self.port):
                return

            time.sleep(POLL_INTERVAL)

        self.stop()
        raise ProcessStartError(
            f"{self.name} did not listen on port {self.port} within "
            f"{START_TIMEOUT} s\n{self.describe()}"
        )

    def is_running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process if it is still running."""
        if self.is_running():
            assert self.popen is not None
            self.popen.send_signal(signum)

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """Wait for the process to exit and return its exit code."""
        assert self.popen is not None

        return self.popen.wait(timeout=timeout)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Stop the process with SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.popen is None:
            return None

        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=timeout)

        return self.popen.returncode

    def stdout(self) -> str:
        return _read_text(self.stdout_path)

    def stderr(self) -> str:
        return _read_text(self.stderr_path)

    def output(self) -> str:
        """Return everything the process printed, stdout then stderr."""
        return self.stdout() + self.stderr()

    def describe(self) -> str:
        """Return the command line and the output, for failure messages."""
        command = " ".join(self.argv)

        return (
            f"command: {command}\n"
            f"--- stdout ---\n{self.stdout()[-4000:]}\n"
            f"--- stderr ---\n{self.stderr()[-4000:]}"
        )


def _read_text(path: Path) -> str:
    if not path.exists():
        return ""

    return path.read_text(encoding="utf-8", errors="replace")


def start_server(
    name: str,
    build_argv: Callable[[int], Sequence[str]],
    *,
    env: Mapping[str, str] | None = None,
    log_dir: Path,
    cwd: Path | None = None,
    host: str = LOOPBACK,
    attempts: int = 3,
) -> ManagedProcess:
    """Start a server on a free port, retrying when the port was taken meanwhile.

    ``build_argv`` maps the chosen port to the command line.
    """
    process_env = child_environment() if env is None else dict(env)
    last_error: ProcessStartError | None = None
    for _ in range(attempts):
        port = free_port(host)
        process = ManagedProcess(
            name=name,
            argv=list(build_argv(port)),
            host=host,
            port=port,
            log_dir=log_dir,
        )
        try:
            process.start(process_env, cwd=cwd)
        except ProcessStartError as error:
            last_error = error
            if "address already in use" not in process.stderr().lower():
                raise
            continue

        return process

    assert last_error is not None
    raise last_error

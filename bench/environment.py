"""Benchmark prerequisites, and the machine and software a run was measured on."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path

from bench.nginx import nginx_binary
from bench.process import child_environment

DEBIAN_PACKAGES = ("nginx", "wrk")
PYTHON_PACKAGES = (
    "scimrelay",
    "uvicorn",
    "uvloop",
    "httptools",
    "aiohttp",
    "starlette",
    "sqlalchemy",
    "psycopg",
    "orjson",
)
REPOSITORY = Path(__file__).resolve().parent.parent


def ensure_tools() -> None:
    """Install nginx and wrk from Debian's packages when either is missing."""
    have_nginx = bool(shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin"))
    if have_nginx and shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        raise RuntimeError(
            "nginx or wrk is missing; install them with "
            "`sudo apt-get install -y nginx wrk` and run again"
        )
    print("Installing nginx and wrk with apt-get", flush=True)
    environment = child_environment({"DEBIAN_FRONTEND": "noninteractive"})
    subprocess.run(["apt-get", "update", "-q"], check=True, env=environment)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", *DEBIAN_PACKAGES],
        check=True,
        env=environment,
    )


def machine_info() -> dict[str, str]:
    """Describe the CPU, core count, memory, kernel and OS of this machine."""
    cpuinfo = _read("/proc/cpuinfo")
    meminfo = _read("/proc/meminfo")
    return {
        "cpu": _field(cpuinfo, "model name") or platform.processor() or "unknown",
        "cores": str(len(os.sched_getaffinity(0))),
        "memory": _memory_total(meminfo),
        "kernel": platform.release(),
        "os": _os_name(),
    }


def software_versions(database_url: str | None) -> dict[str, str]:
    """Return the versions of every program and library in the measured path."""
    versions = {
        "python": platform.python_version(),
        "nginx": _command_output([nginx_binary(), "-v"]).removeprefix(
            "nginx version: "
        ),
        "wrk": _command_output(["wrk", "-v"]).split(" [")[0].removeprefix("wrk "),
        "sqlite": sqlite3.sqlite_version,
        "scimrelay commit": _git_commit(),
    }
    for package in PYTHON_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    if database_url and database_url.startswith("postgresql"):
        versions["postgresql"] = _postgres_version(database_url)
    return versions


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _field(text: str, name: str) -> str | None:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def _memory_total(meminfo: str) -> str:
    value = _field(meminfo, "MemTotal")
    if value is None:
        return "unknown"
    kibibytes = int(value.split()[0])
    return f"{kibibytes / 1024 / 1024:.1f} GiB"


def _os_name() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip('"')
    return platform.system()


def _command_output(command: list[str]) -> str:
    # nginx -v writes to stderr and wrk -v exits with status 1, so both
    # streams are read and the status is ignored.
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"
    output = (completed.stdout + completed.stderr).strip()
    return output.splitlines()[0] if output else "unknown"


def _git_commit() -> str:
    commit = _command_output(
        ["git", "-C", str(REPOSITORY), "rev-parse", "--short=12", "HEAD"]
    )
    status = subprocess.run(
        ["git", "-C", str(REPOSITORY), "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return f"{commit} (src/ modified)" if status.stdout.strip() else commit


def _postgres_version(database_url: str) -> str:
    import psycopg

    url = "postgresql://" + database_url.split("://", 1)[1]
    try:
        with psycopg.connect(url, connect_timeout=5) as connection:
            row = connection.execute("SHOW server_version").fetchone()
    except psycopg.Error as error:
        return f"unknown ({error})"
    return str(row[0]) if row else "unknown"

"""Deployment files: what can be checked without Docker or Kubernetes.

Docker does not run where this suite runs, so the image is not built here.
Instead the compose file and the manifests are parsed and checked, and the
image's entry command and health check, read from the Dockerfile, are run
as plain processes on loopback (the listen address is swapped for 127.0.0.1
and the port for a free one), as is the migration Job's command.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.cluster import shared_store_cli
from tests.support.postgres import temporary_database
from tests.support.processes import start_server
from tests.support.relay import Cli, describe_cli, relay_environment, wait_until_healthy

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SECRET_VARIABLES = {
    "SCIMRELAY_DATABASE_URL",
    "SCIMRELAY_SECRET_KEY",
    "SCIMRELAY_REDIS_URL",
}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """Return the Dockerfile's instructions, continuation lines joined."""
    text = (DEPLOY / "Dockerfile").read_text()
    logical = text.replace("\\\n", " ")
    instructions = []
    for line in logical.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def instruction(keyword: str) -> str:
    values = [rest for name, rest in dockerfile_instructions() if name == keyword]
    assert len(values) == 1, f"expected one {keyword} in the Dockerfile: {values}"
    return values[0]


def image_environment() -> dict[str, str]:
    env = {}
    for name, rest in dockerfile_instructions():
        if name == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(rest))
    return env


def manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        documents.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents


def manifest(kind: str) -> dict[str, Any]:
    found = [doc for doc in manifests() if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def containers(kind: str) -> list[dict[str, Any]]:
    return list(manifest(kind)["spec"]["template"]["spec"]["containers"])


def test_compose_runs_two_relays_on_shared_services() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    relays = [services["relay-1"], services["relay-2"]]

    assert set(services) == {"postgres", "redis", "migrate", "relay-1", "relay-2"}
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for relay in relays:
        environment = relay["environment"]
        assert "@postgres:5432/" in environment["SCIMRELAY_DATABASE_URL"]
        assert environment["SCIMRELAY_REDIS_URL"] == "redis://redis:6379/0"
        assert "${SCIMRELAY_SECRET_KEY:?" in environment["SCIMRELAY_SECRET_KEY"]
        condition = relay["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"
    assert relays[0]["environment"] == relays[1]["environment"]
    assert relays[0]["ports"] != relays[1]["ports"]


def test_manifests_parse_with_expected_kinds() -> None:
    kinds = sorted(doc["kind"] for doc in manifests())

    assert kinds == [
        "ConfigMap",
        "Deployment",
        "Job",
        "Kustomization",
        "PodDisruptionBudget",
        "Service",
    ]
    for doc in manifests():
        assert doc["apiVersion"], doc
        assert doc["kind"] == "Kustomization" or doc["metadata"]["name"], doc


def test_kustomization_lists_existing_files() -> None:
    resources = manifest("Kustomization")["resources"]

    assert all((DEPLOY / "k8s" / name).is_file() for name in resources)
    assert "migration-job.yaml" not in resources


def test_probes_use_health_endpoints() -> None:
    (relay,) = containers("Deployment")
    port_names = {port["name"] for port in relay["ports"]}

    assert relay["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert relay["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert relay["readinessProbe"]["httpGet"]["port"] in port_names
    assert manifest("Service")["spec"]["ports"][0]["targetPort"] in port_names


def test_service_selects_deployment_pods() -> None:
    deployment = manifest("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = manifest("Service")["spec"]["selector"]

    assert selector.items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_grace_period_covers_request_drain() -> None:
    spec = manifest("Deployment")["spec"]["template"]["spec"]

    # serve drains requests in flight for up to 30 s, after a 5 s preStop.
    assert spec["terminationGracePeriodSeconds"] > 35


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_secrets_come_from_secret_references(kind: str) -> None:
    for container in containers(kind):
        for variable in container.get("env", []):
            if variable["name"] in SECRET_VARIABLES:
                assert "value" not in variable, variable
                assert variable["valueFrom"]["secretKeyRef"]["name"] == "scimrelay"
    config = manifest("ConfigMap")["data"]
    assert SECRET_VARIABLES.isdisjoint(config)


def test_migration_job_runs_db_upgrade() -> None:
    (migrate,) = containers("Job")

    assert migrate["args"] == ["db", "upgrade"]
    names = {variable["name"] for variable in migrate["env"]}
    assert names == {"SCIMRELAY_DATABASE_URL"}


@pytest.fixture
def fresh_database() -> Iterator[str]:
    with temporary_database() as url:
        yield url


@pytest.mark.postgres
def test_migration_command_works_outside_docker(
    fresh_database: str, tmp_path: Path
) -> None:
    (migrate,) = containers("Job")
    # The Job gets only the database URL, so the master key is left out.
    cli = shared_store_cli(tmp_path, fresh_database)
    env = {k: v for k, v in cli.env.items() if k != "SCIMRELAY_SECRET_KEY"}
    migration = Cli(env, cwd=tmp_path)

    upgraded = migration.run(*migrate["args"])
    status = migration.run("db", "status")

    assert upgraded.returncode == 0, describe_cli(upgraded)
    assert status.returncode == 0, describe_cli(status)


def entry_command(port: int) -> list[str]:
    """Return the image's ENTRYPOINT and CMD, bound to loopback on ``port``."""
    argv = [*json.loads(instruction("ENTRYPOINT")), *json.loads(instruction("CMD"))]
    local = {"0.0.0.0": "127.0.0.1", "8080": str(port)}
    argv = [local.get(argument, argument) for argument in argv]
    beside_python = Path(sys.executable).parent / argv[0]
    return [str(beside_python), *argv[1:]]


def health_check_command(port: int) -> list[str]:
    options = instruction("HEALTHCHECK")
    argv = json.loads(options[options.index("CMD") + len("CMD") :].strip())
    script = argv[-1].replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    return [sys.executable, *argv[1:-1], script]


def test_image_entry_command_serves(tmp_path: Path) -> None:
    env = relay_environment(tmp_path / "data", image_environment())
    env["SCIMRELAY_DATA_DIR"] = str(tmp_path / "data")
    process = start_server(
        "image-entry", entry_command, env=env, log_dir=tmp_path, cwd=tmp_path
    )
    try:
        wait_until_healthy(process)
        with httpx.Client(trust_env=False, timeout=10) as client:
            ready = client.get(f"{process.url}/readyz")
        check = subprocess.run(
            health_check_command(process.port), capture_output=True, timeout=30
        )
    finally:
        process.stop()

    log_lines = [json.loads(line) for line in process.stderr().splitlines()]
    assert ready.status_code == 200
    assert check.returncode == 0, check.stderr
    assert any(line["event"] == "relay started" for line in log_lines)

"""Runs that are cut off, killed, overlap, or that Google refuses."""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Iterator

import pytest

from scimrelay.sync import locks
from tests.conftest import DownstreamFactory, RelayFactory, ScimServer
from tests.support.google import REPO_ROOT
from tests.support.processes import child_environment
from tests.support.sync import (
    SyncDriver,
    build_staff,
    count_resources,
    list_resources,
    wait_until,
)
from tests.sync.conftest import Google

STAFF = 600
CUT_AFTER = 150
ORIGIN = "scimrelay-sync-tests"
WAIT_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def driver(
    google: Google,
    relay_factory: RelayFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SyncDriver]:
    env = {
        "SCIMRELAY_GOOGLE_RETRY_SECONDS": "0.01",
        "SCIMRELAY_SYNC_LEASE_SECONDS": "5",
    }
    relay = relay_factory(env=env)
    keys = tmp_path_factory.mktemp("keys")
    driver = SyncDriver(relay, google.fake, google.account, keys)
    yield driver
    driver.close()


def test_run_cut_off_by_dead_downstream_resumes(
    driver: SyncDriver,
    scim_server: ScimServer,
    downstream_factory: DownstreamFactory,
) -> None:
    # The gate refuses requests without the integration's custom header, so
    # every request that reaches scim2-server came through the relay's pipeline.
    path = f"/t{secrets.token_hex(6)}/v2"
    gate = downstream_factory(
        "gate", "--upstream", scim_server.url, "--expect-origin", ORIGIN
    )
    integration = driver.new_integration(
        gate.url + path, scim_server.token, f"X-Request-Origin: {ORIGIN}"
    )
    driver.set_source(integration, build_staff("C0cutoff"), "--org-unit=/Staff")
    with scim_server.client(scim_server.url + path) as direct:
        process = driver.start_run(integration)
        wait_until(
            lambda: count_resources(direct, "Users") >= CUT_AFTER, "users arrive"
        )
        gate.stop()
        stdout, _ = process.communicate(timeout=WAIT_TIMEOUT)
        first = json.loads(stdout)
        gate.start(child_environment(), cwd=REPO_ROOT)
        code, second = driver.run(integration)
        users = list_resources(direct, "Users")
        groups = list_resources(direct, "Groups")
        code_again, third = driver.run(integration)

    assert process.returncode == 1
    assert first["status"] == "interrupted"
    assert first["detail"].startswith("the downstream SCIM server")
    assert first["detail"].endswith("the next run picks up where this one stopped")
    assert CUT_AFTER <= first["created"] < STAFF
    assert (code, second["status"], second["failed"]) == (0, "succeeded", 0)
    assert second["created"] + second["unchanged"] == STAFF
    assert first["created"] <= second["unchanged"]
    assert len(users) == len({user["userName"] for user in users}) == STAFF
    assert [len(group["members"]) for group in groups] == [STAFF]
    assert (code_again, third["created"], third["unchanged"]) == (0, 0, STAFF)


def test_killed_run_resumes_after_lease_expiry(
    driver: SyncDriver, scim_server: ScimServer
) -> None:
    url = scim_server.new_tenant_url()
    integration = driver.new_integration(url, scim_server.token)
    driver.set_source(integration, build_staff("C0killed"), "--org-unit=/Staff")
    with scim_server.client(url) as direct:
        process = driver.start_run(integration)
        wait_until(
            lambda: count_resources(direct, "Users") >= CUT_AFTER, "users arrive"
        )
        process.kill()
        process.wait()
        abandoned = driver.runs(integration)[0]
        # The dead process's lease holds until it expires; then a run starts.
        completed = driver.relay.cli.run("sync", "run", integration, "--json")
        while "already running" in completed.stderr:
            time.sleep(0.5)
            completed = driver.relay.cli.run("sync", "run", integration, "--json")
        finished = json.loads(completed.stdout)
        total = count_resources(direct, "Users")
    runs = driver.runs(integration)

    assert abandoned["status"] == "running"
    assert finished["status"] == "succeeded"
    assert finished["created"] + finished["unchanged"] == STAFF
    assert total == STAFF
    assert [run["id"] for run in runs] == [finished["id"], abandoned["id"]]
    assert runs[1]["status"] == "interrupted"


def test_lease_held_elsewhere_rejects_run(
    driver: SyncDriver, scim_server: ScimServer
) -> None:
    integration = driver.new_integration(
        scim_server.new_tenant_url(), scim_server.token
    )
    driver.set_source(integration, build_staff("C0held", 20), "--org-unit=/Staff")
    store = driver.context.store
    lease = locks.acquire(store, integration, 60)
    try:
        rejected = driver.relay.cli.run("sync", "run", integration)
    finally:
        locks.release(store, lease)
    code, report = driver.run(integration)

    assert rejected.returncode == 1
    assert "already running" in rejected.stderr
    assert lease.owner in rejected.stderr
    assert (code, report["created"]) == (0, 20)


def test_concurrent_runs_never_overlap(
    driver: SyncDriver, scim_server: ScimServer
) -> None:
    url = scim_server.new_tenant_url()
    integration = driver.new_integration(url, scim_server.token)
    driver.set_source(integration, build_staff("C0race", 200), "--org-unit=/Staff")
    processes = [driver.start_run(integration) for _ in range(3)]
    outcomes = [process.communicate(timeout=WAIT_TIMEOUT) for process in processes]
    finished = [json.loads(out) for out, _ in outcomes if out]
    rejected = [err for out, err in outcomes if not out]
    runs = sorted(driver.runs(integration), key=lambda run: run["started_at"])
    with scim_server.client(url) as direct:
        users = list_resources(direct, "Users")

    assert len(finished) + len(rejected) == 3
    assert all("already running" in err for err in rejected)
    assert sorted(r["id"] for r in runs) == sorted(r["id"] for r in finished)
    for earlier, later in itertools.pairwise(runs):
        assert earlier["finished_at"] <= later["started_at"]
    assert sum(run["created"] for run in finished) == 200
    assert len({user["userName"] for user in users}) == len(users) == 200


def test_undelegated_scope_fails_run_with_fix(
    driver: SyncDriver, google: Google, scim_server: ScimServer
) -> None:
    workspace = build_staff("C0narrow", 5)
    narrow = google.users_only_account
    integration = driver.new_integration(
        scim_server.new_tenant_url(), scim_server.token
    )
    driver.set_source(integration, workspace, account=narrow)
    code, rejected = driver.run(integration)
    driver.set_source(
        integration, workspace, "--no-groups", account=narrow, by_domain=True
    )
    code_users_only, report = driver.run(integration)

    assert (code, rejected["status"]) == (1, "failed")
    assert "unauthorized_client" in rejected["detail"]
    assert narrow.client_id in rejected["detail"]
    assert "admin.directory.group.readonly" in rejected["detail"]
    assert (code_users_only, report["status"]) == (0, "succeeded")
    assert report["created"] == 6
    assert report["groups"]["created"] == 0

"""The metric hooks that the relay's parts call, read back in this process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from scimrelay.ops import metrics


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_retry_hook_counts_per_integration() -> None:
    before = sample("scimrelay_downstream_retries_total", integration="hook-a")

    metrics.count_retry("hook-a")
    metrics.count_retry("hook-a")

    after = sample("scimrelay_downstream_retries_total", integration="hook-a")
    assert after == before + 2


def test_rate_limit_hook_counts_per_window() -> None:
    name = "scimrelay_rate_limited_total"
    before = sample(name, integration="hook-b", window="day")

    metrics.count_rate_limited("hook-b", "day")

    assert sample(name, integration="hook-b", window="day") == before + 1
    assert sample(name, integration="hook-b", window="second") == 0


@pytest.mark.parametrize(
    ("state", "value"), [("open", 2), ("half_open", 1), ("closed", 0)]
)
def test_breaker_hook_sets_state(state: metrics.BreakerState, value: int) -> None:
    metrics.set_breaker_state("hook-c", state)

    assert sample("scimrelay_circuit_breaker_state", integration="hook-c") == value
    assert 'scimrelay_circuit_breaker_state{integration="hook-c"}' in (
        metrics.render().decode()
    )


def test_breaker_change_hook_counts_and_publishes() -> None:
    name = "scimrelay_circuit_breaker_changes_total"
    before = sample(name, integration="hook-d", state="open")

    metrics.count_breaker_change("hook-d", "open")

    assert sample(name, integration="hook-d", state="open") == before + 1
    assert sample("scimrelay_circuit_breaker_state", integration="hook-d") == 2


def test_forgotten_integration_leaves_the_scrape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unset_multiproc_variable(monkeypatch)
    metrics.count_rate_limited("hook-gone", "per_day")
    metrics.count_breaker_change("hook-gone", "open")
    metrics.count_rate_limited("hook-kept", "per_day")

    metrics.forget_integration("hook-gone")
    metrics.count_retry("hook-gone")  # A call still in flight at the deletion.
    scraped = metrics.render().decode()

    assert 'integration="hook-gone"' not in scraped
    assert 'scimrelay_rate_limited_total{integration="hook-kept"' in scraped
    assert sample("scimrelay_rate_limited_total", integration="hook-gone") == 0


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/scim/v2/abc", "root"),
        ("/scim/v2/abc/", "root"),
        ("/scim/v2/abc/Users", "Users"),
        ("/scim/v2/abc/users/42", "Users"),
        ("/scim/v2/abc//Groups/7", "Groups"),
        ("/scim/v2/abc/.search", ".search"),
        ("/scim/v2/abc/ServiceProviderConfig", "ServiceProviderConfig"),
        ("/scim/v2/abc/Secrets", "other"),
    ],
)
def test_resource_type_from_path(path: str, expected: str) -> None:
    assert metrics.resource_type(path) == expected


def test_operator_metrics_folder_is_emptied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "keep.txt").write_text("not a metrics file")
    monkeypatch.setenv(metrics.MULTIPROC_VARIABLE, str(tmp_path))

    folder = metrics.prepare_multiprocess_metrics(1, tmp_path / "data")

    assert folder == tmp_path
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keep.txt"]


def unset_multiproc_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset the variable for this test and have monkeypatch unset it after.

    Setting it first records its original absence, so that a value the code
    under test sets does not leak into the relays that later tests start.
    """
    monkeypatch.setenv(metrics.MULTIPROC_VARIABLE, "unset by the test")
    monkeypatch.delenv(metrics.MULTIPROC_VARIABLE)


def test_single_worker_needs_no_metrics_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unset_multiproc_variable(monkeypatch)

    assert metrics.prepare_multiprocess_metrics(1, tmp_path) is None
    assert metrics.MULTIPROC_VARIABLE not in os.environ
    assert list(tmp_path.iterdir()) == []


def ended_process_id() -> int:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(ended.stdout)


def test_workers_get_a_metrics_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unset_multiproc_variable(monkeypatch)
    own = tmp_path / "metrics" / f"serve-{os.getpid()}"
    own.mkdir(parents=True)
    (own / "counter_1.db").write_bytes(b"from a reused process id")

    folder = metrics.prepare_multiprocess_metrics(2, tmp_path)

    assert folder == own
    assert os.environ[metrics.MULTIPROC_VARIABLE] == str(own)
    assert list(own.iterdir()) == []


def test_folders_of_ended_serve_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unset_multiproc_variable(monkeypatch)
    ended = tmp_path / "metrics" / f"serve-{ended_process_id()}"
    ended.mkdir(parents=True)
    (ended / "counter_1.db").write_bytes(b"left by a serve killed by SIGTERM")

    metrics.prepare_multiprocess_metrics(2, tmp_path)

    assert not ended.exists()


def test_gauges_of_dead_processes_are_dropped(tmp_path: Path) -> None:
    dead, alive = ended_process_id(), os.getpid()
    for pid in (dead, alive):
        for mode in ("livemin", "livesum"):
            (tmp_path / f"gauge_{mode}_{pid}.db").write_bytes(b"")
        (tmp_path / f"counter_{pid}.db").write_bytes(b"")

    metrics.forget_dead_processes(tmp_path)

    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [
            f"counter_{dead}.db",
            f"counter_{alive}.db",
            f"gauge_livemin_{alive}.db",
            f"gauge_livesum_{alive}.db",
        ]
    )

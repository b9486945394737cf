"""The analysis behind the benchmark's memory, scale, soak and workers scenarios."""

import json
from pathlib import Path

from bench import large_patch, soak, user_import, workers
from bench.memory import MB


def test_patch_body_adds_each_member_once() -> None:
    document = json.loads(large_patch.patch_body(1_500))

    (operation,) = document["Operations"]
    values = [member["value"] for member in operation["value"]]
    assert operation["op"] == "add"
    assert operation["path"] == "members"
    assert len(values) == len(set(values)) == 1_500


def test_import_pages_hold_users_once(tmp_path: Path) -> None:
    user_import.write_pages(tmp_path, 120, "http://127.0.0.1:1/scim/v2")

    pages = {path.name: json.loads(path.read_text()) for path in tmp_path.iterdir()}
    ids = [user["id"] for page in pages.values() for user in page["Resources"]]
    assert sorted(pages) == ["1.json", "101.json", "51.json"]
    assert all(page["totalResults"] == 120 for page in pages.values())
    assert len(ids) == len(set(ids)) == 120
    assert max(len(page["Resources"]) for page in pages.values()) == 50


def test_soak_growth_from_minute_two() -> None:
    samples = [(float(at), 100 * MB + (at >= 540) * 5 * MB) for at in range(0, 601, 5)]

    found = soak.growth(samples, 600)

    assert found["from_s"] == 120
    assert found["growth_bytes"] == 5 * MB
    assert found["noise_bytes"] == soak.MIN_NOISE_BYTES


def test_soak_growth_within_spread_is_noise() -> None:
    samples = [
        (float(at), 100 * MB + (at // 5 % 2) * 3 * MB) for at in range(0, 601, 5)
    ]

    found = soak.growth(samples, 600)

    assert found["noise_bytes"] == 3 * MB
    assert found["growth_bytes"] <= found["noise_bytes"]


def test_soak_growth_short_run_from_middle() -> None:
    samples = [(float(at), 100 * MB) for at in range(0, 61, 5)]

    found = soak.growth(samples, 60)

    assert found["from_s"] == 30
    assert found["growth_bytes"] == 0


def test_workers_busy_needs_every_worker() -> None:
    assert workers.all_busy([0.45, 0.40], 2)
    assert not workers.all_busy([0.80, 0.05], 2)
    assert not workers.all_busy([0.80], 2)

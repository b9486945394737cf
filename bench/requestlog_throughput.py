"""Measure how fast the request log copies records into its store.

Usage: python bench/requestlog_throughput.py [--records N] [--database-url URL]

Records N entries like a relayed GET (with a 1.7 kB SCIM user as the
response body) as fast as one thread can, the way the request path does. It
reports the rate at which they are spooled and the rate at which the writer
thread stores them, with the largest lag seen. It fails unless every record
reached the store, and gives the cores that other processes used meanwhile.
Without --database-url the store is SQLite in a temporary folder;
PostgreSQL needs an empty database on a server you started, e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/bench.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
from sqlalchemy import func, select

from bench.cpu import machine_busy_seconds
from scimrelay.requestid import new_request_id
from scimrelay.requestlog.recorder import PendingEntry, RequestRecorder
from scimrelay.settings import Settings
from scimrelay.store.database import Store
from scimrelay.store.models import RequestLogEntry

USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "2819c223-7f76-453a-919d-413861904646",
    "userName": "bjensen@example.com",
    "name": {"familyName": "Jensen", "givenName": "Barbara"},
    "emails": [
        {"value": f"bjensen{number}@example.com", "type": "work"}
        for number in range(30)
    ],
    "meta": {
        "resourceType": "User",
        "location": "http://127.0.0.1:8080/scim/v2/integration/Users/2819c223",
    },
}
BODY = orjson.dumps(USER)
SECRETS = ("downstream-token-0123456789", "header-value-one", "header-value-two")
MAX_SECONDS = 300.0


def entry() -> PendingEntry:
    return PendingEntry(
        time=time.time(),
        request_id=new_request_id(),
        method="GET",
        path="/scim/v2/integration/Users/2819c223",
        query="",
        status=200,
        duration_ms=0.8,
        client="127.0.0.1",
        tenant_id="tenant",
        integration_id="integration",
        downstream_status=200,
        downstream_ms=0.4,
        response_body=BODY,
        secret_values=SECRETS,
    )


def measure(records: int, database_url: str | None, data_dir: Path) -> dict[str, float]:
    settings = Settings(data_dir=data_dir, database_url=database_url)
    store = Store.open(settings)
    recorder = RequestRecorder(store, data_dir / "spool")
    recorder.start()
    max_lag = 0.0
    stop = threading.Event()

    def watch() -> None:
        nonlocal max_lag
        while not stop.wait(0.05):
            max_lag = max(max_lag, recorder.lag_seconds)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    busy_before, own_before = machine_busy_seconds(), own_cpu_seconds()
    started = time.perf_counter()
    for _ in range(records):
        recorder.record(entry())
    spooled = time.perf_counter()
    stored_all = recorder.flush(timeout=MAX_SECONDS)
    finished = time.perf_counter()
    other_cores = (
        machine_busy_seconds() - busy_before - (own_cpu_seconds() - own_before)
    ) / (finished - started)
    stop.set()
    watcher.join()
    recorder.stop()
    with store.session() as session:
        count = session.scalar(select(func.count()).select_from(RequestLogEntry))
    store.dispose()
    if not stored_all or count != records:
        raise SystemExit(f"only {count} of {records} records reached the store")
    return {
        "records": records,
        "spooled_per_s": records / (spooled - started),
        "stored_per_s": records / (finished - started),
        "max_lag_s": max_lag,
        "other_cores": other_cores,
    }


def own_cpu_seconds() -> float:
    """Return this process's CPU time, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--database-url")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scimrelay-log-bench-") as folder:
        result = measure(arguments.records, arguments.database_url, Path(folder))
    kind = (arguments.database_url or "sqlite").split(":")[0]
    print(
        f"{kind}: {result['records']:,} records, spooled at "
        f"{result['spooled_per_s']:,.0f}/s, stored at {result['stored_per_s']:,.0f}/s "
        f"(from the first record to the last one stored), largest lag "
        f"{result['max_lag_s']:.2f} s, none lost; other processes used "
        f"{result['other_cores']:.2f} cores"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Jinja filters for dates, durations, rates and status classes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment


def when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(moment: datetime | None) -> str:
    """Say how long ago ``moment`` was, as '3 min ago'."""
    if moment is None:
        return "never"
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def percent(rate: float | None) -> str:
    if rate is None:
        return "—"
    return f"{rate * 100:.1f}%" if rate < 0.1 else f"{rate * 100:.0f}%"


def status_class(status: int | None) -> str:
    if status is None:
        return "none"
    if status >= 500:
        return "error"
    if status >= 400:
        return "warn"
    return "ok"


def run_class(status: str) -> str:
    """Return the badge class of a sync run's status."""
    classes = {"succeeded": "ok", "partial": "warn", "running": "running"}
    return classes.get(status, "error")


def milliseconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"


def pretty_json(text: str | None) -> str:
    """Indent a JSON body for reading; other text is returned as it is."""
    import orjson

    if not text:
        return ""
    try:
        return orjson.dumps(orjson.loads(text), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return text


def install(env: Environment) -> None:
    table: dict[str, Any] = {
        "when": when,
        "ago": ago,
        "percent": percent,
        "status_class": status_class,
        "run_class": run_class,
        "ms": milliseconds,
        "pretty_json": pretty_json,
    }
    env.filters.update(table)

"""Process-wide sync settings, read from ``SCIMRELAY_*`` variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from scimrelay.errors import ConfigurationError

GOOGLE_API_URL = "https://admin.googleapis.com"


@dataclass(frozen=True)
class SyncSettings:
    """Sync settings of this process; ``from_env`` names the variable of each field."""

    google_api_url: str = GOOGLE_API_URL
    retry_seconds: float = 1.0
    lease_seconds: float = 120.0
    tick_seconds: float = 30.0
    scheduler: bool = True
    concurrency: int = 8

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SyncSettings:
        """Read the sync variables, rejecting values that are not usable."""
        env = os.environ if environ is None else environ
        scheduler = env.get("SCIMRELAY_SYNC_SCHEDULER", "true").strip().lower()
        if scheduler not in ("true", "false"):
            raise ConfigurationError(
                f"SCIMRELAY_SYNC_SCHEDULER={scheduler!r} is invalid: use true or false"
            )
        return cls(
            google_api_url=(
                env.get("SCIMRELAY_GOOGLE_API_URL") or GOOGLE_API_URL
            ).rstrip("/"),
            retry_seconds=_positive(env, "SCIMRELAY_GOOGLE_RETRY_SECONDS", 1.0),
            lease_seconds=_positive(env, "SCIMRELAY_SYNC_LEASE_SECONDS", 120.0),
            tick_seconds=_positive(env, "SCIMRELAY_SYNC_TICK_SECONDS", 30.0),
            scheduler=scheduler == "true",
            concurrency=int(_positive(env, "SCIMRELAY_SYNC_CONCURRENCY", 8)),
        )


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default

    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ConfigurationError(f"{name}={raw!r} is invalid: use a positive number")
    return value

"""Settings read from the environment and checked once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from scimrelay.errors import ConfigurationError

DEFAULT_DATA_DIR = ".scimrelay"
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_LOG_RETENTION_DAYS = 30
DEFAULT_DOWNSTREAM_TIMEOUT = 25.0
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_JSON_DEPTH = 32
DEFAULT_MAX_HEADERS = 100
DEFAULT_MAX_HEADER_BYTES = 32 * 1024
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class Secret:
    """A string whose repr and str hide the value; call ``reveal`` to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('[secure]')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    """The relay's configuration; see ``from_env`` for the variable names."""

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    database_url: str | None = None
    secret_key: Secret | None = None
    public_url: str | None = None
    allow_private_downstreams: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    downstream_timeout: float = DEFAULT_DOWNSTREAM_TIMEOUT
    log_format: str = "console"
    log_level: str = "INFO"
    # Days of request log kept; 0 keeps every entry.
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    redis_url: Secret | None = None
    # Bearer token that /metrics requires; None serves it to anyone.
    metrics_token: Secret | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    max_headers: int = DEFAULT_MAX_HEADERS
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def uses_embedded_store(self) -> bool:
        """Whether the store is the default SQLite file in the data folder."""
        return self.database_url is None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url

        return f"sqlite:///{(self.data_dir / 'scimrelay.db').resolve()}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``SCIMRELAY_*`` variables, rejecting bad values."""
        env = os.environ if environ is None else environ
        secret = env.get("SCIMRELAY_SECRET_KEY") or None
        redis_url = env.get("SCIMRELAY_REDIS_URL") or None
        metrics_token = _header_token(env, "SCIMRELAY_METRICS_TOKEN")

        return cls(
            data_dir=Path(env.get("SCIMRELAY_DATA_DIR") or DEFAULT_DATA_DIR),
            database_url=env.get("SCIMRELAY_DATABASE_URL") or None,
            secret_key=Secret(secret) if secret else None,
            public_url=_public_url(env.get("SCIMRELAY_PUBLIC_URL")),
            allow_private_downstreams=_boolean(
                env, "SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS", default=False
            ),
            max_body_bytes=_positive_int(
                env, "SCIMRELAY_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES
            ),
            downstream_timeout=_positive_float(
                env, "SCIMRELAY_DOWNSTREAM_TIMEOUT", DEFAULT_DOWNSTREAM_TIMEOUT
            ),
            log_format=_choice(
                env, "SCIMRELAY_LOG_FORMAT", ("console", "json"), "console"
            ),
            log_level=_choice(
                env,
                "SCIMRELAY_LOG_LEVEL",
                ("DEBUG", "INFO", "WARNING", "ERROR"),
                "INFO",
                upper=True,
            ),
            log_retention_days=_days(
                env, "SCIMRELAY_LOG_RETENTION_DAYS", DEFAULT_LOG_RETENTION_DAYS
            ),
            redis_url=Secret(redis_url) if redis_url else None,
            metrics_token=Secret(metrics_token) if metrics_token else None,
            max_response_bytes=_positive_int(
                env, "SCIMRELAY_MAX_RESPONSE_BYTES", DEFAULT_MAX_RESPONSE_BYTES
            ),
            max_json_depth=_positive_int(
                env, "SCIMRELAY_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH
            ),
            max_headers=_positive_int(
                env, "SCIMRELAY_MAX_HEADERS", DEFAULT_MAX_HEADERS
            ),
            max_header_bytes=_positive_int(
                env, "SCIMRELAY_MAX_HEADER_BYTES", DEFAULT_MAX_HEADER_BYTES
            ),
        )


def _boolean(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default

    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigurationError(f"{name}={raw!r} is invalid: use true or false")


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default

    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(f"{name}={raw!r} is invalid: use a positive integer")
    return value


def _days(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default

    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigurationError(
            f"{name}={raw!r} is invalid: use a whole number of days, or 0 to keep "
            "every entry"
        )
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default

    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ConfigurationError(
            f"{name}={raw!r} is invalid: use a positive number of seconds"
        )
    return value


def _choice(
    env: Mapping[str, str],
    name: str,
    choices: tuple[str, ...],
    default: str,
    *,
    upper: bool = False,
) -> str:
    raw = env.get(name)
    if not raw:
        return default

    value = raw.upper() if upper else raw.lower()
    if value not in choices:
        raise ConfigurationError(
            f"{name}={raw!r} is invalid: use one of {', '.join(choices)}"
        )
    return value


def _header_token(env: Mapping[str, str], name: str) -> str | None:
    """Read a bearer token. The error omits the value because it is a secret."""
    raw = env.get(name)
    if not raw:
        return None

    # HTTP servers trim spaces around a header value, and a header value is
    # read as Latin-1, so other characters could never match.
    if not all("!" <= character <= "~" for character in raw):
        raise ConfigurationError(
            f"{name} is invalid: it contains a space, a line break or a character "
            "outside ASCII, which an Authorization header cannot carry. Use "
            "visible ASCII characters only, such as the output of "
            "`openssl rand -hex 32`"
        )
    return raw


def _public_url(raw: str | None) -> str | None:
    if not raw:
        return None

    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"SCIMRELAY_PUBLIC_URL={raw!r} is invalid: use an absolute http or "
            "https URL such as https://relay.example.com"
        )
    return raw.rstrip("/")

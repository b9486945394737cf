"""Structured logging: JSON in production, readable lines in development.

Every line logged while a SCIM request is handled carries its request id,
tenant id and integration id, bound in :mod:`structlog.contextvars`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, BinaryIO

import orjson
import structlog

from scimrelay.settings import Settings

REDACTED_KEYS = frozenset(
    {"authorization", "token", "password", "api_key", "secret", "secret_key"}
)


def _redact(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in event.keys() & REDACTED_KEYS:
        event[key] = "[secure]"
    return event


class NamedBytesLogger(structlog.BytesLogger):
    """A logger that writes rendered lines straight to a binary file, with a name.

    structlog's own events skip the standard library's logging: one render and
    one write per line, which matters for the line logged per downstream call.
    """

    def __init__(self, file: BinaryIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class NamedBytesLoggerFactory:
    """A factory for structlog: ``get_logger(name)`` gets a NamedBytesLogger."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> NamedBytesLogger:
        return NamedBytesLogger(self._file, str(args[0]) if args else "")


def _encode(_logger: Any, _name: str, text: str) -> bytes:
    return text.encode("utf-8", "backslashreplace")


def configure_logging(settings: Settings) -> None:
    """Render structlog's events directly and the standard library's the same way."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: Any
    direct: list[Any]
    if settings.log_format == "json":
        renderer = structlog.processors.JSONRenderer()
        # Tracebacks become text in the shared chain, once per line.
        shared.append(structlog.processors.format_exc_info)
        direct = [structlog.processors.JSONRenderer(serializer=_json_line)]
    else:
        # Plain tracebacks: a rich traceback would print local variables,
        # which can hold tokens.
        renderer = structlog.dev.ConsoleRenderer(
            exception_formatter=structlog.dev.plain_traceback, colors=False
        )
        direct = [renderer, _encode]

    structlog.configure(
        processors=[*shared, *direct],
        logger_factory=NamedBytesLoggerFactory(sys.stderr.buffer),
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName(settings.log_level)
        ),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The request log and the downstream call lines cover what an access log
    # would print; Alembic's start-up chatter is left out.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _json_line(event: Any, **_options: Any) -> bytes:
    return orjson.dumps(event, default=str)

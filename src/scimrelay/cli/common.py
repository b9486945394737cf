"""Helpers shared by the CLI commands: opening the store, output, errors."""

from __future__ import annotations

import functools
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click
import orjson

from scimrelay.context import AppContext
from scimrelay.errors import (
    ConfigurationError,
    NotFoundError,
    ScimRelayError,
    SettingsError,
)
from scimrelay.settings import Settings

if TYPE_CHECKING:
    from scimrelay.admin.operations import AdminOperations

P = ParamSpec("P")
R = TypeVar("R")

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@contextmanager
def open_context() -> Iterator[AppContext]:
    context = AppContext.open(Settings.from_env())
    try:
        yield context
    finally:
        context.close()


@contextmanager
def open_operations() -> Iterator[AdminOperations]:
    """Open the store and act as the local operator, recorded in the audit trail."""
    from scimrelay.admin.access import system_actor
    from scimrelay.admin.operations import Admin

    with open_context() as context:
        yield Admin.open(context).acting(system_actor(operator_name()))


def operator_name() -> str:
    """Return the name the audit trail records for the user running this command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # No login name and no password entry.
        return "cli"


def reports_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn scimrelay errors into a message on stderr and an exit status."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except SettingsError as error:
            for field_error in error.errors:
                click.echo(f"error: {field_error}", err=True)
            sys.exit(2)
        except NotFoundError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(1)
        except (ConfigurationError, ScimRelayError) as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(1)

    return wrapper


def print_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def print_table(rows: list[list[str]], headings: list[str]) -> None:
    widths = [
        max(len(str(row[index])) for row in [headings, *rows])
        for index in range(len(headings))
    ]
    for row in [headings, *rows]:
        click.echo(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )

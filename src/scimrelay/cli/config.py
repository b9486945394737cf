"""``scimrelay export`` and ``scimrelay import``: configuration as YAML."""

from __future__ import annotations

from pathlib import Path

import click

from scimrelay.cli.common import json_option, open_context, print_json, reports_errors
from scimrelay.portability.export import dump, export_document
from scimrelay.portability.importer import Importer, ImportReport, load_document


@click.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="File to write; standard output by default.",
)
@reports_errors
def export_config(output: Path | None) -> None:
    """Write every tenant and integration as YAML, secrets as references."""
    with open_context() as context:
        text = dump(export_document(context.service))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"configuration written to {output}", err=True)


@click.command("import")
@click.argument(
    "document", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--dry-run", is_flag=True, help="Check and report the changes; store nothing."
)
@json_option
@reports_errors
def import_config(document: Path, dry_run: bool, as_json: bool) -> None:
    """Create or update the tenants and integrations of a YAML DOCUMENT.

    Secret references are resolved against the environment and against files
    relative to the DOCUMENT's folder. Nothing is stored if any entry is
    rejected.
    """
    tenants = load_document(document)
    with open_context() as context:
        importer = Importer(context.service, document.resolve().parent)
        report = importer.apply(tenants, dry_run=dry_run)
    if as_json:
        print_json(_as_dict(report))
    else:
        _print_report(report)


def _as_dict(report: ImportReport) -> dict[str, object]:
    return {
        "dry_run": report.dry_run,
        "changes": [change.to_dict() for change in report.changes],
        "api_keys": report.api_keys,
        "notices": report.notices,
    }


def _print_report(report: ImportReport) -> None:
    for change in report.changes:
        fields = f" ({', '.join(change.fields)})" if change.fields else ""
        click.echo(
            f"{change.kind} {change.name} [{change.id}]: {change.action}{fields}"
        )
    for notice in report.notices:
        click.echo(f"notice: {notice}")
    for integration_id, key in report.api_keys.items():
        click.echo(f"SCIM API key for {integration_id} (shown once): {key}")
    created, updated = report.count("created"), report.count("updated")
    summary = (
        f"{created} created, {updated} updated, {report.count('unchanged')} unchanged"
    )
    click.echo(f"dry run, nothing stored: {summary}" if report.dry_run else summary)

"""`canhgac apikey create`."""

from dataclasses import replace
from pathlib import Path

import click

from canhgac.api import generate_api_key
from canhgac.cli._options import config_option, settings_with
from canhgac.service import open_store
from canhgac.storage import Role


@click.group()
def apikey() -> None:
    """Manage API keys."""


@apikey.command()
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    required=True,
    help="viewer: read (the IOC dashboard); analyst: also triage incidents; admin: all of "
    "that; ingest: only send events (agents, forwarding collectors), nothing else.",
)
@click.option("--name", required=True, help="Who or what the key is for, shown in the audit trail.")
@click.option(
    "--organization",
    "organizations",
    multiple=True,
    help="Limit the key to this organization's incidents and events (repeatable); "
    "without it, the key sees every organization.",
)
@config_option
def create(role: str, name: str, organizations: tuple[str, ...], config_path: Path | None) -> None:
    """Create an API key and print it once, as the last line; only its hash is stored."""
    settings = settings_with(config_path)
    scope = tuple(dict.fromkeys(org.strip() for org in organizations))
    if "" in scope:
        raise click.BadParameter("an organization cannot be blank", param_hint="--organization")
    try:
        key, record = generate_api_key(name, Role(role))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from exc
    record = replace(record, organizations=scope)
    store = open_store(settings)
    try:
        store.add_api_key(record)
    finally:
        store.close()
    limited = f", limited to {', '.join(scope)}" if scope else ""
    click.echo(
        f"Created {record.role.value} key {record.id!r} for {name!r}{limited}. "
        "It is shown only now:"
    )
    click.echo(key)

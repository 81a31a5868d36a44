"""`canhgac apikey create`."""

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
    help="viewer: read (the IOC dashboard); analyst: also triage incidents; admin: everything.",
)
@click.option("--name", required=True, help="Who or what the key is for, shown in the audit trail.")
@config_option
def create(role: str, name: str, config_path: Path | None) -> None:
    """Create an API key and print it once, as the last line; only its hash is stored."""
    settings = settings_with(config_path)
    try:
        key, record = generate_api_key(name, Role(role))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from exc
    store = open_store(settings)
    try:
        store.add_api_key(record)
    finally:
        store.close()
    click.echo(f"Created {record.role.value} key {record.id!r} for {name!r}. It is shown only now:")
    click.echo(key)

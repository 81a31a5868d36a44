"""`canhgac`: the command line. Each command parses its options, then calls into the
packages that own the work; nothing here parses logs, matches rules or stores data."""

import logging
import sys

import click

from canhgac.cli._apikey import apikey
from canhgac.cli._hunt import hunt
from canhgac.cli._ingest import ingest, parse
from canhgac.cli._monitor import monitor
from canhgac.cli._rules import rules
from canhgac.cli._serve import demo, run
from canhgac.cli._status import status
from canhgac.collectors import CollectorError
from canhgac.config import ConfigError
from canhgac.correlator import RuleError
from canhgac.storage import StoreError

_KNOWN_ERRORS = (ConfigError, StoreError, CollectorError, RuleError, OSError)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="canhgac", message="canhgac %(version)s")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default=None,
    help="How much to log on stderr (default: info for run/demo, warning otherwise).",
)
@click.pass_context
def cli(ctx: click.Context, log_level: str | None) -> None:
    """canhgac: security monitoring for a provincial Intelligent Operations Center.

    Logs of provincial systems become ECS events, Sigma rules raise alerts, alerts group
    into incidents, and analysts read them through an authenticated API.
    """
    serving = ctx.invoked_subcommand in ("run", "demo")
    level = (log_level or ("info" if serving else "warning")).upper()
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


cli.add_command(run)
cli.add_command(demo)
cli.add_command(ingest)
cli.add_command(parse)
cli.add_command(hunt)
cli.add_command(apikey)
cli.add_command(rules)
cli.add_command(monitor)
cli.add_command(status)


def main(argv: list[str] | None = None) -> int:
    """The console script. Known failures print one line, never a traceback."""
    try:
        result = cli.main(args=argv, prog_name="canhgac", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("canhgac: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except _KNOWN_ERRORS as exc:
        click.echo(f"canhgac: error: {exc}", err=True)
        return 1
    return result if isinstance(result, int) else 0

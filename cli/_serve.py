"""`canhgac run` and `canhgac demo`."""

from pathlib import Path

import click

from canhgac.api import generate_api_key
from canhgac.cli._options import config_option, settings_with
from canhgac.service import COMPONENTS, DemoReplay, Service, open_store
from canhgac.storage import Role

_host = click.option("--host", default=None, help="Address the API listens on (default 127.0.0.1).")
_port = click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="API port (default 8080)."
)


@click.command()
@config_option
@_host
@_port
@click.option(
    "--component",
    type=click.Choice(COMPONENTS),
    default="all",
    show_default=True,
    help="all: everything in one process. correlator: the pipeline, correlation clock, "
    "incident windows, store maintenance and POST /api/v1/ingest (run exactly one). "
    "api: the read and analyst API. collectors: the configured sources, forwarded to the "
    "correlator (forwarding.url and forwarding.api_key).",
)
def run(config_path: Path | None, host: str | None, port: int | None, component: str) -> None:
    """Run the service, whole or as one component of a deployment.

    Reads the sources in the configuration and serves HTTP (the API, or /healthz for
    collectors) until Ctrl-C or SIGTERM.
    """
    chosen = next(c for c in COMPONENTS if c == component)
    Service(settings_with(config_path, host, port), component=chosen).run()


@click.command()
@config_option
@_host
@_port
def demo(config_path: Path | None, host: str | None, port: int | None) -> None:
    """Run the service with bundled sample logs replayed into it.

    Two provincial systems' logs (the public-service portal's nginx access log and an
    application server's auth.log, with attacks among normal traffic) are re-dated to
    now and written into DATA_DIR/demo a few lines a second. An admin API key for this
    demo is created and printed.
    """
    settings = settings_with(config_path, host, port)
    key, record = generate_api_key("demo", Role.ADMIN)
    store = open_store(settings)
    try:
        store.add_api_key(record)
    finally:
        store.close()
    base = f"http://{settings.api.host}:{settings.api.port}"
    click.echo(
        "canhgac demo: replaying sample logs into "
        f"{settings.data_dir / 'demo'}\n"
        f"  demo admin key: {key}\n"
        f"  panel:          {base}/  (sign in with the key)\n"
        f"  incidents:      curl -H 'Authorization: Bearer {key}' {base}/api/v1/incidents\n"
        f"  API docs:       {base}/docs",
        err=True,
    )
    replay = DemoReplay(settings.data_dir / "demo", settings.zone)
    Service(settings, demo=replay).run()

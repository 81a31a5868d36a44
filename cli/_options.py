"""Options and settings loading shared by several commands."""

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from canhgac.config import Settings, load_settings

F = TypeVar("F", bound=Callable[..., object])


def config_option(function: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="YAML configuration file (see canhgac.example.yaml); CANHGAC_* variables "
        "override it. Data goes to CANHGAC_DATA_DIR (default ./data).",
    )(function)


def settings_with(
    config_path: Path | None, host: str | None = None, port: int | None = None
) -> Settings:
    """Load the settings, then apply --host/--port, which win over file and environment."""
    settings = load_settings(config_path)
    api = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if api:
        settings = settings.model_copy(update={"api": settings.api.model_copy(update=api)})
    return settings

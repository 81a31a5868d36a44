"""`type: file`: log files followed across rotation."""

from typing import Annotated, Literal

from pydantic import Field, field_validator

from canhgac.config._section import Section

LineFormat = Literal["auto", "nginx", "apache", "auth", "json", "evtx"]

SOURCE_NAME = r"^[A-Za-z0-9_.-]+$"


class FileSourceConfig(Section):
    """Log files followed across rotation, each line parsed in `format`."""

    type: Literal["file"] = "file"
    name: Annotated[str, Field(min_length=1, pattern=SOURCE_NAME)]
    paths: Annotated[list[str], Field(min_length=1)]
    format: LineFormat = "auto"
    system: str | None = None
    organization: str | None = None
    hostname: str | None = None
    from_beginning: bool = True
    """Read files found at start-up from their first line (else from their end)."""
    poll_interval: Annotated[float, Field(gt=0, le=60)] = 1.0

    @field_validator("format")
    @classmethod
    def _followable(cls, value: str) -> str:
        if value == "evtx":
            raise ValueError(
                "evtx files are not followed line by line; read them with `canhgac ingest`"
            )
        return value

"""`type: file`: log files followed across rotation."""

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from canhgac.config._section import Section

LineFormat = Literal["auto", "nginx", "apache", "auth", "json", "iis", "w3c", "syslog", "evtx"]

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
    field_mapping: dict[str, str] | None = None
    """For JSON lines that are not ECS: {their.field: ecs.field}, paths dotted through
    nested objects; only the mapped fields are kept (event.original has the whole line)."""
    timestamp_field: str = "@timestamp"
    """With `field_mapping`: the JSON path of the event time."""
    timestamp_format: str | None = None
    """With `field_mapping`: a strptime format of the event time ("%d/%m/%Y %H:%M:%S");
    ISO 8601 and epoch milliseconds are read without one."""

    @field_validator("format")
    @classmethod
    def _followable(cls, value: str) -> str:
        if value == "evtx":
            raise ValueError(
                "evtx files are not followed line by line; read them with `canhgac ingest`"
            )
        return value

    @model_validator(mode="after")
    def _mapping_needs_json(self) -> "FileSourceConfig":
        if self.field_mapping is not None:
            if self.format != "json":
                raise ValueError("field_mapping applies to format: json only")
            if not self.field_mapping:
                raise ValueError("field_mapping is empty: map at least one their.field: ecs.field")
        elif self.timestamp_field != "@timestamp" or self.timestamp_format is not None:
            raise ValueError("timestamp_field and timestamp_format apply with field_mapping only")
        return self

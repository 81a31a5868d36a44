"""`sources:` in the configuration: one entry per source, its `type` picks the collector.

Each type's settings live in their own module; add a type there and to `SourceConfig`.
A source without `type` is a file source, as it was before other types existed.
"""

from typing import Annotated, Any

from pydantic import Discriminator, Tag

from canhgac.config._file_source import FileSourceConfig


def _source_type(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("type", "file"))
    return str(getattr(value, "type", "file"))


SourceConfig = Annotated[
    Annotated[FileSourceConfig, Tag("file")],
    Discriminator(_source_type),
]

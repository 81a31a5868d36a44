"""`sources:` in the configuration: one entry per source, its `type` picks the collector.

Each type's settings live in their own module; add a type there and to `SourceConfig`.
A source without `type` is a file source, as it was before other types existed.
"""

from typing import Annotated, Any

from pydantic import Discriminator, Tag

from canhgac.config._capture_source import CaptureSourceConfig
from canhgac.config._file_source import FileSourceConfig
from canhgac.config._portal_monitor_source import PortalMonitorSourceConfig
from canhgac.config._syslog_source import SyslogSourceConfig


def _source_type(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("type", "file"))
    return str(getattr(value, "type", "file"))


SourceConfig = Annotated[
    Annotated[FileSourceConfig, Tag("file")]
    | Annotated[PortalMonitorSourceConfig, Tag("portal_monitor")]
    | Annotated[SyslogSourceConfig, Tag("syslog")]
    | Annotated[CaptureSourceConfig, Tag("capture")],
    Discriminator(_source_type),
]

"""Configuration: a YAML file plus CANHGAC_* environment variables, validated by pydantic."""

from canhgac.config._capture_source import CaptureSourceConfig
from canhgac.config._file_source import FileSourceConfig, LineFormat
from canhgac.config._portal_monitor_source import (
    DEFAULT_MARKERS,
    PortalMonitorSourceConfig,
    PortalTarget,
)
from canhgac.config._section import ConfigError
from canhgac.config._settings import (
    ApiConfig,
    ElasticsearchConfig,
    ForwardingConfig,
    IncidentsConfig,
    PipelineConfig,
    RulesConfig,
    Settings,
    load_settings,
)
from canhgac.config._sources import SourceConfig
from canhgac.config._syslog_source import (
    SyslogListener,
    SyslogProtocol,
    SyslogSourceConfig,
    SyslogTagRule,
)

__all__ = [
    "DEFAULT_MARKERS",
    "ApiConfig",
    "CaptureSourceConfig",
    "ConfigError",
    "ElasticsearchConfig",
    "FileSourceConfig",
    "ForwardingConfig",
    "IncidentsConfig",
    "LineFormat",
    "PipelineConfig",
    "PortalMonitorSourceConfig",
    "PortalTarget",
    "RulesConfig",
    "Settings",
    "SourceConfig",
    "SyslogListener",
    "SyslogProtocol",
    "SyslogSourceConfig",
    "SyslogTagRule",
    "load_settings",
]

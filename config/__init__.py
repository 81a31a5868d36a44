"""Configuration: a YAML file plus CANHGAC_* environment variables, validated by pydantic."""

from canhgac.config._file_source import FileSourceConfig, LineFormat
from canhgac.config._section import ConfigError
from canhgac.config._settings import (
    ApiConfig,
    ElasticsearchConfig,
    IncidentsConfig,
    PipelineConfig,
    RulesConfig,
    Settings,
    load_settings,
)
from canhgac.config._sources import SourceConfig

__all__ = [
    "ApiConfig",
    "ConfigError",
    "ElasticsearchConfig",
    "FileSourceConfig",
    "IncidentsConfig",
    "LineFormat",
    "PipelineConfig",
    "RulesConfig",
    "Settings",
    "SourceConfig",
    "load_settings",
]

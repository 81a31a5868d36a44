"""Configuration: a YAML file plus CANHGAC_* environment variables, validated by pydantic."""

from canhgac.config._settings import (
    ApiConfig,
    ConfigError,
    ElasticsearchConfig,
    FileSourceConfig,
    IncidentsConfig,
    LineFormat,
    PipelineConfig,
    RulesConfig,
    Settings,
    SourceConfig,
    load_settings,
)

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

"""canhgac's configuration: one YAML file, overridable by CANHGAC_* environment variables.

Precedence, highest first: environment variables (nested keys joined by "__", e.g.
CANHGAC_API__PORT=9000), the YAML file, the defaults below. Unknown keys are errors,
so a typo never silently falls back to a default.
"""

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from canhgac.config._section import ConfigError, Section
from canhgac.config._sources import SourceConfig


class ApiConfig(Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    cors_origins: list[str] = Field(default_factory=list)
    """Origins of the IOC dashboard allowed to call the API from a browser, e.g.
    https://ioc.haugiang.gov.vn; none by default (the panel at / is same-origin)."""
    max_request_bytes: Annotated[int, Field(ge=1024)] = 1_048_576
    """Largest request body an API route accepts (413 beyond)."""
    max_ingest_bytes: Annotated[int, Field(ge=1024)] = 16 * 1_048_576
    """Largest body `POST /api/v1/ingest` accepts (413 beyond); forwarders send less."""
    auth_failures_per_minute: Annotated[int, Field(ge=1)] = 20
    """Failed authentications from one address per minute before it gets 429."""
    soc_name: str = "canhgac"
    """The monitoring centre's name, the producer of STIX exports (e.g. "SOC Hậu Giang")."""


class RulesConfig(Section):
    bundled: bool = True
    """Load the rules shipped in canhgac/rules."""
    paths: list[str] = Field(default_factory=list)
    """More files or folders of Sigma rules."""
    placeholders: dict[str, list[str]] = Field(default_factory=dict)
    """Values of `|expand` placeholders by name, e.g. {"Admins": ["admin", "ops-*"]}; a rule
    using a placeholder with no values here is skipped with that reason."""
    scheduled: list[str] = Field(default_factory=list)
    """Rules (by id or title) also run every `schedule_minutes` over the stored events of
    the time window since their last run: Lucene queries on Elasticsearch, in-process on
    SQLite (see canhgac.scheduled)."""
    schedule_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 5


class IncidentsConfig(Section):
    window_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)


class ElasticsearchConfig(Section):
    """The Elasticsearch store (used when `storage: elasticsearch`)."""

    url: str | None = None
    """One node's URL, or several separated by commas."""
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    """CA certificate that signed an https cluster's certificate."""
    index_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")] = "canhgac"
    retention_days: Annotated[int, Field(ge=1)] | None = None
    """Delete daily event indices older than this (store maintenance, every 10 minutes)."""
    replicas: Annotated[int, Field(ge=0)] | None = None


class ForwardingConfig(Section):
    """Where `canhgac run --component collectors` sends its batches: the correlator's
    ingest API (`CANHGAC_FORWARDING__URL`, `CANHGAC_FORWARDING__API_KEY`)."""

    url: str | None = None
    """The correlator's base URL, e.g. http://correlator:8081 (POST /api/v1/ingest)."""
    api_key: str | None = None
    """A key of the `ingest` role (`canhgac apikey create --role ingest`)."""
    ca_file: Path | None = None
    """CA certificate that signed an https correlator's certificate."""
    max_body_bytes: Annotated[int, Field(ge=1024)] = 4 * 1_048_576
    """Batches are sent in requests of at most this size; keep it below the correlator's
    `api.max_ingest_bytes`."""
    spool_max_bytes: Annotated[int, Field(ge=1_048_576)] = 1024 * 1_048_576
    """How much may wait on disk while the correlator is unreachable; beyond it the
    collectors slow down (files wait unread) instead of dropping."""
    timeout_seconds: Annotated[float, Field(gt=0)] = 120.0
    """How long one request may take, the correlator storing the batch included."""


class PipelineConfig(Section):
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 1000
    queue_batches: Annotated[int, Field(ge=1, le=1000)] = 16
    """How many batches may wait for the correlator before collectors slow down."""
    correlation_close_delay_seconds: Annotated[int, Field(ge=0, le=86_400)] = 60
    """How long `canhgac run` waits past a correlation window's end, by the wall clock,
    for late events before it closes the window of a source that went quiet."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CANHGAC_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Path("data")
    storage: Literal["sqlite", "elasticsearch"] = "sqlite"
    """sqlite: one file in data_dir; elasticsearch: the cluster in `elasticsearch.url`."""
    es_url: str | None = None
    """CANHGAC_ES_URL: a shortcut that selects the Elasticsearch store at this URL."""
    elasticsearch: ElasticsearchConfig = ElasticsearchConfig()
    timezone: str = "Asia/Ho_Chi_Minh"
    """Zone of log timestamps that carry none (auth.log), and of the panel."""
    api: ApiConfig = ApiConfig()
    rules: RulesConfig = RulesConfig()
    incidents: IncidentsConfig = IncidentsConfig()
    pipeline: PipelineConfig = PipelineConfig()
    forwarding: ForwardingConfig = ForwardingConfig()
    sources: list[SourceConfig] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        names = [s.name for s in sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique: {', '.join(dupes)}")
        return sources

    @model_validator(mode="after")
    def _elasticsearch_url(self) -> "Settings":
        if self.es_url:
            es = self.elasticsearch.model_copy(update={"url": self.es_url})
            object.__setattr__(self, "elasticsearch", es)
            object.__setattr__(self, "storage", "elasticsearch")
        if self.storage == "elasticsearch" and not self.elasticsearch.url:
            raise ValueError(
                "storage is elasticsearch but no URL is set: set elasticsearch.url "
                "or CANHGAC_ES_URL"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "canhgac.sqlite3"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file comes in through init_settings (see load_settings), below the env.
        return env_settings, init_settings


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (if any), then environment variables, then `overrides`.

    Raises ConfigError naming each wrong key, e.g. "sources.0.format: Input should be...".
    """
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_yaml(path)
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**data)
    except ValidationError as exc:
        origin = f" in {path}" if path else ""
        problems = "; ".join(
            f"{'.'.join(str(p) for p in _user_location(err['loc'])) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration{origin}: {problems}") from exc


def _user_location(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The key path as the user wrote it: without the source type pydantic inserts after
    `sources.N` (its discriminator tag), e.g. sources.0.format, not sources.0.file.format."""
    if len(loc) > 2 and loc[0] == "sources" and isinstance(loc[1], int):
        return (*loc[:2], *loc[3:])
    return loc


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"configuration file {path} must hold a mapping of keys at the top")
    return data

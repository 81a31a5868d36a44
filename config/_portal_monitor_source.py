"""`type: portal_monitor`: provincial web portals fetched on an interval and checked for
downtime, slowness, TLS certificate problems and defacement."""

from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Field, field_validator, model_validator

from canhgac.config._section import Section

SOURCE_NAME = r"^[A-Za-z0-9_.-]+$"

DEFAULT_MARKERS = (
    "hacked by",
    "defaced",
    "h4ck",
    "h4x0r",
    "pwned by",
)
"""Text that defacers leave on the pages they replace (matched without regard to case)."""


class PortalTarget(Section):
    """One URL to watch, e.g. the public-service portal https://dichvucong.<province>.gov.vn."""

    name: Annotated[str, Field(min_length=1, pattern=SOURCE_NAME)]
    url: AnyHttpUrl
    interval: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    """Seconds between two checks."""
    timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    """Seconds to wait for the answer before the portal counts as down."""
    slow_threshold: Annotated[float, Field(gt=0)] = 3.0
    """An answer taking longer than this many seconds is reported as slow."""
    expected_status: Annotated[list[int], Field(min_length=1, default_factory=lambda: [200])]
    """Status codes of a healthy answer; any other counts as down."""
    certificate_warning_days: Annotated[int, Field(ge=0, le=3650)] = 14
    """Warn when the TLS certificate expires within this many days."""
    defacement_threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    """Share of the normalized page (0-1) that may change against the baseline before the
    change is reported as a defacement."""
    markers: list[str] = Field(default_factory=lambda: list(DEFAULT_MARKERS))
    """Defacement markers; one that appears on the page but not in its baseline is
    reported."""
    system: str | None = None
    organization: str | None = None

    @field_validator("expected_status")
    @classmethod
    def _statuses(cls, value: list[int]) -> list[int]:
        wrong = [code for code in value if not 100 <= code <= 599]
        if wrong:
            raise ValueError(f"HTTP status codes are 100-599, not {wrong}")
        return value

    @field_validator("markers")
    @classmethod
    def _markers(cls, value: list[str]) -> list[str]:
        if any(not marker.strip() for marker in value):
            raise ValueError("an empty marker would match every page; remove it")
        return value


class PortalMonitorSourceConfig(Section):
    """A set of portals checked by one collector; events carry `event.dataset:
    canhgac.portal_monitor`."""

    type: Literal["portal_monitor"]
    name: Annotated[str, Field(min_length=1, pattern=SOURCE_NAME)]
    targets: Annotated[list[PortalTarget], Field(min_length=1)]
    system: str | None = None
    """Default `labels.system` of targets that name none."""
    organization: str | None = None
    """Default `organization.name` of targets that name none."""
    ca_file: str | None = None
    """PEM file of the authorities to trust besides the system's (a provincial CA)."""
    proxy: str | None = None
    """HTTP proxy to reach the portals through, when they are not reachable directly."""
    max_body_bytes: Annotated[int, Field(ge=1024)] = 5 * 1024 * 1024
    """Bytes of a page read for the defacement check; the rest is ignored."""
    poll_interval: Annotated[float, Field(gt=0, le=60)] = 5.0
    """How often the collector looks for targets whose interval has passed."""

    @model_validator(mode="after")
    def _unique_targets(self) -> "PortalMonitorSourceConfig":
        names = [target.name for target in self.targets]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"target names must be unique; repeated: {', '.join(repeated)}")
        return self

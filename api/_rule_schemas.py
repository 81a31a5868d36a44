"""The rules API's pydantic models, and their making from the tuning package's data."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from canhgac.api._schemas import AlertPublic, UtcDatetime
from canhgac.correlator import Severity
from canhgac.tuning import ExceptionMatch, RuleException, RuleSetting, TuningError, parse_network


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _in_utc(moment: datetime) -> datetime:
    """The time in UTC, within the years canhgac keeps events of."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError as err:
        raise ValueError("give a time between 1970 and 2200, e.g. 2026-11-24T08:00Z") from err
    if not EARLIEST <= utc < LATEST:
        raise ValueError("give a time between 1970 and 2200, e.g. 2026-11-24T08:00Z")
    return utc


RequestTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]


FieldName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ExceptionValue = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class RuleExceptionBase(_Model):
    """A known-good condition: alerts of the rule whose evidence events all match it are
    dropped (counted as suppressed). Text is compared without regard to case."""

    field: FieldName = Field(description='The ECS field, e.g. "source.ip".')
    value: ExceptionValue = Field(description="The value, or for cidr a network: 10.0.0.0/8.")
    match: ExceptionMatch = Field(
        default=ExceptionMatch.EQUALS, description="equals, contains, or cidr (the address in it)."
    )
    reason: Reason = Field(description="Why this activity is known to be good.")
    until: RequestTime | None = Field(
        default=None, description="The exception stops applying at this time (none: never)."
    )


class RuleExceptionCreate(RuleExceptionBase):
    """A new exception; who adds it and when is recorded."""

    @model_validator(mode="after")
    def _network(self) -> Self:
        if self.match is ExceptionMatch.CIDR:
            try:
                parse_network(self.value)
            except TuningError as err:
                raise ValueError(str(err)) from err
        return self


class RuleExceptionPublic(RuleExceptionBase):
    id: str
    until: UtcDatetime | None = None
    added_by: str = Field(description="The name of the API key that added it.")
    added_at: UtcDatetime
    active: bool = Field(description="False once `until` has passed.")


class RulePublic(_Model):
    """A rule with its settings and its health in the running correlator."""

    id: str
    title: str | None
    level: Severity | None = Field(description="The level the rule file gives.")
    effective_level: Severity | None = Field(description="The level its alerts get.")
    enabled: bool
    kind: str = Field(description='"detection" or a correlation type, e.g. "event_count".')
    path: str | None
    matches: int = Field(description="Events (or firings) it matched since the correlator started.")
    routed_events: int = Field(description="Events routed to it since the correlator started.")
    last_match: UtcDatetime | None
    evaluation_ms: float = Field(description="Estimated time spent evaluating it.")
    dead_fields: list[str] = Field(
        description="Fields it reads that no event routed to it carried."
    )
    note: str | None = Field(description="Why it cannot fire, when it cannot.")
    suppressed: int = Field(description="Its alerts dropped by exceptions since the start.")
    exceptions: list[RuleExceptionPublic]
    scheduled: bool = Field(description="Also run over stored events (rules.scheduled).")


class SkippedRulePublic(_Model):
    """A rule file or rule that could not be loaded, and pySigma's or the engine's reason."""

    path: str | None
    rule_id: str | None
    title: str | None
    reason: str | None


class RulesPublic(_Model):
    items: list[RulePublic]
    skipped: list[SkippedRulePublic]
    live: bool = Field(
        description="True when the counts come from the running correlator; false before "
        "it reported (the rules as this API process loads them, no counts)."
    )
    settings_in_force: bool = Field(
        description="True once the running correlator applies the stored rule settings "
        "(it reloads them every 15 s)."
    )


class RulePatch(_Model):
    """Only the fields sent change; `level: null` removes the override."""

    enabled: bool | None = None
    level: Severity | None = None


class RuleUploadedPublic(_Model):
    rule_ids: list[str] = Field(description="The rules the file holds, now loaded.")
    added_by: str
    added_at: UtcDatetime


class BacktestRequest(_Model):
    since: RequestTime
    until: RequestTime
    draft_yaml: Annotated[str, StringConstraints(min_length=1, max_length=200_000)] | None = Field(
        default=None, description="A new version of the rule (Sigma YAML) to compare with."
    )
    extra_exception: RuleExceptionCreate | None = Field(
        default=None, description="An exception to try: the alerts it would suppress are lost."
    )

    @model_validator(mode="after")
    def _forwards(self) -> Self:
        if self.since >= self.until:
            raise ValueError("since must be before until; give an earlier since")
        return self


class BacktestPublic(_Model):
    alerts: list[AlertPublic] = Field(
        description="What the rule (the draft, with the extra exception) raises over the range."
    )
    gained: list[AlertPublic] = Field(description="Raised now, not by the current version.")
    lost: list[AlertPublic] = Field(description="Raised by the current version, not now.")


class LucenePublic(_Model):
    query: str | None = Field(description="pySigma's Lucene conversion with canhgac's pipeline.")
    reason: str | None = Field(
        description="Why there is no query, or why scheduled detection would not use it."
    )


def exception_public(exception: RuleException, now: datetime) -> RuleExceptionPublic:
    return RuleExceptionPublic(
        id=exception.id,
        field=exception.field,
        value=exception.value,
        match=exception.match,
        reason=exception.reason,
        until=exception.until,
        added_by=exception.added_by,
        added_at=exception.added_at,
        active=exception.active(now),
    )


def _moment(text: object) -> datetime | None:
    return None if text is None else datetime.fromisoformat(str(text))


def rule_public(
    line: Mapping[str, Any], setting: RuleSetting, scheduled: Sequence[str], now: datetime
) -> RulePublic:
    """A `live:rule-health` line with the rule's settings."""
    level = Severity(line["level"]) if line.get("level") else None
    rule_id = str(line["rule_id"])
    return RulePublic(
        id=rule_id,
        title=line.get("title"),
        level=level,
        effective_level=setting.level or level,
        enabled=setting.enabled,
        kind=str(line.get("kind", "detection")),
        path=line.get("path"),
        matches=int(line.get("matches", 0)),
        routed_events=int(line.get("events", 0)),
        last_match=_moment(line.get("last_match")),
        evaluation_ms=int(line.get("evaluation_ns", 0)) / 1e6,
        dead_fields=[str(name) for name in line.get("never_seen", ())],
        note=line.get("note"),
        suppressed=int(line.get("suppressed", 0)),
        exceptions=[exception_public(e, now) for e in setting.exceptions],
        scheduled=rule_id in scheduled or line.get("title") in scheduled,
    )


def skipped_public(line: Mapping[str, Any]) -> SkippedRulePublic:
    return SkippedRulePublic(
        path=line.get("path"),
        rule_id=line.get("rule_id"),
        title=line.get("title"),
        reason=line.get("note"),
    )

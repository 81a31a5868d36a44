"""What an admin set about the rules: the `rules:settings` and `rules:uploaded` documents.

Both live in the store as checkpoint documents, so every process (the API, the
correlator) reads the same settings whichever store is configured. Each changes only
through the API, which also appends the change to the rule's audit trail
(`rules:history:<rule id>`). The (de)serialization here is the one place their layout
lives; a document that cannot be read raises `TuningError` naming it.
"""

import hashlib
import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from canhgac.correlator import Severity

SETTINGS_CHECKPOINT = "rules:settings"
UPLOADED_CHECKPOINT = "rules:uploaded"
HEALTH_CHECKPOINT = "live:rule-health"
HISTORY_CHECKPOINT_PREFIX = "rules:history:"


def history_checkpoint(rule_id: str) -> str:
    """The checkpoint holding one rule's audit trail."""
    return HISTORY_CHECKPOINT_PREFIX + rule_id


class TuningError(Exception):
    """Root of the tuning package's errors: a settings document or value is unusable."""


class ExceptionMatch(StrEnum):
    """How an exception's value is compared with an event field (case-insensitive text)."""

    EQUALS = "equals"
    CONTAINS = "contains"
    CIDR = "cidr"


@dataclass(frozen=True, slots=True)
class RuleException:
    """A known-good condition: a rule's alerts whose evidence events all match it are
    dropped, until `until` (None: for good)."""

    id: str
    field: str
    value: str
    match: ExceptionMatch
    reason: str
    added_by: str
    added_at: datetime
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.match is ExceptionMatch.CIDR:
            parse_network(self.value)

    def active(self, now: datetime) -> bool:
        return self.until is None or now < self.until


def parse_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR exception's network ("10.0.0.0/8", or one address)."""
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as err:
        raise TuningError(
            f"{value!r} is not an IP network: write it as 10.20.0.0/16 or one address"
        ) from err


@dataclass(frozen=True, slots=True)
class RuleSetting:
    """One rule's admin settings: on or off, a level override, exceptions."""

    enabled: bool = True
    level: Severity | None = None
    exceptions: tuple[RuleException, ...] = ()

    @property
    def is_default(self) -> bool:
        return self.enabled and self.level is None and not self.exceptions


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Every rule's settings (rules not named have the defaults)."""

    rules: Mapping[str, RuleSetting] = field(default_factory=dict)

    def of(self, rule_id: str) -> RuleSetting:
        return self.rules.get(rule_id, RuleSetting())

    def with_rule(self, rule_id: str, setting: RuleSetting) -> "RuleSettings":
        rules = dict(self.rules)
        if setting.is_default:
            rules.pop(rule_id, None)
        else:
            rules[rule_id] = setting
        return RuleSettings(rules)


@dataclass(frozen=True, slots=True)
class UploadedRule:
    """A Sigma rule file an admin uploaded: its YAML text, kept under its first rule's id."""

    key: str
    yaml: str
    rule_ids: tuple[str, ...]
    added_by: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class UploadedRules:
    """Every uploaded rule file, by key."""

    files: Mapping[str, UploadedRule] = field(default_factory=dict)

    def with_file(self, uploaded: UploadedRule) -> "UploadedRules":
        """Add `uploaded`, replacing the file of the same key and any file with one of
        its rule ids (a new version of an uploaded rule)."""
        kept = {
            key: existing
            for key, existing in self.files.items()
            if key != uploaded.key and not set(existing.rule_ids) & set(uploaded.rule_ids)
        }
        kept[uploaded.key] = uploaded
        return UploadedRules(kept)

    def fingerprint(self) -> tuple[tuple[str, str], ...]:
        """Equal for equal contents: a changed fingerprint means the rules must reload."""
        return tuple(sorted((key, file.yaml) for key, file in self.files.items()))


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One entry of a rule's audit trail."""

    at: datetime
    actor: str
    action: str
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    reason: str | None = None


# -- documents ---------------------------------------------------------------------------


def _time(value: object, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as err:
        raise TuningError(f"{where}: {value!r} is not an ISO time") from err
    if moment.utcoffset() is None:
        raise TuningError(f"{where}: {value!r} has no time zone")
    return moment


def _optional_time(value: object, where: str) -> datetime | None:
    return None if value is None else _time(value, where)


def _text(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def settings_to_state(settings: RuleSettings) -> dict[str, Any]:
    return {
        "rules": {
            rule_id: {
                "enabled": setting.enabled,
                "level": None if setting.level is None else setting.level.value,
                "exceptions": [
                    {
                        "id": e.id,
                        "field": e.field,
                        "value": e.value,
                        "match": e.match.value,
                        "reason": e.reason,
                        "added_by": e.added_by,
                        "added_at": e.added_at.isoformat(),
                        "until": _text(e.until),
                    }
                    for e in setting.exceptions
                ],
            }
            for rule_id, setting in sorted(settings.rules.items())
        }
    }


def settings_fingerprint(settings: RuleSettings) -> str:
    """Equal for equal settings: tells whether the correlator runs with the stored ones."""
    text = json.dumps(settings_to_state(settings), sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def settings_from_state(state: Mapping[str, Any] | None) -> RuleSettings:
    """The settings in a `rules:settings` document (None: no document, every default)."""
    if state is None:
        return RuleSettings()
    where = f"the store document {SETTINGS_CHECKPOINT!r}"
    try:
        rules: dict[str, RuleSetting] = {}
        for rule_id, raw in dict(state["rules"]).items():
            level = raw.get("level")
            rules[str(rule_id)] = RuleSetting(
                enabled=bool(raw.get("enabled", True)),
                level=None if level is None else Severity(level),
                exceptions=tuple(
                    RuleException(
                        id=str(e["id"]),
                        field=str(e["field"]),
                        value=str(e["value"]),
                        match=ExceptionMatch(e["match"]),
                        reason=str(e["reason"]),
                        added_by=str(e["added_by"]),
                        added_at=_time(e["added_at"], where),
                        until=_optional_time(e.get("until"), where),
                    )
                    for e in raw.get("exceptions", ())
                ),
            )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise TuningError(
            f"{where} is damaged ({err!r}); fix or delete it (the rules then run untuned)"
        ) from err
    return RuleSettings(rules)


def uploaded_to_state(uploaded: UploadedRules) -> dict[str, Any]:
    return {
        "files": {
            key: {
                "yaml": file.yaml,
                "rule_ids": list(file.rule_ids),
                "added_by": file.added_by,
                "added_at": file.added_at.isoformat(),
            }
            for key, file in sorted(uploaded.files.items())
        }
    }


def uploaded_from_state(state: Mapping[str, Any] | None) -> UploadedRules:
    if state is None:
        return UploadedRules()
    where = f"the store document {UPLOADED_CHECKPOINT!r}"
    try:
        return UploadedRules(
            {
                str(key): UploadedRule(
                    key=str(key),
                    yaml=str(raw["yaml"]),
                    rule_ids=tuple(str(i) for i in raw["rule_ids"]),
                    added_by=str(raw["added_by"]),
                    added_at=_time(raw["added_at"], where),
                )
                for key, raw in dict(state["files"]).items()
            }
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise TuningError(f"{where} is damaged ({err!r}); fix or delete it") from err


def history_to_state(entries: Sequence[RuleChange]) -> dict[str, Any]:
    return {
        "entries": [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "field": e.field,
                "old_value": e.old_value,
                "new_value": e.new_value,
                "reason": e.reason,
            }
            for e in entries
        ]
    }


def history_from_state(state: Mapping[str, Any] | None) -> tuple[RuleChange, ...]:
    if state is None:
        return ()
    try:
        return tuple(
            RuleChange(
                at=_time(e["at"], "a rule's audit trail"),
                actor=str(e["actor"]),
                action=str(e["action"]),
                field=e.get("field"),
                old_value=e.get("old_value"),
                new_value=e.get("new_value"),
                reason=e.get("reason"),
            )
            for e in state["entries"]
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise TuningError(f"a rule's audit trail is damaged ({err!r})") from err


def without_exception(setting: RuleSetting, exception_id: str) -> RuleSetting | None:
    """The setting without that exception; None when it has no such exception."""
    kept = tuple(e for e in setting.exceptions if e.id != exception_id)
    if len(kept) == len(setting.exceptions):
        return None
    return replace(setting, exceptions=kept)

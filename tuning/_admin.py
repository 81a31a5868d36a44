"""`RuleAdministration`: the API's side of the rule settings, read and changed in the store.

Each change is one store write holding the new settings document and the rule's audit
trail with the change appended. Changes made through one process are serialized by a
lock; two API processes changing rules in the same instant could still overwrite each
other's change (the store keeps documents, not versions), which the audit trail shows.
"""

import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError

from canhgac.config import Settings
from canhgac.correlator import Correlator, RuleSet, Severity, rule_id_of
from canhgac.storage import Checkpoint, Store, WriteBatch
from canhgac.tuning._live import health_document
from canhgac.tuning._settings import (
    HEALTH_CHECKPOINT,
    SETTINGS_CHECKPOINT,
    UPLOADED_CHECKPOINT,
    ExceptionMatch,
    RuleChange,
    RuleException,
    RuleSetting,
    RuleSettings,
    TuningError,
    UploadedRule,
    UploadedRules,
    history_checkpoint,
    history_from_state,
    history_to_state,
    settings_from_state,
    settings_to_state,
    uploaded_from_state,
    uploaded_to_state,
    without_exception,
)
from canhgac.tuning._uploaded import load_with_uploaded, upload_errors


class RuleNotFoundError(TuningError):
    """No loaded (or uploaded) rule, or no exception, has this id."""


class UploadRejectedError(TuningError):
    """An uploaded rule the engine's loader refuses; the message is pySigma's reason."""


@dataclass(frozen=True, slots=True)
class RuleHealthView:
    """The rules' health as the API shows it: the correlator's, or, before it wrote any,
    the loaded rules with no counts yet (`live` False)."""

    rules: tuple[Mapping[str, Any], ...]
    live: bool
    settings_fingerprint: str | None = None
    """Of the settings the correlator runs with (see `settings_fingerprint`)."""


class RuleAdministration:
    """Reads and changes rule settings in `store` for the API (see the module doc)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._loaded: tuple[tuple[tuple[str, str], ...], RuleSet, Any] | None = None

    # -- reading -------------------------------------------------------------------------

    def _state(self, name: str) -> Mapping[str, Any] | None:
        saved = self._store.checkpoint(name)
        return None if saved is None else saved.state

    def rule_settings(self) -> RuleSettings:
        return settings_from_state(self._state(SETTINGS_CHECKPOINT))

    def uploaded(self) -> UploadedRules:
        return uploaded_from_state(self._state(UPLOADED_CHECKPOINT))

    def ruleset(self) -> RuleSet:
        """The configured and uploaded rules, loaded in this process (kept until an
        upload changes them)."""
        uploaded = self.uploaded()
        fingerprint = uploaded.fingerprint()
        with self._lock:
            if self._loaded is None or self._loaded[0] != fingerprint:
                folder = tempfile.TemporaryDirectory(prefix="canhgac-uploaded-rules-")
                ruleset = load_with_uploaded(self._settings, uploaded, Path(folder.name))
                # The folder lives as long as the rule set: its paths point into it.
                self._loaded = (fingerprint, ruleset, folder)
            return self._loaded[1]

    def health(self) -> RuleHealthView:
        state = self._state(HEALTH_CHECKPOINT)
        if state is not None:
            return RuleHealthView(
                tuple(state.get("rules", ())), True, state.get("settings_fingerprint")
            )
        document = health_document(Correlator(self.ruleset()).health(), {}, {}, self._clock())
        return RuleHealthView(tuple(document["rules"]), live=False)

    def known_rule(self, rule_id: str) -> Mapping[str, Any]:
        """The rule's health line; RuleNotFoundError when no rule has that id."""
        for line in self.health().rules:
            if line.get("rule_id") == rule_id and line.get("kind") != "skipped":
                return line
        for file in self.uploaded().files.values():
            if rule_id in file.rule_ids:
                return {"rule_id": rule_id, "kind": "detection", "path": None}
        raise RuleNotFoundError(
            f"there is no loaded rule {rule_id!r}; list the rules (GET /api/v1/rules) for ids"
        )

    def history(self, rule_id: str) -> tuple[RuleChange, ...]:
        return history_from_state(self._state(history_checkpoint(rule_id)))

    # -- changing ------------------------------------------------------------------------

    def _write(
        self,
        changes: Mapping[str, list[RuleChange]],
        settings: RuleSettings | None = None,
        uploaded: UploadedRules | None = None,
    ) -> None:
        """One store write: the new documents and each rule's trail with its changes."""
        checkpoints = [
            Checkpoint(
                history_checkpoint(rule_id),
                history_to_state([*self.history(rule_id), *entries]),
            )
            for rule_id, entries in changes.items()
        ]
        if settings is not None:
            checkpoints.append(Checkpoint(SETTINGS_CHECKPOINT, settings_to_state(settings)))
        if uploaded is not None:
            checkpoints.append(Checkpoint(UPLOADED_CHECKPOINT, uploaded_to_state(uploaded)))
        self._store.write(WriteBatch(checkpoints=checkpoints))

    def update(
        self,
        rule_id: str,
        actor: str,
        *,
        enabled: bool | None = None,
        level: Severity | None = None,
        clear_level: bool = False,
    ) -> RuleSetting:
        """Turn a rule on or off, set or clear its level override; audited."""
        self.known_rule(rule_id)
        with self._lock:
            settings = self.rule_settings()
            old = settings.of(rule_id)
            new = old
            now = self._clock()
            changes: list[RuleChange] = []
            if enabled is not None and enabled != old.enabled:
                new = replace(new, enabled=enabled)
                changes.append(
                    RuleChange(
                        now,
                        actor,
                        "enabled",
                        "enabled",
                        str(old.enabled).lower(),
                        str(enabled).lower(),
                    )
                )
            wanted_level = None if clear_level else (level if level is not None else old.level)
            if wanted_level != old.level:
                new = replace(new, level=wanted_level)
                changes.append(
                    RuleChange(
                        now,
                        actor,
                        "level",
                        "level",
                        None if old.level is None else old.level.value,
                        None if wanted_level is None else wanted_level.value,
                    )
                )
            if changes:
                self._write({rule_id: changes}, settings.with_rule(rule_id, new))
            return new

    def add_exception(
        self,
        rule_id: str,
        actor: str,
        *,
        field: str,
        value: str,
        match: ExceptionMatch,
        reason: str,
        until: datetime | None,
    ) -> RuleException:
        """Add an exception to a rule; audited. TuningError for an unusable CIDR value."""
        self.known_rule(rule_id)
        exception = RuleException(
            id=uuid.uuid4().hex[:12],
            field=field,
            value=value,
            match=match,
            reason=reason,
            added_by=actor,
            added_at=self._clock(),
            until=until,
        )
        with self._lock:
            settings = self.rule_settings()
            old = settings.of(rule_id)
            new = replace(old, exceptions=(*old.exceptions, exception))
            what = f"{field} {match.value} {value}"
            if until is not None:
                what += f" until {until.isoformat()}"
            change = RuleChange(
                exception.added_at, actor, "exception.added", exception.id, None, what, reason
            )
            self._write({rule_id: [change]}, settings.with_rule(rule_id, new))
        return exception

    def remove_exception(self, rule_id: str, exception_id: str, actor: str) -> None:
        """Remove a rule's exception; audited. RuleNotFoundError if it has no such one."""
        with self._lock:
            settings = self.rule_settings()
            old = settings.of(rule_id)
            new = without_exception(old, exception_id)
            if new is None:
                raise RuleNotFoundError(
                    f"rule {rule_id!r} has no exception {exception_id!r}; list the rules "
                    "(GET /api/v1/rules) for its exceptions"
                )
            gone = next(e for e in old.exceptions if e.id == exception_id)
            change = RuleChange(
                self._clock(),
                actor,
                "exception.removed",
                exception_id,
                f"{gone.field} {gone.match.value} {gone.value}",
                None,
            )
            self._write({rule_id: [change]}, settings.with_rule(rule_id, new))

    def upload(self, text: str, actor: str) -> UploadedRule:
        """Validate a Sigma rule file with the engine's loader and keep it; audited under
        each rule it holds. UploadRejectedError says why a file is refused."""
        rule_ids = _rule_ids(text)
        candidate = UploadedRule(
            key=rule_ids[0], yaml=text, rule_ids=rule_ids, added_by=actor, added_at=self._clock()
        )
        with self._lock:
            uploaded = self.uploaded()
            with tempfile.TemporaryDirectory(prefix="canhgac-rule-upload-") as folder:
                _, errors = upload_errors(self._settings, uploaded, candidate, Path(folder))
            if errors:
                raise UploadRejectedError("; ".join(_reason(e.rule, e.reason) for e in errors))
            replaced = any(set(f.rule_ids) & set(rule_ids) for f in uploaded.files.values())
            action = "rule.replaced" if replaced else "rule.uploaded"
            self._write(
                {
                    rule_id: [RuleChange(candidate.added_at, actor, action, None, None, rule_id)]
                    for rule_id in rule_ids
                },
                uploaded=uploaded.with_file(candidate),
            )
        return candidate


def _reason(rule: str | None, reason: str) -> str:
    return f"{rule}: {reason}" if rule else reason


def _rule_ids(text: str) -> tuple[str, ...]:
    """The ids of the rules in a YAML text, as the loader will name them; refuses text
    that is no Sigma rule at all."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as err:
        raise UploadRejectedError(f"invalid YAML: {err}") from err
    if not documents or not all(isinstance(d, dict) for d in documents):
        raise UploadRejectedError("not a Sigma rule: send one or more YAML mappings")
    try:
        collection = SigmaCollection.from_dicts(
            documents, collect_errors=True, collect_filters=True, resolve_references=False
        )
    except (SigmaError, AttributeError, TypeError) as err:
        raise UploadRejectedError(f"not a Sigma rule: {err}") from err
    ids = tuple(rule_id_of(rule) for rule in collection.rules if rule.title)
    if not ids:
        reasons = "; ".join(str(e) for e in collection.errors) or "no rule with a title"
        raise UploadRejectedError(f"not a Sigma rule: {reasons}")
    return ids

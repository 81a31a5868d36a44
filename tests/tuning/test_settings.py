"""The rule settings documents: what the store keeps reads back the same."""

from datetime import UTC, datetime

import pytest

from canhgac.correlator import Severity
from canhgac.tuning import (
    ExceptionMatch,
    RuleChange,
    RuleException,
    RuleSetting,
    RuleSettings,
    TuningError,
    UploadedRule,
    UploadedRules,
    history_from_state,
    history_to_state,
    settings_from_state,
    settings_to_state,
    uploaded_from_state,
    uploaded_to_state,
    without_exception,
)

AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SCANNER = RuleException(
    id="x1",
    field="source.ip",
    value="203.0.113.0/24",
    match=ExceptionMatch.CIDR,
    reason="the CERT's scanner",
    added_by="soc-admin",
    added_at=AT,
    until=datetime(2026, 12, 31, tzinfo=UTC),
)


def test_settings_read_back_as_written() -> None:
    settings = RuleSettings(
        {
            "r1": RuleSetting(enabled=False),
            "r2": RuleSetting(level=Severity.CRITICAL, exceptions=(SCANNER,)),
        }
    )
    assert settings_from_state(settings_to_state(settings)) == settings


def test_no_document_means_every_rule_at_its_defaults() -> None:
    assert settings_from_state(None).of("any") == RuleSetting()


def test_a_rule_back_at_its_defaults_leaves_the_document() -> None:
    settings = RuleSettings({"r1": RuleSetting(enabled=False)})
    assert settings.with_rule("r1", RuleSetting()).rules == {}


def test_a_damaged_document_says_which_and_what_to_do() -> None:
    with pytest.raises(TuningError, match=r"rules:settings.*fix or delete"):
        settings_from_state({"rules": {"r1": {"level": "urgent"}}})


def test_removing_an_exception_by_id() -> None:
    setting = RuleSetting(exceptions=(SCANNER,))
    assert without_exception(setting, "x1") == RuleSetting()
    assert without_exception(setting, "nope") is None


def test_uploaded_rules_read_back_and_a_new_version_replaces_the_old() -> None:
    first = UploadedRule("r9", "title: v1", ("r9",), "soc-admin", AT)
    other = UploadedRule("r7", "title: other", ("r7",), "soc-admin", AT)
    uploaded = UploadedRules({"r9": first, "r7": other})
    assert uploaded_from_state(uploaded_to_state(uploaded)) == uploaded
    second = UploadedRule("r8", "title: v2", ("r8", "r9"), "soc-admin", AT)
    replaced = uploaded.with_file(second)
    assert sorted(replaced.files) == ["r7", "r8"]
    assert replaced.fingerprint() != uploaded.fingerprint()


def test_the_audit_trail_reads_back_in_order() -> None:
    entries = [
        RuleChange(AT, "soc-admin", "enabled", "enabled", "true", "false"),
        RuleChange(
            AT, "soc-admin", "exception.added", "x1", None, "source.ip cidr 10.0.0.0/8", "why"
        ),
    ]
    assert history_from_state(history_to_state(entries)) == tuple(entries)

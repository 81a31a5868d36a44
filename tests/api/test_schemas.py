"""The pydantic edge: patches become store updates; evidence ids are capped without repeats."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from canhgac.api import IncidentPatch
from canhgac.api._schemas import MAX_DETAIL_EVENTS, evidence_event_ids
from canhgac.correlator import Alert, Severity
from canhgac.incidents import IncidentStatus, IncidentUpdate


def test_a_null_assignee_becomes_clear_assignee() -> None:
    patch = IncidentPatch.model_validate({"assignee": None})
    assert patch.to_update() == IncidentUpdate(clear_assignee=True)


def test_an_absent_assignee_leaves_it_alone() -> None:
    patch = IncidentPatch.model_validate({"status": "resolved", "reason": " fixed "})
    assert patch.to_update() == IncidentUpdate(status=IncidentStatus.RESOLVED, reason="fixed")


def test_an_assignee_is_trimmed() -> None:
    patch = IncidentPatch.model_validate({"assignee": "  analyst-hoa "})
    assert patch.to_update() == IncidentUpdate(assignee="analyst-hoa")


def test_a_blank_reason_is_no_reason() -> None:
    patch = IncidentPatch.model_validate({"status": "acknowledged", "reason": "  "})
    assert patch.to_update().reason is None


def test_false_positive_needs_a_reason() -> None:
    with pytest.raises(ValidationError, match="needs a non-empty reason"):
        IncidentPatch.model_validate({"status": "false_positive", "reason": ""})


def alert(n: int, event_ids: list[str]) -> Alert:
    return Alert(
        id=f"a{n}",
        rule_id="r",
        rule_title="r",
        severity=Severity.LOW,
        timestamp=datetime(2026, 11, 24, tzinfo=UTC),
        event_ids=tuple(event_ids),
        entities=(),
    )


@given(st.lists(st.lists(st.sampled_from([f"e{n}" for n in range(300)]), max_size=80)))
def test_evidence_ids_are_the_first_distinct_ids_in_alert_order(
    id_lists: list[list[str]],
) -> None:
    alerts = [alert(n, ids) for n, ids in enumerate(id_lists)]
    chosen, truncated = evidence_event_ids(alerts)
    every = [eid for ids in id_lists for eid in ids]
    distinct = list(dict.fromkeys(every))
    assert list(chosen) == distinct[:MAX_DETAIL_EVENTS]
    assert truncated == (len(distinct) > MAX_DETAIL_EVENTS)


def test_a_severity_change_reaches_the_store() -> None:
    patch = IncidentPatch.model_validate({"severity": "critical", "reason": "APT"})
    assert patch.to_update() == IncidentUpdate(severity=Severity.CRITICAL, reason="APT")


@pytest.mark.parametrize(
    "body", [{"status": "merged"}, {"severity": None}, {"reason": "only a reason"}]
)
def test_patches_that_change_nothing_or_merge_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        IncidentPatch.model_validate(body)

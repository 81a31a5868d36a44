"""Verdicts on the disagreements between canhgac and pySigma's SQLite backend.

test_differential_sqlite.py runs the same rules over the same events through both and
collects every (rule, event) pair that only one of them matched: a `Disagreement`.
Each is a bug in one of the two, or a limit of the flat table the backend queries, and
is decided here by the Sigma specification: a `Verdict` is a CLASS of disagreement (a
predicate over the disagreement), why the two differ, the reference, and which side is
right. Every disagreement must fall in some class, and every class must still occur.

A verdict saying canhgac is wrong names a strict xfail test showing the bug with a
minimal rule and event, so that fixing the bug fails that test until the verdict goes.

References (Sigma specification, https://github.com/SigmaHQ/sigma-specification):
RULES = specification/sigma-rules-specification.md (v2.0.0),
MODIFIERS = specification/sigma-appendix-modifiers.md (v2.1.0).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNumber,
    SigmaString,
    SigmaType,
)

from canhgac.events import Event, FieldValue

Side = Literal["canhgac", "pysigma-sqlite"]
CANHGAC: Side = "canhgac"
SQLITE: Side = "pysigma-sqlite"

RULES = "Sigma rules specification v2.0.0"
MODIFIERS = "Sigma modifiers appendix v2.1.0"

EVENT_DATA_PREFIX = "winlog.event_data."
USER_DATA_PREFIX = "winlog.user_data."

FieldTest = tuple[str, SigmaType]
"""One (field, value) test of a rule's condition, after the logsource pipeline."""


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A (rule, event) pair only one side matched.

    `tests` are the rule's field tests as the logsource pipeline left them (ECS field
    names, routing condition included); `query` is the SQL the backend ran.
    """

    rule_id: str
    title: str
    matched_by: Side
    event: Event
    tests: tuple[FieldTest, ...]
    query: str

    def __str__(self) -> str:
        return f"only {self.matched_by}: rule {self.rule_id} ({self.title}), event {self.event.id}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A class of disagreement: which pairs it covers, why they differ, who is right.

    `xfail_test` names the strict xfail test showing canhgac's bug, when `right` is
    the backend.
    """

    name: str
    why: str
    reference: str
    right: Side
    applies: Callable[[Disagreement], bool]
    xfail_test: str | None = None


@dataclass(frozen=True, slots=True)
class BackendLimitation:
    """A kind of rule the SQLite backend cannot convert, or a query SQLite cannot run:
    nothing to compare. `reason` is a regular expression searched in the error text;
    `expected` counts the rules it hits in the SigmaHQ Windows rule set."""

    name: str
    stage: Literal["conversion", "query"]
    reason: str
    expected: int


def _texts(value: FieldValue) -> tuple[str, ...]:
    items = value if isinstance(value, tuple) else (value,)
    return tuple(
        ("true" if item else "false") if isinstance(item, bool) else str(item)
        for item in items
        if item is not None
    )


def _has_non_ascii_case(text: str) -> bool:
    return any(not char.isascii() and char.lower() != char.upper() for char in text)


def _non_ascii_case(case: Disagreement) -> bool:
    if case.matched_by != CANHGAC:
        return False
    for field, value in case.tests:
        if not isinstance(value, SigmaString) or isinstance(value, SigmaCasedString):
            continue
        if field not in case.event.fields:
            continue
        texts = (str(value), *_texts(case.event.fields[field]))
        if any(_has_non_ascii_case(text) for text in texts):
            return True
    return False


def _field_name_case(case: Disagreement) -> bool:
    if case.matched_by != SQLITE:
        return False
    names = case.event.fields.keys()
    return any(
        field not in names and any(name.lower() == field.lower() for name in names)
        for field, _ in case.tests
    )


def _user_data_field(case: Disagreement) -> bool:
    if case.matched_by != CANHGAC:
        return False
    for field, _ in case.tests:
        if not field.startswith(EVENT_DATA_PREFIX) or field in case.event.fields:
            continue
        leaf = "." + field.removeprefix(EVENT_DATA_PREFIX)
        if any(
            name.startswith(USER_DATA_PREFIX) and name.endswith(leaf) for name in case.event.fields
        ):
            return True
    return False


_NUMBER_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def _number_text_affinity(case: Disagreement) -> bool:
    for field, value in case.tests:
        event_value = case.event.fields.get(field)
        if isinstance(event_value, bool) or event_value is None:
            continue
        if isinstance(value, SigmaString) and isinstance(event_value, int | float):
            # A numeric rule string against a number the event holds in another form.
            plain = str(value)
            if _NUMBER_TEXT.fullmatch(plain) and plain not in _texts(event_value):
                return True
        if isinstance(value, SigmaNumber) and isinstance(event_value, float):
            # A rule number against a float the table keeps as text ("5.0" vs 5).
            return True
    return False


def _ordering_on_text(case: Disagreement) -> bool:
    return any(
        isinstance(value, SigmaCompareExpression) and field in case.event.fields
        for field, value in case.tests
    )


def _boolean_as_number(case: Disagreement) -> bool:
    if case.matched_by != SQLITE:
        return False
    for field, value in case.tests:
        event_value = case.event.fields.get(field)
        if (
            isinstance(value, SigmaBool)
            and isinstance(event_value, int)
            and not isinstance(event_value, bool)
        ):
            return True
    return False


def _list_value(case: Disagreement) -> bool:
    return case.matched_by == CANHGAC and any(
        isinstance(case.event.fields.get(field), tuple) for field, _ in case.tests
    )


def _exists_on_null(case: Disagreement) -> bool:
    return any(
        isinstance(value, SigmaExists)
        and field in case.event.fields
        and case.event.fields[field] is None
        for field, value in case.tests
    )


VERDICTS: tuple[Verdict, ...] = (
    Verdict(
        name="non-ASCII case",
        why=(
            "SQLite's NOCASE collation and LIKE fold only ASCII letters, so 'BÁO CÁO' "
            "does not equal or contain 'báo cáo' there; canhgac lowers every letter."
        ),
        reference=f"{RULES}, Detection > General: 'All values are treated as "
        "case-insensitive strings.'",
        right=CANHGAC,
        applies=_non_ascii_case,
    ),
    Verdict(
        name="field name case",
        why=(
            "SQLite column names are case-insensitive, so a rule's ProcessID reads an "
            "event's ProcessId; canhgac reads the field of exactly that name."
        ),
        reference=f"{RULES}, Detection > Field Usage: a Windows field is the Name "
        "attribute of its Data element, as the log writes it (and Elasticsearch, which "
        "the same pipeline will drive, is case-sensitive in field names too)",
        right=CANHGAC,
        applies=_field_name_case,
    ),
    Verdict(
        name="UserData values under their own name",
        why=(
            "WMI-Activity, log-cleared and other events keep their data under "
            "<UserData>; canhgac answers a rule's Operation with "
            "winlog.user_data.<Element>.Operation (as the evtx tools SigmaHQ tests with "
            "do), the flat table only has the winlog.user_data.* column."
        ),
        reference="SigmaHQ regression data: the rule must fire on its .evtx (e.g. "
        "win_wmi_activity_nteventlogfile_cleareventlog, info.yml match_count 1); "
        f"{RULES}, Field Usage: rules name a value by its name alone",
        right=CANHGAC,
        applies=_user_data_field,
    ),
    Verdict(
        name="numbers against text (column affinity)",
        why=(
            "SQLite converts by column affinity: on an INTEGER column the rule text "
            "'0443' becomes 443 and equals the event's 443; on a TEXT column (a field "
            "holding text in some event) the float 5.0 is stored as '5.0' and no longer "
            "equals the rule's 5. canhgac compares the rule's text with the value's "
            "text, and a rule number with the number."
        ),
        reference=f"{RULES}, Detection > General: values are strings ('0443' is not "
        "'443'); a number in the rule equals the same number in the event",
        right=CANHGAC,
        applies=_number_text_affinity,
    ),
    Verdict(
        name="gt/gte/lt/lte on text",
        why=(
            "On a TEXT column SQLite compares '999' > 1000 as text (true) and any "
            "non-number too; canhgac compares numbers only."
        ),
        reference=f"{MODIFIERS}, Numeric Modifiers: lt/lte/gt/gte compare numeric values",
        right=CANHGAC,
        applies=_ordering_on_text,
    ),
    Verdict(
        name="boolean against the number 1",
        why=(
            "The backend writes a rule's `true` as (field = 'true' OR field = 1) to suit "
            "tables that store booleans as 1; an event holding the number 1 is not a "
            "boolean, and canhgac does not match it."
        ),
        reference=f"{RULES}, Detection > General: values are compared as strings; "
        "'true' is not '1'",
        right=CANHGAC,
        applies=_boolean_as_number,
    ),
    Verdict(
        name="list values",
        why=(
            "A table cell holds one value, so a list (event.type = [connection, start]) "
            "is stored as its JSON text; canhgac matches a list when any element does."
        ),
        reference="ECS: a field may hold an array of values, and a query matches any "
        "of them (Elasticsearch semantics, which the pipeline also drives)",
        right=CANHGAC,
        applies=_list_value,
    ),
    Verdict(
        name="exists on a null value",
        why=(
            "A flat table stores a null value and an absent field alike as NULL, so "
            "`|exists: true` fails on a field present with null; canhgac sees the field."
        ),
        reference=f"{MODIFIERS}, Generic Modifiers, exists: 'this check only verifies "
        "the presence of a field, not its value, be it empty or null'",
        right=CANHGAC,
        applies=_exists_on_null,
    ),
)

BACKEND_LIMITATIONS: tuple[BackendLimitation, ...] = (
    BackendLimitation(
        name="keyword (unfielded) detections: SQLite has no full-text search on a plain table",
        stage="conversion",
        reason=r"Value-only string expressions .* are not supported by the backend",
        expected=28,
    ),
)

EXPECTED_QUERY_FAILURES = 0
"""SQLite runs every converted query once REGEXP is registered and a column exists for
every field a query names."""

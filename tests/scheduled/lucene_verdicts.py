"""Verdicts on the disagreements between the in-process engine and Elasticsearch Lucene.

test_differential_lucene.py runs the same rules over the same events in-process and as
the Lucene queries scheduled detection sends to Elasticsearch, and collects every
(rule, event) pair only one side matched: a `LuceneDisagreement`. Each is a bug in one
of the two, decided here by the Sigma specification: a `LuceneVerdict` is a CLASS of
disagreement (a predicate), why the two differ, the reference, and which side is wrong.
Every disagreement must fall in some class, and every class must still occur.

A verdict saying a side is wrong names a strict xfail test showing the bug with a
minimal rule and event, so that fixing it fails that test until the verdict goes.

Reference: RULES = Sigma rules specification v2.0.0
(https://github.com/SigmaHQ/sigma-specification, specification/sigma-rules-specification.md).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from canhgac.events import Event

Side = Literal["canhgac", "elasticsearch-lucene"]
CANHGAC: Side = "canhgac"
ELASTICSEARCH: Side = "elasticsearch-lucene"

RULES = "Sigma rules specification v2.0.0"


@dataclass(frozen=True, slots=True)
class LuceneDisagreement:
    """A (rule, event) pair only one side matched.

    `folded_copy_matched`: a copy of the event with the string values of the rule's
    (non-routing) fields lower-cased, stored beside it, was matched by the Lucene query.
    """

    rule_id: str
    title: str
    query: str
    matched_by: Side
    event: Event
    folded_copy_matched: bool


@dataclass(frozen=True, slots=True)
class LuceneVerdict:
    name: str
    wrong: Side
    why: str
    reference: str
    applies: Callable[[LuceneDisagreement], bool]
    shown_by: str
    """The strict xfail test (in test_differential_lucene.py) showing the bug."""


# Empty: the in-process engine and the Lucene queries agree on every compared pair.
# The last verdict, "keyword fields match case-sensitively in Elasticsearch" (18 pairs,
# e.g. '*nikto*' missing 'Nikto'), was fixed on the store side: every keyword field has
# a lower-cased `.caseless` copy that the queries search (scheduled/_lucene.py), shown
# by test_elasticsearch_matches_string_values_regardless_of_case.
VERDICTS: tuple[LuceneVerdict, ...] = ()

"""Bulk writes: what is retried, what is rejected, and that nothing disappears."""

from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from elastic_transport import ConnectionError as TransportConnectionError

from canhgac.storage._elasticsearch_bulk import (
    BulkAction,
    ElasticsearchUnavailableError,
    classify,
    error_text,
    write_bulk,
)

Answer = tuple[int, str | None]  # (status, error type) of one document


def create(n: int) -> BulkAction:
    return BulkAction("create", "canhgac-events-2026.11.24", f"e{n}", {"message": f"line {n}"})


def item(action: BulkAction, status: int, error: str | None) -> tuple[bool, dict[str, Any]]:
    body: dict[str, Any] = {"_index": action.index, "_id": action.id, "status": status}
    if error is not None:
        body["error"] = {"type": error, "reason": f"{error} for {action.id}"}
    return 200 <= status < 300, {action.op: body}


class FakeCluster:
    """Answers each try with the next scripted answer per document id (default: 201)."""

    def __init__(self, script: dict[str, list[Answer]]) -> None:
        self.script = script
        self.tries: list[list[str]] = []

    def send(self, actions: Sequence[BulkAction]) -> Iterable[tuple[bool, dict[str, Any]]]:
        self.tries.append([action.id for action in actions])
        for action in actions:
            answers = self.script.get(action.id) or [(201, None)]
            status, error = answers.pop(0) if len(answers) > 1 else answers[0]
            yield item(action, status, error)


@pytest.mark.parametrize(
    ("op", "status", "error", "expected"),
    [
        ("create", 201, None, "stored"),
        ("index", 200, None, "stored"),
        ("create", 409, "version_conflict_engine_exception", "exists"),
        ("update", 409, "version_conflict_engine_exception", "rejected"),
        ("create", 429, "es_rejected_execution_exception", "retry"),
        ("create", 503, "unavailable_shards_exception", "retry"),
        ("create", 403, "cluster_block_exception", "retry"),
        ("create", 400, "document_parsing_exception", "rejected"),
        ("create", 400, "index_closed_exception", "rejected"),
        ("update", 404, "document_missing_exception", "rejected"),
    ],
)
def test_each_answer_means_what_it_should(
    op: str, status: int, error: str | None, expected: str
) -> None:
    body: dict[str, Any] = {"status": status}
    if error:
        body["error"] = {"type": error, "reason": "r"}
    assert classify(op, body) == expected


def test_a_whole_request_failing_is_retried_not_rejected() -> None:
    failed = {"status": 401, "error": "AuthenticationException(401)", "exception": object()}
    assert classify("create", failed) == "retry"


def test_busy_documents_are_retried_with_backoff_until_stored() -> None:
    cluster = FakeCluster(
        {
            "e2": [(429, "es_rejected_execution_exception"), (201, None)],
            "e3": [(503, "unavailable_shards_exception")] * 2 + [(201, None)],
        }
    )
    slept: list[float] = []
    result = write_bulk(
        cluster.send,
        [create(n) for n in range(1, 5)],
        retry_delays=(0.5, 1.0, 2.0),
        sleep=slept.append,
    )
    assert result.rejected == []
    assert cluster.tries == [["e1", "e2", "e3", "e4"], ["e2", "e3"], ["e3"]]
    assert slept == [0.5, 1.0]


def test_documents_refused_for_good_are_returned_with_the_reason() -> None:
    cluster = FakeCluster(
        {
            "e1": [(400, "document_parsing_exception")],
            "e2": [(409, "version_conflict_engine_exception")],
        }
    )
    result = write_bulk(cluster.send, [create(1), create(2), create(3)], sleep=lambda _: None)
    assert [(f.action.id, f.status) for f in result.rejected] == [("e1", 400)]
    assert "document_parsing_exception" in result.rejected[0].error
    assert cluster.tries == [["e1", "e2", "e3"]]


def test_still_busy_after_the_last_retry_is_unavailable_not_dropped() -> None:
    cluster = FakeCluster({"e1": [(429, "es_rejected_execution_exception")]})
    with pytest.raises(ElasticsearchUnavailableError, match=r"1 document\(s\) after 3 tries"):
        write_bulk(
            cluster.send, [create(1), create(2)], retry_delays=(0.1, 0.1), sleep=lambda _: None
        )


def test_an_unreachable_cluster_is_unavailable() -> None:
    def refuse(actions: Sequence[BulkAction]) -> Iterable[tuple[bool, dict[str, Any]]]:
        raise TransportConnectionError("Connection refused")

    with pytest.raises(ElasticsearchUnavailableError, match="cannot reach"):
        write_bulk(refuse, [create(1)])


def test_update_conflicts_are_told_apart_from_rejections() -> None:
    update = BulkAction("update", "i", "inc-a", {"alert_count": 3}, if_seq_no=4, if_primary_term=1)
    cluster = FakeCluster({"inc-a": [(409, "version_conflict_engine_exception")]})
    result = write_bulk(cluster.send, [update])
    assert [f.action.id for f in result.conflicts] == ["inc-a"]
    assert result.rejected == []
    assert update.to_helper() == {
        "_op_type": "update",
        "_index": "i",
        "_id": "inc-a",
        "doc": {"alert_count": 3},
        "if_seq_no": 4,
        "if_primary_term": 1,
    }


def test_error_texts_name_the_type_reason_and_cause() -> None:
    error = {
        "type": "document_parsing_exception",
        "reason": "failed to parse field [source.ip]",
        "caused_by": {"type": "illegal_argument_exception", "reason": "not an IP"},
    }
    assert error_text(error) == (
        "document_parsing_exception: failed to parse field [source.ip] "
        "(illegal_argument_exception: not an IP)"
    )
    assert error_text("Connection refused") == "Connection refused"

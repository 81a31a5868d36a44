"""The portal monitor's pure logic: page normalization, similarity, and what one check
means given what was known before (no network: fetch results are written by hand)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canhgac.collectors import normalize_page, similarity
from canhgac.collectors._portal_checks import FetchResult, TargetState, assess, markers_on
from canhgac.config import PortalTarget

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
TARGET = PortalTarget.model_validate(
    {"name": "dvc", "url": "https://dichvucong.haugiang.gov.vn/", "slow_threshold": 2}
)

PAGE = """<html><head><script>window.token = "a81f"; track(1732400000);</script>
<style>body {{ color: red }}</style></head><body><!-- build 20261124.3 -->
<h1>Cổng  dịch vụ công</h1><p>Hôm nay {date}, lượt truy cập {visits}</p>
<a href="/thu-tuc?v={visits}">Thủ tục</a>
<input type="hidden" name="csrf" value="{token}"></body></html>"""


def page(date: str = "24/11/2026", visits: int = 1234, token: str = "9f" * 20) -> bytes:
    return PAGE.format(date=date, visits=visits, token=token).encode()


def ok(at: int, body: bytes = b"", elapsed: float = 0.1) -> FetchResult:
    return FetchResult(T0 + timedelta(minutes=at), elapsed, status=200, body=body or page())


def refused(at: int) -> FetchResult:
    return FetchResult(
        T0 + timedelta(minutes=at),
        0.01,
        error="[Errno 111] Connection refused",
        error_type="connection",
    )


def run(results: list[FetchResult]) -> list[list[str]]:
    """The actions each check raises, checking the results one after the other."""
    state = TargetState()
    actions = []
    for result in results:
        findings, state = assess(TARGET, result, state)
        actions.append([f.action for f in findings])
    return actions


def test_normalizing_drops_scripts_styles_comments_and_dynamic_values() -> None:
    tokens = normalize_page(page().decode())
    assert tokens == (
        "<html>",
        "<head>",
        "</head>",
        "<body>",
        "<h1>",
        "cổng",
        "dịch",
        "vụ",
        "công",
        "</h1>",
        "<p>",
        "hôm",
        "nay",
        "#",
        "#",
        "#",
        "lượt",
        "truy",
        "cập",
        "#",
        "</p>",
        "<a>",
        "@/thu-tuc",
        "thủ",
        "tục",
        "</a>",
        "<input>",
        "</body>",
        "</html>",
    )


def test_a_page_reloaded_with_new_dates_counters_and_tokens_is_the_same_page() -> None:
    first = normalize_page(page().decode())
    again = normalize_page(page("25/11/2026", 99871, "0c" * 20).decode())
    assert similarity(first, again) == 1.0


def test_a_replaced_page_is_mostly_different() -> None:
    first = normalize_page(page().decode())
    defaced = normalize_page("<html><body><h1>Hacked by Black Legion</h1></body></html>")
    assert similarity(first, defaced) < 0.5


def test_a_large_page_with_a_few_edits_stays_similar() -> None:
    tags = ["<div>", "</div>", "<p>", "</p>", "<a>", "</a>", "<li>", "</li>"]
    vocabulary = [f"tu{n}" for n in range(400)] + tags * 40
    page = tuple(vocabulary[(n * 7919) % len(vocabulary)] for n in range(5000))
    edited = tuple("mới" if n % 50 == 0 else token for n, token in enumerate(page))
    # 100 edits, 50 apart, each in 3 of the 4,998 runs of 3 tokens (the first in only 1):
    # 298 runs differ, 4,700 are shared.
    assert similarity(page, edited) == pytest.approx(2 * 4700 / (2 * 4998))


def test_markers_ignore_case_and_blanks() -> None:
    assert markers_on("<h1>HACKED   by\nX</h1>", ["hacked by", "h4ck"]) == ("hacked by",)


def test_an_outage_is_reported_once_then_its_recovery_with_its_length() -> None:
    assert run([ok(0), refused(1), refused(2), ok(12)]) == [
        [],
        ["portal_down"],
        [],
        ["portal_up"],
    ]
    state = TargetState()
    for result in (ok(0), refused(1)):
        _, state = assess(TARGET, result, state)
    findings, _ = assess(TARGET, ok(12), state)
    assert findings[0].reason == "answering again after 11 min down"
    assert findings[0].fields["canhgac.portal.downtime_seconds"] == 660.0


def test_an_unexpected_status_is_an_outage() -> None:
    findings, _ = assess(TARGET, FetchResult(T0, 0.1, status=502, body=b"bad"), TargetState())
    assert [(f.action, f.reason) for f in findings] == [
        ("portal_down", "answered 502, expected 200")
    ]


def test_slowness_is_reported_when_it_starts() -> None:
    assert run([ok(0), ok(1, elapsed=2.5), ok(2, elapsed=3.0), ok(3), ok(4, elapsed=5)]) == [
        [],
        ["portal_slow"],
        [],
        [],
        ["portal_slow"],
    ]


def test_a_defacement_is_reported_when_it_starts_and_clears_when_the_page_is_back() -> None:
    defaced = b"<html><body><h1>Owned by nobody</h1><img src=/x.gif></body></html>"
    assert run([ok(0), ok(1, defaced), ok(2, defaced), ok(3), ok(4, defaced)]) == [
        [],
        ["portal_defaced"],
        [],
        [],
        ["portal_defaced"],
    ]


def test_a_marker_on_a_first_page_is_reported_and_an_approved_one_is_not() -> None:
    marked = page().replace(b"Th\xe1\xbb\xa7 t\xe1\xbb\xa5c", b"hacked by team X")
    assert run([ok(0, marked)]) == [["portal_defaced"]]
    _, state = assess(TARGET, ok(0, marked), TargetState(), rebaseline=True)
    assert state.baseline_markers == ("hacked by",)
    findings, _ = assess(TARGET, ok(1, marked), state)
    assert findings == []


def test_the_state_survives_its_json_form() -> None:
    state = TargetState()
    for result in (ok(0), refused(1)):
        _, state = assess(TARGET, result, state)
    assert TargetState.from_json(state.to_json()) == state
    assert state.active == {"down": "down"}


def test_an_invalid_certificate_is_reported_once_per_reason() -> None:
    def untrusted(at: int, reason: str) -> FetchResult:
        return FetchResult(
            T0 + timedelta(minutes=at), 0.1, status=200, body=page(), tls_error=reason
        )

    assert run(
        [
            untrusted(0, "self-signed certificate"),
            untrusted(1, "self-signed certificate"),
            untrusted(2, "certificate has expired"),
            ok(3),
        ]
    ) == [["tls_certificate_invalid"], [], ["tls_certificate_invalid"], []]


@given(st.text(max_size=2000))
def test_normalizing_any_text_gives_tokens_and_is_stable(text: str) -> None:
    tokens = normalize_page(text)
    assert all(token and "\n" not in token for token in tokens)
    assert normalize_page(text) == tokens
    assert similarity(tokens, tokens) == 1.0


@given(
    st.lists(st.sampled_from("abcde"), max_size=60), st.lists(st.sampled_from("abcde"), max_size=60)
)
def test_similarity_is_symmetric_and_between_0_and_1(first: list[str], second: list[str]) -> None:
    forward = similarity(first, second)
    assert 0.0 <= forward <= 1.0
    assert forward == similarity(second, first)
    assert similarity(first, first) == 1.0

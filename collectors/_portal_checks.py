"""What a portal check means: pure logic, no I/O.

`assess` compares one fetch (`FetchResult`) of a target with what is known of it
(`TargetState`) and returns the findings to report and the new state. A condition
(down, slow, TLS invalid, TLS expiring, defaced) is reported when it starts or when its
detail changes (another TLS error, a new certificate), not at every check; a portal
coming back up is reported as a recovery.

Defacement: the page is reduced to tokens (`normalize_page`: scripts, styles, comments
and attribute values other than links dropped, numbers and long tokens such as CSRF
nonces replaced), compared with the stored baseline's tokens by the runs of three
tokens they share (`similarity`), and reported
when the changed share exceeds the target's threshold, or when a marker ("hacked by")
is on the page but was not in a baseline an administrator approved.
"""

import html
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from canhgac.config import PortalTarget
from canhgac.events import FieldValue

MAX_TOKENS = 50_000
"""Tokens of a page compared; the rest of a huge page is ignored."""
SHINGLE = 3
"""Tokens a run has when pages are compared (see `similarity`)."""

DOWN = "down"
SLOW = "slow"
TLS_INVALID = "tls_invalid"
TLS_EXPIRING = "tls_expiring"
DEFACED = "defaced"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One GET of a target, as the fetcher saw it."""

    started: datetime
    elapsed: float
    """Seconds from sending the request to the end of the body (or to the failure)."""
    status: int | None = None
    body: bytes = b""
    charset: str | None = None
    error: str | None = None
    """Why no answer came ("connection refused", "no answer within 10 s")."""
    error_type: str | None = None
    """"timeout", "connection" or "http" when `error` is set."""
    certificate: bytes | None = None
    """The server's certificate (DER) over HTTPS, read even when it is not trusted."""
    tls_error: str | None = None
    """Why the certificate failed verification ("certificate has expired")."""


@dataclass(frozen=True, slots=True)
class Certificate:
    not_before: datetime
    not_after: datetime
    subject: str
    issuer: str
    sha256: str


@dataclass(frozen=True, slots=True)
class TargetState:
    """What is known of a target between checks; kept in the store as a checkpoint."""

    active: Mapping[str, str] = field(default_factory=dict)
    """Conditions reported and not over yet, each with its detail."""
    since: Mapping[str, str] = field(default_factory=dict)
    """When each active condition started (ISO 8601)."""
    baseline: str | None = None
    """The normalized page, tokens joined by newlines."""
    baseline_markers: tuple[str, ...] = ()
    """Markers an administrator approved by re-baselining a page that has them."""
    baseline_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "active": dict(self.active),
            "since": dict(self.since),
            "baseline": self.baseline,
            "baseline_markers": list(self.baseline_markers),
            "baseline_at": self.baseline_at.isoformat() if self.baseline_at else None,
        }

    @classmethod
    def from_json(cls, state: Mapping[str, Any]) -> "TargetState":
        baseline_at = state.get("baseline_at")
        return cls(
            active={str(k): str(v) for k, v in dict(state.get("active") or {}).items()},
            since={str(k): str(v) for k, v in dict(state.get("since") or {}).items()},
            baseline=state.get("baseline"),
            baseline_markers=tuple(str(m) for m in state.get("baseline_markers") or ()),
            baseline_at=datetime.fromisoformat(baseline_at) if baseline_at else None,
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """Something to report: `action` becomes event.action, `reason` event.reason."""

    action: str
    reason: str
    fields: Mapping[str, FieldValue] = field(default_factory=dict)


def read_certificate(der: bytes) -> Certificate:
    """The dates and names of a DER certificate; ValueError when it cannot be read."""
    cert = x509.load_der_x509_certificate(der)
    return Certificate(
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        subject=_common_name(cert.subject),
        issuer=_common_name(cert.issuer),
        sha256=cert.fingerprint(hashes.SHA256()).hex().upper(),
    )


def _common_name(name: x509.Name) -> str:
    common = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(common[0].value) if common else name.rfc4514_string()


# -- page normalization -----------------------------------------------------------------
_DROPPED = re.compile(
    r"<script\b.*?</script\s*>|<style\b.*?</style\s*>|<noscript\b.*?</noscript\s*>|<!--.*?-->",
    re.IGNORECASE | re.DOTALL,
)
_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9:-]*)([^>]*)>", re.DOTALL)
_LINK = re.compile(r"""\b(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)
# Numbers (dates, counters, visitor counts) and long opaque tokens (CSRF, nonces, session
# ids) change on every load of a healthy page.
_DYNAMIC = re.compile(r"^(?:\d+|[0-9a-f]{12,}|\w{32,})$", re.IGNORECASE)


def normalize_page(page: str) -> tuple[str, ...]:
    """The page as tokens: tag names, link targets (without query) and lowercased words,
    with dynamic tokens replaced by "#"."""
    tokens: list[str] = []
    text = _DROPPED.sub(" ", page)
    position = 0
    for tag in _TAG.finditer(text):
        _words(text[position : tag.start()], tokens)
        closing, name, attributes = tag.groups()
        tokens.append(f"<{closing}{name.lower()}>")
        for link in _LINK.finditer(attributes):
            target = next(part for part in link.groups() if part is not None)
            link_path = "".join(html.unescape(target).split("?", 1)[0].split())
            tokens.append("@" + _dynamic_free(link_path))
        position = tag.end()
        if len(tokens) >= MAX_TOKENS:
            return tuple(tokens[:MAX_TOKENS])
    _words(text[position:], tokens)
    return tuple(tokens[:MAX_TOKENS])


def _words(text: str, tokens: list[str]) -> None:
    for word in _WORD.findall(html.unescape(text).lower()):
        tokens.append("#" if _DYNAMIC.match(word) else word)


def _dynamic_free(link: str) -> str:
    return "/".join("#" if _DYNAMIC.match(part) else part for part in link.split("/"))


def similarity(baseline: Sequence[str], page: Sequence[str]) -> float:
    """How alike two token sequences are, 0 (nothing in common) to 1 (the same): the
    share of their runs of `SHINGLE` tokens they have in common (Dice coefficient over
    the multisets). Linear in the pages' size, and a block of news moved up the page
    counts as unchanged."""
    if baseline == page:
        return 1.0
    if not baseline or not page:
        return 0.0
    ours, theirs = _shingles(baseline), _shingles(page)
    common = sum((ours & theirs).values())
    return 2 * common / (ours.total() + theirs.total())


def _shingles(tokens: Sequence[str]) -> Counter[tuple[str, ...]]:
    size = min(SHINGLE, len(tokens))
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def markers_on(text: str, markers: Sequence[str]) -> tuple[str, ...]:
    """The markers present in the page's text, ignoring case and runs of blanks."""
    flat = " ".join(text.lower().split())
    return tuple(m for m in markers if " ".join(m.lower().split()) in flat)


def decode_page(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", "replace")
    except LookupError:
        return body.decode("utf-8", "replace")


# -- assessment -------------------------------------------------------------------------
class _Conditions:
    """The active conditions while one check is assessed, and the findings it raised."""

    def __init__(self, state: TargetState, now: datetime) -> None:
        self.now = now
        self.active = dict(state.active)
        self.since = dict(state.since)
        self.findings: list[Finding] = []

    def begin(self, condition: str, detail: str, finding: Finding) -> None:
        """Report `finding` unless the condition is active already with the same detail."""
        if self.active.get(condition) != detail:
            self.findings.append(finding)
            self.since.setdefault(condition, self.now.isoformat())
            self.active[condition] = detail

    def end(self, condition: str) -> str | None:
        """Clear the condition; returns when it had started, if it was active."""
        self.active.pop(condition, None)
        return self.since.pop(condition, None)


def assess(
    target: PortalTarget,
    result: FetchResult,
    state: TargetState,
    *,
    rebaseline: bool = False,
) -> tuple[list[Finding], TargetState]:
    """The findings of one check and the target's new state.

    `rebaseline` (an administrator asked for it) makes this answer's page the new
    baseline, approving the markers it has.
    """
    conditions = _Conditions(state, result.started)
    down_reason = _down_reason(target, result)
    if down_reason is not None:
        # One outage, whatever its symptoms along the way (503, then refused).
        conditions.begin(DOWN, DOWN, Finding("portal_down", down_reason, _error_fields(result)))
        conditions.end(SLOW)
    else:
        _assess_recovery_and_speed(target, result, conditions)
    _assess_tls(target, result, conditions)
    if result.status is not None and result.status in target.expected_status:
        state = _assess_content(target, result, state, rebaseline, conditions)
    return conditions.findings, replace(state, active=conditions.active, since=conditions.since)


def _down_reason(target: PortalTarget, result: FetchResult) -> str | None:
    if result.error is not None:
        return result.error
    if result.status is None:
        return "no answer"
    if result.status not in target.expected_status:
        expected = ", ".join(str(code) for code in target.expected_status)
        return f"answered {result.status}, expected {expected}"
    return None


def _error_fields(result: FetchResult) -> dict[str, FieldValue]:
    if result.error is None:
        return {"error.type": "status"}
    return {"error.message": result.error, "error.type": result.error_type or "connection"}


def _assess_recovery_and_speed(
    target: PortalTarget, result: FetchResult, conditions: _Conditions
) -> None:
    down_since = conditions.end(DOWN)
    if down_since is not None:
        seconds = (result.started - datetime.fromisoformat(down_since)).total_seconds()
        conditions.findings.append(
            Finding(
                "portal_up",
                f"answering again after {_duration_text(seconds)} down",
                {"canhgac.portal.downtime_seconds": round(seconds, 3)},
            )
        )
    if result.elapsed > target.slow_threshold:
        conditions.begin(
            SLOW,
            "slow",
            Finding(
                "portal_slow",
                f"answered in {result.elapsed:.2f} s, slower than {target.slow_threshold:g} s",
                {"canhgac.portal.slow_threshold_seconds": target.slow_threshold},
            ),
        )
    else:
        conditions.end(SLOW)


def _assess_tls(target: PortalTarget, result: FetchResult, conditions: _Conditions) -> None:
    cert: Certificate | None = None
    if result.certificate is not None:
        try:
            cert = read_certificate(result.certificate)
        except ValueError:
            cert = None
    if result.tls_error is not None:
        conditions.begin(
            TLS_INVALID,
            result.tls_error + (f" ({cert.sha256})" if cert else ""),
            Finding(
                "tls_certificate_invalid",
                f"TLS certificate not trusted: {result.tls_error}",
                {"tls.established": False},
            ),
        )
    elif result.certificate is not None or result.error is None:
        # A connection that failed before TLS says nothing of the certificate.
        conditions.end(TLS_INVALID)
    if cert is None:
        return
    days_left = (cert.not_after - result.started).total_seconds() / 86_400
    if 0 <= days_left <= target.certificate_warning_days:
        conditions.begin(
            TLS_EXPIRING,
            cert.sha256,
            Finding(
                "tls_certificate_expiring",
                f"TLS certificate expires in {days_left:.1f} days, on "
                f"{cert.not_after:%Y-%m-%d %H:%M} UTC",
                {"canhgac.portal.certificate_days_left": round(days_left, 2)},
            ),
        )
    else:
        conditions.end(TLS_EXPIRING)


def _assess_content(
    target: PortalTarget,
    result: FetchResult,
    state: TargetState,
    rebaseline: bool,
    conditions: _Conditions,
) -> TargetState:
    text = decode_page(result.body, result.charset)
    tokens = normalize_page(text)
    found = markers_on(text, target.markers)
    if rebaseline or state.baseline is None:
        # A baseline taken automatically approves no marker; one an administrator asked
        # for approves those on the page.
        state = replace(
            state,
            baseline="\n".join(tokens),
            baseline_markers=found if rebaseline else (),
            baseline_at=result.started,
        )
        if rebaseline:
            conditions.end(DEFACED)
            return state
    baseline = tuple(state.baseline.split("\n")) if state.baseline else ()
    unexpected = tuple(m for m in found if m not in state.baseline_markers)
    ratio = similarity(baseline, tokens)
    changed = 1.0 - ratio
    fields: dict[str, FieldValue] = {
        "canhgac.portal.similarity": round(ratio, 4),
        "canhgac.portal.defacement_threshold": target.defacement_threshold,
    }
    if unexpected:
        fields["canhgac.portal.markers"] = unexpected
        conditions.begin(
            DEFACED,
            "markers:" + ",".join(unexpected),
            Finding(
                "portal_defaced",
                "defacement marker on the page: " + ", ".join(repr(m) for m in unexpected),
                fields,
            ),
        )
    elif changed > target.defacement_threshold:
        taken = state.baseline_at or result.started
        conditions.begin(
            DEFACED,
            "changed",
            Finding(
                "portal_defaced",
                f"{changed:.0%} of the page changed against its baseline of "
                f"{taken:%Y-%m-%d %H:%M} UTC (threshold {target.defacement_threshold:.0%})",
                fields,
            ),
        )
    else:
        conditions.end(DEFACED)
    return state


def _duration_text(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

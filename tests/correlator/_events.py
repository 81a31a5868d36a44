"""Hand-built ECS events and inline rules for the correlator tests."""

import itertools
import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sigma.rule import SigmaRule

from canhgac.correlator import CompiledRule, RuleSet, compile_rule, load_rules
from canhgac.events import Event, FieldValue
from canhgac.parsers import ParseContext, normalize_windows_event

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
PORTAL = "dichvucong.haugiang.gov.vn"

_ids = itertools.count(1)


def event(
    fields: Mapping[str, FieldValue], *, at: datetime = T0, seconds: float = 0, id: str = ""
) -> Event:
    """An event at T0 + seconds (or `at`), with a fresh id unless one is given."""
    return Event(
        id=id or f"ev-{next(_ids)}",
        timestamp=at + timedelta(seconds=seconds),
        fields=dict(fields),
    )


def web_event(
    path: str,
    *,
    query: str | None = None,
    agent: str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
    ip: str = "203.113.131.5",
    method: str = "GET",
    status: int = 200,
    seconds: float = 0,
    dataset: str = "nginx.access",
) -> Event:
    """An access-log event as the nginx parser emits it, with the request line kept raw."""
    target = path if query is None else f"{path}?{query}"
    fields: dict[str, FieldValue] = {
        "event.kind": "event",
        "event.category": ("web",),
        "event.type": ("access",),
        "event.dataset": dataset,
        "event.module": dataset.split(".")[0],
        "event.outcome": "success" if status < 400 else "failure",
        "source.ip": ip,
        "source.address": ip,
        "http.request.method": method,
        "url.original": target,
        "url.path": path,
        "http.version": "1.1",
        "http.response.status_code": status,
        "http.response.body.bytes": 5123,
        "http.request.referrer": f"https://{PORTAL}/",
        "user_agent.original": agent,
        "labels.system": "portal",
        "organization.name": "Sở Thông tin và Truyền thông",
        "event.original": (
            f'{ip} - - [24/Nov/2026:15:00:00 +0700] "{method} {target} HTTP/1.1" '
            f'{status} 5123 "https://{PORTAL}/" "{agent}"'
        ),
    }
    if query is not None:
        fields["url.query"] = query
    return event(fields, seconds=seconds)


def ssh_event(
    outcome: str, *, ip: str = "45.77.10.20", user: str = "root", seconds: float = 0
) -> Event:
    """An sshd "Failed password" / "Accepted password" line as the auth parser reads it."""
    verb = "Failed" if outcome == "failure" else "Accepted"
    message = f"{verb} password for {user} from {ip} port 52144 ssh2"
    return event(
        {
            "event.kind": "event",
            "event.category": ("authentication",),
            "event.dataset": "system.auth",
            "event.module": "system",
            "event.action": "ssh_login",
            "event.outcome": outcome,
            "host.name": "portal-web01",
            "process.name": "sshd",
            "process.pid": 1234,
            "user.name": user,
            "source.ip": ip,
            "source.port": 52144,
            "message": message,
            "labels.system": "portal",
            "organization.name": "Sở Thông tin và Truyền thông",
            "event.original": f"Nov 24 08:00:00 portal-web01 sshd[1234]: {message}",
        },
        seconds=seconds,
    )


def sudo_event(user: str, *, target: str = "root", seconds: float = 0) -> Event:
    """A sudo COMMAND line as the auth parser reads it."""
    message = f"  {user} : TTY=pts/0 ; PWD=/home/{user} ; USER={target} ; COMMAND=/bin/bash"
    return event(
        {
            "event.kind": "event",
            "event.dataset": "system.auth",
            "event.module": "system",
            "event.action": "sudo_command",
            "host.name": "motcua-app02",
            "process.name": "sudo",
            "user.name": user,
            "user.effective.name": target,
            "process.command_line": "/bin/bash",
            "process.working_directory": f"/home/{user}",
            "message": message,
            "event.original": f"Nov 24 08:00:00 motcua-app02 sudo: {message}",
        },
        seconds=seconds,
    )


def sigma_rule(detection: Mapping[str, Any], **extra: Any) -> SigmaRule:
    """A rule built from a dict (values need no YAML quoting), pySigma errors raised."""
    document: dict[str, Any] = {
        "title": "test rule",
        "logsource": {"category": "test"},
        "detection": dict(detection),
    }
    document.update(extra)
    return SigmaRule.from_dict(document)


def compiled(detection: Mapping[str, Any], **extra: Any) -> CompiledRule:
    """A rule compiled without the logsource pipeline: ECS field names, no routing."""
    return compile_rule(sigma_rule(detection, **extra))


def write_rules(folder: Path, name: str, text: str) -> Path:
    """Write an inline YAML rule file (indentation of the literal removed)."""
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_inline(folder: Path, **files: str) -> RuleSet:
    """Load only the given inline rule files (name -> YAML), without the bundled rules."""
    paths = [write_rules(folder, name, text) for name, text in files.items()]
    return load_rules(paths, bundled=False)


def ssh_failure_count(title: str, threshold: int) -> dict[str, str]:
    """Inline rule files for `load_inline`: "Failed" (a failed sshd login, b.yml) and the
    event_count correlation `title` (c.yml), firing at `threshold` of them from one
    source.ip within 5 minutes."""
    failed = """
    title: Failed
    name: failed
    logsource:
        product: linux
        service: sshd
    detection:
        selection:
            event.outcome: failure
        condition: selection
    """
    count = f"""
    title: {title}
    correlation:
        type: event_count
        rules: [failed]
        group-by: [source.ip]
        timespan: 5m
        condition:
            gte: {threshold}
    """
    return {"b.yml": failed, "c.yml": count}


SYSMON = "Microsoft-Windows-Sysmon/Operational"


def windows_event(
    channel: str,
    event_id: int,
    *,
    seconds: float = 0,
    provider: str | None = None,
    computer: str = "ubnd-ws01.haugiang.gov.vn",
    user_data: Mapping[str, FieldValue] | None = None,
    **event_data: FieldValue,
) -> Event:
    """A Windows event shaped as the normalizer writes it (winlog.* fields)."""
    fields: dict[str, FieldValue] = {
        "winlog.channel": channel,
        "winlog.event_id": event_id,
        "winlog.provider_name": provider or channel.split("/")[0],
        "winlog.computer_name": computer,
        "winlog.record_id": next(_ids),
        "event.code": str(event_id),
        "host.name": computer,
        "event.original": "{}",
    }
    fields.update({f"winlog.event_data.{name}": value for name, value in event_data.items()})
    fields.update({f"winlog.user_data.{path}": value for path, value in (user_data or {}).items()})
    return event(fields, seconds=seconds)


def normalized_windows_event(channel: str, event_id: int, **event_data: FieldValue) -> Event:
    """A Windows event as the real normalizer writes it, from a flat export record (for
    the fields the normalizer adds, e.g. 4688's Image and ParentImage)."""
    record: dict[str, Any] = {
        "EventID": event_id,
        "Channel": channel,
        "Computer": "ubnd-ws01.haugiang.gov.vn",
        "EventRecordID": next(_ids),
        "SystemTime": "2026-11-24T08:00:00.000000Z",
        **event_data,
    }
    parsed = normalize_windows_event(record, ParseContext(T0, UTC))
    return event(parsed.fields, at=parsed.timestamp)

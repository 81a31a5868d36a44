"""Linux authentication logs (`/var/log/auth.log`, `/var/log/secure`).

Line shape, in either timestamp style:

    Nov 24 08:15:02 web01 sshd[1234]: Failed password for root from 203.0.113.7 port 50122 ssh2
    2026-11-24T08:15:02.123456+07:00 web01 sshd[1234]: Failed password for root ...

Year-less timestamps are dated by the year rule of parsers/_syslog_time.py: the year of
`context.reference_time` in `context.timezone`, or the previous year when that would put
the line more than one day after the reference time (December lines read in January);
29 February takes the latest leap year the rule allows. Timestamps without an offset
are in `context.timezone`.

Every line gives host.name (the host the line names, so `context.hostname` is not
needed), process.name, process.pid (int, when logged), message (the text after
"program[pid]:", trimmed), event.kind=event, event.module=system and
event.dataset=system.auth. A line of any other program, or a message not listed below,
stops there: no event.action, category or outcome.
rsyslog's `message repeated N times: [ ... ]` is read as the message inside the
brackets (one event; `message` keeps the whole text).

Messages and what they add. U is a user, A a client address, P a port; "auth" is
event.category=[authentication], "session" [session], "process" [process]; the word after
it is event.type.

sshd (also sshd-session, sshd-auth), as action (category type; outcome) and message:

    ssh_login (auth start; success for Accepted, failure for Failed)
        Accepted|Failed METHOD for [invalid user ]U from A port P ssh2
    ssh_invalid_user (auth info; failure)
        Invalid user U from A [port P]
    ssh_connection_closed (auth end; failure when qualified, else none)
        Connection closed by [[authenticating |invalid ]user U ]A port P [preauth]
    ssh_disconnected (auth end; failure when qualified, else none)
        Disconnected from [[authenticating |invalid ]user U ]A port P [preauth]
    ssh_max_auth_attempts_exceeded (auth info; failure)
        error: maximum authentication attempts exceeded for [invalid user ]U from A port P
    ssh_pam_authentication_failure (auth start; failure)
        PAM: Authentication failure for [illegal user ]U from A

"Qualified": the message says "authenticating user" or "invalid user" (the client gave up
or was cut off before logging in); a plain close or disconnect has no outcome.

sudo, su, and PAM modules (pam_unix, pam_sss, ...) from any program:

    sudo_command (process start; failure when a REASON is given, else success)
        U : [REASON ; ]TTY=T ; PWD=D ; USER=E ; COMMAND=C
    su_switch_user (auth start; failure for FAILED SU or "-", else success)
        [FAILED SU ](to E) U on T          older su: +|- T U:E
    pam_authentication_failure (auth start; failure)
        pam_X(S:T): authentication failure; logname=.. uid=.. ruser=R rhost=A user=U
    pam_session_opened (session start; success)
        pam_X(S:T): session opened for user U[(uid=N)] by [B][(uid=N)]
    pam_session_closed (session end; success)
        pam_X(S:T): session closed for user U

Field choices (ECS names only; custom values go to `labels`, ECS's place for them):

| value                                  | ECS field                                          |
|----------------------------------------|----------------------------------------------------|
| U, the user acting or tried            | user.name                                          |
| A, the client                          | source.address as logged, copied (as ECS asks) to  |
|                                        | source.ip, canonical, IPv4-mapped IPv6 as IPv4, or |
|                                        | for a host name to source.domain                   |
| P                                      | source.port (int)                                  |
| ssh METHOD (password, publickey, ...)  | labels.ssh_method: ECS has no authentication-      |
|                                        | method field                                       |
| sudo USER=E, su (to E)                 | user.effective.name: ECS's effective user "e.g.    |
|                                        | via sudo, su"                                      |
| sudo COMMAND=C                         | process.command_line (the command sudo runs)       |
| sudo PWD=D                             | process.working_directory                          |
| sudo REASON ("user NOT in sudoers",    | event.reason: ECS's why of the outcome             |
|   "3 incorrect password attempts")     |                                                    |
| pam ruser=R, user=U                    | user.name=R, user.effective.name=U when R is set   |
|                                        | and differs (su asks root's password for alice);   |
|                                        | otherwise user.name=U                              |
| pam session "for user U by B"          | user.name=B, user.effective.name=U when B is named |
|                                        | and differs (su, sudo); otherwise user.name=U.     |
|                                        | login(1) names its caller "LOGIN": not a user      |
| tty, logname, uid, euid, key           | not mapped (kept in message): no ECS keyword field |
|   fingerprint, PAM service             |                                                    |
"""

import re

from canhgac.events import FieldValue
from canhgac.parsers._base import ParseContext, ParsedRecord, ParseError
from canhgac.parsers._source_address import source_address_fields
from canhgac.parsers._syslog_time import parse_classic_timestamp, parse_rfc3339_timestamp

_CLASSIC_TIME = r"[A-Za-z]{3} {1,2}\d{1,2} \d{2}:\d{2}:\d{2}"
_RFC3339_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?"

_LINE = re.compile(
    rf"(?:({_CLASSIC_TIME})|({_RFC3339_TIME})) (\S+) ([^\s\[\]:]+)(?:\[(\d{{1,10}})\])?:(.*)",
    re.ASCII | re.DOTALL,
)

_DIAGNOSIS = (
    (
        re.compile(rf"(?:{_CLASSIC_TIME}|{_RFC3339_TIME}) ", re.ASCII),
        "no syslog timestamp at the start (expected 'Nov 24 08:15:02' or RFC 3339)",
    ),
    (
        re.compile(rf"(?:{_CLASSIC_TIME}|{_RFC3339_TIME}) \S", re.ASCII),
        "no host name after the timestamp",
    ),
)

_REPEATED = re.compile(r"message repeated \d{1,10} times: \[(.*)\]", re.ASCII | re.DOTALL)

_SSH_LOGIN = re.compile(
    r"(Accepted|Failed) (\S+) for (?:invalid user )?(.*?) from (\S+) port (\d{1,5})(?:\s.*)?",
    re.ASCII | re.DOTALL,
)
_SSH_INVALID_USER = re.compile(
    r"Invalid user (.*?) from (\S+)(?: port (\d{1,5}))?(?:\s.*)?", re.ASCII | re.DOTALL
)
_SSH_CLOSED = re.compile(
    r"(Connection closed by|Disconnected from)"
    r" (?:(?:(authenticating|invalid) )?user (.*?) )?(\S+) port (\d{1,5})(?:\s.*)?",
    re.ASCII | re.DOTALL,
)
_SSH_MAX_AUTH = re.compile(
    r"error: maximum authentication attempts exceeded for (?:invalid user )?(.*?)"
    r" from (\S+) port (\d{1,5})(?:\s.*)?",
    re.ASCII | re.DOTALL,
)
_SSH_PAM_FAILURE = re.compile(
    r"PAM: Authentication failure for (?:illegal user |invalid user )?(.*?) from (\S+)",
    re.ASCII | re.DOTALL,
)

_PAM = re.compile(r"pam_\w+\(([^:()]*):([^()]*)\): (.*)", re.ASCII | re.DOTALL)
_PAM_PAIR = re.compile(r"(\w+)=(\S*)", re.ASCII)
_PAM_OPENED = re.compile(
    r"session opened for user (\S+?)(?:\(uid=\d+\))?(?: by (\S*?)(?:\(uid=\d+\))?)?\s*",
    re.ASCII | re.DOTALL,
)
_PAM_CLOSED = re.compile(r"session closed for user (\S+?)(?:\(uid=\d+\))?\s*", re.ASCII)

_SU = re.compile(r"(FAILED SU )?\(to (\S+)\) (\S+) on (\S+)", re.ASCII)
_SU_OLDER = re.compile(r"([+-]) (\S+) ([^\s:]+):(\S+)", re.ASCII)

_SSHD_PROGRAMS = frozenset({"sshd", "sshd-session", "sshd-auth"})
_AUTHENTICATION = ("authentication",)
_SESSION = ("session",)
_PROCESS = ("process",)
_START = ("start",)
_END = ("end",)
_INFO = ("info",)


class AuthLogParser:
    """auth.log / secure lines from sshd, sudo, su, PAM and any other program."""

    __slots__ = ()
    name = "auth"

    def parse(self, line: str, context: ParseContext) -> ParsedRecord:
        """Parse one auth-log line; see the module docstring for the fields."""
        match = _LINE.fullmatch(line)
        if match is None:
            raise ParseError(_diagnose(line))
        classic, rfc3339, host, program, pid, text = match.groups()
        if classic is not None:
            timestamp = parse_classic_timestamp(classic, context)
        else:
            timestamp = parse_rfc3339_timestamp(rfc3339, context)
        message = text.strip()
        fields: dict[str, FieldValue] = {
            "event.kind": "event",
            "event.module": "system",
            "event.dataset": "system.auth",
            "host.name": host,
            "process.name": program,
            "message": message,
        }
        if pid is not None:
            fields["process.pid"] = int(pid)
        repeated = _REPEATED.fullmatch(message)
        body = repeated.group(1).strip() if repeated is not None else message
        pam = _PAM.fullmatch(body) if body.startswith("pam_") else None
        if pam is not None:
            _pam_fields(pam.group(3), fields)
        elif program in _SSHD_PROGRAMS:
            _sshd_fields(body, fields)
        elif program == "sudo":
            _sudo_fields(body, fields)
        elif program == "su":
            _su_fields(body, fields)
        return ParsedRecord(timestamp=timestamp, fields=fields)

    def recognizes(self, line: str) -> bool:
        """Whether the line is a syslog line with a program name (any program)."""
        return _LINE.fullmatch(line) is not None


def _diagnose(line: str) -> str:
    for prefix, reason in _DIAGNOSIS:
        if prefix.match(line) is None:
            return f"not an auth-log line: {reason}"
    return "not an auth-log line: no 'program[pid]:' after the host name"


def _set_user(fields: dict[str, FieldValue], user: str) -> None:
    if user:
        fields["user.name"] = user


def _set_source(fields: dict[str, FieldValue], address: str, port: str | None) -> None:
    source_address_fields(address, fields)
    if port is not None:
        fields["source.port"] = int(port)


def _authentication(
    fields: dict[str, FieldValue], action: str, kind: tuple[str], outcome: str | None
) -> None:
    fields["event.action"] = action
    fields["event.category"] = _AUTHENTICATION
    fields["event.type"] = kind
    if outcome is not None:
        fields["event.outcome"] = outcome


def _sshd_fields(body: str, fields: dict[str, FieldValue]) -> None:
    if body.startswith(("Accepted ", "Failed ")):
        login = _SSH_LOGIN.fullmatch(body)
        if login is not None:
            result, method, user, address, port = login.groups()
            outcome = "success" if result == "Accepted" else "failure"
            _authentication(fields, "ssh_login", _START, outcome)
            _set_user(fields, user)
            _set_source(fields, address, port)
            fields["labels.ssh_method"] = method
    elif body.startswith("Invalid user "):
        invalid = _SSH_INVALID_USER.fullmatch(body)
        if invalid is not None:
            user, address, port = invalid.groups()
            _authentication(fields, "ssh_invalid_user", _INFO, "failure")
            _set_user(fields, user)
            _set_source(fields, address, port)
    elif body.startswith(("Connection closed by ", "Disconnected from ")):
        closed = _SSH_CLOSED.fullmatch(body)
        if closed is not None:
            what, qualifier, user, address, port = closed.groups()
            action = "ssh_connection_closed" if what.startswith("C") else "ssh_disconnected"
            _authentication(fields, action, _END, "failure" if qualifier else None)
            if user is not None:
                _set_user(fields, user)
            _set_source(fields, address, port)
    elif body.startswith("error: maximum authentication attempts exceeded for "):
        exceeded = _SSH_MAX_AUTH.fullmatch(body)
        if exceeded is not None:
            user, address, port = exceeded.groups()
            _authentication(fields, "ssh_max_auth_attempts_exceeded", _INFO, "failure")
            _set_user(fields, user)
            _set_source(fields, address, port)
    elif body.startswith("PAM: Authentication failure for "):
        failure = _SSH_PAM_FAILURE.fullmatch(body)
        if failure is not None:
            user, address = failure.groups()
            _authentication(fields, "ssh_pam_authentication_failure", _START, "failure")
            _set_user(fields, user)
            _set_source(fields, address, None)


def _sudo_fields(body: str, fields: dict[str, FieldValue]) -> None:
    user, separator, rest = body.partition(" : ")
    if not separator or not user or " " in user:
        return
    reasons: list[str] = []
    values: dict[str, str] = {}
    items = rest.split(" ; ")
    for index, item in enumerate(items):
        key, equals, value = item.partition("=")
        if equals and key == "COMMAND":
            # The command is last and may itself contain " ; ".
            values[key] = " ; ".join((value, *items[index + 1 :]))
            break
        if equals and key.isascii() and key.isupper():
            values[key] = value
        elif not values:
            reasons.append(item)
    if "COMMAND" not in values and "USER" not in values:
        return
    fields["event.action"] = "sudo_command"
    fields["event.category"] = _PROCESS
    fields["event.type"] = _START
    fields["event.outcome"] = "failure" if reasons else "success"
    fields["user.name"] = user
    if reasons:
        fields["event.reason"] = " ; ".join(reasons)
    if values.get("USER"):
        fields["user.effective.name"] = values["USER"]
    if "PWD" in values:
        fields["process.working_directory"] = values["PWD"]
    if "COMMAND" in values:
        fields["process.command_line"] = values["COMMAND"]


def _su_fields(body: str, fields: dict[str, FieldValue]) -> None:
    switch = _SU.fullmatch(body)
    if switch is not None:
        failed, target, user, _ = switch.groups()
        outcome = "failure" if failed else "success"
    else:
        older = _SU_OLDER.fullmatch(body)
        if older is None:
            return
        sign, _, user, target = older.groups()
        outcome = "success" if sign == "+" else "failure"
    _authentication(fields, "su_switch_user", _START, outcome)
    fields["user.name"] = user
    fields["user.effective.name"] = target


def _pam_fields(text: str, fields: dict[str, FieldValue]) -> None:
    """`text` is what a PAM module wrote after "pam_x(service:type): "."""
    if text.startswith("authentication failure;"):
        pairs = dict(_PAM_PAIR.findall(text))
        _authentication(fields, "pam_authentication_failure", _START, "failure")
        _acting_user(fields, pairs.get("ruser", ""), pairs.get("user", ""))
        rhost = pairs.get("rhost", "")
        if rhost:
            _set_source(fields, rhost, None)
    elif text.startswith("session opened for user "):
        opened = _PAM_OPENED.fullmatch(text)
        if opened is not None:
            user, by = opened.groups()
            _session(fields, "pam_session_opened", _START)
            # login(1) names its caller "LOGIN", which is no user.
            _acting_user(fields, "" if by in (None, "LOGIN") else by, user)
    elif text.startswith("session closed for user "):
        closed = _PAM_CLOSED.fullmatch(text)
        if closed is not None:
            _session(fields, "pam_session_closed", _END)
            _set_user(fields, closed.group(1))


def _session(fields: dict[str, FieldValue], action: str, kind: tuple[str]) -> None:
    fields["event.action"] = action
    fields["event.category"] = _SESSION
    fields["event.type"] = kind
    fields["event.outcome"] = "success"


def _acting_user(fields: dict[str, FieldValue], actor: str, user: str) -> None:
    """user.name is who acted; the user acted as, when another, is user.effective.name."""
    if actor and user and actor != user:
        fields["user.name"] = actor
        fields["user.effective.name"] = user
    else:
        _set_user(fields, actor or user)

"""Windows event records normalized to ECS, with the original fields kept under winlog.*.

Three input shapes give the same fields:

1. The JSON of the `evtx` package (Rust `evtx` crate): {"Event": {"System": {...},
   "EventData": {...} | {"Data": {"#text": [...]}} | null, "UserData": {...}}}.
2. Winlogbeat / Elastic Agent documents: {"@timestamp", "winlog": {"channel", "event_id",
   "event_data", "provider_name", "computer_name", "record_id", ...}, "event": {...}}.
   Their other fields (agent.*, message, ...) are kept; the fields below override them.
3. Flat exports (Chainsaw, EvtxECmd, Hayabusa, Zircolite): one object with EventID,
   Channel, Provider_Name, Computer, EventRecordID, SystemTime or TimeCreated, and the
   EventData names at the top level.

The evtx shape is flattened by `EvtxRecordFlattener` of the native module when it is
built (native/src/evtx_record.rs): the same fields from the same objects, for plain
records; it steps aside for any other, which `_from_evtx_in_python`, the reference, reads.

Always set (when the record has the value):

| winlog.* field              | evtx JSON source                                   |
|-----------------------------|----------------------------------------------------|
| winlog.channel              | System/Channel                                     |
| winlog.event_id (int)       | System/EventID (or its #text)                      |
| winlog.provider_name        | System/Provider@Name                               |
| winlog.provider_guid        | System/Provider@Guid, braces removed               |
| winlog.computer_name        | System/Computer                                    |
| winlog.record_id (int)      | System/EventRecordID                               |
| winlog.process.pid (int)    | System/Execution@ProcessID                         |
| winlog.process.thread.id    | System/Execution@ThreadID (int)                    |
| winlog.task, .opcode,       | System/Task, Opcode, Level, Keywords, Version, as  |
|   .level, .keywords,        |   given (ints and the hex keyword string from      |
|   .version                  |   evtx; Winlogbeat's names and keyword list)       |
| winlog.user.identifier      | System/Security@UserID                             |
| winlog.event_data.<Name>    | every EventData item under its name, value as      |
|                             |   given; unnamed Data items as param1..N           |
| winlog.user_data.<A.B>      | UserData, element path dotted (LogFileCleared.     |
|                             |   SubjectUserName); namespace attributes dropped   |
| winlog.processing_error_    | ProcessingErrorData (a record whose data Windows   |
|   data.<Name>               |   could not render)                                |

and the ECS fields @timestamp (System/TimeCreated@SystemTime, UTC), event.code
(str of the event id), event.provider, event.kind=event, event.module (sysmon for the
Sysmon channel, powershell for PowerShell channels, else windows), event.dataset
("windows." + the channel, lower case, without "Microsoft-Windows-" or "Windows ",
other characters than letters and digits as "_": windows.security,
windows.sysmon_operational, windows.powershell), host.name (the computer, else
`context.hostname`) and event.original (the record as compact JSON).

ECS fields added for these events, from their EventData names ("DOMAIN\\user" split in
two; pids given in hex, "0x1f4", read as numbers; "-" and empty values skipped; IP
addresses in canonical form, IPv4-mapped IPv6 as IPv4; ports only 1..65535; pid 0, which
Windows logs for "no process", skipped):

| event                       | ECS field <- EventData name                                |
|-----------------------------|------------------------------------------------------------|
| Sysmon 1 process create     | process.executable, process.name <- Image;                 |
|                             | process.pid <- ProcessId; process.command_line <-          |
|                             | CommandLine; process.working_directory <- CurrentDirectory;|
|                             | process.parent.executable, process.parent.name <-          |
|                             | ParentImage; process.parent.command_line <-                |
|                             | ParentCommandLine; process.parent.pid <- ParentProcessId;  |
|                             | user.domain, user.name <- User                             |
| Sysmon 3 network connection | process.executable, process.name <- Image; process.pid <-  |
|                             | ProcessId; user.domain, user.name <- User; source.ip,      |
|                             | source.port, source.domain <- SourceIp, SourcePort,        |
|                             | SourceHostname; destination.ip, destination.port,          |
|                             | destination.domain <- DestinationIp, DestinationPort,      |
|                             | DestinationHostname; network.transport <- Protocol         |
| Sysmon 11 file create       | process.executable, process.name, process.pid, user.* as   |
|                             | above; file.path, file.name <- TargetFilename              |
| Sysmon 13 registry value    | process.executable, process.name, process.pid, user.*;     |
|                             | registry.path <- TargetObject; registry.data.strings <-    |
|                             | Details                                                    |
| Sysmon 22 DNS query         | process.executable, process.name, process.pid, user.*;     |
|                             | dns.question.name <- QueryName                             |
| Security 4624, 4625 logon   | user.id, user.name, user.domain <- TargetUserSid,          |
|                             | TargetUserName, TargetDomainName; source.ip, source.port,  |
|                             | source.domain <- IpAddress, IpPort, WorkstationName;       |
|                             | winlog.logon.type <- LogonType as Winlogbeat names it      |
|                             | (2 Interactive, 3 Network, 10 RemoteInteractive, ...);     |
|                             | process.executable, process.name, process.pid <-           |
|                             | ProcessName, ProcessId                                     |
| Security 4688 process       | process.executable, process.name, process.pid <-           |
|                             | NewProcessName, NewProcessId; process.command_line <-      |
|                             | CommandLine; process.parent.executable, process.parent.    |
|                             | name, process.parent.pid <- ParentProcessName, ProcessId;  |
|                             | user.id, user.name, user.domain <- SubjectUserSid,         |
|                             | SubjectUserName, SubjectDomainName                         |
| Security 4672 privileges    | user.id, user.name, user.domain <- SubjectUser*            |
| Security 4720 user created  | user.* <- SubjectUser* (who created it); user.target.id,   |
|                             | user.target.name, user.target.domain <- TargetSid,         |
|                             | TargetUserName, TargetDomainName                           |

These events also get event.category and event.type (and event.outcome for 4624,
4625). The winlog.* originals are never replaced: ECS fields are additions.

Security 4688 events also carry winlog.event_data.Image and winlog.event_data.ParentImage
(copies of NewProcessName and ParentProcessName, unless the record has those names
itself): the names Sysmon uses, which SigmaHQ's process_creation rules are written
with (SigmaHQ's thor.yml renames them the same way), so that one Sigma field maps to
one event field.
"""

import functools
import importlib
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from ipaddress import IPv6Address, ip_address
from types import MappingProxyType
from typing import Any, NamedTuple, TypeGuard, cast

import orjson

from canhgac.events import FieldValue, Scalar
from canhgac.parsers._base import ParseContext, ParsedRecord, ParseError

# The native module, or None when it was not built (a machine without cargo).
try:
    _native: Any = importlib.import_module("canhgac._native")
except ImportError:
    _native = None

SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
SECURITY_CHANNEL = "Security"

_SCALARS = (str, int, float, bool)
_SCALAR_CLASSES = frozenset(_SCALARS)
EVENT_DATA = "winlog.event_data."
# EventData keys that are not item names (see _event_data).
_EVENT_DATA_SPECIAL = frozenset(("#attributes", "#text", "Data"))


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """isinstance(value, Mapping), without the ABC check for JSON's dicts and scalars."""
    cls = value.__class__
    if cls is dict:
        return True
    if cls in _SCALAR_CLASSES or value is None:
        return False
    return isinstance(value, Mapping)


# Keys of a flat export that are System values, by the winlog field they fill.
_FLAT_SYSTEM: Mapping[str, str] = MappingProxyType(
    {
        "Channel": "winlog.channel",
        "Provider_Name": "winlog.provider_name",
        "Provider": "winlog.provider_name",
        "Provider_Guid": "winlog.provider_guid",
        "Computer": "winlog.computer_name",
        "Level": "winlog.level",
        "Task": "winlog.task",
        "Opcode": "winlog.opcode",
        "Keywords": "winlog.keywords",
        "Version": "winlog.version",
        "Security_UserID": "winlog.user.identifier",
        "EventRecordID": "winlog.record_id",
        "EventRecordId": "winlog.record_id",
        "Execution_ProcessID": "winlog.process.pid",
        "Execution_ThreadID": "winlog.process.thread.id",
    }
)
_FLAT_EVENT_ID = ("EventID", "EventId")
_FLAT_TIME = ("SystemTime", "TimeCreated", "@timestamp", "Timestamp")
_INT_FIELDS = frozenset(
    ("winlog.record_id", "winlog.process.pid", "winlog.process.thread.id", "winlog.event_id")
)

# SystemTime as the evtx crate writes it; any other form takes _WINDOWS_TIME's path.
_EVTX_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", re.ASCII)
# Windows SystemTime as the exports write it: ISO-8601 with "T" or " ", any number of
# fraction digits, and "Z", " UTC", an offset or nothing (UTC by definition).
_WINDOWS_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?"
    r"\s*(Z|UTC|[+-]\d{2}:?\d{2})?",
    re.ASCII | re.IGNORECASE,
)

_LOGON_TYPES: Mapping[int, str] = MappingProxyType(
    {
        0: "System",
        2: "Interactive",
        3: "Network",
        4: "Batch",
        5: "Service",
        7: "Unlock",
        8: "NetworkCleartext",
        9: "NewCredentials",
        10: "RemoteInteractive",
        11: "CachedInteractive",
        12: "CachedRemoteInteractive",
        13: "CachedUnlock",
    }
)


def normalize_windows_event(
    record: Mapping[str, Any], context: ParseContext, original: str | None = None
) -> ParsedRecord:
    """Normalize one Windows event in any of the three shapes (module docstring) to ECS.

    `event.original` is `original`, the text the record was read from, when the caller
    has it; else the record written as compact JSON. Raises ParseError saying what is
    missing or wrong (no event id, no time, a record id that is not a number, ...).
    """
    if not _is_mapping(record):
        raise ParseError(f"a Windows event is a JSON object, not {type(record).__name__}")
    if original is None:
        try:
            original = orjson.dumps(record).decode()
        except TypeError as exc:  # orjson.JSONEncodeError: deep nesting, 64-bit overflow
            raise ParseError(f"record cannot be written as JSON: {exc}") from None
    event = record.get("Event")
    # evtx's shape (the common one) gives no None; the others are filtered at the end.
    may_hold_none = True
    if _is_mapping(event):
        timestamp, fields = _from_evtx(event)
        may_hold_none = False
    elif _is_mapping(record.get("winlog")):
        timestamp, fields = _from_winlogbeat(record)
    elif any(key in record for key in _FLAT_EVENT_ID):
        timestamp, fields = _from_flat(record)
    else:
        raise ParseError("not a Windows event: no Event.System, winlog or EventID")
    _add_ecs(fields, context)
    fields["event.original"] = original
    if may_hold_none and None in fields.values():
        fields = {k: v for k, v in fields.items() if v is not None}
    return ParsedRecord(timestamp, fields, without_none=True)


def looks_like_windows_event(record: Mapping[str, Any]) -> bool:
    """Whether `normalize_windows_event` reads this object as a Windows event."""
    return (
        _is_mapping(record.get("Event"))
        or _is_mapping(record.get("winlog"))
        or any(key in record for key in _FLAT_EVENT_ID)
    )


def windows_event_origin(fields: Mapping[str, FieldValue]) -> tuple[str, int]:
    """(origin, position) for `event_id`: "winlog:<computer>:<channel>" and the record id.

    The same record read from two overlapping exports of a log gets the same pair.
    """
    computer = fields.get("winlog.computer_name")
    channel = fields.get("winlog.channel")
    record_id = fields.get("winlog.record_id")
    position = record_id if isinstance(record_id, int) else 0
    return f"winlog:{computer or ''}:{channel or ''}", position


@functools.lru_cache(maxsize=1024)
def channel_dataset(channel: str) -> str:
    """event.dataset for a channel: "Microsoft-Windows-Sysmon/Operational" →
    "windows.sysmon_operational", "Windows PowerShell" → "windows.powershell"."""
    name = channel
    for prefix in ("microsoft-windows-", "windows "):
        if name.lower().startswith(prefix):
            name = name[len(prefix) :]
            break
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return f"windows.{slug}" if slug else "windows"


# --- the three shapes ---------------------------------------------------------------


def _from_evtx(event: Mapping[str, Any]) -> tuple[datetime, dict[str, FieldValue]]:
    flattened = None if _EVTX_FLATTENER is None else _EVTX_FLATTENER.flatten(event)
    if flattened is None:
        return _from_evtx_in_python(event)
    time_created, fields = flattened
    return windows_time(time_created, "System/TimeCreated@SystemTime"), fields


def _from_evtx_in_python(event: Mapping[str, Any]) -> tuple[datetime, dict[str, FieldValue]]:
    """The reference flattening of evtx's shape; `EvtxRecordFlattener` (native/) does the
    same for plain records and steps aside (None) for the others."""
    system = event.get("System")
    if not _is_mapping(system):
        raise ParseError("Event has no System element")
    provider = _attributes(system.get("Provider"))
    execution = _attributes(system.get("Execution"))
    system_fields: dict[str, FieldValue] = {
        "winlog.channel": _text(system.get("Channel")),
        "winlog.event_id": _event_id(system.get("EventID"), "System/EventID"),
        "winlog.provider_name": _text(provider.get("Name")),
        "winlog.provider_guid": _guid(provider.get("Guid")),
        "winlog.computer_name": _text(system.get("Computer")),
        "winlog.record_id": _int(system.get("EventRecordID"), "System/EventRecordID"),
        "winlog.process.pid": _int(execution.get("ProcessID"), "System/Execution@ProcessID"),
        "winlog.process.thread.id": _int(execution.get("ThreadID"), "System/Execution@ThreadID"),
        "winlog.task": _scalar(system.get("Task")),
        "winlog.opcode": _scalar(system.get("Opcode")),
        "winlog.level": _scalar(system.get("Level")),
        "winlog.keywords": _scalar(system.get("Keywords")),
        "winlog.version": _scalar(system.get("Version")),
        "winlog.user.identifier": _text(_attributes(system.get("Security")).get("UserID")),
    }
    # EventData, UserData and _add_ecs add no None: these are the only ones.
    fields: dict[str, FieldValue] = {
        name: value for name, value in system_fields.items() if value is not None
    }
    time_created = _attributes(system.get("TimeCreated")).get("SystemTime")
    if time_created is None:
        raise ParseError("no System/TimeCreated@SystemTime")
    _event_data(event.get("EventData"), fields)
    _xml_fields("winlog.user_data", event.get("UserData"), fields)
    _xml_fields("winlog.processing_error_data", event.get("ProcessingErrorData"), fields)
    return windows_time(time_created, "System/TimeCreated@SystemTime"), fields


def _from_winlogbeat(document: Mapping[str, Any]) -> tuple[datetime, dict[str, FieldValue]]:
    winlog: Mapping[str, Any] = document["winlog"]
    # Everything the document says is kept; the normalized fields below override it.
    fields: dict[str, FieldValue] = {}
    _json_fields("", {k: v for k, v in document.items() if k != "@timestamp"}, fields)
    event = document.get("event")
    event_code = event.get("code") if isinstance(event, Mapping) else None
    process = winlog.get("process")
    process = process if isinstance(process, Mapping) else {}
    thread = process.get("thread")
    thread = thread if isinstance(thread, Mapping) else {}
    user = winlog.get("user")
    user = user if isinstance(user, Mapping) else {}
    keywords = winlog.get("keywords")
    fields.update(
        {
            "winlog.channel": _text(winlog.get("channel")),
            "winlog.event_id": _event_id(winlog.get("event_id", event_code), "winlog.event_id"),
            "winlog.provider_name": _text(winlog.get("provider_name")),
            "winlog.provider_guid": _guid(winlog.get("provider_guid")),
            "winlog.computer_name": _text(winlog.get("computer_name")),
            "winlog.record_id": _int(winlog.get("record_id"), "winlog.record_id"),
            "winlog.process.pid": _int(process.get("pid"), "winlog.process.pid"),
            "winlog.process.thread.id": _int(thread.get("id"), "winlog.process.thread.id"),
            "winlog.keywords": json_field_value(keywords),
            "winlog.user.identifier": _text(user.get("identifier")),
        }
    )
    for name in ("task", "opcode", "level", "version"):
        fields[f"winlog.{name}"] = _scalar(winlog.get(name))
    _drop_prefix(fields, "winlog.event_data.")
    _event_data(winlog.get("event_data"), fields)
    _drop_prefix(fields, "winlog.user_data.")
    user_data = winlog.get("user_data")
    if isinstance(user_data, Mapping) and isinstance(user_data.get("xml_name"), str):
        # Winlogbeat flattens <UserData><LogFileCleared>...; put the element name back.
        inner = {k: v for k, v in user_data.items() if k != "xml_name"}
        user_data = {user_data["xml_name"]: inner}
    _xml_fields("winlog.user_data", user_data, fields)
    stamp = document.get("@timestamp")
    if stamp is None:
        raise ParseError("Winlogbeat document has no @timestamp")
    return windows_time(stamp, "@timestamp"), fields


def _from_flat(record: Mapping[str, Any]) -> tuple[datetime, dict[str, FieldValue]]:
    event_id_key = next(key for key in _FLAT_EVENT_ID if key in record)
    fields: dict[str, FieldValue] = {
        "winlog.event_id": _event_id(record[event_id_key], event_id_key)
    }
    event_data: dict[str, Any] = {}
    for key, value in record.items():
        if key in _FLAT_EVENT_ID or key in _FLAT_TIME:
            continue
        target = _FLAT_SYSTEM.get(key)
        if target is None:
            event_data[key] = value
        elif target in _INT_FIELDS:
            fields[target] = _int(value, key)
        elif target == "winlog.provider_guid":
            fields[target] = _guid(value)
        else:
            fields.setdefault(target, _scalar(value))
    time_key = next((name for name in _FLAT_TIME if name in record), None)
    if time_key is None:
        raise ParseError(f"no time: none of {', '.join(_FLAT_TIME)}")
    stamp = record[time_key]
    if isinstance(stamp, Mapping):  # TimeCreated kept as {"#attributes": {"SystemTime"}}
        stamp = _attributes(stamp).get("SystemTime")
    _event_data(event_data, fields)
    return windows_time(stamp, time_key), fields


# --- System values ------------------------------------------------------------------


def windows_time(value: object, where: str) -> datetime:
    """A Windows time as exports write it, in UTC; no offset means UTC (SystemTime is)."""
    if not isinstance(value, str):
        raise ParseError(f"{where} is not a time: {_show(value)}")
    if _EVTX_TIME.fullmatch(value) is not None:
        try:
            # Python 3.11 reads the "Z" as UTC itself, several times faster than .replace.
            return datetime.fromisoformat(value)
        except ValueError:  # 31 February: the general path says so
            pass
    match = _WINDOWS_TIME.fullmatch(value.strip())
    if match is None:
        raise ParseError(f"{where} is not a time: {_show(value)}")
    day, clock, fraction, zone = match.groups()
    text = f"{day}T{clock}"
    if fraction:
        text += "." + fraction[:6].ljust(6, "0")
    if zone and zone.upper() not in ("Z", "UTC"):
        text += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        stamp = datetime.fromisoformat(text)
        return stamp.astimezone(UTC) if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # 31 February; year 1 with an offset east of UTC
        raise ParseError(f"{where} is not a valid time: {_show(value)}") from None


def _event_id(value: object, where: str) -> int:
    if value.__class__ is int:  # evtx's usual shape
        if 0 <= value <= 0xFFFF:
            return value
        raise ParseError(f"{where} is not an event id: {_show(value)}")
    if _is_mapping(value):  # {"#text": 7036, "#attributes": {"Qualifiers": 16384}}
        value = value.get("#text")
    if value is None:
        raise ParseError(f"no event id ({where})")
    number = _int(value, where)
    if number is None or not 0 <= number <= 0xFFFF:
        raise ParseError(f"{where} is not an event id: {_show(value)}")
    return number


def _int(value: object, where: str) -> int | None:
    """An integer field given as a number or as digits; None when absent."""
    if value is None:
        return None
    if value.__class__ is int:
        return value
    if _is_mapping(value):
        value = value.get("#text")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    raise ParseError(f"{where} is not a number: {_show(value)}")


_NO_ATTRIBUTES: Mapping[str, Any] = MappingProxyType({})


def _attributes(node: object) -> Mapping[str, Any]:
    if node.__class__ is dict:  # JSON's shape, without the general checks
        attributes = node.get("#attributes")
        if attributes.__class__ is dict:
            return attributes
    if _is_mapping(node):
        attributes = node.get("#attributes")
        if _is_mapping(attributes):
            return attributes
    return _NO_ATTRIBUTES


def _text(value: object) -> str | None:
    if value.__class__ is str:
        return value
    if _is_mapping(value):
        value = value.get("#text")
    if isinstance(value, str):
        return value
    if isinstance(value, _SCALARS):
        return str(value)
    return None


def _scalar(value: object) -> Scalar:
    if value is None or value.__class__ in _SCALAR_CLASSES:
        return value  # type: ignore[return-value]
    if _is_mapping(value):
        value = value.get("#text")
    return value if isinstance(value, _SCALARS) else None


def _guid(value: object) -> str | None:
    text = _text(value)
    return text.strip("{}") if text is not None else None


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- EventData, UserData --------------------------------------------------------------


def _event_data(data: object, fields: dict[str, FieldValue]) -> None:
    """winlog.event_data.<Name> for each item; unnamed Data items as param1..N."""
    if data is None:
        return
    if not _is_mapping(data):
        _unnamed_data(data, fields)
        return
    known = _EVENT_DATA_KEYS.get
    for name, value in data.items():
        if value.__class__ in _SCALAR_CLASSES and name not in _EVENT_DATA_SPECIAL:
            # The usual item: a name and its value.
            fields[known(name) or _event_data_key(name)] = cast(Scalar, value)
            continue
        if name == "#attributes":
            continue
        if name == "Data" and not _is_named(value):
            _unnamed_data(value, fields)
        elif name == "Data":
            _named_data(value if isinstance(value, list) else [value], fields)
        elif name == "#text":
            _unnamed_data(value, fields)
        else:
            _xml_fields(_event_data_key(name), value, fields)


# EventData name -> its field name, interned; bounded, as names come from the records.
_EVENT_DATA_KEYS: dict[str, str] = {}
_EVENT_DATA_KEYS_MAX = 4096


def _event_data_key(name: str) -> str:
    """winlog.event_data.<name>, interned: the rules look fields up by interned names
    (correlator), and a dict finds an identical key without comparing its text."""
    key = _EVENT_DATA_KEYS.get(name)
    if key is None:
        key = sys.intern(EVENT_DATA + name)
        if len(_EVENT_DATA_KEYS) < _EVENT_DATA_KEYS_MAX:
            _EVENT_DATA_KEYS[name] = key
    return key


# The native flattening of evtx's shape (`evtx_flattening()`), sharing the cache above.
_EVTX_FLATTENER = (
    None if _native is None else _native.EvtxRecordFlattener(_EVENT_DATA_KEYS, _event_data_key)
)


def evtx_flattening() -> str:
    """Which flattening reads records in evtx's shape: "native" or "python"."""
    return "python" if _EVTX_FLATTENER is None else "native"


def _is_named(value: object) -> bool:
    """Whether Data items carry their names (xmltodict-style [{"@Name": .., "#text": ..}])."""
    items = value if isinstance(value, list) else [value]
    return any(_item_name(item) is not None for item in items)


def _item_name(item: object) -> str | None:
    if not _is_mapping(item):
        return None
    name = item.get("@Name", _attributes(item).get("Name"))
    return name if isinstance(name, str) else None


def _named_data(items: list[Any], fields: dict[str, FieldValue]) -> None:
    unnamed: list[Any] = []
    for item in items:
        name = _item_name(item)
        if name is None:
            unnamed.append(item)
        else:
            _xml_fields(_event_data_key(name), item.get("#text"), fields)
    _unnamed_data(unnamed, fields)


def _unnamed_data(value: object, fields: dict[str, FieldValue]) -> None:
    if isinstance(value, Mapping):
        value = value.get("#text")
    items = value if isinstance(value, list) else [value]
    for number, item in enumerate(items, start=1):
        _xml_fields(_event_data_key(f"param{number}"), item, fields)


def _xml_fields(prefix: str, node: object, fields: dict[str, FieldValue]) -> None:
    """Flatten an XML-as-JSON node under `prefix`: elements dotted, "#text" as the element
    itself, namespace attributes dropped, other attributes as children."""
    if node is None:
        return
    if not _is_mapping(node):
        fields[prefix] = json_field_value(node)
        return
    dot = f"{prefix}." if prefix else ""
    for key, value in node.items():
        if key == "#attributes" and isinstance(value, Mapping):
            for name, attribute in value.items():
                if not str(name).startswith("xmlns"):
                    _xml_fields(f"{dot}{name}", attribute, fields)
        elif key == "#text":
            _xml_fields(prefix, value, fields)
        else:
            _xml_fields(f"{dot}{key}", value, fields)


def _json_fields(prefix: str, node: Mapping[str, Any], fields: dict[str, FieldValue]) -> None:
    """Flatten a JSON object to dotted names, as `flatten_ecs` does, values as fields."""
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _json_fields(f"{name}.", value, fields)
        else:
            fields[name] = json_field_value(value)


def json_field_value(value: object) -> FieldValue:
    """A JSON value as an Event field: scalars as they are, lists of scalars as tuples,
    anything else as its compact JSON (the record nests no deeper than orjson allows)."""
    if value is None or value.__class__ in _SCALAR_CLASSES or isinstance(value, _SCALARS):
        return value  # type: ignore[return-value]
    if isinstance(value, list | tuple) and all(
        item is None or isinstance(item, _SCALARS) for item in value
    ):
        return tuple(value)
    return orjson.dumps(value).decode()


def _drop_prefix(fields: dict[str, FieldValue], prefix: str) -> None:
    for name in [name for name in fields if name.startswith(prefix)]:
        del fields[name]


# --- ECS ------------------------------------------------------------------------------

_Convert = Callable[[FieldValue], FieldValue]


def _clean(value: FieldValue) -> str | None:
    if value.__class__ is str:  # the usual value, first
        text = value.strip()
    elif value is None or isinstance(value, tuple):
        return None
    else:
        text = str(value).strip()
    return None if text in ("", "-") else text


# The text itself, cleaned: the conversion most ECS fields take.
_as_text: Callable[[FieldValue], FieldValue] = _clean


def _basename(value: FieldValue) -> FieldValue:
    text = _clean(value)
    return None if text is None else text.rpartition("\\")[2].rpartition("/")[2] or None


def _number(value: FieldValue) -> int | None:
    """An int given as a number, as digits or in hex ("0x1f4", how Security logs pids)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _clean(value)
    if text is None or not text.isascii():
        return None
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def _as_pid(value: FieldValue) -> FieldValue:
    number = _number(value)
    # Windows logs pid 0 for "no process" (a network logon's ProcessId 0x0).
    return number if number is not None and number > 0 else None


def _as_port(value: FieldValue) -> FieldValue:
    number = _number(value)
    return number if number is not None and 0 < number <= 0xFFFF else None


def _as_ip(value: FieldValue) -> FieldValue:
    text = _clean(value)
    if text is None:
        return None
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _user_name(value: FieldValue) -> FieldValue:
    text = _clean(value)
    return None if text is None else text.rpartition("\\")[2] or None


def _user_domain(value: FieldValue) -> FieldValue:
    text = _clean(value)
    if text is None or "\\" not in text:
        return None
    return text.rpartition("\\")[0] or None


def _lower(value: FieldValue) -> FieldValue:
    text = _clean(value)
    return None if text is None else text.lower()


def _one_string(value: FieldValue) -> FieldValue:
    text = _clean(value)
    return None if text is None else (text,)


def _logon_type(value: FieldValue) -> FieldValue:
    number = _number(value)
    return _LOGON_TYPES.get(number) if number is not None else None


_FieldMap = tuple[tuple[str, str, _Convert], ...]

_SYSMON_PROCESS: _FieldMap = (
    ("Image", "process.executable", _as_text),
    ("Image", "process.name", _basename),
    ("ProcessId", "process.pid", _as_pid),
    ("User", "user.name", _user_name),
    ("User", "user.domain", _user_domain),
)
_SUBJECT: _FieldMap = (
    ("SubjectUserSid", "user.id", _as_text),
    ("SubjectUserName", "user.name", _as_text),
    ("SubjectDomainName", "user.domain", _as_text),
)
_LOGON: _FieldMap = (
    ("TargetUserSid", "user.id", _as_text),
    ("TargetUserName", "user.name", _as_text),
    ("TargetDomainName", "user.domain", _as_text),
    ("IpAddress", "source.ip", _as_ip),
    ("IpPort", "source.port", _as_port),
    ("WorkstationName", "source.domain", _as_text),
    ("LogonType", "winlog.logon.type", _logon_type),
    ("ProcessName", "process.executable", _as_text),
    ("ProcessName", "process.name", _basename),
    ("ProcessId", "process.pid", _as_pid),
)


def _by_event_field(
    maps: Mapping[tuple[str, int], _FieldMap],
) -> Mapping[tuple[str, int], _FieldMap]:
    """The maps with each EventData name as its event field (`_event_data_key`) and each
    ECS name interned, as `_add_ecs` reads and writes them."""
    return MappingProxyType(
        {
            key: tuple(
                (_event_data_key(source), sys.intern(target), convert)
                for source, target, convert in mapping
            )
            for key, mapping in maps.items()
        }
    )


# (channel, event id) -> EventData field to ECS field (declared by EventData name).
_ECS_FROM_EVENT_DATA = _by_event_field(
    {
        (SYSMON_CHANNEL, 1): (
            *_SYSMON_PROCESS,
            ("CommandLine", "process.command_line", _as_text),
            ("CurrentDirectory", "process.working_directory", _as_text),
            ("ParentImage", "process.parent.executable", _as_text),
            ("ParentImage", "process.parent.name", _basename),
            ("ParentCommandLine", "process.parent.command_line", _as_text),
            ("ParentProcessId", "process.parent.pid", _as_pid),
        ),
        (SYSMON_CHANNEL, 3): (
            *_SYSMON_PROCESS,
            ("SourceIp", "source.ip", _as_ip),
            ("SourcePort", "source.port", _as_port),
            ("SourceHostname", "source.domain", _as_text),
            ("DestinationIp", "destination.ip", _as_ip),
            ("DestinationPort", "destination.port", _as_port),
            ("DestinationHostname", "destination.domain", _as_text),
            ("Protocol", "network.transport", _lower),
        ),
        (SYSMON_CHANNEL, 11): (
            *_SYSMON_PROCESS,
            ("TargetFilename", "file.path", _as_text),
            ("TargetFilename", "file.name", _basename),
        ),
        (SYSMON_CHANNEL, 13): (
            *_SYSMON_PROCESS,
            ("TargetObject", "registry.path", _as_text),
            ("Details", "registry.data.strings", _one_string),
        ),
        (SYSMON_CHANNEL, 22): (
            *_SYSMON_PROCESS,
            ("QueryName", "dns.question.name", _as_text),
        ),
        (SECURITY_CHANNEL, 4624): _LOGON,
        (SECURITY_CHANNEL, 4625): _LOGON,
        (SECURITY_CHANNEL, 4688): (
            ("NewProcessName", "process.executable", _as_text),
            ("NewProcessName", "process.name", _basename),
            ("NewProcessId", "process.pid", _as_pid),
            ("CommandLine", "process.command_line", _as_text),
            ("ParentProcessName", "process.parent.executable", _as_text),
            ("ParentProcessName", "process.parent.name", _basename),
            ("ProcessId", "process.parent.pid", _as_pid),
            *_SUBJECT,
        ),
        (SECURITY_CHANNEL, 4672): _SUBJECT,
        (SECURITY_CHANNEL, 4720): (
            *_SUBJECT,
            ("TargetSid", "user.target.id", _as_text),
            ("TargetUserName", "user.target.name", _as_text),
            ("TargetDomainName", "user.target.domain", _as_text),
        ),
    }
)

# (channel, event id) -> EventData names also given under the name Sysmon uses, so that
# one Sigma field name means one event field (as SigmaHQ's thor.yml maps 4688's names).
_EVENT_DATA_ALIASES: Mapping[tuple[str, int], tuple[tuple[str, str], ...]] = MappingProxyType(
    {
        (SECURITY_CHANNEL, 4688): (
            (_event_data_key("NewProcessName"), _event_data_key("Image")),
            (_event_data_key("ParentProcessName"), _event_data_key("ParentImage")),
        ),
    }
)

_ECS_CONSTANTS: Mapping[tuple[str, int], tuple[tuple[str, FieldValue], ...]] = MappingProxyType(
    {
        (SYSMON_CHANNEL, 1): (("event.category", ("process",)), ("event.type", ("start",))),
        (SYSMON_CHANNEL, 3): (
            ("event.category", ("network",)),
            ("event.type", ("connection", "start")),
        ),
        (SYSMON_CHANNEL, 11): (("event.category", ("file",)), ("event.type", ("creation",))),
        (SYSMON_CHANNEL, 13): (("event.category", ("registry",)), ("event.type", ("change",))),
        (SYSMON_CHANNEL, 22): (("event.category", ("network",)), ("event.type", ("protocol",))),
        (SECURITY_CHANNEL, 4624): (
            ("event.category", ("authentication",)),
            ("event.type", ("start",)),
            ("event.outcome", "success"),
        ),
        (SECURITY_CHANNEL, 4625): (
            ("event.category", ("authentication",)),
            ("event.type", ("start",)),
            ("event.outcome", "failure"),
        ),
        (SECURITY_CHANNEL, 4688): (("event.category", ("process",)), ("event.type", ("start",))),
        (SECURITY_CHANNEL, 4672): (("event.category", ("iam",)), ("event.type", ("admin",))),
        (SECURITY_CHANNEL, 4720): (
            ("event.category", ("iam",)),
            ("event.type", ("user", "creation")),
        ),
    }
)


def _add_ecs(fields: dict[str, FieldValue], context: ParseContext) -> None:
    channel = fields.get("winlog.channel")
    channel = channel if isinstance(channel, str) else None
    plan = _ecs_plan(channel, fields["winlog.event_id"])
    if plan.native is None:
        _add_ecs_in_python(fields, context, plan)
    else:
        plan.native.apply(fields, context.hostname)


def _add_ecs_in_python(
    fields: dict[str, FieldValue], context: ParseContext, plan: "_EcsPlan"
) -> None:
    """The reference of `EcsPlan.apply` (native/src/ecs_plan.rs)."""
    code, labels, aliases, conversions, constants, _ = plan
    fields["event.code"] = code
    provider = fields.get("winlog.provider_name")
    if provider is not None:
        fields["event.provider"] = provider
    fields.update(labels)
    host = fields.get("winlog.computer_name") or context.hostname
    if host is not None:
        fields["host.name"] = host
    for source, target in aliases:
        if target not in fields and fields.get(source) is not None:
            fields[target] = fields[source]
    for source, target, convert in conversions:
        value = convert(fields.get(source))
        if value is not None:
            fields[target] = value
    fields.update(constants)


class _EcsPlan(NamedTuple):
    """What `_add_ecs` adds for one channel and event id (see `_ecs_plan`)."""

    code: str
    labels: tuple[tuple[str, FieldValue], ...]
    aliases: tuple[tuple[str, str], ...]
    conversions: _FieldMap
    constants: tuple[tuple[str, FieldValue], ...]
    native: Any  # the same as the native module's `EcsPlan`; None without it


@functools.lru_cache(maxsize=4096)
def _ecs_plan(channel: str | None, event_id: FieldValue) -> _EcsPlan:
    """What `_add_ecs` adds for one channel and event id, worked out once: event.code,
    then event.kind, .module and .dataset, the EventData aliases, the ECS conversions
    and the constant ECS fields."""
    labels: tuple[tuple[str, FieldValue], ...] = (
        ("event.kind", "event"),
        ("event.module", _module(channel)),
    )
    if channel:
        labels += (("event.dataset", channel_dataset(channel)),)
    key = (channel or "", event_id if isinstance(event_id, int) else -1)
    code = str(event_id)
    aliases = _EVENT_DATA_ALIASES.get(key, ())
    conversions = _ECS_FROM_EVENT_DATA.get(key, ())
    constants = _ECS_CONSTANTS.get(key, ())
    native = None
    if _native is not None:
        named = [(source, target, f, f.__name__) for source, target, f in conversions]
        native = _native.EcsPlan(code, labels, aliases, named, constants)
    return _EcsPlan(code, labels, aliases, conversions, constants, native)


def _module(channel: str | None) -> str:
    if channel == SYSMON_CHANNEL:
        return "sysmon"
    if channel is not None and "powershell" in channel.lower():
        return "powershell"
    return "windows"

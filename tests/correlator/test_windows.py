"""Windows rules through the shipped logsource pipeline: routing by channel and event id,
SigmaHQ field names mapped to the normalizer's winlog.* fields (thor.yml's renames)."""

from pathlib import Path

import pytest

from canhgac.correlator import Correlator, RuleSet
from canhgac.events import Event
from tests.correlator._events import (
    SYSMON,
    load_inline,
    normalized_windows_event,
    windows_event,
)

RULE = """
title: {title}
logsource:
{logsource}
detection:
{detection}
"""


def win_rule(title: str, logsource: str, detection: str) -> str:
    return RULE.format(title=title, logsource=logsource, detection=detection)


def titles(ruleset: RuleSet, *events: Event) -> list[str]:
    return [alert.rule_title for alert in Correlator(ruleset).process(list(events))]


PROCESS_RULE = win_rule(
    "Whoami",
    "    category: process_creation\n    product: windows",
    "    selection:\n        Image|endswith: '\\\\whoami.exe'\n    condition: selection",
)


class TestProcessCreation:
    def test_sysmon_event_1_matches_on_image(self, tmp_path: Path) -> None:
        ruleset = load_inline(tmp_path, **{"r.yml": PROCESS_RULE})
        sysmon = windows_event(SYSMON, 1, Image="C:\\Windows\\System32\\WHOAMI.EXE")
        assert titles(ruleset, sysmon) == ["Whoami"]

    def test_security_4688_matches_through_new_process_name(self, tmp_path: Path) -> None:
        ruleset = load_inline(tmp_path, **{"r.yml": PROCESS_RULE})
        security = normalized_windows_event(
            "Security", 4688, NewProcessName="C:\\Windows\\System32\\whoami.exe"
        )
        assert titles(ruleset, security) == ["Whoami"]

    def test_parent_image_maps_to_parent_process_name_on_4688(self, tmp_path: Path) -> None:
        rule = win_rule(
            "Office Child",
            "    category: process_creation\n    product: windows",
            "    selection:\n        ParentImage|endswith: '\\\\winword.exe'\n"
            "    condition: selection",
        )
        ruleset = load_inline(tmp_path, **{"r.yml": rule})
        parent = "C:\\Program Files\\Microsoft Office\\WINWORD.EXE"
        security = normalized_windows_event("Security", 4688, ParentProcessName=parent)
        assert titles(ruleset, security) == ["Office Child"]
        assert titles(ruleset, windows_event(SYSMON, 1, ParentImage=parent)) == ["Office Child"]

    def test_other_event_ids_and_channels_are_not_routed(self, tmp_path: Path) -> None:
        ruleset = load_inline(tmp_path, **{"r.yml": PROCESS_RULE})
        image = "C:\\Windows\\System32\\whoami.exe"
        others = [
            windows_event(SYSMON, 3, Image=image),  # a network connection by whoami
            windows_event("Security", 1, Image=image),  # event id 1 of another channel
            windows_event("System", 4688, NewProcessName=image),
        ]
        correlator = Correlator(ruleset)
        assert correlator.process(others) == []
        (stats,) = correlator.stats()
        assert stats.events == 0

    def test_a_not_filter_on_image_holds_on_4688_events(self, tmp_path: Path) -> None:
        # 4688 events carry ParentImage too (the normalizer's copy of ParentProcessName).
        rule = win_rule(
            "Cmd Not From Explorer",
            "    category: process_creation\n    product: windows",
            "    selection:\n        CommandLine|contains: 'cmd'\n"
            "    filter:\n        ParentImage|endswith: '\\\\explorer.exe'\n"
            "    condition: selection and not filter",
        )
        ruleset = load_inline(tmp_path, **{"r.yml": rule})
        fired = normalized_windows_event(
            "Security", 4688, CommandLine="cmd /c x", ParentProcessName="C:\\x\\svchost.exe"
        )
        filtered = normalized_windows_event(
            "Security", 4688, CommandLine="cmd /c x", ParentProcessName="C:\\Windows\\explorer.exe"
        )
        assert titles(ruleset, fired, filtered) == ["Cmd Not From Explorer"]


class TestSystemFields:
    def test_event_id_channel_provider_and_computer_map_to_winlog(self, tmp_path: Path) -> None:
        rule = win_rule(
            "Log Cleared",
            "    product: windows\n    service: system",
            "    selection:\n        EventID: 104\n"
            "        Provider_Name: Microsoft-Windows-Eventlog\n"
            "        Channel: System\n        Computer|startswith: ubnd-\n"
            "    condition: selection",
        )
        ruleset = load_inline(tmp_path, **{"r.yml": rule})
        cleared = windows_event("System", 104, provider="Microsoft-Windows-Eventlog")
        other = windows_event("System", 105, provider="Microsoft-Windows-Eventlog")
        assert titles(ruleset, cleared, other) == ["Log Cleared"]

    def test_a_rule_may_use_ecs_names_directly(self, tmp_path: Path) -> None:
        rule = win_rule(
            "ECS Names",
            "    product: windows\n    service: security",
            "    selection:\n        winlog.event_id: 4625\n        host.name|contains: ubnd\n"
            "    condition: selection",
        )
        ruleset = load_inline(tmp_path, **{"r.yml": rule})
        assert titles(ruleset, windows_event("Security", 4625)) == ["ECS Names"]


def test_security_rules_are_indexed_by_the_event_ids_they_require(tmp_path: Path) -> None:
    rule = win_rule(
        "Failed Logon",
        "    product: windows\n    service: security",
        "    selection:\n        EventID:\n            - 4625\n            - 4771\n"
        "        TargetUserName: admin\n    condition: selection",
    )
    ruleset = load_inline(tmp_path, **{"r.yml": rule})
    (compiled,) = ruleset.rules
    assert compiled.route_keys == frozenset(
        {
            (("winlog.channel", "security"), ("winlog.event_id", "4625")),
            (("winlog.channel", "security"), ("winlog.event_id", "4771")),
        }
    )
    correlator = Correlator(ruleset)
    events = [
        windows_event("Security", 4624, TargetUserName="admin"),
        windows_event("Security", 4625, TargetUserName="admin"),
        windows_event("Security", 4771, TargetUserName="ADMIN"),
    ]
    assert len(correlator.process(events)) == 2
    (stats,) = correlator.stats()
    assert stats.events == 2  # the 4624 was never tested against the rule


@pytest.mark.parametrize(
    ("event_type", "routed"),
    [("CreateKey", True), ("DeleteKey", False), ("SetValue", False)],
)
def test_registry_add_routes_on_the_sysmon_event_type(
    tmp_path: Path, event_type: str, routed: bool
) -> None:
    rule = win_rule(
        "Run Key Created",
        "    category: registry_add\n    product: windows",
        "    selection:\n        TargetObject|contains: '\\\\CurrentVersion\\\\Run'\n"
        "    condition: selection",
    )
    ruleset = load_inline(tmp_path, **{"r.yml": rule})
    key = "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\evil"
    fired = titles(ruleset, windows_event(SYSMON, 12, EventType=event_type, TargetObject=key))
    assert fired == (["Run Key Created"] if routed else [])


@pytest.mark.parametrize(
    ("channel", "event_id", "category"),
    [
        ("Microsoft-Windows-PowerShell/Operational", 4104, "ps_script"),
        ("PowerShellCore/Operational", 4104, "ps_script"),
        ("Microsoft-Windows-PowerShell/Operational", 4103, "ps_module"),
        (SYSMON, 22, "dns_query"),
        (SYSMON, 7, "image_load"),
        (SYSMON, 13, "registry_set"),
        (SYSMON, 17, "pipe_created"),
        (SYSMON, 18, "pipe_created"),
    ],
)
def test_categories_route_to_their_channel_and_event_ids(
    tmp_path: Path, channel: str, event_id: int, category: str
) -> None:
    rule = win_rule(
        category,
        f"    category: {category}\n    product: windows",
        "    selection:\n        Marker: x\n    condition: selection",
    )
    ruleset = load_inline(tmp_path, **{"r.yml": rule})
    assert titles(ruleset, windows_event(channel, event_id, Marker="x")) == [category]
    assert titles(ruleset, windows_event(channel, event_id + 1000, Marker="x")) == []


def test_antivirus_rules_read_defender_threat_names(tmp_path: Path) -> None:
    rule = win_rule(
        "Mimikatz Detected",
        "    category: antivirus",
        "    selection:\n        Signature|contains: mimikatz\n"
        "        Filename|endswith: .exe\n    condition: selection",
    )
    ruleset = load_inline(tmp_path, **{"r.yml": rule})
    detection = windows_event(
        "Microsoft-Windows-Windows Defender/Operational",
        1116,
        ThreatName="HackTool:Win32/Mimikatz.D",
        Path="C:\\Users\\x\\m.exe",
    )
    assert titles(ruleset, detection) == ["Mimikatz Detected"]


def test_user_data_values_answer_for_their_names(tmp_path: Path) -> None:
    rule = win_rule(
        "WMI Clear",
        "    product: windows\n    service: wmi",
        "    selection:\n        EventID: 5858\n        Operation|contains: cleareventlog\n"
        "    condition: selection",
    )
    ruleset = load_inline(tmp_path, **{"r.yml": rule})
    failure = windows_event(
        "Microsoft-Windows-WMI-Activity/Operational",
        5858,
        user_data={"Operation_ClientFailure.Operation": "Win32_NTEventlogFile::cleareventlog"},
    )
    assert titles(ruleset, failure) == ["WMI Clear"]


def test_data_searches_the_unnamed_event_data_items(tmp_path: Path) -> None:
    rule = win_rule(
        "Engine Start",
        "    category: ps_classic_start\n    product: windows",
        "    selection:\n        Data|contains: 'HostName=ConsoleHost'\n    condition: selection",
    )
    ruleset = load_inline(tmp_path, **{"r.yml": rule})
    start = windows_event(
        "Windows PowerShell",
        400,
        param1="Available",
        param2="None",
        param3="NewEngineState=Available\n\tHostName=ConsoleHost\n",
    )
    assert titles(ruleset, start) == ["Engine Start"]


@pytest.mark.parametrize(
    ("service", "channel"),
    [
        ("security", "Security"),
        ("system", "System"),
        ("application", "Application"),
        ("sysmon", SYSMON),
        ("powershell", "PowerShellCore/Operational"),
        ("powershell-classic", "Windows PowerShell"),
        ("windefend", "Microsoft-Windows-Windows Defender/Operational"),
        ("taskscheduler", "Microsoft-Windows-TaskScheduler/Operational"),
        ("wmi", "Microsoft-Windows-WMI-Activity/Operational"),
        ("dns-client", "Microsoft-Windows-DNS Client Events/Operational"),
        ("applocker", "Microsoft-Windows-AppLocker/EXE and DLL"),
        ("bits-client", "Microsoft-Windows-Bits-Client/Operational"),
        ("codeintegrity-operational", "Microsoft-Windows-CodeIntegrity/Operational"),
    ],
)
def test_services_route_to_their_channels(tmp_path: Path, service: str, channel: str) -> None:
    rule = win_rule(
        service,
        f"    product: windows\n    service: {service}",
        "    selection:\n        Marker: x\n    condition: selection",
    )
    ruleset = load_inline(tmp_path, **{"r.yml": rule})
    assert titles(ruleset, windows_event(channel, 1, Marker="x")) == [service]
    assert titles(ruleset, windows_event("Some/Other", 1, Marker="x")) == []

"""Hayabusa's three correlation rules (shared/hayabusa-correlation) over Windows Security
events built by hand in the normalized shape, through the shipped logsource pipeline."""

import itertools
import json
from pathlib import Path

import pytest

from canhgac.correlator import Alert, Correlator, RuleSet, load_rules
from canhgac.events import Event, FieldValue
from tests.correlator._events import event

USER_GUESSING = "User Guessing"
PW_GUESSING = "PW Guessing"
PW_SPRAY = "PW Spray"
WRONG_PASSWORD = "0xc000006a"
NO_SUCH_USER = "0xc0000064"

_record = itertools.count(6011)


@pytest.fixture
def ruleset(shared_dir: Path) -> RuleSet:
    loaded = load_rules([shared_dir / "hayabusa-correlation"], bundled=False)
    assert loaded.errors == ()
    return loaded


def security(
    event_id: int, seconds: float, data: dict[str, FieldValue], computer: str = "DESKTOP-M5SN04R"
) -> Event:
    """A Security-channel record as the Windows normalizer emits it."""
    record = next(_record)
    fields: dict[str, FieldValue] = {
        "event.kind": "event",
        "event.dataset": "windows.security",
        "event.module": "windows",
        "event.code": str(event_id),
        "event.provider": "Microsoft-Windows-Security-Auditing",
        "winlog.channel": "Security",
        "winlog.event_id": event_id,
        "winlog.provider_name": "Microsoft-Windows-Security-Auditing",
        "winlog.computer_name": computer,
        "winlog.record_id": record,
        "winlog.process.pid": 752,
        "host.name": computer,
    }
    fields.update({f"winlog.event_data.{name}": value for name, value in data.items()})
    if isinstance(data.get("IpAddress"), str) and data["IpAddress"] != "-":
        fields["source.ip"] = data["IpAddress"]
    fields["event.original"] = json.dumps(
        {"EventID": event_id, "Computer": computer, "EventRecordID": record, **data}
    )
    return event(fields, seconds=seconds)


def failed_logon(
    seconds: float,
    *,
    user: str = "Administrator",
    status: str = WRONG_PASSWORD,
    ip: str = "192.168.198.149",
) -> Event:
    """Event 4625 like the sample in Hayabusa's PW Guessing rule."""
    return security(
        4625,
        seconds,
        {
            "SubjectUserSid": "S-1-0-0",
            "SubjectUserName": "-",
            "SubjectDomainName": "-",
            "SubjectLogonId": "0x0",
            "TargetUserSid": "S-1-0-0",
            "TargetUserName": user,
            "TargetDomainName": ".",
            "Status": "0xc000006d",
            "FailureReason": "%%2313",
            "SubStatus": status,
            "LogonType": 3,
            "LogonProcessName": "NtLmSsp",
            "AuthenticationPackageName": "NTLM",
            "WorkstationName": "z4lSo9BMWdcPLfLb",
            "TransmittedServices": "-",
            "LmPackageName": "-",
            "KeyLength": 0,
            "ProcessId": "0x0",
            "ProcessName": "-",
            "IpAddress": ip,
            "IpPort": "50311",
        },
    )


def explicit_logon(seconds: float, *, user: str, ip: str = "10.10.20.7") -> Event:
    """Event 4648 (a logon with explicit credentials) on a file server."""
    return security(
        4648,
        seconds,
        {
            "SubjectUserSid": "S-1-5-21-3623811015-3361044348-30300820-1013",
            "SubjectUserName": "ketoan01",
            "SubjectDomainName": "SOTTTT",
            "SubjectLogonId": "0x3e7",
            "LogonGuid": "{00000000-0000-0000-0000-000000000000}",
            "TargetUserName": user,
            "TargetDomainName": "SOTTTT",
            "TargetLogonGuid": "{00000000-0000-0000-0000-000000000000}",
            "TargetServerName": "fs01.sotttt.local",
            "TargetInfo": "fs01.sotttt.local",
            "ProcessId": "0x1a4",
            "ProcessName": "C:\\Windows\\System32\\svchost.exe",
            "IpAddress": ip,
            "IpPort": "445",
        },
        computer="fs01.sotttt.local",
    )


def titles(alerts: list[Alert]) -> list[str]:
    return [alert.rule_title for alert in alerts]


class TestPasswordGuessing:
    def test_five_wrong_passwords_for_one_account_fire_once(self, ruleset: RuleSet) -> None:
        failures = [failed_logon(30 * i) for i in range(5)]
        alerts = Correlator(ruleset).process(failures)
        assert titles(alerts) == [PW_GUESSING]
        assert alerts[0].event_ids == tuple(e.id for e in failures)
        assert dict(alerts[0].entities)["winlog.event_data.IpAddress"] == "192.168.198.149"

    def test_four_do_not_and_neither_do_five_spread_over_more_than_five_minutes(
        self, ruleset: RuleSet
    ) -> None:
        assert Correlator(ruleset).process([failed_logon(30 * i) for i in range(4)]) == []
        assert Correlator(ruleset).process([failed_logon(80 * i) for i in range(5)]) == []

    def test_the_account_name_is_compared_case_insensitively(self, ruleset: RuleSet) -> None:
        names = ["Administrator", "administrator", "ADMINISTRATOR", "Administrator", "admin"]
        alerts = Correlator(ruleset).process([failed_logon(i, user=n) for i, n in enumerate(names)])
        assert alerts == []  # "admin" is another account: four, not five
        alerts = Correlator(ruleset).process(
            [failed_logon(i, user=n) for i, n in enumerate(names[:4] * 2)]
        )
        assert titles(alerts) == [PW_GUESSING]
        assert dict(alerts[0].entities)["winlog.event_data.TargetUserName"] == "Administrator"

    def test_the_rules_filters_exclude_local_and_machine_accounts(self, ruleset: RuleSet) -> None:
        local = [failed_logon(i, ip="-") for i in range(5)]
        machine = [failed_logon(i, user="FS01$") for i in range(5)]
        assert Correlator(ruleset).process(local + machine) == []


class TestUserGuessing:
    def test_more_than_three_unknown_user_names_from_one_address(self, ruleset: RuleSet) -> None:
        guesses = [
            failed_logon(20 * i, user=name, status=NO_SUCH_USER)
            for i, name in enumerate(["admin", "root", "test", "administrator"])
        ]
        alerts = Correlator(ruleset).process(guesses)
        assert titles(alerts) == [USER_GUESSING]
        assert alerts[0].event_ids == tuple(e.id for e in guesses)

    def test_three_names_or_one_name_many_times_is_not_guessing(self, ruleset: RuleSet) -> None:
        three = [
            failed_logon(i, user=name, status=NO_SUCH_USER)
            for i, name in enumerate(["admin", "root", "test"])
        ]
        same = [failed_logon(10 + i, user="nobody", status=NO_SUCH_USER) for i in range(6)]
        assert Correlator(ruleset).process(three) == []
        assert Correlator(ruleset).process(same) == []

    def test_names_from_different_addresses_do_not_add_up(self, ruleset: RuleSet) -> None:
        guesses = [
            failed_logon(i, user=f"user{i}", status=NO_SUCH_USER, ip=f"192.168.1.{i}")
            for i in range(8)
        ]
        assert Correlator(ruleset).process(guesses) == []


class TestPasswordSpray:
    def test_five_accounts_from_one_address_on_one_computer(self, ruleset: RuleSet) -> None:
        spray = [explicit_logon(10 * i, user=f"canbo{i:02d}") for i in range(5)]
        alerts = Correlator(ruleset).process(spray)
        assert titles(alerts) == [PW_SPRAY]
        assert dict(alerts[0].entities) == {
            "winlog.event_data.IpAddress": "10.10.20.7",
            "winlog.computer_name": "fs01.sotttt.local",
        }

    def test_four_accounts_are_not_a_spray(self, ruleset: RuleSet) -> None:
        spray = [explicit_logon(10 * i, user=f"canbo{i:02d}") for i in range(4)]
        assert Correlator(ruleset).process(spray) == []

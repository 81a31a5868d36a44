"""Parsers by name and format detection."""

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from canhgac.parsers import (
    IIS_DEFAULT_FIELDS,
    ApacheAccessParser,
    AuthLogParser,
    NginxAccessParser,
    ParseContext,
    UnknownFormatError,
    W3CParser,
    detect_format,
    get_parser,
    parser_names,
)

ICT = timezone(timedelta(hours=7))
CONTEXT = ParseContext(reference_time=datetime(2026, 11, 24, 12, 0, tzinfo=ICT), timezone=ICT)

NGINX = (
    '203.113.131.5 - - [24/Nov/2026:08:15:{s:02d} +0700] "GET /dvc/thu-tuc?id={s} HTTP/1.1"'
    ' 200 5123 "https://dichvucong.haugiang.gov.vn/" "Mozilla/5.0"'
)
APACHE_COMMON = '10.0.0.1 - alice [24/Nov/2026:08:15:{s:02d} +0700] "POST /login HTTP/1.1" 302 -'
AUTH = (
    "Nov 24 08:15:{s:02d} web01 sshd[1234]: Failed password for root from 203.0.113.7 port 22 ssh2"
)
JSON_LINE = '{{"@timestamp": "2026-11-24T08:15:{s:02d}+07:00", "message": "x"}}'
# W3C times are UTC: 01:15 is 08:15 in Vietnam.
IIS = "2026-11-24 01:15:{s:02d} 10.0.0.5 GET /dvc - 443 - 203.0.113.7 Mozilla/5.0 - 200 0 0 12"
SYSLOG = "<38>1 2026-11-24T08:15:{s:02d}+07:00 web01 sshd 42 - - Accepted password"


def lines(template: str, count: int) -> list[str]:
    return [template.format(s=second % 60) for second in range(count)]


def test_parser_names_in_preference_order() -> None:
    assert parser_names() == ("nginx", "apache", "auth", "json", "iis", "w3c", "syslog")


@pytest.mark.parametrize(
    ("name", "kind"),
    [("nginx", NginxAccessParser), ("apache", ApacheAccessParser), ("auth", AuthLogParser)],
)
def test_get_parser_builds_the_named_parser(name: str, kind: type) -> None:
    parser = get_parser(name)
    assert isinstance(parser, kind)
    assert parser.name == name


def test_get_parser_unknown_name_lists_known_ones() -> None:
    with pytest.raises(UnknownFormatError) as raised:
        get_parser("zeek")
    assert "'zeek'" in str(raised.value)
    assert "nginx, apache, auth" in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_every_named_parser_parses_its_own_lines() -> None:
    samples = {
        "nginx": NGINX,
        "apache": APACHE_COMMON,
        "auth": AUTH,
        "json": JSON_LINE,
        "iis": IIS,
        "w3c": IIS,
        "syslog": SYSLOG,
    }
    for name in parser_names():
        parser = get_parser(name)
        if isinstance(parser, W3CParser):  # columns come from the file's #Fields: directive
            parser = parser.with_directive("#Fields: " + " ".join(IIS_DEFAULT_FIELDS))
        record = parser.parse(samples[name].format(s=1), CONTEXT)
        assert record.timestamp == datetime(2026, 11, 24, 8, 15, 1, tzinfo=ICT)


def test_detect_combined_log_as_nginx() -> None:
    assert detect_format(lines(NGINX, 5)) == "nginx"


def test_detect_common_log_as_apache() -> None:
    assert detect_format(lines(APACHE_COMMON, 5)) == "apache"


def test_detect_combined_log_with_one_common_line_as_apache() -> None:
    assert detect_format([*lines(NGINX, 5), APACHE_COMMON.format(s=1)]) == "apache"


def test_detect_auth_log() -> None:
    assert detect_format(lines(AUTH, 5)) == "auth"


def test_detect_syslog_messages_with_a_priority() -> None:
    assert detect_format(lines(SYSLOG, 5)) == "syslog"
    assert detect_format(["<13>" + line for line in lines(AUTH, 5)]) == "syslog"


def test_detect_picks_the_format_of_most_lines_in_a_mixed_sample() -> None:
    mixed = [*lines(AUTH, 7), *lines(NGINX, 3), "garbage", "more garbage"]
    assert detect_format(mixed) == "auth"
    mixed = [*lines(AUTH, 3), *lines(NGINX, 7), "garbage"]
    assert detect_format(mixed) == "nginx"


def test_detect_skips_blank_lines() -> None:
    assert detect_format(["", "   ", *lines(AUTH, 1), "\t"]) == "auth"


def test_detect_nothing_recognizable() -> None:
    assert detect_format(["hello", "world"]) is None
    assert detect_format([]) is None
    assert detect_format(["", " "]) is None


def test_detect_looks_at_the_first_20_non_empty_lines_only() -> None:
    sample = ["", *lines(NGINX, 20), *lines(AUTH, 30)]
    assert detect_format(sample) == "nginx"


def test_detect_reads_no_further_than_it_needs() -> None:
    consumed: list[int] = []

    def source() -> Iterator[str]:
        for index in range(100):
            consumed.append(index)
            yield AUTH.format(s=index % 60)

    assert detect_format(source()) == "auth"
    assert len(consumed) == 20

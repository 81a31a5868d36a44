"""`LuceneRuleConverter`: the same pipeline, filters and placeholders as the engine."""

import textwrap
from pathlib import Path

from canhgac.scheduled import LuceneRuleConverter
from canhgac.scheduled._lucene import CORRELATION, KEYWORDS, MAX_QUERY_CHARS
from canhgac.storage import ElasticsearchStore

PORTAL_LOGIN = """
    title: Portal Login Failure
    id: 5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f80
    name: portal_login_failure
    logsource:
        category: webserver
    detection:
        selection:
            cs-uri-stem: /dang-nhap
            sc-status: 401
        condition: selection
    """


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_a_rule_maps_its_fields_and_gets_its_routing_condition(tmp_path: Path) -> None:
    (query,) = LuceneRuleConverter().convert_paths([_write(tmp_path, "r.yml", PORTAL_LOGIN)])

    assert query.query == (
        "((event.dataset:(nginx.access OR apache.access)) OR event.category:web) "
        "AND (url.path:\\/dang\\-nhap AND http.response.status_code:401)"
    )
    assert query.fallback is None
    assert query.fields == (
        "event.category",
        "event.dataset",
        "http.response.status_code",
        "url.path",
    )


def test_a_sigma_filter_beside_the_rule_narrows_its_query(tmp_path: Path) -> None:
    _write(tmp_path, "r.yml", PORTAL_LOGIN)
    _write(
        tmp_path,
        "f.yml",
        """
        title: Monitoring Probe
        id: 6e7f8a9b-0c1d-4e2f-9a3b-4c5d6e7f8a91
        logsource:
            category: webserver
        filter:
            rules:
                - portal_login_failure
            selection:
                c-ip: 10.10.1.4
            condition: not selection
        """,
    )

    (query,) = LuceneRuleConverter().convert_paths([tmp_path])

    assert query.query is not None
    assert "NOT source.ip:10.10.1.4" in query.query


def test_placeholders_expand_to_the_configured_values(tmp_path: Path) -> None:
    rule = _write(
        tmp_path,
        "r.yml",
        """
        title: Admin Login
        logsource:
            category: webserver
        detection:
            selection:
                cs-username|expand: '%Admins%'
            condition: selection
        """,
    )

    (query,) = LuceneRuleConverter(placeholders={"Admins": ["admin", "ops-*"]}).convert_paths(
        [rule]
    )
    (missing,) = LuceneRuleConverter().convert_paths([rule])

    assert query.query is not None
    assert "user.name:(admin OR ops\\-*)" in query.query
    assert missing.query is None
    assert missing.fallback is not None
    assert "placeholder" in missing.fallback


def test_keywords_correlations_and_unindexed_fields_fall_back_with_a_reason(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        "keywords.yml",
        """
        title: Keyword
        logsource:
            category: webserver
        detection:
            keywords:
                - 'union select'
            condition: keywords
        """,
    )
    _write(
        tmp_path,
        "count.yml",
        PORTAL_LOGIN
        + """
    ---
    title: Many Failures
    correlation:
        type: event_count
        rules: [portal_login_failure]
        group-by: [c-ip]
        timespan: 5m
        condition: {gte: 5}
    """,
    )
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)

    found = {q.title: q for q in converter.convert_paths([tmp_path])}

    assert found["Keyword"].fallback == KEYWORDS
    assert found["Many Failures"].fallback == CORRELATION
    assert found["Portal Login Failure"].searchable


CASES = """
    title: Cases
    id: 5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f81
    logsource:
        category: webserver
    detection:
        agent:
            cs-user-agent|contains: Nikto
        cased:
            cs-uri-query|cased|contains: UNION
        regex:
            cs-uri-stem|re: '^/Admin\\W'
        address:
            c-ip|cidr: 10.0.0.0/8
        status:
            sc-status: 404
        condition: agent or cased or regex or address or status
    """


def test_strings_search_the_lower_cased_copies_of_keyword_fields(tmp_path: Path) -> None:
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)

    (query,) = converter.convert_paths([_write(tmp_path, "r.yml", CASES)])

    assert query.searchable
    assert query.query is not None
    # Plain strings, routing values too: the `.caseless` copy, regardless of case.
    assert "user_agent.original.caseless:*Nikto*" in query.query
    assert "event.dataset.caseless:(nginx.access OR apache.access)" in query.query
    # |cased: a plain string on the copy; the engine re-checks each hit's case.
    assert "url.query.caseless:*UNION*" in query.query
    # A regular expression is case-sensitive in Sigma, as on the exact field; Lucene's
    # match the whole value: a search within it, but for its anchored start.
    assert "url.path:/(\\/Admin\\W).*/" in query.query
    # Addresses and numbers keep their typed fields.
    assert "source.ip:10.0.0.0\\/8" in query.query
    assert "http.response.status_code:404" in query.query
    # The rule's fields are the event's, whatever field the query searches.
    assert "user_agent.original" in query.fields
    assert not any(name.endswith(".caseless") for name in query.fields)


def test_without_a_store_the_fields_are_searched_as_mapped(tmp_path: Path) -> None:
    (query,) = LuceneRuleConverter().convert_paths([_write(tmp_path, "r.yml", PORTAL_LOGIN)])

    assert query.query is not None
    assert ".caseless" not in query.query


def test_windows_rules_search_the_indexed_winlog_fields(tmp_path: Path) -> None:
    rule = """
        title: Logon
        id: 5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f82
        logsource:
            product: windows
            service: security
        detection:
            selection:
                EventID: 4624
                TargetUserName|endswith: '$'
            condition: selection
        """
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)

    (query,) = converter.convert_paths([_write(tmp_path, "r.yml", rule)])

    assert query.searchable
    assert query.query == (
        "winlog.channel.caseless:Security AND "
        "(winlog.event_id:4624 AND (winlog.event_data.TargetUserName.caseless:*$ OR "
        "winlog.user_data.\\*.TargetUserName.caseless:*$))"
    )
    # A name the engine also reads from UserData is one field of the rule.
    assert query.fields == (
        "winlog.channel",
        "winlog.event_data.TargetUserName",
        "winlog.event_id",
    )


def test_a_keyword_compared_as_a_number_is_evaluated_in_process(tmp_path: Path) -> None:
    rule = """
        title: Logon Types
        id: 5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f83
        logsource:
            product: windows
            service: security
        detection:
            selection:
                LogonType|gt: 3
            condition: selection
        """
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)

    (query,) = converter.convert_paths([_write(tmp_path, "r.yml", rule)])

    assert not query.searchable
    assert query.fallback is not None
    assert "winlog.event_data.LogonType" in query.fallback
    assert "orders as text" in query.fallback


def test_a_query_too_long_for_one_search_is_evaluated_in_process(tmp_path: Path) -> None:
    hashes = "".join(f"\n                - SHA256={n:064x}" for n in range(300))
    rule = f"""
        title: Hash List
        id: 5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f84
        logsource:
            product: windows
            category: driver_load
        detection:
            selection:
                Hashes|contains:{hashes}
            condition: selection
        """
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)

    (query,) = converter.convert_paths([_write(tmp_path, "r.yml", rule)])

    assert query.query is not None
    assert len(query.query) > MAX_QUERY_CHARS
    assert not query.searchable
    assert query.fallback is not None
    assert "characters" in query.fallback


def test_regular_expressions_search_within_values_as_in_sigma(tmp_path: Path) -> None:
    rule = """
        title: Expressions
        id: 5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f85
        logsource:
            category: webserver
        detection:
            within:
                cs-uri-query|re: 'a=(b|c)'
            anchored:
                cs-uri-stem|re: '^/x[$^]y$'
            condition: within or anchored
        """
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)

    (query,) = converter.convert_paths([_write(tmp_path, "r.yml", rule)])

    assert query.query is not None
    assert "url.query:/.*(a=(b|c)).*/" in query.query
    assert "url.path:/(\\/x[$^]y)/" in query.query


def test_an_anchor_lucene_cannot_express_is_evaluated_in_process(tmp_path: Path) -> None:
    rule = """
        title: Inner Anchor
        id: 5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f86
        logsource:
            category: webserver
        detection:
            selection:
                cs-uri-query|re: 'a|^b'
            condition: selection
        """
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)

    (query,) = converter.convert_paths([_write(tmp_path, "r.yml", rule)])

    assert query.query is None
    assert query.fallback is not None
    assert "anchor" in query.fallback


def test_expanded_and_cased_strings_search_the_copies_too(tmp_path: Path) -> None:
    rule = """
        title: Dashes
        id: 5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f87
        logsource:
            product: windows
            category: process_creation
        detection:
            selection:
                CommandLine|windash|contains: '/Format:'
            cased:
                CommandLine|cased|contains: 'IEX'
            condition: selection or cased
        """
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)

    (query,) = converter.convert_paths([_write(tmp_path, "r.yml", rule)])

    assert query.searchable
    assert query.query is not None
    assert "winlog.event_data.CommandLine.caseless:(*\\-Format\\:* OR *\\/Format\\:*" in (
        query.query
    )
    assert "winlog.event_data.CommandLine.caseless:*IEX*" in query.query
    assert "winlog.event_data.CommandLine:" not in query.query


def test_a_network_test_of_a_keyword_field_is_evaluated_in_process(tmp_path: Path) -> None:
    rule = """
        title: Remote Logon
        id: 5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f88
        logsource:
            product: windows
            service: security
        detection:
            selection:
                IpAddress|cidr: 10.0.0.0/8
            condition: selection
        """
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)

    (query,) = converter.convert_paths([_write(tmp_path, "r.yml", rule)])

    assert not query.searchable
    assert query.fallback is not None
    assert "|cidr" in query.fallback


def test_a_missing_windows_name_is_missing_from_event_and_user_data(tmp_path: Path) -> None:
    rule = """
        title: No Parent
        id: 5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f89
        logsource:
            product: windows
            category: process_creation
        detection:
            selection:
                ParentImage: null
            condition: selection
        """
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)

    (query,) = converter.convert_paths([_write(tmp_path, "r.yml", rule)])

    assert query.query is not None
    assert (
        "(NOT _exists_:winlog.event_data.ParentImage) AND "
        "(NOT _exists_:winlog.user_data.\\*.ParentImage)"
    ) in query.query

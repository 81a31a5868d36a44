"""Loading rule files: what loads, what is reported, and that one bad rule spoils nothing."""

import gc
import uuid
from pathlib import Path

import pytest
from sigma.collection import SigmaCollection

from canhgac.correlator import RuleLoadError, RuleSet, bundled_rules_path, load_rules
from tests.correlator._events import load_inline, write_rules

GOOD = """
title: Good Rule
id: 6f1c3a52-8d2e-4c1b-9a7e-2b5d4c3e1f00
name: good
logsource:
    category: webserver
detection:
    selection:
        cs-method: GET
    condition: selection
"""


def good_rule(title: str, rule_id: str, name: str | None = None) -> str:
    text = GOOD.replace("Good Rule", title).replace("6f1c3a52-8d2e-4c1b-9a7e-2b5d4c3e1f00", rule_id)
    return text.replace("name: good", f"name: {name}" if name else "")


def titles(ruleset: RuleSet) -> list[str]:
    return [rule.info.title for rule in ruleset.rules] + [
        correlation.info.title for correlation in ruleset.correlations
    ]


def only_error(ruleset: RuleSet) -> RuleLoadError:
    (error,) = ruleset.errors
    return error


class TestBundledRules:
    def test_load_with_zero_errors(self) -> None:
        ruleset = load_rules([])
        assert ruleset.errors == ()
        assert len(ruleset.rules) >= 7
        assert len(ruleset.correlations) == 7
        assert ruleset.unrouted == ()

    def test_are_found_beside_the_package_without_resolving_links(self) -> None:
        path = bundled_rules_path()
        assert path.name == "rules"
        assert path.parent.name == "canhgac" or (path.parent / "correlator").is_dir()
        assert sorted(path.glob("*.yml"))

    def test_follow_the_project_conventions(self) -> None:
        collection = SigmaCollection.load_ruleset([bundled_rules_path()], collect_errors=True)
        assert collection.errors == []
        ids = [rule.id for rule in collection.rules]
        assert len(set(ids)) == len(ids)
        for rule in collection.rules:
            assert isinstance(rule.id, uuid.UUID), rule.title
            assert rule.id.version == 4, rule.title
            assert rule.author == "canhgac", rule.title
            assert str(rule.date) == "2026-11-24", rule.title
            assert rule.level is not None, rule.title
            assert rule.falsepositives, rule.title
            assert rule.description, rule.title
            assert any(str(tag).startswith("attack.t") for tag in rule.tags), rule.title

    def test_can_be_left_out(self, tmp_path: Path) -> None:
        assert load_rules([tmp_path], bundled=False) == RuleSet((), (), ())


class TestFilesAndFolders:
    def test_folders_are_read_recursively_for_yml_and_yaml(self, tmp_path: Path) -> None:
        (tmp_path / "web" / "deep").mkdir(parents=True)
        write_rules(tmp_path / "web", "a.yml", good_rule("A", str(uuid.uuid4())))
        write_rules(tmp_path / "web" / "deep", "b.yaml", good_rule("B", str(uuid.uuid4())))
        write_rules(tmp_path, "notes.txt", "not a rule")
        (tmp_path / ".git").mkdir()
        write_rules(tmp_path / ".git", "c.yml", "broken: [")
        ruleset = load_rules([tmp_path], bundled=False)
        assert ruleset.errors == ()
        assert sorted(titles(ruleset)) == ["A", "B"]

    def test_a_file_given_twice_is_read_once(self, tmp_path: Path) -> None:
        path = write_rules(tmp_path, "a.yml", good_rule("A", str(uuid.uuid4())))
        ruleset = load_rules([path, tmp_path, str(path)], bundled=False)
        assert ruleset.errors == ()
        assert titles(ruleset) == ["A"]

    def test_a_missing_path_is_reported(self, tmp_path: Path) -> None:
        ruleset = load_rules([tmp_path / "absent"], bundled=False)
        assert only_error(ruleset) == RuleLoadError(
            str(tmp_path / "absent"), None, "no such file or folder"
        )

    def test_an_empty_file_holds_no_rules(self, tmp_path: Path) -> None:
        assert load_inline(tmp_path, **{"empty.yml": ""}) == RuleSet((), (), ())


class TestBrokenRulesDoNotStopTheOthers:
    def test_broken_yaml(self, tmp_path: Path) -> None:
        ruleset = load_inline(
            tmp_path,
            **{"bad.yml": "title: x\n  detection: [\n", "good.yml": GOOD},
        )
        error = only_error(ruleset)
        assert error.path == str(tmp_path / "bad.yml")
        assert error.rule is None
        assert error.reason.startswith("invalid YAML")
        assert titles(ruleset) == ["Good Rule"]

    def test_a_document_that_is_not_a_mapping(self, tmp_path: Path) -> None:
        ruleset = load_inline(tmp_path, **{"list.yml": "- a\n- b\n", "good.yml": GOOD})
        assert "not a Sigma rule" in only_error(ruleset).reason
        assert titles(ruleset) == ["Good Rule"]

    def test_unknown_modifier(self, tmp_path: Path) -> None:
        bad = good_rule("Bad Modifier", str(uuid.uuid4())).replace("cs-method:", "cs-method|foo:")
        ruleset = load_inline(tmp_path, **{"bad.yml": bad, "good.yml": GOOD})
        error = only_error(ruleset)
        assert (error.path, error.rule) == (str(tmp_path / "bad.yml"), "Bad Modifier")
        assert error.reason == "Unknown modifier 'foo'"
        assert titles(ruleset) == ["Good Rule"]

    def test_one_bad_rule_in_a_multi_document_file(self, tmp_path: Path) -> None:
        bad = good_rule("No Condition", str(uuid.uuid4())).replace("    condition: selection", "")
        ruleset = load_inline(tmp_path, **{"both.yml": GOOD + "---\n" + bad})
        error = only_error(ruleset)
        assert error.rule == "No Condition"
        assert "condition" in error.reason
        assert titles(ruleset) == ["Good Rule"]

    def test_unsupported_feature(self, tmp_path: Path) -> None:
        rule_id = str(uuid.uuid4())
        bad = good_rule("Night Time", rule_id).replace("cs-method: GET", "sc-status|hour: 3")
        ruleset = load_inline(tmp_path, **{"bad.yml": bad, "good.yml": GOOD})
        error = only_error(ruleset)
        assert (error.path, error.rule, error.rule_id) == (
            str(tmp_path / "bad.yml"),
            "Night Time",
            rule_id,
        )
        assert error.reason.startswith("unsupported: time modifiers")
        assert titles(ruleset) == ["Good Rule"]

    def test_placeholder_without_values(self, tmp_path: Path) -> None:
        bad = good_rule("Placeholder", str(uuid.uuid4())).replace(
            "cs-method: GET", "cs-username|expand: '%admins%'"
        )
        ruleset = load_inline(tmp_path, **{"bad.yml": bad, "good.yml": GOOD})
        error = only_error(ruleset)
        assert (error.path, error.rule) == (str(tmp_path / "bad.yml"), "Placeholder")
        assert error.reason.startswith("placeholder %admins% has no values")
        assert titles(ruleset) == ["Good Rule"]

    def test_condition_naming_a_missing_detection(self, tmp_path: Path) -> None:
        bad = good_rule("Typo", str(uuid.uuid4())).replace(
            "condition: selection", "condition: selektion"
        )
        ruleset = load_inline(tmp_path, **{"bad.yml": bad, "good.yml": GOOD})
        assert "selektion" in only_error(ruleset).reason
        assert titles(ruleset) == ["Good Rule"]


class TestDuplicates:
    def test_a_second_rule_with_the_same_id_is_skipped(self, tmp_path: Path) -> None:
        ruleset = load_inline(
            tmp_path,
            **{"a.yml": GOOD, "b.yml": GOOD.replace("Good Rule", "Copy").replace("good", "copy")},
        )
        error = only_error(ruleset)
        assert error.path == str(tmp_path / "b.yml")
        assert error.rule == "Copy"
        assert error.reason == (
            "duplicate rule id 6f1c3a52-8d2e-4c1b-9a7e-2b5d4c3e1f00: "
            f"already loaded from {tmp_path / 'a.yml'}"
        )
        assert titles(ruleset) == ["Good Rule"]

    def test_a_second_rule_with_the_same_name_is_skipped(self, tmp_path: Path) -> None:
        ruleset = load_inline(
            tmp_path,
            **{"a.yml": GOOD, "b.yml": good_rule("Other", str(uuid.uuid4()), "good")},
        )
        assert only_error(ruleset).reason.startswith("duplicate rule name 'good'")

    def test_rules_without_id_get_a_stable_id_from_their_title(self, tmp_path: Path) -> None:
        text = good_rule("No Id", "x").replace("id: x\n", "")
        first = load_inline(tmp_path, **{"a.yml": text})
        second = load_inline(tmp_path, **{"a.yml": text})
        assert first.errors == ()
        assert first.rules[0].info.rule_id == second.rules[0].info.rule_id
        assert len(first.rules[0].info.rule_id) == 32


CORRELATION = """
title: {title}
id: {id}
name: {name}
correlation:
    type: {type}
    rules: {rules}
    group-by:
        - source.ip
    timespan: 5m
    condition:
        {op}: {count}
"""


def correlation(
    title: str,
    rules: str,
    *,
    name: str = "",
    type: str = "event_count",
    op: str = "gte",
    count: int = 3,
) -> str:
    return CORRELATION.format(
        title=title,
        id=uuid.uuid4(),
        name=name or title.lower().replace(" ", "_"),
        type=type,
        rules=rules,
        op=op,
        count=count,
    )


class TestCorrelationReferences:
    def test_references_by_name_and_by_id_across_files(self, tmp_path: Path) -> None:
        ruleset = load_inline(
            tmp_path,
            **{
                "base.yml": GOOD,
                "by_name.yml": correlation("By Name", "[good]"),
                "by_id.yml": correlation("By Id", "[6f1c3a52-8d2e-4c1b-9a7e-2b5d4c3e1f00]"),
            },
        )
        assert ruleset.errors == ()
        sources = {c.info.title: c.sources for c in ruleset.correlations}
        assert sources == {
            "By Name": ("6f1c3a52-8d2e-4c1b-9a7e-2b5d4c3e1f00",),
            "By Id": ("6f1c3a52-8d2e-4c1b-9a7e-2b5d4c3e1f00",),
        }

    def test_a_missing_reference_skips_only_that_correlation(self, tmp_path: Path) -> None:
        ruleset = load_inline(
            tmp_path,
            **{
                "base.yml": GOOD,
                "ok.yml": correlation("Ok", "[good]"),
                "missing.yml": correlation("Missing", "[nope]"),
            },
        )
        error = only_error(ruleset)
        assert (error.path, error.rule) == (str(tmp_path / "missing.yml"), "Missing")
        assert error.reason == "references rule 'nope', which is not loaded"
        assert titles(ruleset) == ["Good Rule", "Ok"]

    def test_a_reference_to_a_rule_that_failed_is_reported(self, tmp_path: Path) -> None:
        bad = GOOD.replace("cs-method: GET", "cs-username|expand: '%admins%'")
        ruleset = load_inline(
            tmp_path,
            **{"base.yml": bad, "corr.yml": correlation("Over Bad", "[good]")},
        )
        reasons = {error.rule: error.reason for error in ruleset.errors}
        assert reasons["Over Bad"] == "references rule 'good', which could not be loaded"
        assert titles(ruleset) == []

    def test_a_failure_propagates_through_chained_correlations(self, tmp_path: Path) -> None:
        ruleset = load_inline(
            tmp_path,
            **{
                "a.yml": correlation("Outer", "[inner]"),
                "b.yml": correlation("Inner", "[nope]"),
            },
        )
        reasons = {error.rule: error.reason for error in ruleset.errors}
        assert reasons == {
            "Inner": "references rule 'nope', which is not loaded",
            "Outer": "references rule 'inner', which could not be loaded",
        }

    def test_circular_references_are_reported(self, tmp_path: Path) -> None:
        ruleset = load_inline(
            tmp_path,
            **{
                "base.yml": GOOD,
                "a.yml": correlation("Ping", "[pong]"),
                "b.yml": correlation("Pong", "[ping]"),
                "c.yml": correlation("Self", "[self, good]"),
            },
        )
        reasons = {error.rule: error.reason for error in ruleset.errors}
        cycle = "its rule references form a cycle (directly or through a rule it references)"
        assert reasons == {"Ping": cycle, "Pong": cycle, "Self": cycle}
        assert titles(ruleset) == ["Good Rule"]

    @pytest.mark.parametrize("op", ["lt", "lte", "eq", "neq"])
    def test_conditions_decided_at_window_close_load(self, tmp_path: Path, op: str) -> None:
        ruleset = load_inline(
            tmp_path, **{"base.yml": GOOD, "c.yml": correlation("Quiet", "[good]", op=op)}
        )
        assert ruleset.errors == ()
        assert ruleset.correlations[0].mode == "on_close"

    def test_value_count_loads(self, tmp_path: Path) -> None:
        text = correlation("Spray", "[good]", type="value_count").replace(
            "gte: 3", "gte: 3\n        field: user.name"
        )
        ruleset = load_inline(tmp_path, **{"base.yml": GOOD, "c.yml": text})
        assert ruleset.errors == ()
        assert ruleset.correlations[0].value_fields == (("user.name",),)

    def test_a_range_condition_loads_although_pysigma_takes_one_bound(self, tmp_path: Path) -> None:
        text = correlation("Range", "[good]").replace("gte: 3", "gt: 3\n        lte: 9")
        ruleset = load_inline(tmp_path, **{"base.yml": GOOD, "c.yml": text})
        assert ruleset.errors == ()
        bounds = [(b.operator, b.threshold) for b in ruleset.correlations[0].condition]
        assert bounds == [("gt", 3), ("lte", 9)]

    def test_a_correlation_pysigma_rejects_costs_its_file_only(self, tmp_path: Path) -> None:
        text = correlation("Many", "[good]").replace("gte: 3", "gte: many")
        ruleset = load_inline(tmp_path, **{"base.yml": GOOD, "c.yml": text})
        error = only_error(ruleset)
        assert (error.path, error.rule) == (str(tmp_path / "c.yml"), None)
        assert "'many' is no valid Sigma correlation condition count" in error.reason
        assert titles(ruleset) == ["Good Rule"]


class TestSigmaHQRules:
    def test_webserver_and_linux_rules_load_without_errors(self, shared_dir: Path) -> None:
        rules = shared_dir / "sigma" / "rules"
        ruleset = load_rules([rules / "web" / "webserver_generic", rules / "linux"])
        assert ruleset.errors == ()
        web = [rule for rule in ruleset.rules if rule.logsource.category == "webserver"]
        assert len(web) >= 10
        assert all(rule.routed for rule in web)


def test_loading_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(
        "title: t\nlogsource: {product: linux, service: auth}\n"
        "detection: {s: {message: x}, condition: s}\n",
        encoding="utf-8",
    )
    assert gc.isenabled()
    assert len(load_rules([tmp_path], bundled=False).rules) == 1
    assert gc.isenabled()
    gc.disable()
    try:
        load_rules([tmp_path], bundled=False)
        assert not gc.isenabled()
    finally:
        gc.enable()

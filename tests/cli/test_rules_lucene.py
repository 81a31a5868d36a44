"""`canhgac rules lucene` as a user runs it: rule files in, Lucene queries out."""

import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_canhgac

pytestmark = pytest.mark.slow

RULES = {
    "nikto.yml": """
        title: Nikto On The Portal
        id: 0f3c6a1e-5b7d-4c2a-9e8f-1a2b3c4d5e6f
        logsource:
            category: webserver
        detection:
            selection:
                cs-user-agent|contains: nikto
            condition: selection
        level: medium
        """,
    "same_user.yml": """
        title: Login Name Equals Host Name
        id: 1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d
        logsource:
            category: webserver
        detection:
            selection:
                cs-username|fieldref: cs-host
            condition: selection
        level: low
        """,
    "whoami.yml": """
        title: Whoami Run
        id: 2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e
        logsource:
            category: process_creation
            product: windows
        detection:
            selection:
                Image|endswith: '\\\\whoami.exe'
            condition: selection
        level: low
        """,
}


def write_rules(folder: Path) -> Path:
    rules = folder / "rules"
    rules.mkdir()
    for name, text in RULES.items():
        (rules / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return rules


def test_each_rule_gets_its_query_or_the_reason_it_has_none(tmp_path: Path, data_dir: Path) -> None:
    result = run_canhgac("rules", "lucene", str(write_rules(tmp_path)))

    # The field reference cannot be a Lucene query: exit 1, the others still printed.
    assert result.returncode == 1, result.stderr
    blocks = result.stdout.split("# ")[1:]
    by_title = {block.split(" (")[0]: block for block in blocks if " (" in block}
    nikto = by_title["Nikto On The Portal"]
    # The webserver routing of logsources.yml, ANDed with the mapped user agent field; string
    # matches search the lower-cased copies (.caseless), as Sigma matches regardless of case.
    assert (
        "((event.dataset.caseless:(nginx.access OR apache.access)) OR "
        "event.category.caseless:web) AND user_agent.original.caseless:*nikto*"
    ) in nikto
    assert "cannot convert: pySigma cannot convert it to Lucene" in result.stdout
    assert "field references" in by_title["Login Name Equals Host Name"] + result.stdout
    whoami = by_title["Whoami Run"]
    # Windows event data is indexed (dynamic templates), also where the engine reads it from
    # user_data, so the rule runs as a query with no note.
    assert "winlog.event_data.Image.caseless:*\\\\whoami.exe" in whoami
    assert "winlog.user_data.\\*.Image.caseless:*\\\\whoami.exe" in whoami
    assert "does not index" not in whoami


def test_a_missing_path_is_reported_as_a_rule_that_cannot_convert(
    tmp_path: Path, data_dir: Path
) -> None:
    result = run_canhgac("rules", "lucene", str(tmp_path / "gone.yml"))

    assert result.returncode == 1
    assert "gone.yml" in result.stdout
    assert "no such file or folder" in result.stdout

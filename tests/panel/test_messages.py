"""The panel's words: both languages name the same keys, and every key app.js asks for
exists (a missing one would show its key to the analyst)."""

import re
from pathlib import Path

from canhgac.correlator import Severity
from canhgac.incidents import IncidentStatus
from canhgac.storage import Role

PANEL = Path(__file__).resolve().parents[2] / "api" / "panel"


def messages() -> dict[str, set[str]]:
    text = (PANEL / "i18n.js").read_text(encoding="utf-8")
    vi_part, en_part = text.split("\n  en: {", 1)
    key = re.compile(r'^\s+"([a-z_.]+)":', re.MULTILINE)
    return {"vi": set(key.findall(vi_part)), "en": set(key.findall(en_part))}


def test_both_languages_have_the_same_keys() -> None:
    found = messages()
    assert found["vi"], "no Vietnamese messages found"
    assert found["vi"] - found["en"] == set(), "missing in English"
    assert found["en"] - found["vi"] == set(), "missing in Vietnamese"


def test_every_key_the_panel_asks_for_exists() -> None:
    source = (PANEL / "app.js").read_text(encoding="utf-8")
    asked = set(re.findall(r'\bt\("([a-z_.]+)"', source))
    assert len(asked) > 50
    assert asked - messages()["vi"] == set()


def test_every_status_severity_and_role_has_words() -> None:
    vi = messages()["vi"]
    assert {f"status.{s.value}" for s in IncidentStatus} <= vi
    assert {f"severity.{s.value}" for s in Severity} <= vi
    assert {f"role.{r.value}" for r in Role} <= vi

from pathlib import Path

import pytest

from canhgac.config import ConfigError, load_settings
from tests.conftest import REPO


def test_the_documented_example_is_valid() -> None:
    settings = load_settings(REPO / "canhgac.example.yaml")
    assert [s.name for s in settings.sources] == [
        "dichvucong-nginx",
        "eportal-apache",
        "motcua-app01-auth",
        "syslog-dc",
        "tap-dc",
        "portal-monitor",
    ]
    assert [s.type for s in settings.sources] == [
        "file",
        "file",
        "file",
        "syslog",
        "capture",
        "portal_monitor",
    ]
    assert settings.incidents.window.total_seconds() == 15 * 60


def test_environment_variables_override_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("api:\n  port: 8081\n  host: 0.0.0.0\ndata_dir: /srv/canhgac\n")
    monkeypatch.setenv("CANHGAC_API__PORT", "9001")
    monkeypatch.setenv("CANHGAC_DATA_DIR", str(tmp_path / "d"))
    settings = load_settings(config)
    assert settings.api.port == 9001
    assert settings.api.host == "0.0.0.0"
    assert settings.data_dir == tmp_path / "d"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("apii:\n  port: 1\n", "apii"),
        ("api:\n  prot: 1\n", "api.prot"),
        ("api:\n  port: 70000\n", "api.port"),
        ("sources:\n  - name: x\n    paths: [a]\n    format: cef\n", "sources.0.format"),
        ("sources:\n  - name: x\n    paths: []\n", "sources.0.paths"),
        ("timezone: Mars/Olympus\n", "timezone"),
    ],
)
def test_a_wrong_key_or_value_is_refused_naming_the_key(
    tmp_path: Path, text: str, named: str
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    assert f"{named}:" in str(error.value)
    assert str(config) in str(error.value)


def test_unreadable_or_broken_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_settings(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("api: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(broken)


def test_canhgac_es_url_alone_selects_the_elasticsearch_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CANHGAC_ES_URL", "http://127.0.0.1:9200")
    settings = load_settings(None)
    assert settings.storage == "elasticsearch"
    assert settings.elasticsearch.url == "http://127.0.0.1:9200"


def test_the_elasticsearch_store_needs_a_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CANHGAC_ES_URL", raising=False)
    config = tmp_path / "c.yaml"
    config.write_text("storage: elasticsearch\n")
    with pytest.raises(ConfigError, match="CANHGAC_ES_URL"):
        load_settings(config)

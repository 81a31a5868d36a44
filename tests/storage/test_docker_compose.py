"""docker-compose.yml: a complete deployment, checked without a container engine."""

import os
import re
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import require_tool

REPO = Path(__file__).resolve().parent.parent.parent
COMPOSE = REPO / "docker-compose.yml"
CANHGAC_SERVICES = ("api", "collectors", "correlator")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def test_docker_compose_accepts_the_file() -> None:
    """`docker-compose config` (Debian's docker-compose package) checks it against the
    Compose schema and resolves its variables."""
    command = require_tool("docker-compose", "docker-compose")
    env = {**os.environ, "ELASTIC_PASSWORD": "checking-only"}
    checked = subprocess.run(
        [command, "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_without_the_elastic_password_compose_refuses_to_start() -> None:
    command = require_tool("docker-compose", "docker-compose")
    env = {k: v for k, v in os.environ.items() if k != "ELASTIC_PASSWORD"}
    checked = subprocess.run(
        [command, "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert checked.returncode != 0
    assert "ELASTIC_PASSWORD" in checked.stderr


def test_every_service_is_there_with_a_health_check() -> None:
    services = compose()["services"]
    assert set(services) == {"elasticsearch", *CANHGAC_SERVICES}
    for name, service in services.items():
        assert service["healthcheck"]["test"], f"{name} has no health check"


def test_elasticsearch_is_the_official_image_of_the_clients_major_version() -> None:
    service = compose()["services"]["elasticsearch"]
    image = re.fullmatch(
        r"docker\.elastic\.co/elasticsearch/elasticsearch:(\d+)\.(\d+)\.(\d+)", service["image"]
    )
    assert image is not None, service["image"]
    client_major = int(version("elasticsearch").split(".")[0])
    assert int(image.group(1)) == client_major
    # The tests' node (scripts/elasticsearch) runs the same version.
    script = (REPO / "scripts" / "elasticsearch").read_text(encoding="utf-8")
    default = re.search(r"CANHGAC_ES_VERSION:-([0-9.]+)", script)
    assert default is not None
    assert service["image"].endswith(":" + default.group(1))


def test_elasticsearch_keeps_its_data_on_a_named_volume() -> None:
    document = compose()
    volumes = document["services"]["elasticsearch"]["volumes"]
    assert "elasticsearch-data:/usr/share/elasticsearch/data" in volumes
    assert "elasticsearch-data" in document["volumes"]


def test_canhgac_services_share_one_configuration_and_wait_for_elasticsearch() -> None:
    services = compose()["services"]
    for name in CANHGAC_SERVICES:
        service = services[name]
        assert "./canhgac.yaml:/etc/canhgac/canhgac.yaml:ro" in service["volumes"], name
        assert "/etc/canhgac/canhgac.yaml" in service["command"], name
        assert service["depends_on"]["elasticsearch"]["condition"] == "service_healthy", name
        environment = service["environment"]
        assert environment["CANHGAC_STORAGE"] == "elasticsearch", name
        assert environment["CANHGAC_ES_URL"] == "http://elasticsearch:9200", name

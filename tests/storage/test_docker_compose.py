"""docker-compose.yml: a complete deployment, checked without a container engine."""

import json
import os
import re
import subprocess
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.conftest import require_tool, run_canhgac

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


def test_canhgac_services_share_one_configuration() -> None:
    services = compose()["services"]
    for name in CANHGAC_SERVICES:
        service = services[name]
        assert "./canhgac.yaml:/etc/canhgac/canhgac.yaml:ro" in service["volumes"], name
        assert "/etc/canhgac/canhgac.yaml" in service["command"], name


def test_the_store_users_wait_for_elasticsearch() -> None:
    services = compose()["services"]
    for name in ("api", "correlator"):
        service = services[name]
        assert service["depends_on"]["elasticsearch"]["condition"] == "service_healthy", name
        environment = service["environment"]
        assert environment["CANHGAC_STORAGE"] == "elasticsearch", name
        assert environment["CANHGAC_ES_URL"] == "http://elasticsearch:9200", name


def test_collectors_forward_to_the_correlators_ingest_port_without_store_credentials() -> None:
    services = compose()["services"]
    collectors, correlator = services["collectors"], services["correlator"]
    environment = collectors["environment"]
    forward = urlsplit(environment["CANHGAC_FORWARDING__URL"])
    assert forward.hostname == "correlator"
    assert str(forward.port) == _option(correlator["command"], "--port")
    assert "CANHGAC_FORWARDING__API_KEY" in environment
    assert not any(name.startswith(("CANHGAC_ES", "CANHGAC_ELASTICSEARCH")) for name in environment)
    assert collectors["depends_on"]["correlator"]["condition"] == "service_healthy"
    # The spool lives on the collectors' own volume, so a restart keeps what waits in it.
    assert any(v.endswith(":/var/lib/canhgac") for v in collectors["volumes"])
    assert environment["CANHGAC_DATA_DIR"] == "/var/lib/canhgac"


def test_every_service_command_is_a_canhgac_run_component_that_exists() -> None:
    """The image's entrypoint is `canhgac`, so a command is canhgac's arguments: each must
    be `run` with options and a --component that `canhgac run --help` lists."""
    help_text = run_canhgac("run", "--help")
    assert help_text.returncode == 0, help_text.stderr
    choices = re.search(r"--component \[([a-z|]+)\]", help_text.stdout)
    assert choices is not None, help_text.stdout
    components = set(choices.group(1).split("|"))
    assert components == {"all", "api", "collectors", "correlator"}
    services = compose()["services"]
    for name in CANHGAC_SERVICES:
        command = services[name]["command"]
        assert command[0] == "run", name
        assert _option(command, "--component") == name
        for option in (arg for arg in command if arg.startswith("--")):
            assert option in help_text.stdout, f"{name}: {option} is not an option of canhgac run"
        port = _option(command, "--port")
        assert f"127.0.0.1:{port}/healthz" in " ".join(services[name]["healthcheck"]["test"]), name


def test_the_services_build_the_image_from_the_dockerfile() -> None:
    services = compose()["services"]
    for name in CANHGAC_SERVICES:
        assert services[name]["build"] == ".", name
        assert services[name]["image"].startswith("${CANHGAC_IMAGE:-canhgac:"), name


# -- the Dockerfile, read instruction by instruction (no container engine runs here) ----


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n\s*", " ", text)
    instructions = []
    for line in joined.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, arguments = stripped.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in dockerfile():
        if instruction[0] == "FROM":
            stages.append([])
        assert stages, "the Dockerfile must start with FROM"
        stages[-1].append(instruction)
    return stages


def test_every_stage_is_python_3_11_slim() -> None:
    bases = [args.split()[0] for keyword, args in dockerfile() if keyword == "FROM"]
    assert bases
    assert set(bases) == {"python:3.11-slim"}
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"] == (
        ">=3.11"
    )


def test_the_build_stage_builds_the_wheel_from_every_packaged_folder() -> None:
    build, *_ = _stages()
    copied = {args.split()[0] for keyword, args in build if keyword == "COPY"}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packaged = project["tool"]["hatch"]["build"]["targets"]["wheel"]["only-include"]
    # hatch_build.py builds the native module with scripts/build-native from native/.
    needed = {*packaged, "pyproject.toml", "README.md", "hatch_build.py", "native"}
    needed.add("scripts/build-native")
    if "." not in copied:
        assert needed <= copied, f"not copied: {needed - copied}"
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    ignored = {line for line in lines if not line.startswith("#")}
    kept_again = {line[1:] for line in ignored if line.startswith("!")}
    left_out = {
        path
        for path in needed - kept_again
        if any("/".join(Path(path).parts[: n + 1]) in ignored for n in range(len(Path(path).parts)))
    }
    assert not left_out, f".dockerignore leaves out {left_out}"
    assert any("python -m build --wheel" in args for keyword, args in build if keyword == "RUN")


def test_the_final_image_installs_the_wheel_and_tshark_and_runs_as_a_user() -> None:
    *_, final = _stages()
    runs = " ".join(args for keyword, args in final if keyword == "RUN")
    assert re.search(r"apt-get install [^&]*\btshark\b", runs), runs
    assert re.search(r"pip install [^&]*\.whl", runs), runs
    assert any(keyword == "COPY" and args.startswith("--from=build") for keyword, args in final)
    users = [args for keyword, args in final if keyword == "USER"]
    assert users, "the image must not run as root"
    assert users[-1] not in ("root", "0")
    assert "useradd" in runs
    assert users[-1] in runs
    keywords = [keyword for keyword, _ in final]
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")


def test_the_entrypoint_is_canhgac_and_the_health_check_asks_healthz() -> None:
    *_, final = _stages()
    entrypoints = [args for keyword, args in final if keyword == "ENTRYPOINT"]
    assert [json.loads(args) for args in entrypoints] == [["canhgac"]]
    (check,) = [args for keyword, args in final if keyword == "HEALTHCHECK"]
    assert "CMD" in check
    assert "/healthz" in check
    command = json.loads(check[check.index("CMD") + 3 :].strip())
    assert command[:2] == ["python", "-c"]
    compile(command[2], "HEALTHCHECK", "exec")  # the probe is valid Python
    default = [json.loads(args) for keyword, args in final if keyword == "CMD"]
    assert default == [["run", "--host", "0.0.0.0"]]


def test_the_build_context_leaves_out_the_checkout_s_state() -> None:
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".venv", "data", "tests"):
        assert entry in ignored, entry


def _option(command: list[str], name: str) -> str:
    return str(command[command.index(name) + 1])

"""A real Elasticsearch for the tests: the shared node, and clusters of their own.

Tests that need Elasticsearch read CANHGAC_TEST_ES_URL (printed by
`scripts/elasticsearch start`); without it they skip, unless CANHGAC_REQUIRE_ES=1
makes that a failure. Each test store has its own index prefix, deleted afterwards.
"""

import http.client
import os
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from elasticsearch import Elasticsearch

from canhgac.storage import ElasticsearchStore

REPO = Path(__file__).resolve().parent.parent.parent
SCRIPT = REPO / "scripts" / "elasticsearch"


def elasticsearch_url() -> str:
    """CANHGAC_TEST_ES_URL, or a skip saying how to get one (a failure when
    CANHGAC_REQUIRE_ES=1)."""
    url = os.environ.get("CANHGAC_TEST_ES_URL", "").strip()
    if url:
        return url
    message = (
        "needs a real Elasticsearch: run `scripts/elasticsearch start` and export the "
        "CANHGAC_TEST_ES_URL=... line it prints"
    )
    if os.environ.get("CANHGAC_REQUIRE_ES") == "1":
        pytest.fail(message + "; CANHGAC_REQUIRE_ES=1 makes its absence an error")
    pytest.skip(message)


def new_prefix() -> str:
    """An index prefix no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}"


def delete_prefix(url: str, prefix: str) -> None:
    """Delete every index and index template named `<prefix>-...`, by name."""
    with Elasticsearch(url.split(","), request_timeout=60) as client:
        indices = client.indices.resolve_index(name=f"{prefix}-*", expand_wildcards="all")
        names = [entry["name"] for entry in indices["indices"]]
        for start in range(0, len(names), 50):
            client.indices.delete(index=",".join(names[start : start + 50]))
        templates = client.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
        for template in templates.body.get("index_templates", []):
            client.indices.delete_index_template(name=template["name"])


@contextmanager
def fresh_store(
    url: str,
    folder: Path,
    clock: Callable[[], datetime] | None = None,
    **options: Any,
) -> Iterator[ElasticsearchStore]:
    """A fresh, empty store on its own prefix, spooling in `folder`; deleted afterwards."""
    prefix = options.pop("index_prefix", None) or new_prefix()
    if clock is not None:
        options["clock"] = clock
    store = ElasticsearchStore.open(url, spool_dir=folder / "spool", index_prefix=prefix, **options)
    try:
        yield store
    finally:
        store.close()
        delete_prefix(url, prefix)


class ScriptedCluster:
    """A cluster of the test's own, run by scripts/elasticsearch with its own state."""

    def __init__(self, state: Path, nodes: int, first_port: int) -> None:
        self.state = state
        self.nodes = nodes
        self.first_port = first_port
        self.url = ""

    def run(self, *args: str, timeout: float = 300) -> str:
        finished = subprocess.run(
            [str(SCRIPT), *args],
            env={**os.environ, "CANHGAC_ES_STATE": str(self.state)},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if finished.returncode != 0:
            raise AssertionError(
                f"scripts/elasticsearch {' '.join(args)} failed ({finished.returncode}):\n"
                f"{finished.stdout}\n{finished.stderr}"
            )
        return finished.stdout

    def start(self) -> str:
        output = self.run("start", "--nodes", str(self.nodes), "--port", str(self.first_port))
        last = output.strip().splitlines()[-1]
        assert last.startswith("CANHGAC_TEST_ES_URL=http://127.0.0.1:"), output
        self.url = last.split("=", 1)[1]
        return self.url

    def stop_node(self, index: int, *, kill: bool = False) -> None:
        self.run("stop-node", str(index), *(["--kill"] if kill else []))

    def start_node(self, index: int) -> None:
        self.run("start-node", str(index))

    def stop(self) -> None:
        self.run("stop")


@contextmanager
def scripted_cluster(state: Path, *, nodes: int, first_port: int) -> Iterator[ScriptedCluster]:
    """A cluster started for one test and stopped (its data deleted) after it."""
    elasticsearch_url()  # the same gate as every test that needs Elasticsearch
    cluster = ScriptedCluster(state, nodes, first_port)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


class FaultyProxy:
    """An HTTP proxy to Elasticsearch on 127.0.0.1 that can drop chosen requests the way
    a node dying mid-request does: the connection closes without an answer."""

    def __init__(self, target: str) -> None:
        parsed = urlsplit(target.split(",")[0])
        self.target = (parsed.hostname or "127.0.0.1", parsed.port or 9200)
        self.drop: Callable[[str, str, bytes], bool] = lambda method, path, body: False
        self.dropped = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tests say what matters."""

            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy.drop(self.command, self.path, body):
                    proxy.dropped += 1
                    self.close_connection = True
                    return
                upstream = http.client.HTTPConnection(*proxy.target, timeout=60)
                try:
                    headers = {
                        name: value
                        for name, value in self.headers.items()
                        if name.lower() not in ("host", "connection", "content-length")
                    }
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self.forward()

            def do_HEAD(self) -> None:
                self.forward()

            def do_POST(self) -> None:
                self.forward()

            def do_PUT(self) -> None:
                self.forward()

            def do_DELETE(self) -> None:
                self.forward()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FaultyProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

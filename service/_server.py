"""Serving a component's HTTP app with uvicorn until SIGINT or SIGTERM."""

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn
from fastapi import FastAPI

from canhgac.api import canhgac_version
from canhgac.collectors import IngestForwarder
from canhgac.config import Settings

log = logging.getLogger(__name__)


def serve(app: FastAPI, settings: Settings) -> None:
    """Serve `app` on the configured address until SIGINT or SIGTERM."""
    server = uvicorn.Server(
        uvicorn.Config(app, host=settings.api.host, port=settings.api.port, log_level="info")
    )
    with _graceful_signals():
        server.run()


def collectors_health_app(forwarder: IngestForwarder) -> FastAPI:
    """A collectors-only process's /healthz: up, and how much waits for the correlator."""
    app = FastAPI(title="canhgac collectors", version=canhgac_version(), openapi_url=None)

    def healthz() -> dict[str, object]:
        return {
            "status": "ok",
            "component": "collectors",
            "version": app.version,
            "spooled_bytes": forwarder.pending_bytes,
            "delivered": forwarder.delivered,
        }

    app.add_api_route("/healthz", healthz, methods=["GET"])
    return app


@contextmanager
def _graceful_signals() -> Iterator[None]:
    """Let SIGINT/SIGTERM end only the server loop.

    uvicorn re-raises the signal it caught once it has shut down, which would kill the
    process before the collectors, pipeline queue and store are closed; with these
    handlers in place that re-raise is a no-op and shutdown runs to its end.
    """

    def note(sig: int, frame: FrameType | None) -> None:
        log.info("received %s; shutting down", signal.Signals(sig).name)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

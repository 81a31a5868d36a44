"""Fetching a portal: the I/O side of the portal monitor (collectors/_portal_checks.py
judges what is fetched).

Each check is one GET with certificate verification (the system's authorities plus the
configured `ca_file`). When verification fails, the reason is kept and the GET is made
again without it, so that an untrusted portal is still checked for availability and
content, and its certificate is still read for its expiry date.
"""

import ssl
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

import httpx

from canhgac.collectors._portal_checks import FetchResult
from canhgac.collectors._read_progress import CollectorError
from canhgac.config import PortalTarget

USER_AGENT = "canhgac-portal-monitor"


class PortalFetcher(Protocol):
    """Fetches a target once; never raises for what the portal does (that is a result)."""

    def fetch(self, target: PortalTarget) -> FetchResult: ...

    def close(self) -> None: ...


class HttpPortalFetcher:
    def __init__(self, *, ca_file: str | None, proxy: str | None, max_body_bytes: int) -> None:
        context = ssl.create_default_context()
        if ca_file is not None:
            try:
                context.load_verify_locations(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise CollectorError(
                    f"cannot read the portal monitor's ca_file {ca_file}: {exc}; "
                    "give a PEM file of the authorities to trust"
                ) from exc
        # The proxy is the configured one only: environment proxies would measure the
        # proxy's health rather than the portal's.
        self._verified = httpx.Client(
            verify=context, proxy=proxy, trust_env=False, headers={"User-Agent": USER_AGENT}
        )
        # Only after verification failed and was reported: the page is still checked.
        self._unverified = httpx.Client(
            verify=False,  # noqa: S501
            proxy=proxy,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._max_body_bytes = max_body_bytes

    def close(self) -> None:
        self._verified.close()
        self._unverified.close()

    def fetch(self, target: PortalTarget) -> FetchResult:
        url = str(target.url)
        started = datetime.now(UTC)
        clock = time.monotonic()
        result = self._get(self._verified, url, target.timeout, started, clock)
        if result.error_type != "tls":
            return result
        tls_error = result.error
        retried = self._get(self._unverified, url, target.timeout, started, time.monotonic())
        return replace(retried, tls_error=tls_error)

    def _get(
        self, client: httpx.Client, url: str, timeout: float, started: datetime, clock: float
    ) -> FetchResult:
        try:
            with client.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
                certificate = _peer_certificate(response)
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= self._max_body_bytes:
                        break
                return FetchResult(
                    started=started,
                    elapsed=time.monotonic() - clock,
                    status=response.status_code,
                    body=bytes(body[: self._max_body_bytes]),
                    charset=response.charset_encoding,
                    certificate=certificate,
                )
        except httpx.TimeoutException:
            error, kind = f"no answer within {timeout:g} s", "timeout"
        except httpx.HTTPError as exc:
            verification = _verification_failure(exc)
            if verification is not None:
                error, kind = verification, "tls"
            else:
                error = str(exc) or type(exc).__name__
                kind = "connection" if isinstance(exc, httpx.TransportError) else "http"
        return FetchResult(
            started=started, elapsed=time.monotonic() - clock, error=error, error_type=kind
        )


def _peer_certificate(response: httpx.Response) -> bytes | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    # httpcore hands out the C-level _ssl._SSLSocket, whose getpeercert takes no keywords.
    ssl_object = stream.get_extra_info("ssl_object")
    getpeercert = getattr(ssl_object, "getpeercert", None)
    if getpeercert is None:
        return None
    der = getpeercert(True)
    return der if isinstance(der, bytes) else None


def _verification_failure(exc: BaseException) -> str | None:
    """The certificate verification error behind an httpx error, in OpenSSL's words."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause.verify_message or cause.reason or str(cause)
        cause = cause.__cause__ or cause.__context__
    return None

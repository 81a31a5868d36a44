"""`type: syslog`: a syslog receiver listening on UDP, TCP and TLS (RFC 5426, 6587, 5425).

sources:
  - type: syslog
    name: syslog-dc
    listen:
      - {protocol: udp, port: 514}
      - {protocol: tcp, port: 514}
      - {protocol: tls, port: 6514, certificate: /etc/canhgac/syslog.pem,
         key: /etc/canhgac/syslog.key, client_ca: /etc/canhgac/agencies-ca.pem}
    organization: So TT&TT          # when no tag rule matches
    tags:                           # first match wins
      - {network: 10.20.0.0/16, organization: UBND tinh, system: portal}
      - {hostname: "fw-*", system: firewall}
"""

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from canhgac.config._file_source import SOURCE_NAME
from canhgac.config._section import Section

SyslogProtocol = Literal["udp", "tcp", "tls"]


class SyslogListener(Section):
    """One socket the receiver listens on."""

    protocol: SyslogProtocol = "udp"
    address: str = "0.0.0.0"  # noqa: S104 - a receiver listens on every interface by default
    port: Annotated[int, Field(ge=0, le=65535)] = 514
    """0 picks a free port (tests); 514 and 6514 need CAP_NET_BIND_SERVICE."""
    certificate: Path | None = None
    """TLS only: the server certificate chain (PEM)."""
    key: Path | None = None
    """TLS only: the certificate's private key (PEM)."""
    client_ca: Path | None = None
    """TLS only: when set, senders must present a certificate signed by this CA."""

    @model_validator(mode="after")
    def _tls_files(self) -> "SyslogListener":
        tls_files = (self.certificate, self.key, self.client_ca)
        if self.protocol == "tls" and (self.certificate is None or self.key is None):
            raise ValueError("a tls listener needs `certificate` and `key` (PEM files)")
        if self.protocol != "tls" and any(f is not None for f in tls_files):
            raise ValueError("certificate, key and client_ca apply to `protocol: tls` only")
        return self


class SyslogTagRule(Section):
    """Tags messages by their sender: exactly one of `address`, `network`, `hostname`."""

    address: IPv4Address | IPv6Address | None = None
    """The sender's IP address, as the socket sees it."""
    network: IPv4Network | IPv6Network | None = None
    """A network (CIDR) the sender's address is in."""
    hostname: str | None = None
    """The HOSTNAME the message names; shell wildcards (`fw-*`), case-insensitive."""
    system: str | None = None
    organization: str | None = None

    @model_validator(mode="after")
    def _one_match(self) -> "SyslogTagRule":
        given = [m for m in (self.address, self.network, self.hostname) if m is not None]
        if len(given) != 1:
            raise ValueError("a tag rule matches by exactly one of address, network, hostname")
        if self.system is None and self.organization is None:
            raise ValueError("a tag rule must set `system`, `organization` or both")
        return self


class SyslogSourceConfig(Section):
    """Syslog received over the network, tagged by sender, spooled before it is processed."""

    type: Literal["syslog"]
    name: Annotated[str, Field(min_length=1, pattern=SOURCE_NAME)]
    listen: Annotated[list[SyslogListener], Field(min_length=1)]
    system: str | None = None
    organization: str | None = None
    tags: list[SyslogTagRule] = Field(default_factory=list)
    max_message_bytes: Annotated[int, Field(ge=480, le=1_048_576)] = 64 * 1024
    """Longer messages become dead letters (RFC 5425 receivers must take at least 2048)."""
    receive_buffer_bytes: Annotated[int, Field(ge=4096)] | None = None
    """SO_RCVBUF of the UDP sockets (the kernel caps it at net.core.rmem_max)."""
    max_connections: Annotated[int, Field(ge=1, le=65_536)] = 1024
    max_queued_messages: Annotated[int, Field(ge=1000)] = 200_000
    """Messages received and spooled but not yet taken by the pipeline, held in memory.
    TCP is not read past two batches; UDP is read on up to this many, so a pipeline
    stall that long loses no datagram (beyond it the kernel drops, and counts, them)."""
    spool_dir: Path | None = None
    """Where received messages are spooled; default: <data_dir>/syslog-spool/<name>."""
    spool_segment_bytes: Annotated[int, Field(ge=65_536)] = 64 * 1024 * 1024
    """The spool is a series of files of about this size; stored ones are deleted."""
    poll_interval: Annotated[float, Field(gt=0, le=60)] = 1.0
    """How often the spool is trimmed and the counters refreshed."""

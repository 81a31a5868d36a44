"""`type: capture`: live packet capture on a network interface (a tap or SPAN port).

sources:
  - type: capture
    name: tap-dc
    interface: eth1
    capture_filter: "not port 22"          # BPF, applied in the kernel
    display_filter: "ip.addr == 10.20.0.0/16"  # Wireshark syntax, applied by tshark
    system: data-centre

Packets are captured by tshark (through pyshark) and turned into the same ECS events
as `canhgac ingest --format pcap` makes of a capture file.
"""

from typing import Annotated, Literal

from pydantic import Field

from canhgac.config._file_source import SOURCE_NAME
from canhgac.config._section import Section


class CaptureSourceConfig(Section):
    """Packets of one interface, to connection, DNS, HTTP, TLS and FTP login events."""

    type: Literal["capture"] = "capture"
    name: Annotated[str, Field(min_length=1, pattern=SOURCE_NAME)]
    interface: Annotated[str, Field(min_length=1)]
    """The interface to capture on (as `tshark -D` lists it), e.g. eth1 or lo."""
    capture_filter: str | None = None
    """A BPF filter (tcpdump syntax), applied before packets leave the kernel."""
    display_filter: str | None = None
    """A Wireshark display filter; tshark dissects every packet to apply it, so prefer
    capture_filter where it can say the same."""
    system: str | None = None
    organization: str | None = None
    poll_interval: Annotated[float, Field(gt=0, le=60)] = 1.0
    idle_timeout: Annotated[float, Field(gt=0, le=3600)] = 120.0
    """Seconds without packets after which a connection's event is made."""
    max_pending_packets: Annotated[int, Field(ge=1000)] = 200_000
    """Packets held between polls; beyond it packets are dropped and counted (a capture
    cannot be slowed down)."""
    tshark_path: str | None = None
    """tshark's path when it is not on PATH."""

"""The ECS `source.*` fields for an address a log names: an IP address or a host name."""

import re
from ipaddress import IPv6Address, ip_address

from canhgac.events import FieldValue

# Dotted-quad IPv4 in canonical form (no leading zeros): the common case, without ipaddress.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}", re.ASCII)


def source_address_fields(address: str, fields: dict[str, FieldValue]) -> None:
    """Set `source.address` as logged, plus `source.ip` or `source.domain`.

    `source.ip` is the canonical text of the address (IPv6 compressed, lower case), and
    an IPv4-mapped IPv6 address (`::ffff:203.113.131.5`, what a dual-stack listener
    logs) becomes the IPv4 address, so that the same client groups as one entity across
    web and auth logs. Anything that is not an IP address is taken as a host name.
    """
    fields["source.address"] = address
    if _IPV4.fullmatch(address) is not None:
        fields["source.ip"] = address
        return
    try:
        ip = ip_address(address)
    except ValueError:
        fields["source.domain"] = address
        return
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        fields["source.ip"] = str(ip.ipv4_mapped)
    else:
        fields["source.ip"] = str(ip)

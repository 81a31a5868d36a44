"""`SyslogTagger`: which system and agency a syslog message belongs to, by its sender.

Rules are tried in the configured order; the first whose address, network or hostname
pattern matches gives its `system` and `organization`; what a rule leaves unset, and
every message no rule matches, takes the source's own `system` and `organization`.
"""

from collections.abc import Sequence
from fnmatch import fnmatchcase
from ipaddress import IPv4Address, IPv6Address, ip_address

from canhgac.config import SyslogTagRule

_CACHE_LIMIT = 4096

Labels = tuple[str | None, str | None]
"""(system, organization)."""


class SyslogTagger:
    __slots__ = ("_cache", "_default", "_rules")

    def __init__(
        self, rules: Sequence[SyslogTagRule], system: str | None, organization: str | None
    ) -> None:
        self._rules = tuple(rules)
        self._default: Labels = (system, organization)
        self._cache: dict[tuple[str, str | None], Labels] = {}

    def labels(self, address: str, hostname: str | None) -> Labels:
        """The (system, organization) of a message from `address` naming `hostname`."""
        key = (address, hostname)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        found = self._match(address, hostname)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = found
        return found

    def _match(self, address: str, hostname: str | None) -> Labels:
        ip = _sender_ip(address)
        folded = hostname.lower() if hostname is not None else None
        for rule in self._rules:
            if rule.address is not None:
                matched = ip is not None and ip == rule.address
            elif rule.network is not None:
                matched = (
                    ip is not None and ip.version == rule.network.version and (ip in rule.network)
                )
            else:
                assert rule.hostname is not None  # the config requires one of the three
                matched = folded is not None and fnmatchcase(folded, rule.hostname.lower())
            if matched:
                system, organization = self._default
                return (
                    rule.system if rule.system is not None else system,
                    rule.organization if rule.organization is not None else organization,
                )
        return self._default


def _sender_ip(address: str) -> IPv4Address | IPv6Address | None:
    """The sender's IP; a dual-stack socket's IPv4-mapped address as the IPv4 one."""
    try:
        ip = ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip

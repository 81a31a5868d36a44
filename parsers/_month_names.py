"""English month abbreviations, as syslog and the Common Log Format both write them."""

from collections.abc import Mapping
from types import MappingProxyType

MONTH_NUMBERS: Mapping[str, int] = MappingProxyType(
    {
        "Jan": 1,
        "Feb": 2,
        "Mar": 3,
        "Apr": 4,
        "May": 5,
        "Jun": 6,
        "Jul": 7,
        "Aug": 8,
        "Sep": 9,
        "Oct": 10,
        "Nov": 11,
        "Dec": 12,
    }
)
"""Month number by its three-letter English abbreviation (exact case: "Nov")."""

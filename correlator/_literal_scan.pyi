# Type stub of the native literal scanner (native/src/lib.rs), built by scripts/build-native.
from collections.abc import Mapping

from canhgac.events import FieldValue

# (kind: "equals" | "startswith" | "endswith" | "contains", lower-case text, number)
_Anchor = tuple[str, str, int]

class LiteralTables:
    def __init__(
        self,
        fields: list[tuple[str, list[_Anchor]]],
        always: list[int],
        further: list[tuple[int, list[int]]],
    ) -> None: ...
    def select(
        self,
        view: Mapping[str, tuple[str, ...]],
        fields: Mapping[str, FieldValue],
        stand_ins: bool,
    ) -> list[int]: ...

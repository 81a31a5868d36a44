# Type stub of canhgac's native module (native/src/), built by scripts/build-native.
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

class EvtxJsonFlattener:
    def __init__(self) -> None: ...
    def flatten(self, line: str) -> tuple[str, dict[str, FieldValue]] | None: ...

def event_id(origin: str, position: int | str, raw: bytes | str) -> str | None: ...
def lowered_text(text: str) -> str | None: ...

class NeedleSet:
    def __init__(self, needles: list[str], ascii_case_insensitive: bool) -> None: ...
    def found_in(self, text: str) -> bool | None: ...

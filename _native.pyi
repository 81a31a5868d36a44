# Type stub of canhgac's native module (native/src/), built by scripts/build-native.
from collections.abc import Callable, Mapping, Sequence
from typing import Any

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

class EvtxRecordFlattener:
    def __init__(self, known: dict[str, str], make_key: Callable[[str], str]) -> None: ...
    def flatten(self, event: Mapping[str, object]) -> tuple[str, dict[str, FieldValue]] | None: ...

def event_id(origin: str, position: int | str, raw: bytes | str) -> str | None: ...
def lowered_text(text: str) -> str | None: ...

class NeedleSet:
    def __init__(self, needles: list[str], ascii_case_insensitive: bool) -> None: ...
    def found_in(self, text: str) -> bool | None: ...

# A rule body's program: tuples, see `Program` in correlator/_compile.py.
_Program = tuple[Any, ...]

class RulePrograms:
    def __init__(self, rules: list[tuple[_Program, Callable[[Any], bool]]]) -> None: ...
    def matching(
        self,
        positions: Sequence[int],
        view: Mapping[str, tuple[str, ...]],
        fields: Mapping[str, FieldValue],
        stand_ins: bool,
    ) -> list[int]: ...
    def timed_matching(
        self,
        positions: Sequence[int],
        view: Mapping[str, tuple[str, ...]],
        fields: Mapping[str, FieldValue],
        stand_ins: bool,
    ) -> tuple[list[int], list[int]]: ...
    def select_matching(
        self,
        tables: LiteralTables,
        view: Mapping[str, tuple[str, ...]],
        fields: Mapping[str, FieldValue],
        stand_ins: bool,
    ) -> list[int]: ...
    def native_count(self) -> int: ...

class EcsPlan:
    def __init__(
        self,
        code: str,
        labels: tuple[tuple[str, FieldValue], ...],
        aliases: tuple[tuple[str, str], ...],
        conversions: list[tuple[str, str, Callable[[FieldValue], FieldValue], str]],
        constants: tuple[tuple[str, FieldValue], ...],
    ) -> None: ...
    def apply(self, fields: dict[str, FieldValue], hostname: str | None) -> None: ...

def plain_route_key(values: list[object]) -> tuple[object, ...] | None: ...

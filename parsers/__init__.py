"""Line parsers: raw log text to timestamp and ECS fields. Pure functions, no I/O."""

from canhgac.parsers._base import LineParser, ParseContext, ParsedRecord, ParseError

__all__ = ["LineParser", "ParseContext", "ParseError", "ParsedRecord"]

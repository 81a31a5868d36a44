"""The normalized event: one ECS document, its deterministic id, and dead letters.

Everything downstream of a parser (correlator, incidents, store, API) speaks `Event`.
"""

from canhgac.events._dead_letter import DeadLetter
from canhgac.events._ecs import flatten_ecs, nest_ecs
from canhgac.events._event import Event, FieldValue, Scalar, event_id, make_event

__all__ = [
    "DeadLetter",
    "Event",
    "FieldValue",
    "Scalar",
    "event_id",
    "flatten_ecs",
    "make_event",
    "nest_ecs",
]

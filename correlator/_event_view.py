"""An event's fields as the compiled rules read them, with per-event memoized text forms.

Several rules routed to one event usually test the same few fields (the URL, the user
agent), so the text and lowered forms of a field are computed once per event, not once
per rule.

Windows events keep some of their data under <UserData> instead of <EventData> (WMI
activity, log cleared, ...), which the normalizer writes as
`winlog.user_data.<Element>.<Name>`. Sigma rules name such values like any other, by
`<Name>` alone, which the logsource pipeline maps to `winlog.event_data.<Name>`; so an
event without `winlog.event_data.<Name>` answers for it with its UserData value of
that name, as the evtx tools SigmaHQ tests with do.
"""

from collections.abc import Iterable, Mapping

from canhgac.events import FieldValue, Scalar

EVENT_DATA_PREFIX = "winlog.event_data."
USER_DATA_PREFIX = "winlog.user_data."


def scalar_text(value: Scalar) -> str | None:
    """The text a rule's string value is compared with; None for a missing value.

    Booleans read "true"/"false", integral floats read like ints ("200", not "200.0"),
    so that a rule written as `sc-status: '200'` matches an event holding 200.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def field_values(value: FieldValue) -> tuple[Scalar, ...]:
    """A field's values without None: one for a scalar, each element for a tuple."""
    if value is None:
        return ()
    if isinstance(value, tuple):
        return tuple(item for item in value if item is not None)
    return (value,)


def user_data_leaves(fields: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    """`winlog.user_data.<Element>...<Name>` values by `<Name>` (the first one wins)."""
    return {leaf: fields[key] for leaf, key in user_data_names(fields).items()}


def user_data_names(fields: Iterable[str]) -> dict[str, str]:
    """`<Name>` -> the field `winlog.user_data.<Element>...<Name>` (the first one wins)."""
    names: dict[str, str] = {}
    for key in fields:
        if key.startswith(USER_DATA_PREFIX):
            names.setdefault(key.rsplit(".", 1)[-1], key)
    return names


class EventView(dict[str, tuple[str, ...]]):
    """Read access to one event's fields for the rule predicates.

    A multi-valued field (a tuple) yields each of its elements; a rule value matches the
    field when it matches any element. The view itself maps a field name to the field's
    values as lower-case text (Sigma's case-insensitive matching), computed on first use:
    predicates index it directly, `view[name]`, so that a cached field costs no Python
    call. `user_data`, when given, is `user_data_names(fields)` (callers that see many
    events of one layout cache it); else it is computed when first needed.
    """

    __slots__ = ("_texts", "_user_data", "fields")

    def __init__(
        self, fields: Mapping[str, FieldValue], user_data: Mapping[str, str] | None = None
    ) -> None:
        self.fields = fields
        self._texts: dict[str, tuple[str, ...]] = {}
        self._user_data = user_data

    def __missing__(self, name: str) -> tuple[str, ...]:
        value = self.fields.get(name)
        if value.__class__ is str:  # the common case, without the generic path's calls
            lowered: tuple[str, ...] = (value.lower(),)
        else:
            lowered = tuple(text.lower() for text in self.texts(name))
        self[name] = lowered
        return lowered

    def _user_data_value(self, name: str) -> FieldValue:
        """The UserData value standing in for a missing `winlog.event_data.<Name>`."""
        if not name.startswith(EVENT_DATA_PREFIX):
            return None
        if self._user_data is None:
            self._user_data = user_data_names(self.fields)
        if not self._user_data:
            return None
        key = self._user_data.get(name[len(EVENT_DATA_PREFIX) :])
        return None if key is None else self.fields.get(key)

    def has_user_data(self) -> bool:
        """Whether any UserData value may stand in for a missing field."""
        if self._user_data is None:
            self._user_data = user_data_names(self.fields)
        return bool(self._user_data)

    def get_value(self, name: str) -> FieldValue:
        """The field's value as the event holds it (None when missing)."""
        value = self.fields.get(name)
        return self._user_data_value(name) if value is None else value

    def has(self, name: str) -> bool:
        """Whether the event carries the field at all (Sigma's `exists`)."""
        return name in self.fields or self._user_data_value(name) is not None

    def scalars(self, name: str) -> tuple[Scalar, ...]:
        """The field's values, without None; empty when the field is missing."""
        return field_values(self.get_value(name))

    def texts(self, name: str) -> tuple[str, ...]:
        """The field's values as text (see `scalar_text`), as cased rules compare them."""
        cached = self._texts.get(name)
        if cached is None:
            value = self.fields.get(name)
            if value.__class__ is str:
                cached = (value,)
            else:
                texts = map(scalar_text, self.scalars(name))
                cached = tuple(text for text in texts if text is not None)
            self._texts[name] = cached
        return cached

    def lowered(self, name: str) -> tuple[str, ...]:
        """The field's values as lower-case text (`view[name]`)."""
        return self[name]

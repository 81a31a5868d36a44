"""Event ids: deterministic, and the native hash (native/src/event_id.rs) equal to the
reference (`_event_id_in_python`) for every input."""

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from canhgac.events import _event as event_module
from canhgac.events import event_id
from tests.conftest import require_native

# Text with lone surrogates too: the reference encodes raw and origin with surrogateescape.
TEXT = st.text() | st.sampled_from(["\ud800", "a\udcffb", "Hậu Giang", ""])
POSITIONS = st.integers(-(2**70), 2**70) | TEXT | st.booleans()
RAWS = st.binary(max_size=600) | TEXT


def test_an_id_is_blake2b_of_origin_position_and_raw() -> None:
    # Written out from the documented recipe, not from the code: 16-byte BLAKE2b, hex.
    expected = hashlib.blake2b(b"file:a\x0042\x00line", digest_size=16).hexdigest()
    assert event_id("file:a", 42, b"line") == expected
    assert event_id("file:a", 42, "line") == expected
    assert event_id("file:a", "42", b"line") == expected


def test_ids_differ_by_origin_position_and_raw() -> None:
    ids = {
        event_id("a", 1, b"x"),
        event_id("b", 1, b"x"),
        event_id("a", 2, b"x"),
        event_id("a", 1, b"y"),
        event_id("a", 11, b""),
    }
    assert len(ids) == 5


@given(origin=TEXT, position=POSITIONS, raw=RAWS)
def test_the_native_hash_equals_the_reference(
    origin: str, position: int | str, raw: bytes | str
) -> None:
    require_native()
    try:
        expected = event_module._event_id_in_python(origin, position, raw)
    except UnicodeEncodeError:
        # A position with lone surrogates: the reference refuses it, and so must event_id.
        natively = event_module._native.event_id(origin, position, raw)
        assert natively is None
        return
    assert event_id(origin, position, raw) == expected
    natively = event_module._native.event_id(origin, position, raw)
    # The native hash steps aside only for text without a UTF-8 form (and bools).
    surrogates = any(
        isinstance(text, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in text)
        for text in (origin, position, raw)
    )
    assert (natively is None) == (surrogates or isinstance(position, bool))


def test_a_long_line_hashes_the_same_natively() -> None:
    require_native()
    raw = bytes(range(256)) * 300  # many BLAKE2b blocks, every byte value
    expected = event_module._event_id_in_python("capture:eth0", 2**40, raw)
    assert event_module._native.event_id("capture:eth0", 2**40, raw) == expected
    assert event_module._native.event_id("capture:eth0", 2**80, raw) == (
        event_module._event_id_in_python("capture:eth0", 2**80, raw)
    )

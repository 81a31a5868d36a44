import io

from hypothesis import given
from hypothesis import strategies as st

from canhgac.collectors import fingerprint, read_lines
from canhgac.collectors._line_reader import iter_all_lines


def test_an_unterminated_last_line_waits_unless_the_read_is_final() -> None:
    handle = io.BytesIO(b"one\ntwo\r\nthr")
    lines, end = read_lines(handle, 0, final=False, max_lines=10)
    assert [ln.data for ln in lines] == [b"one", b"two"]
    assert [ln.offset for ln in lines] == [0, 4]
    assert end == 9
    lines, end = read_lines(handle, end, final=True, max_lines=10)
    assert [ln.data for ln in lines] == [b"thr"]
    assert end == 12


def test_max_lines_stops_early_and_the_offset_resumes_exactly() -> None:
    handle = io.BytesIO(b"a\nbb\nccc\n")
    first, end = read_lines(handle, 0, final=False, max_lines=2)
    rest, final_end = read_lines(handle, end, final=False, max_lines=2)
    assert [ln.data for ln in first + rest] == [b"a", b"bb", b"ccc"]
    assert final_end == 9


@given(
    st.lists(st.binary(max_size=40).filter(lambda b: b"\n" not in b), max_size=30),
    st.integers(min_value=1, max_value=7),
)
def test_any_content_reads_back_line_for_line_in_any_batch_size(
    lines: list[bytes], batch: int
) -> None:
    content = b"".join(line + b"\n" for line in lines)
    seen = [ln.data for chunk in iter_all_lines(io.BytesIO(content), batch) for ln in chunk]
    assert seen == [line[:-1] if line.endswith(b"\r") else line for line in lines]


def test_fingerprint_names_the_first_line_and_waits_for_it() -> None:
    assert fingerprint(io.BytesIO(b"partial")) is None
    assert fingerprint(io.BytesIO(b"partial"), final=True) is not None
    assert fingerprint(io.BytesIO(b"first\nsecond\n")) == fingerprint(io.BytesIO(b"first\nother\n"))
    assert fingerprint(io.BytesIO(b"first\n")) != fingerprint(io.BytesIO(b"First\n"))

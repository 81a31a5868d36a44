//! Event ids: `canhgac._native.event_id`, the same BLAKE2b digest as `event_id` in
//! `events/_event.py` (the reference), hashed with SIMD in one call.
//!
//! Text with lone surrogates (no UTF-8 form; the reference encodes it with
//! "surrogateescape" or refuses it) steps aside: None, and the reference hashes it.

use blake2b_simd::Params;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString};

/// The hex digest of origin, NUL, position, NUL, raw (16 bytes, as the reference);
/// None when a text has no UTF-8 form or a value is of another type.
#[pyfunction]
pub fn event_id(
    origin: &Bound<'_, PyAny>,
    position: &Bound<'_, PyAny>,
    raw: &Bound<'_, PyAny>,
) -> PyResult<Option<String>> {
    let Some(origin) = utf8(origin) else {
        return Ok(None);
    };
    // str(position): an int's decimal digits, or the text given.
    let position = if position.is_exact_instance_of::<PyInt>() {
        match position.extract::<i64>() {
            Ok(number) => number.to_string(),
            Err(_) => position.str()?.to_string(), // beyond 64 bits
        }
    } else {
        match utf8(position) {
            Some(text) => text.to_owned(),
            None => return Ok(None),
        }
    };
    let raw = if let Ok(bytes) = raw.cast_exact::<PyBytes>() {
        bytes.as_bytes()
    } else {
        match utf8(raw) {
            Some(text) => text.as_bytes(),
            None => return Ok(None),
        }
    };
    let mut state = Params::new().hash_length(16).to_state();
    state.update(origin.as_bytes());
    state.update(b"\x00");
    state.update(position.as_bytes());
    state.update(b"\x00");
    state.update(raw);
    Ok(Some(state.finalize().to_hex().to_string()))
}

/// A str's UTF-8 text; None for another type or a str with lone surrogates.
fn utf8<'a>(value: &'a Bound<'_, PyAny>) -> Option<&'a str> {
    value.cast_exact::<PyString>().ok()?.to_str().ok()
}

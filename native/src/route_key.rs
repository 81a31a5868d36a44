//! The routing cache's key for plain values: `canhgac._native.plain_route_key`.
//!
//! `correlator/_routing.py` is the reference (`RoutingIndex._cache_key`): an event's
//! routing values stand for themselves in the key when each is a str, an int, None, or
//! a tuple of str (exact types: True and 1 are equal keys in Python but route apart);
//! any other value is replaced by its lowered texts, which Python works out.

use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList, PyString, PyTuple};

fn is_plain(value: &Bound<'_, PyAny>) -> bool {
    if value.is_none()
        || value.is_exact_instance_of::<PyString>()
        || value.is_exact_instance_of::<PyInt>()
    {
        return true;
    }
    if !value.is_exact_instance_of::<PyTuple>() {
        return false;
    }
    value.cast::<PyTuple>().is_ok_and(|items| {
        items
            .iter()
            .all(|item| item.is_exact_instance_of::<PyString>())
    })
}

/// The values as a tuple when every one is plain (see the module documentation); None
/// when one is not.
#[pyfunction]
pub fn plain_route_key<'py>(values: &Bound<'py, PyList>) -> PyResult<Option<Bound<'py, PyTuple>>> {
    if !values.iter().all(|value| is_plain(&value)) {
        return Ok(None);
    }
    Ok(Some(values.to_tuple()))
}

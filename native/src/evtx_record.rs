//! Windows records in the `evtx` package's JSON shape, flattened:
//! `canhgac._native.EvtxRecordFlattener`.
//!
//! `_from_evtx_in_python` in `parsers/_windows.py` is the reference. This is the same
//! flattening of the record orjson read, for the records seen nearly always: a System of
//! plain values, EventData of named scalar items, UserData and ProcessingErrorData. The
//! values are the record's own objects, as in the reference. Anything else (an event id
//! or record id given as text, Data items with names, an EventData item holding an object,
//! a Mapping that is not a dict, ...) steps aside: `flatten` returns None and the
//! reference reads the record, errors and all, so that this code never decides alone
//! what an unusual record means. tests/parsers/test_windows_native.py holds the two to
//! the same results.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

/// Why a record is not flattened here.
enum Aside {
    /// The record is not of the plain shape: the reference reads it.
    Shape,
    /// Python itself failed (no memory): raised as it is.
    Python(PyErr),
}

impl From<PyErr> for Aside {
    fn from(error: PyErr) -> Self {
        Aside::Python(error)
    }
}

type Flat<T> = Result<T, Aside>;

/// Flattens evtx records (see the module documentation). EventData field names come
/// from the reference's own cache and key function, so that both give the same
/// interned names.
#[pyclass(frozen, module = "canhgac._native")]
pub struct EvtxRecordFlattener {
    /// EventData name -> its field name (`_EVENT_DATA_KEYS`).
    known: Py<PyDict>,
    /// Makes (and caches) a field name missing from `known` (`_event_data_key`).
    make_key: Py<PyAny>,
}

#[pymethods]
impl EvtxRecordFlattener {
    #[new]
    fn new(known: Bound<'_, PyDict>, make_key: Bound<'_, PyAny>) -> Self {
        EvtxRecordFlattener {
            known: known.unbind(),
            make_key: make_key.unbind(),
        }
    }

    /// (System/TimeCreated@SystemTime, the fields `_from_evtx_in_python` gives) for
    /// the record's "Event" object in the plain shape; None for any other.
    fn flatten<'py>(
        &self,
        event: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(Bound<'py, PyAny>, Bound<'py, PyDict>)>> {
        let fields = PyDict::new(event.py());
        match self.fill(event, &fields) {
            Ok(time) => Ok(Some((time, fields))),
            Err(Aside::Shape) => Ok(None),
            Err(Aside::Python(error)) => Err(error),
        }
    }
}

impl EvtxRecordFlattener {
    /// The reference's fields, in its order; returns the SystemTime.
    fn fill<'py>(
        &self,
        event: &Bound<'py, PyAny>,
        fields: &Bound<'py, PyDict>,
    ) -> Flat<Bound<'py, PyAny>> {
        let py = event.py();
        let event = dict(event)?;
        let Some(system) = get(event, intern!(py, "System"))? else {
            return Err(Aside::Shape);
        };
        let system = dict(&system)?;
        let provider = attributes(get(system, intern!(py, "Provider"))?)?;
        let execution = attributes(get(system, intern!(py, "Execution"))?)?;
        let security = attributes(get(system, intern!(py, "Security"))?)?;
        let time_created = attributes(get(system, intern!(py, "TimeCreated"))?)?;
        let channel = text(get(system, intern!(py, "Channel"))?)?;
        let event_id = event_id(get(system, intern!(py, "EventID"))?)?;
        let provider_name = text(get_in(&provider, intern!(py, "Name"))?)?;
        let provider_guid = match text(get_in(&provider, intern!(py, "Guid"))?)? {
            Some(guid) => Some(without_braces(guid)?),
            None => None,
        };
        let computer = text(get(system, intern!(py, "Computer"))?)?;
        let record_id = integer(get(system, intern!(py, "EventRecordID"))?)?;
        let pid = integer(get_in(&execution, intern!(py, "ProcessID"))?)?;
        let thread = integer(get_in(&execution, intern!(py, "ThreadID"))?)?;
        let task = scalar(get(system, intern!(py, "Task"))?)?;
        let opcode = scalar(get(system, intern!(py, "Opcode"))?)?;
        let level = scalar(get(system, intern!(py, "Level"))?)?;
        let keywords = scalar(get(system, intern!(py, "Keywords"))?)?;
        let version = scalar(get(system, intern!(py, "Version"))?)?;
        let user = text(get_in(&security, intern!(py, "UserID"))?)?;
        let Some(time) = text(get_in(&time_created, intern!(py, "SystemTime"))?)? else {
            return Err(Aside::Shape);
        };

        let system_fields = [
            (intern!(py, "winlog.channel"), channel),
            (intern!(py, "winlog.event_id"), Some(event_id)),
            (intern!(py, "winlog.provider_name"), provider_name),
            (intern!(py, "winlog.provider_guid"), provider_guid),
            (intern!(py, "winlog.computer_name"), computer),
            (intern!(py, "winlog.record_id"), record_id),
            (intern!(py, "winlog.process.pid"), pid),
            (intern!(py, "winlog.process.thread.id"), thread),
            (intern!(py, "winlog.task"), task),
            (intern!(py, "winlog.opcode"), opcode),
            (intern!(py, "winlog.level"), level),
            (intern!(py, "winlog.keywords"), keywords),
            (intern!(py, "winlog.version"), version),
            (intern!(py, "winlog.user.identifier"), user),
        ];
        for (name, value) in system_fields {
            if let Some(value) = value {
                fields.set_item(name, value)?;
            }
        }
        if let Some(data) = get(event, intern!(py, "EventData"))? {
            self.event_data(dict(&data)?, fields)?;
        }
        if let Some(node) = get(event, intern!(py, "UserData"))? {
            xml_fields("winlog.user_data", &node, fields)?;
        }
        if let Some(node) = get(event, intern!(py, "ProcessingErrorData"))? {
            xml_fields("winlog.processing_error_data", &node, fields)?;
        }
        Ok(time)
    }

    /// Named scalar items; any other item steps aside.
    fn event_data(&self, data: &Bound<'_, PyDict>, fields: &Bound<'_, PyDict>) -> Flat<()> {
        for (name, value) in data.iter() {
            match text_of(&name)? {
                "#attributes" => continue,
                "Data" => {
                    self.unnamed_data(&value, fields)?;
                    continue;
                }
                "#text" => return Err(Aside::Shape),
                _ => {}
            }
            if value.is_none() {
                continue;
            }
            if !is_scalar(&value) {
                return Err(Aside::Shape);
            }
            fields.set_item(self.key(&name)?, value)?;
        }
        Ok(())
    }

    /// `_unnamed_data`: Data items without names as param1..N, in the shapes evtx
    /// writes them: {"#text": [...]}, {"#text": value}, a list or a value.
    fn unnamed_data(&self, data: &Bound<'_, PyAny>, fields: &Bound<'_, PyDict>) -> Flat<()> {
        let py = data.py();
        let items = match data.cast_exact::<PyDict>() {
            // Only "#text": any other key may name the item (`_is_named`).
            Ok(node) if node.len() == 1 => match get(node, intern!(py, "#text"))? {
                Some(items) => items,
                None => return Ok(()),
            },
            Ok(_) => return Err(Aside::Shape),
            Err(_) => data.clone(),
        };
        let items = match items.cast_exact::<PyList>() {
            Ok(items) => items.clone(),
            Err(_) => PyList::new(py, [items])?,
        };
        for (index, item) in items.iter().enumerate() {
            if item.is_none() {
                continue;
            }
            if !is_scalar(&item) {
                return Err(Aside::Shape);
            }
            let name = PyString::new(py, &format!("param{}", index + 1));
            fields.set_item(self.key(name.as_any())?, item)?;
        }
        Ok(())
    }

    /// winlog.event_data.<name>, the reference's interned field name.
    fn key<'py>(&self, name: &Bound<'py, PyAny>) -> Flat<Bound<'py, PyAny>> {
        let py = name.py();
        Ok(match self.known.bind(py).get_item(name)? {
            Some(key) => key,
            None => self.make_key.bind(py).call1((name,))?,
        })
    }
}

impl From<pyo3::CastError<'_, '_>> for Aside {
    fn from(_: pyo3::CastError<'_, '_>) -> Self {
        Aside::Shape
    }
}

/// A str's text; one with lone surrogates (no UTF-8 form) steps aside.
fn text_of<'a>(value: &'a Bound<'_, PyAny>) -> Flat<&'a str> {
    value
        .cast_exact::<PyString>()?
        .to_str()
        .map_err(|_| Aside::Shape)
}

/// A dict, exactly; a Mapping of another class steps aside.
fn dict<'a, 'py>(value: &'a Bound<'py, PyAny>) -> Flat<&'a Bound<'py, PyDict>> {
    Ok(value.cast_exact::<PyDict>()?)
}

/// `node.get(key)`, with a None value read as absent, as the reference reads it.
fn get<'py>(
    node: &Bound<'py, PyDict>,
    key: &Bound<'py, PyString>,
) -> Flat<Option<Bound<'py, PyAny>>> {
    Ok(node.get_item(key)?.filter(|value| !value.is_none()))
}

fn get_in<'py>(
    node: &Option<Bound<'py, PyDict>>,
    key: &Bound<'py, PyString>,
) -> Flat<Option<Bound<'py, PyAny>>> {
    match node {
        Some(node) => get(node, key),
        None => Ok(None),
    }
}

/// A str, int, float or bool, exactly (JSON's scalars as orjson reads them).
fn is_scalar(value: &Bound<'_, PyAny>) -> bool {
    value.is_exact_instance_of::<PyString>()
        || value.is_exact_instance_of::<PyInt>()
        || value.is_exact_instance_of::<PyFloat>()
        || value.is_exact_instance_of::<PyBool>()
}

/// A scalar or a list: JSON's values that are no Mapping.
fn is_plain(value: &Bound<'_, PyAny>) -> bool {
    is_scalar(value) || value.is_exact_instance_of::<PyList>()
}

/// `_attributes`: a dict's "#attributes" dict. Values that are no Mapping have none;
/// anything but JSON's own types steps aside.
fn attributes<'py>(node: Option<Bound<'py, PyAny>>) -> Flat<Option<Bound<'py, PyDict>>> {
    let Some(node) = node else {
        return Ok(None);
    };
    if let Ok(node) = node.cast_exact::<PyDict>() {
        let attributes = get(node, intern!(node.py(), "#attributes"))?;
        return match attributes {
            None => Ok(None),
            Some(found) if is_plain(&found) => Ok(None),
            Some(found) => Ok(Some(
                found
                    .cast_into_exact::<PyDict>()
                    .map_err(|_| Aside::Shape)?,
            )),
        };
    }
    if is_plain(&node) {
        return Ok(None);
    }
    Err(Aside::Shape)
}

/// `_text` for a str or nothing; any other value steps aside.
fn text(value: Option<Bound<'_, PyAny>>) -> Flat<Option<Bound<'_, PyAny>>> {
    match value {
        Some(value) if !value.is_exact_instance_of::<PyString>() => Err(Aside::Shape),
        value => Ok(value),
    }
}

/// `_guid`'s `strip("{}")`.
fn without_braces(guid: Bound<'_, PyAny>) -> Flat<Bound<'_, PyAny>> {
    let text = text_of(&guid)?;
    let trimmed = text.trim_matches(|c| c == '{' || c == '}');
    if trimmed.len() == text.len() {
        return Ok(guid);
    }
    Ok(PyString::new(guid.py(), trimmed).into_any())
}

/// `_event_id` for an int in range, bare or as the "#text" of a dict.
fn event_id(value: Option<Bound<'_, PyAny>>) -> Flat<Bound<'_, PyAny>> {
    let Some(value) = value else {
        return Err(Aside::Shape);
    };
    let number = match value.cast_exact::<PyDict>() {
        Ok(node) => get(node, intern!(node.py(), "#text"))?.ok_or(Aside::Shape)?,
        Err(_) => value,
    };
    if !number.is_exact_instance_of::<PyInt>() {
        return Err(Aside::Shape);
    }
    match number.extract::<i64>() {
        Ok(id) if (0..=0xFFFF).contains(&id) => Ok(number),
        _ => Err(Aside::Shape),
    }
}

/// `_int` for an int or nothing.
fn integer(value: Option<Bound<'_, PyAny>>) -> Flat<Option<Bound<'_, PyAny>>> {
    match value {
        Some(value) if !value.is_exact_instance_of::<PyInt>() => Err(Aside::Shape),
        value => Ok(value),
    }
}

/// `_scalar` for a str, int, float, bool or nothing.
fn scalar(value: Option<Bound<'_, PyAny>>) -> Flat<Option<Bound<'_, PyAny>>> {
    match value {
        Some(value) if !is_scalar(&value) => Err(Aside::Shape),
        value => Ok(value),
    }
}

/// `_xml_fields`: elements dotted, "#text" as the element itself, namespace attributes
/// dropped, other attributes as children; a leaf as `json_field_value` gives it.
fn xml_fields(prefix: &str, node: &Bound<'_, PyAny>, fields: &Bound<'_, PyDict>) -> Flat<()> {
    if node.is_none() {
        return Ok(());
    }
    if is_scalar(node) {
        fields.set_item(prefix, node)?;
        return Ok(());
    }
    if let Ok(items) = node.cast_exact::<PyList>() {
        // A list of scalars and Nones is a tuple; one holding more, JSON text: aside.
        if !items.iter().all(|item| item.is_none() || is_scalar(&item)) {
            return Err(Aside::Shape);
        }
        fields.set_item(prefix, items.to_tuple())?;
        return Ok(());
    }
    let node = dict(node)?;
    let dotted = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    for (key, value) in node.iter() {
        let key = text_of(&key)?;
        if key == "#attributes" {
            if let Ok(attributes) = value.cast_exact::<PyDict>() {
                for (name, attribute) in attributes.iter() {
                    let name = text_of(&name)?;
                    if !name.starts_with("xmlns") {
                        xml_fields(&dotted(name), &attribute, fields)?;
                    }
                }
                continue;
            }
        }
        if key == "#text" {
            xml_fields(prefix, &value, fields)?;
        } else {
            xml_fields(&dotted(key), &value, fields)?;
        }
    }
    Ok(())
}

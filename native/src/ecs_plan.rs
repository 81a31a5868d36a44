//! The ECS fields of a Windows event added natively: `canhgac._native.EcsPlan`.
//!
//! `parsers/_windows.py` is the reference: `_add_ecs` adds, for one channel and event
//! id, event.code, event.provider, the labels, host.name, the EventData aliases, the ECS
//! fields converted from EventData values, and the constant ECS fields, in that order.
//! `_ecs_plan` works out what to add once per channel and event id; an `EcsPlan` holds
//! the same, ready to apply to an event's fields.
//!
//! The usual conversions run here: the text cleaned (Python's `str.strip()`, "" and "-"
//! read as nothing), its base name, the user name and domain of `DOMAIN\user`, ASCII
//! lower case, a one-text list, and pids and ports given as plain decimal or `0x` hex
//! digits. Any other value or conversion (an IP address, a logon type, text with lone
//! surrogates, a number in another form) is left to the conversion's Python function,
//! the reference, called with the same value.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyString, PyTuple};

/// The conversions done natively (`_windows._as_text` and its kin).
#[derive(Clone, Copy)]
enum Conversion {
    Text,
    BaseName,
    UserName,
    UserDomain,
    Lower,
    OneText,
    Pid,
    Port,
    /// Only the Python function converts.
    Python,
}

struct Step {
    source: Py<PyString>,
    target: Py<PyString>,
    conversion: Conversion,
    /// The reference's conversion, for what is not done natively.
    convert: Py<PyAny>,
}

/// What `_add_ecs` adds for one channel and event id (see the module documentation).
#[pyclass(frozen, module = "canhgac._native")]
pub struct EcsPlan {
    code: Py<PyAny>,
    labels: Vec<(Py<PyString>, Py<PyAny>)>,
    aliases: Vec<(Py<PyString>, Py<PyString>)>,
    steps: Vec<Step>,
    constants: Vec<(Py<PyString>, Py<PyAny>)>,
    event_code: Py<PyString>,
    provider: Py<PyString>,
    event_provider: Py<PyString>,
    computer: Py<PyString>,
    host_name: Py<PyString>,
}

/// Whether Python's `str.isspace()` holds for the character (what `str.strip()` drops).
/// tests/parsers/test_windows_native.py checks every character against Python.
pub fn is_python_space(character: char) -> bool {
    matches!(
        character,
        '\t'..='\r'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// The text of an exact str; Err(()) when Python must read the value (anything else,
/// or a str without a UTF-8 form).
fn exact_text<'a>(value: &'a Bound<'_, PyAny>) -> Result<&'a str, ()> {
    if !value.is_exact_instance_of::<PyString>() {
        return Err(());
    }
    value
        .cast::<PyString>()
        .map_err(|_| ())?
        .to_str()
        .map_err(|_| ())
}

/// The text as `_clean` leaves it: stripped, None for "" and "-".
fn cleaned(text: &str) -> Option<&str> {
    let text = text.trim_matches(is_python_space);
    (!text.is_empty() && text != "-").then_some(text)
}

/// A plain decimal or `0x` hex number that fits an i64 (else None: Python reads it).
fn plain_number(text: &str) -> Option<i64> {
    let (digits, radix) = match text.get(..2) {
        Some("0x" | "0X") => (&text[2..], 16),
        _ => (text, 10),
    };
    let plain = !digits.is_empty()
        && digits.len() <= 15
        && digits
            .bytes()
            .all(|byte| byte.is_ascii_hexdigit() && (radix == 16 || byte.is_ascii_digit()));
    if !plain {
        return None;
    }
    i64::from_str_radix(digits, radix).ok()
}

impl Step {
    /// The converted value: Ok(None) for nothing; Err(()) when Python must convert.
    fn convert<'py>(&self, value: &Bound<'py, PyAny>) -> Result<Option<Bound<'py, PyAny>>, ()> {
        if value.is_none() {
            return Ok(None); // a missing value converts to nothing, whatever the conversion
        }
        let py = value.py();
        let text = |text: &str| PyString::new(py, text).into_any();
        let number = |bound: fn(i64) -> bool| -> Result<Option<Bound<'py, PyAny>>, ()> {
            let found = if value.is_exact_instance_of::<PyInt>() {
                value.extract::<i64>().map_err(|_| ())?
            } else {
                match cleaned(exact_text(value)?) {
                    None => return Ok(None),
                    Some(cleaned) => plain_number(cleaned).ok_or(())?,
                }
            };
            Ok(bound(found).then(|| PyInt::new(py, found).into_any()))
        };
        match self.conversion {
            Conversion::Pid => number(|found| found > 0),
            Conversion::Port => number(|found| 0 < found && found <= 0xFFFF),
            Conversion::Python => Err(()),
            conversion => {
                let whole = exact_text(value)?;
                let Some(cleaned) = cleaned(whole) else {
                    return Ok(None);
                };
                Ok(match conversion {
                    // The value itself when there was nothing to strip.
                    Conversion::Text if cleaned.len() == whole.len() => Some(value.clone()),
                    Conversion::Text => Some(text(cleaned)),
                    Conversion::BaseName => {
                        let name = after_last(after_last(cleaned, '\\'), '/');
                        (!name.is_empty()).then(|| text(name))
                    }
                    Conversion::UserName => {
                        let name = after_last(cleaned, '\\');
                        (!name.is_empty()).then(|| text(name))
                    }
                    Conversion::UserDomain => match cleaned.rfind('\\') {
                        Some(0) | None => None,
                        Some(end) => Some(text(&cleaned[..end])),
                    },
                    Conversion::Lower => {
                        if !cleaned.is_ascii() {
                            return Err(());
                        }
                        Some(text(&cleaned.to_ascii_lowercase()))
                    }
                    Conversion::OneText => Some(
                        PyTuple::new(py, [text(cleaned)])
                            .map_err(|_| ())?
                            .into_any(),
                    ),
                    Conversion::Pid | Conversion::Port | Conversion::Python => unreachable!(),
                })
            }
        }
    }
}

fn after_last(text: &str, separator: char) -> &str {
    text.rfind(separator)
        .map_or(text, |at| &text[at + separator.len_utf8()..])
}

type Pairs<'py> = Vec<(Bound<'py, PyString>, Bound<'py, PyAny>)>;

/// (source, target, the Python function, the function's name) of one conversion.
type ConversionSpec<'py> = (
    Bound<'py, PyString>,
    Bound<'py, PyString>,
    Py<PyAny>,
    String,
);

fn interned(py: Python<'_>, name: &str) -> Py<PyString> {
    PyString::intern(py, name).unbind()
}

#[pymethods]
impl EcsPlan {
    /// The parts of `_windows._ecs_plan`: event.code, the labels, the aliases (source,
    /// target), the conversions (source, target, Python function, the function's name)
    /// and the constants.
    #[new]
    fn new(
        py: Python<'_>,
        code: Py<PyAny>,
        labels: Pairs<'_>,
        aliases: Vec<(Bound<'_, PyString>, Bound<'_, PyString>)>,
        conversions: Vec<ConversionSpec<'_>>,
        constants: Pairs<'_>,
    ) -> PyResult<Self> {
        let name = |text: &Bound<'_, PyString>| -> PyResult<Py<PyString>> {
            Ok(interned(py, text.to_str()?))
        };
        let pairs = |items: Pairs<'_>| -> PyResult<Vec<(Py<PyString>, Py<PyAny>)>> {
            items
                .into_iter()
                .map(|(key, value)| Ok((name(&key)?, value.unbind())))
                .collect()
        };
        let mut steps = Vec::with_capacity(conversions.len());
        for (source, target, convert, function) in conversions {
            let conversion = match function.as_str() {
                "_clean" | "_as_text" => Conversion::Text,
                "_basename" => Conversion::BaseName,
                "_user_name" => Conversion::UserName,
                "_user_domain" => Conversion::UserDomain,
                "_lower" => Conversion::Lower,
                "_one_string" => Conversion::OneText,
                "_as_pid" => Conversion::Pid,
                "_as_port" => Conversion::Port,
                // _as_ip, _logon_type, and any conversion added later: Python runs them.
                _ => Conversion::Python,
            };
            steps.push(Step {
                source: name(&source)?,
                target: name(&target)?,
                conversion,
                convert,
            });
        }
        Ok(EcsPlan {
            code,
            labels: pairs(labels)?,
            aliases: aliases
                .iter()
                .map(|(source, target)| Ok((name(source)?, name(target)?)))
                .collect::<PyResult<_>>()?,
            steps,
            constants: pairs(constants)?,
            event_code: interned(py, "event.code"),
            provider: interned(py, "winlog.provider_name"),
            event_provider: interned(py, "event.provider"),
            computer: interned(py, "winlog.computer_name"),
            host_name: interned(py, "host.name"),
        })
    }

    /// Add the ECS fields to `fields`, as `_add_ecs` does; `hostname` is the parse
    /// context's, for an event that names no computer.
    fn apply(&self, fields: &Bound<'_, PyDict>, hostname: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = fields.py();
        fields.set_item(self.event_code.bind(py), self.code.bind(py))?;
        if let Some(provider) = fields.get_item(self.provider.bind(py))? {
            if !provider.is_none() {
                fields.set_item(self.event_provider.bind(py), provider)?;
            }
        }
        for (key, value) in &self.labels {
            fields.set_item(key.bind(py), value.bind(py))?;
        }
        let host = match fields.get_item(self.computer.bind(py))? {
            Some(computer) if computer.is_truthy()? => computer,
            _ => hostname.clone(),
        };
        if !host.is_none() {
            fields.set_item(self.host_name.bind(py), host)?;
        }
        for (source, target) in &self.aliases {
            if fields.contains(target.bind(py))? {
                continue;
            }
            if let Some(value) = fields.get_item(source.bind(py))? {
                if !value.is_none() {
                    fields.set_item(target.bind(py), value)?;
                }
            }
        }
        let none = py.None().into_bound(py);
        for step in &self.steps {
            let value = fields
                .get_item(step.source.bind(py))?
                .unwrap_or_else(|| none.clone());
            let converted = match step.convert(&value) {
                Ok(converted) => converted,
                Err(()) => Some(step.convert.bind(py).call1((value,))?),
            };
            if let Some(converted) = converted {
                if !converted.is_none() {
                    fields.set_item(step.target.bind(py), converted)?;
                }
            }
        }
        for (key, value) in &self.constants {
            fields.set_item(key.bind(py), value.bind(py))?;
        }
        Ok(())
    }
}

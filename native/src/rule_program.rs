//! Rule bodies evaluated natively: `canhgac._native.RulePrograms`.
//!
//! `correlator/_compile.py` is the reference: it compiles each rule's condition into
//! nested Python predicates, and beside each predicate a program, the same test as a
//! small tree of tuples (see `_compile.Program`). Here a program's common parts run
//! without Python: ANDs, ORs and NOTs, a field's lower-case text tested against equal
//! values, prefixes, suffixes and substrings (most of SigmaHQ's tests), against
//! another field's (`fieldref`), and a field's text as it is against a regular
//! expression that means the same in Rust's `regex` crate (`_native_regex.py` writes
//! it). Any other part (a case-insensitive regular expression, a wildcard pattern,
//! numbers, keywords, ...) is a Python leaf: its own predicate, called with the event's
//! view.
//!
//! A field's text is lower-cased here only where Rust lower-cases as Python's
//! `str.lower()` does (`literal_scan::lowered_text`); other values are read through the
//! view, as the Python predicates read them. A text with lone surrogates has no UTF-8
//! form: the whole rule is then evaluated by its Python predicate, the reference.

use std::collections::HashMap;
use std::time::Instant;

use aho_corasick::{AhoCorasick, MatchKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use regex::Regex;
use rustc_hash::FxHashSet;

use crate::literal_scan::{lowered_text, LiteralTables};

/// Equal values: a few compared one by one, more looked up.
enum Equals {
    Few(Vec<String>),
    Many(FxHashSet<String>),
}

impl Equals {
    fn new(values: Vec<String>) -> Self {
        if values.len() <= 4 {
            Equals::Few(values)
        } else {
            Equals::Many(values.into_iter().collect())
        }
    }

    #[inline]
    fn contains(&self, text: &str) -> bool {
        match self {
            Equals::Few(values) => values.iter().any(|value| value == text),
            Equals::Many(values) => values.contains(text),
        }
    }
}

/// Substrings: one searched for directly, more in one Aho-Corasick pass.
enum Needles {
    Nothing,
    One(String),
    Many(AhoCorasick),
}

impl Needles {
    fn new(needles: Vec<String>) -> PyResult<Self> {
        Ok(match needles.len() {
            0 => Needles::Nothing,
            1 => Needles::One(needles.into_iter().next().unwrap_or_default()),
            _ => {
                let automaton = AhoCorasick::builder()
                    // Only whether some needle occurs matters: the first found will do.
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&needles)
                    .map_err(|error| PyValueError::new_err(format!("RulePrograms: {error}")))?;
                Needles::Many(automaton)
            }
        })
    }

    #[inline]
    fn found_in(&self, text: &str) -> bool {
        match self {
            Needles::Nothing => false,
            Needles::One(needle) => text.contains(needle.as_str()),
            Needles::Many(automaton) => automaton.is_match(text),
        }
    }
}

/// One field's lower-case text against values OR-ed together (`_compile._FieldValues`).
struct FieldValues {
    field: usize,
    equals: Equals,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    needles: Needles,
}

impl FieldValues {
    fn matches(&self, texts: &[String]) -> bool {
        texts.iter().any(|text| {
            self.equals.contains(text)
                || self
                    .prefixes
                    .iter()
                    .any(|prefix| text.starts_with(prefix.as_str()))
                || self
                    .suffixes
                    .iter()
                    .any(|suffix| text.ends_with(suffix.as_str()))
                || self.needles.found_in(text)
        })
    }
}

/// How a field's text relates to another field's (`_matchers._field_reference`).
#[derive(Clone, Copy)]
enum Relation {
    Equals,
    StartsWith,
    EndsWith,
    Contains,
}

impl Relation {
    fn holds(self, text: &str, reference: &str) -> bool {
        match self {
            Relation::Equals => text == reference,
            Relation::StartsWith => text.starts_with(reference),
            Relation::EndsWith => text.ends_with(reference),
            Relation::Contains => text.contains(reference),
        }
    }
}

/// A compiled program (see the module documentation).
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Values(FieldValues),
    FieldReference {
        field: usize,
        other: usize,
        relation: Relation,
    },
    /// A text of the field, as it is (not lower-cased), holds a match.
    Regex {
        field: usize,
        regex: Regex,
    },
    /// Whether the event has the field (Sigma's `exists`), equal to `expected`.
    Exists {
        field: usize,
        expected: bool,
    },
    /// The field is missing or holds only None (Sigma's `null`).
    Null {
        field: usize,
    },
    Python(Py<PyAny>),
}

/// Why an evaluation stopped before its answer.
enum Stop {
    /// A text has no UTF-8 form: the rule's Python predicate answers instead.
    Unreadable,
    Error(PyErr),
}

impl From<PyErr> for Stop {
    fn from(error: PyErr) -> Self {
        Stop::Error(error)
    }
}

/// One event's fields as the programs read them: lower-case texts, read once per field.
struct EventTexts<'a, 'py> {
    view: &'a Bound<'py, PyAny>,
    fields: &'a Bound<'py, PyDict>,
    stand_ins: bool,
    names: &'a [Py<PyString>],
    /// Texts read so far, by (field, as they are).
    read: Vec<((usize, bool), Vec<String>)>,
}

impl EventTexts<'_, '_> {
    /// The field's lower-case texts (`EventView[name]`), or with `as_is` its texts as
    /// they are (`EventView.texts(name)`), read once per event.
    fn texts(&mut self, field: usize, as_is: bool) -> Result<&[String], Stop> {
        let key = (field, as_is);
        let index = match self.read.iter().position(|(read, _)| *read == key) {
            Some(index) => index,
            None => {
                let texts = if as_is {
                    self.read_field_as_is(field)?
                } else {
                    self.read_field(field)?
                };
                self.read.push((key, texts));
                self.read.len() - 1
            }
        };
        Ok(&self.read[index].1)
    }

    /// `EventView.has(name)`: the event holds the field, or a UserData stand-in does.
    fn has(&self, field: usize) -> Result<bool, Stop> {
        let name = self.names[field].bind(self.view.py());
        if self.fields.contains(name)? {
            return Ok(true);
        }
        if !self.stand_ins {
            return Ok(false);
        }
        Ok(self.view.call_method1("has", (name,))?.is_truthy()?)
    }

    /// `not EventView.scalars(name)`: no value but None, nor a stand-in's.
    fn is_null(&self, field: usize) -> Result<bool, Stop> {
        let name = self.names[field].bind(self.view.py());
        match self.fields.get_item(name)? {
            Some(value) if !value.is_none() && !value.is_instance_of::<PyTuple>() => Ok(false),
            None if !self.stand_ins => Ok(true),
            Some(value) if value.is_none() && !self.stand_ins => Ok(true),
            _ => Ok(self.view.call_method1("scalars", (name,))?.len()? == 0),
        }
    }

    /// The field's values as text, as `EventView.texts(name)` gives them.
    fn read_field_as_is(&self, field: usize) -> Result<Vec<String>, Stop> {
        let name = self.names[field].bind(self.view.py());
        let value = self.fields.get_item(name)?;
        let texts = match value {
            Some(value) if value.is_exact_instance_of::<PyString>() => {
                let text = value.cast::<PyString>().map_err(PyErr::from)?;
                return Ok(vec![text
                    .to_str()
                    .map_err(|_| Stop::Unreadable)?
                    .to_owned()]);
            }
            None if !self.stand_ins => return Ok(Vec::new()),
            _ => self.view.call_method1("texts", (name,))?,
        };
        strings(&texts)
    }

    /// The field's values as lower-case text, as `EventView[name]` gives them.
    fn read_field(&self, field: usize) -> Result<Vec<String>, Stop> {
        let name = self.names[field].bind(self.view.py());
        match self.fields.get_item(name)? {
            Some(value) => {
                if let Ok(text) = value.cast::<PyString>() {
                    let text = text.to_str().map_err(|_| Stop::Unreadable)?;
                    if let Some(lowered) = lowered_text(text) {
                        return Ok(vec![lowered]);
                    }
                }
            }
            None if !self.stand_ins => return Ok(Vec::new()),
            None => {}
        }
        strings(&self.view.get_item(name)?)
    }
}

/// The answer of a Python predicate for the event's view.
fn asked(predicate: &Py<PyAny>, view: &Bound<'_, PyAny>) -> PyResult<bool> {
    predicate.bind(view.py()).call1((view,))?.is_truthy()
}

/// A tuple of str from the view, as Rust strings.
fn strings(texts: &Bound<'_, PyAny>) -> Result<Vec<String>, Stop> {
    let texts = texts.cast::<PyTuple>().map_err(PyErr::from)?;
    let mut read = Vec::with_capacity(texts.len());
    for text in texts.iter() {
        let text = text.cast::<PyString>().map_err(PyErr::from)?;
        read.push(text.to_str().map_err(|_| Stop::Unreadable)?.to_owned());
    }
    Ok(read)
}

impl Node {
    fn evaluate(&self, event: &mut EventTexts<'_, '_>) -> Result<bool, Stop> {
        match self {
            Node::All(parts) => {
                for part in parts {
                    if !part.evaluate(event)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Node::Any(parts) => {
                for part in parts {
                    if part.evaluate(event)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Node::Not(part) => Ok(!part.evaluate(event)?),
            Node::Values(values) => Ok(values.matches(event.texts(values.field, false)?)),
            Node::FieldReference {
                field,
                other,
                relation,
            } => {
                // Read apart, then compared: both borrow the event's texts.
                let references = event.texts(*other, false)?.to_vec();
                let texts = event.texts(*field, false)?;
                Ok(texts.iter().any(|text| {
                    references
                        .iter()
                        .any(|reference| relation.holds(text, reference))
                }))
            }
            Node::Regex { field, regex } => {
                let texts = event.texts(*field, true)?;
                Ok(texts.iter().any(|text| regex.is_match(text)))
            }
            Node::Exists { field, expected } => Ok(event.has(*field)? == *expected),
            Node::Null { field } => event.is_null(*field),
            Node::Python(predicate) => Ok(asked(predicate, event.view)?),
        }
    }

    fn is_native(&self) -> bool {
        match self {
            Node::All(parts) | Node::Any(parts) => parts.iter().all(Node::is_native),
            Node::Not(part) => part.is_native(),
            Node::Values(_)
            | Node::FieldReference { .. }
            | Node::Regex { .. }
            | Node::Exists { .. }
            | Node::Null { .. } => true,
            Node::Python(_) => false,
        }
    }
}

/// Field names by number, interned as the parsers intern event field names.
struct FieldNames {
    names: Vec<Py<PyString>>,
    numbers: HashMap<String, usize>,
}

impl FieldNames {
    fn number(&mut self, py: Python<'_>, name: String) -> usize {
        if let Some(&number) = self.numbers.get(&name) {
            return number;
        }
        self.names.push(PyString::intern(py, &name).unbind());
        self.numbers.insert(name, self.names.len() - 1);
        self.names.len() - 1
    }
}

fn parse_parts(spec: &Bound<'_, PyAny>, names: &mut FieldNames) -> PyResult<Vec<Node>> {
    let parts = spec.cast::<PyTuple>()?;
    parts.iter().map(|part| parse(&part, names)).collect()
}

/// A program from its tuples: ("all", parts), ("any", parts), ("not", part),
/// ("values", field, equals, prefixes, suffixes, needles), ("fieldref", field, other,
/// kind), ("regex", field, pattern, predicate), ("exists", field, expected),
/// ("null", field) or ("python", predicate).
fn parse(spec: &Bound<'_, PyAny>, names: &mut FieldNames) -> PyResult<Node> {
    let spec = spec.cast::<PyTuple>()?;
    let kind: String = spec.get_item(0)?.extract()?;
    match kind.as_str() {
        "all" => Ok(Node::All(parse_parts(&spec.get_item(1)?, names)?)),
        "any" => Ok(Node::Any(parse_parts(&spec.get_item(1)?, names)?)),
        "not" => Ok(Node::Not(Box::new(parse(&spec.get_item(1)?, names)?))),
        "values" => {
            let (_, field, equals, prefixes, suffixes, needles): (
                String,
                String,
                Vec<String>,
                Vec<String>,
                Vec<String>,
                Vec<String>,
            ) = spec.extract()?;
            Ok(Node::Values(FieldValues {
                field: names.number(spec.py(), field),
                equals: Equals::new(equals),
                prefixes,
                suffixes,
                needles: Needles::new(needles)?,
            }))
        }
        "fieldref" => {
            let (_, field, other, relation): (String, String, String, String) = spec.extract()?;
            let relation = match relation.as_str() {
                "equals" => Relation::Equals,
                "startswith" => Relation::StartsWith,
                "endswith" => Relation::EndsWith,
                "contains" => Relation::Contains,
                unknown => {
                    return Err(PyValueError::new_err(format!(
                        "RulePrograms: field reference kind {unknown:?}: expected equals, \
                         startswith, endswith or contains"
                    )))
                }
            };
            Ok(Node::FieldReference {
                field: names.number(spec.py(), field),
                other: names.number(spec.py(), other),
                relation,
            })
        }
        "regex" => {
            let (_, field, pattern, predicate): (String, String, String, Py<PyAny>) =
                spec.extract()?;
            // A pattern Rust will not build (too large, say) stays with Python.
            Ok(match Regex::new(&pattern) {
                Ok(regex) => Node::Regex {
                    field: names.number(spec.py(), field),
                    regex,
                },
                Err(_) => Node::Python(predicate),
            })
        }
        "exists" => {
            let (_, field, expected): (String, String, bool) = spec.extract()?;
            Ok(Node::Exists {
                field: names.number(spec.py(), field),
                expected,
            })
        }
        "null" => {
            let (_, field): (String, String) = spec.extract()?;
            Ok(Node::Null {
                field: names.number(spec.py(), field),
            })
        }
        "python" => Ok(Node::Python(spec.get_item(1)?.unbind())),
        other => Err(PyValueError::new_err(format!(
            "RulePrograms: program part {other:?}: expected all, any, not, values, fieldref \
             or python"
        ))),
    }
}

struct Program {
    node: Node,
    /// The rule's Python predicate, the reference (and the answer for unreadable text).
    predicate: Py<PyAny>,
}

/// The rules' programs, by rule position.
#[pyclass(frozen, module = "canhgac._native")]
pub struct RulePrograms {
    programs: Vec<Program>,
    names: Vec<Py<PyString>>,
}

impl RulePrograms {
    /// An event to evaluate, its texts not read yet.
    fn event<'a, 'py>(
        &'a self,
        view: &'a Bound<'py, PyAny>,
        fields: &'a Bound<'py, PyDict>,
        stand_ins: bool,
    ) -> EventTexts<'a, 'py> {
        EventTexts {
            view,
            fields,
            stand_ins,
            names: &self.names,
            read: Vec::new(),
        }
    }

    fn evaluate(&self, position: usize, event: &mut EventTexts<'_, '_>) -> PyResult<bool> {
        let program = self.programs.get(position).ok_or_else(|| {
            PyValueError::new_err(format!("RulePrograms: no rule at position {position}"))
        })?;
        match program.node.evaluate(event) {
            Ok(answer) => Ok(answer),
            Err(Stop::Error(error)) => Err(error),
            Err(Stop::Unreadable) => asked(&program.predicate, event.view),
        }
    }
}

#[pymethods]
impl RulePrograms {
    /// `rules`: (program, predicate) per rule position, where the program is the
    /// predicate's tuples (see `parse`).
    #[new]
    fn new(rules: Vec<(Bound<'_, PyAny>, Py<PyAny>)>) -> PyResult<Self> {
        let mut names = FieldNames {
            names: Vec::new(),
            numbers: HashMap::new(),
        };
        let mut programs = Vec::with_capacity(rules.len());
        for (spec, predicate) in rules {
            programs.push(Program {
                node: parse(&spec, &mut names)?,
                predicate,
            });
        }
        Ok(RulePrograms {
            programs,
            names: names.names,
        })
    }

    /// The positions, in the order given, of the rules at `positions` that match the
    /// event: `view` is its `EventView`, `fields` its fields, `stand_ins` whether
    /// UserData values may stand in for missing fields (`EventView.has_user_data`).
    fn matching(
        &self,
        positions: Vec<usize>,
        view: &Bound<'_, PyAny>,
        fields: &Bound<'_, PyDict>,
        stand_ins: bool,
    ) -> PyResult<Vec<usize>> {
        let mut event = self.event(view, fields, stand_ins);
        let mut matched = Vec::new();
        for position in positions {
            if self.evaluate(position, &mut event)? {
                matched.push(position);
            }
        }
        Ok(matched)
    }

    /// `matching`, each evaluation timed: the matching positions, and the nanoseconds
    /// each rule at `positions` took, in their order (a rule reading a field first pays
    /// for reading it).
    fn timed_matching(
        &self,
        positions: Vec<usize>,
        view: &Bound<'_, PyAny>,
        fields: &Bound<'_, PyDict>,
        stand_ins: bool,
    ) -> PyResult<(Vec<usize>, Vec<u64>)> {
        let mut event = self.event(view, fields, stand_ins);
        let mut matched = Vec::new();
        let mut spent = Vec::with_capacity(positions.len());
        for position in positions {
            let start = Instant::now();
            let hit = self.evaluate(position, &mut event)?;
            spent.push(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX));
            if hit {
                matched.push(position);
            }
        }
        Ok((matched, spent))
    }

    /// `matching` over the rules `tables` selects for the event (its
    /// `LiteralTables.select`), in one call.
    fn select_matching(
        &self,
        tables: &Bound<'_, LiteralTables>,
        view: &Bound<'_, PyAny>,
        fields: &Bound<'_, PyDict>,
        stand_ins: bool,
    ) -> PyResult<Vec<usize>> {
        let selected = tables.get().selected(view, fields, stand_ins)?;
        let positions = selected.into_iter().map(|position| position as usize);
        self.matching(positions.collect(), view, fields, stand_ins)
    }

    /// How many rules run without calling Python (their whole program is native).
    fn native_count(&self) -> usize {
        self.programs
            .iter()
            .filter(|program| program.node.is_native())
            .count()
    }
}

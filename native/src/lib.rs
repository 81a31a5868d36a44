//! The literal prefilter's scan, native: `canhgac.correlator._literal_scan`.
//!
//! `correlator/_prefilter.py` is the reference. It builds, for one route, each field's
//! anchors (lower-case literals a rule needs: equal values, prefixes, suffixes,
//! substrings), each mapped to numbers: a rule's position, or a negative number for
//! one of a rule's further clauses. `Prefilter.select` then looks an event's values up
//! in them. `LiteralTables` is the same lookup with the automata of the `aho-corasick`
//! crate, which scan a value in one pass without a Python object per hit.
//!
//! A value that is an ASCII `str` is lower-cased here (for ASCII text the same as
//! Python's `str.lower()`). Any other value (non-ASCII, numbers, lists, a UserData
//! stand-in) is read through the view, which lower-cases it the way the rule
//! predicates do.

use std::collections::HashMap;

use aho_corasick::AhoCorasick;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

/// Numbers selected by a scanned anchor: where it occurs anywhere in a value, at the
/// value's start, at its end.
struct Scanned {
    anywhere: Vec<i64>,
    start: Vec<i64>,
    end: Vec<i64>,
}

/// One field's anchors: equal values by text, the others in one automaton.
struct FieldTable {
    name: Py<PyString>,
    equals: HashMap<String, Vec<i64>>,
    automaton: Option<AhoCorasick>,
    scanned: Vec<Scanned>,
}

/// What one event's values hit: rule positions, and further clauses (as positive ids).
struct Hits {
    rules: Vec<u32>,
    clauses: Vec<u32>,
}

impl Hits {
    #[inline]
    fn add(&mut self, numbers: &[i64]) {
        for &number in numbers {
            if number >= 0 {
                self.rules.push(number as u32);
            } else {
                self.clauses.push(number.unsigned_abs() as u32);
            }
        }
    }
}

/// (kind, lower-case text, number) of one anchor.
type AnchorSpec = (String, String, i64);

impl FieldTable {
    fn build(py: Python<'_>, name: &str, anchors: Vec<AnchorSpec>) -> PyResult<Self> {
        let mut equals: HashMap<String, Vec<i64>> = HashMap::new();
        let mut texts: Vec<String> = Vec::new();
        let mut scanned: Vec<Scanned> = Vec::new();
        let mut by_text: HashMap<String, usize> = HashMap::new();
        for (kind, text, number) in anchors {
            if kind == "equals" {
                equals.entry(text).or_default().push(number);
                continue;
            }
            let index = *by_text.entry(text.clone()).or_insert_with(|| {
                texts.push(text);
                scanned.push(Scanned {
                    anywhere: Vec::new(),
                    start: Vec::new(),
                    end: Vec::new(),
                });
                scanned.len() - 1
            });
            let anchor = &mut scanned[index];
            match kind.as_str() {
                "contains" => anchor.anywhere.push(number),
                "startswith" => anchor.start.push(number),
                "endswith" => anchor.end.push(number),
                other => {
                    return Err(PyValueError::new_err(format!(
                        "anchor kind {other:?} of field {name}: expected equals, startswith, \
                         endswith or contains"
                    )))
                }
            }
        }
        let automaton = if texts.is_empty() {
            None
        } else {
            let built = AhoCorasick::builder().build(&texts).map_err(|error| {
                PyValueError::new_err(format!("anchors of field {name}: {error}"))
            })?;
            Some(built)
        };
        Ok(FieldTable {
            name: PyString::intern(py, name).unbind(),
            equals,
            automaton,
            scanned,
        })
    }
}

/// The anchor tables of one route (see the module documentation).
#[pyclass(frozen, module = "canhgac.correlator._literal_scan")]
struct LiteralTables {
    fields: Vec<FieldTable>,
    always: Vec<u32>,
    further: HashMap<u32, Vec<u32>>,
}

impl LiteralTables {
    fn scan(table: &FieldTable, text: &str, ascii_raw: bool, hits: &mut Hits) {
        if ascii_raw {
            // For ASCII text this is Python's str.lower(), which the anchors went through.
            return Self::scan(table, &text.to_ascii_lowercase(), false, hits);
        }
        if let Some(numbers) = table.equals.get(text) {
            hits.add(numbers);
        }
        let Some(automaton) = &table.automaton else {
            return;
        };
        for found in automaton.find_overlapping_iter(text) {
            let anchor = &table.scanned[found.pattern().as_usize()];
            hits.add(&anchor.anywhere);
            if found.start() == 0 {
                hits.add(&anchor.start);
            }
            if found.end() == text.len() {
                hits.add(&anchor.end);
            }
        }
    }
}

#[pymethods]
impl LiteralTables {
    /// `fields`: (name, [(kind, text, number)]) per field, where kind is "equals",
    /// "startswith", "endswith" or "contains" and text is lower-case; `always`: the
    /// positions of rules without anchors; `further`: (position, its further clauses'
    /// negative numbers) per rule that has them.
    #[new]
    fn new(
        py: Python<'_>,
        fields: Vec<(String, Vec<AnchorSpec>)>,
        always: Vec<u32>,
        further: Vec<(u32, Vec<i64>)>,
    ) -> PyResult<Self> {
        let mut tables = Vec::with_capacity(fields.len());
        for (name, anchors) in fields {
            tables.push(FieldTable::build(py, &name, anchors)?);
        }
        let mut always = always;
        always.sort_unstable();
        let further = further
            .into_iter()
            .map(|(position, numbers)| {
                let ids = numbers.iter().map(|n| n.unsigned_abs() as u32).collect();
                (position, ids)
            })
            .collect();
        Ok(LiteralTables {
            fields: tables,
            always,
            further,
        })
    }

    /// Positions (ascending) of the rules that may match the event: `view` is its
    /// `EventView`, `fields` the event's fields, `stand_ins` whether UserData values may
    /// stand in for missing fields (`EventView.has_user_data`).
    fn select(
        &self,
        view: &Bound<'_, PyAny>,
        fields: &Bound<'_, PyDict>,
        stand_ins: bool,
    ) -> PyResult<Vec<u32>> {
        let mut hits = Hits {
            rules: Vec::with_capacity(32),
            clauses: Vec::new(),
        };
        for table in &self.fields {
            let name = table.name.bind(view.py());
            match fields.get_item(name)? {
                Some(value) => {
                    if let Ok(text) = value.cast::<PyString>() {
                        let text = text.to_str()?;
                        if text.is_ascii() {
                            Self::scan(table, text, true, &mut hits);
                            continue;
                        }
                    }
                }
                None if !stand_ins => continue,
                None => {}
            }
            let lowered = view.get_item(name)?;
            for text in lowered.cast::<PyTuple>()?.iter() {
                Self::scan(table, text.cast::<PyString>()?.to_str()?, false, &mut hits);
            }
        }
        let mut selected = hits.rules;
        selected.sort_unstable();
        selected.dedup();
        let mut clauses = hits.clauses;
        clauses.sort_unstable();
        clauses.dedup();
        if !self.further.is_empty() {
            // A rule with further clauses needs a hit on each of them too.
            selected.retain(|position| match self.further.get(position) {
                Some(ids) => ids.iter().all(|id| clauses.binary_search(id).is_ok()),
                None => true,
            });
        }
        if !self.always.is_empty() {
            selected.extend_from_slice(&self.always);
            selected.sort_unstable();
            selected.dedup();
        }
        Ok(selected)
    }
}

#[pymodule]
fn _literal_scan(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<LiteralTables>()
}

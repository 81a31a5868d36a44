//! The literal prefilter's scan: `canhgac._native.LiteralTables`.
//!
//! `correlator/_prefilter.py` is the reference. It builds, for one route, each field's
//! anchors (lower-case literals a rule needs: equal values, prefixes, suffixes,
//! substrings), each mapped to numbers: a rule's position, or a negative number for
//! one of a rule's further clauses. `Prefilter.select` then looks an event's values up
//! in them. `LiteralTables` is the same lookup with the automata of the `aho-corasick`
//! crate, which scan a value in one pass without a Python object per hit.
//!
//! A value that is a `str` is lower-cased here when Rust lower-cases it as Python's
//! `str.lower()` does: ASCII text, and text of the Latin blocks (Vietnamese included;
//! `lowers_alike`). Any other value (other scripts, numbers, lists, a UserData
//! stand-in) is read through the view, which lower-cases it the way the rule
//! predicates do.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use aho_corasick::AhoCorasick;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

/// Equal values up to this many bytes are looked up without allocating.
const EQUAL_BUFFER: usize = 256;

/// Tables of more anchors scan without the automaton's prefilter. With many anchors the
/// crate's byte prefilters rest on bytes most values hold (the "=" of every
/// "sha256=..." in `Hashes`): each hit restarts the scan, which then costs twice a
/// plain walk (bench/README.md).
const PREFILTER_MAX_ANCHORS: usize = 64;

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
    equals: FxHashMap<String, Vec<i64>>,
    automaton: Option<AhoCorasick>,
    scanned: Vec<Scanned>,
    /// Every anchor is ASCII: the automaton ignores ASCII case, and the event's text is
    /// scanned as it is, without lower-casing it (see `LiteralTables::scan_unlowered`).
    ascii: bool,
    /// The length of the longest equal value, in bytes (a longer text equals none).
    longest_equal: usize,
}

/// A set of small numbers, one bit each.
struct BitSet(Vec<u64>);

impl BitSet {
    fn with_capacity(size: usize) -> Self {
        BitSet(vec![0; size.div_ceil(64)])
    }

    #[inline]
    fn insert(&mut self, number: usize) {
        self.0[number / 64] |= 1 << (number % 64);
    }

    #[inline]
    fn contains(&self, number: usize) -> bool {
        self.0[number / 64] & (1 << (number % 64)) != 0
    }

    /// The members, ascending.
    fn members(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(index, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let bit = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    index * 64 + bit
                })
            })
        })
    }
}

/// What one event's values hit: rule positions, and further clauses (as positive ids).
struct Hits {
    rules: BitSet,
    clauses: BitSet,
}

impl Hits {
    #[inline]
    fn add(&mut self, numbers: &[i64]) {
        for &number in numbers {
            if number >= 0 {
                self.rules.insert(number as usize);
            } else {
                self.clauses.insert(number.unsigned_abs() as usize);
            }
        }
    }
}

impl FieldTable {
    /// Every number the field's anchors select.
    fn numbers(&self) -> impl Iterator<Item = i64> + '_ {
        let equals = self.equals.values().flatten();
        let scanned = self.scanned.iter().flat_map(|anchor| {
            anchor
                .anywhere
                .iter()
                .chain(&anchor.start)
                .chain(&anchor.end)
        });
        equals.chain(scanned).copied()
    }
}

/// (kind, lower-case text, number) of one anchor.
type AnchorSpec = (String, String, i64);

impl FieldTable {
    fn build(py: Python<'_>, name: &str, anchors: Vec<AnchorSpec>) -> PyResult<Self> {
        let mut equals: FxHashMap<String, Vec<i64>> = FxHashMap::default();
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
        let ascii = texts
            .iter()
            .chain(equals.keys())
            .all(|text| text.is_ascii());
        let longest_equal = equals.keys().map(String::len).max().unwrap_or(0);
        let automaton = if texts.is_empty() {
            None
        } else {
            let built = AhoCorasick::builder()
                .ascii_case_insensitive(ascii)
                .prefilter(texts.len() <= PREFILTER_MAX_ANCHORS)
                .build(&texts)
                .map_err(|error| {
                    PyValueError::new_err(format!("anchors of field {name}: {error}"))
                })?;
            Some(built)
        };
        Ok(FieldTable {
            name: PyString::intern(py, name).unbind(),
            equals,
            automaton,
            scanned,
            ascii,
            longest_equal,
        })
    }
}

/// The anchor tables of one route (see the module documentation).
#[pyclass(frozen, module = "canhgac._native")]
pub struct LiteralTables {
    fields: Vec<FieldTable>,
    always: Vec<u32>,
    further: FxHashMap<u32, Vec<u32>>,
    /// One more than the largest rule position, and than the largest clause id.
    rule_slots: usize,
    clause_slots: usize,
}

impl LiteralTables {
    /// Marks what lower-case `text` hits in one field's tables.
    fn scan(table: &FieldTable, text: &str, hits: &mut Hits) {
        if let Some(numbers) = table.equals.get(text) {
            hits.add(numbers);
        }
        Self::scan_automaton(table, text, hits);
    }

    /// Marks what the event's own `text`, not lower-cased, hits in a table of ASCII
    /// anchors (`FieldTable::ascii`); false when it cannot tell (see below).
    ///
    /// Lower-casing turns ASCII letters into ASCII letters and any other character into
    /// non-ASCII ones, except İ (U+0130, to "i" and a combining dot) and the Kelvin sign
    /// (U+212A, to "k"): tests/correlator/test_prefilter.py checks every character. So,
    /// without those two, an ASCII anchor occurs in the lower-cased text where it occurs
    /// in the text with ASCII case ignored, at the same ends; and only ASCII text can
    /// equal an ASCII anchor once lower-cased.
    fn scan_unlowered(table: &FieldTable, text: &str, hits: &mut Hits) -> bool {
        if text.is_ascii() {
            if text.len() <= table.longest_equal {
                if let Some(numbers) = Self::equal_numbers(table, text) {
                    hits.add(numbers);
                }
            }
        } else if lowers_to_ascii(text) {
            return false;
        }
        Self::scan_automaton(table, text, hits);
        true
    }

    /// The numbers of the equal value that ASCII `text`, lower-cased, is.
    fn equal_numbers<'a>(table: &'a FieldTable, text: &str) -> Option<&'a Vec<i64>> {
        if text.len() > EQUAL_BUFFER {
            return table.equals.get(&text.to_ascii_lowercase());
        }
        // Lower-cased in a buffer on the stack: no allocation per field and event.
        let mut buffer = [0u8; EQUAL_BUFFER];
        let lowered = &mut buffer[..text.len()];
        lowered.copy_from_slice(text.as_bytes());
        lowered.make_ascii_lowercase();
        table.equals.get(std::str::from_utf8(lowered).ok()?)
    }

    fn scan_automaton(table: &FieldTable, text: &str, hits: &mut Hits) {
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
        let further: FxHashMap<u32, Vec<u32>> = further
            .into_iter()
            .map(|(position, numbers)| {
                let ids = numbers.iter().map(|n| n.unsigned_abs() as u32).collect();
                (position, ids)
            })
            .collect();
        let mut rule_slots = always.iter().max().map_or(0, |&last| last as usize + 1);
        let mut clause_slots = 0;
        for number in tables.iter().flat_map(FieldTable::numbers) {
            if number >= 0 {
                rule_slots = rule_slots.max(number as usize + 1);
            } else {
                clause_slots = clause_slots.max(number.unsigned_abs() as usize + 1);
            }
        }
        for (&position, ids) in &further {
            rule_slots = rule_slots.max(position as usize + 1);
            for &id in ids {
                clause_slots = clause_slots.max(id as usize + 1);
            }
        }
        Ok(LiteralTables {
            fields: tables,
            always,
            further,
            rule_slots,
            clause_slots,
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
        self.selected(view, fields, stand_ins)
    }
}

impl LiteralTables {
    /// `select`, for the native evaluator (`RulePrograms.select_matching`).
    pub(crate) fn selected(
        &self,
        view: &Bound<'_, PyAny>,
        fields: &Bound<'_, PyDict>,
        stand_ins: bool,
    ) -> PyResult<Vec<u32>> {
        let mut hits = Hits {
            rules: BitSet::with_capacity(self.rule_slots),
            clauses: BitSet::with_capacity(self.clause_slots),
        };
        for table in &self.fields {
            let name = table.name.bind(view.py());
            match fields.get_item(name)? {
                Some(value) => {
                    // A str with lone surrogates has no UTF-8 form: it takes the view's path.
                    if let Some(text) = value.cast::<PyString>().ok().and_then(|t| t.to_str().ok())
                    {
                        if table.ascii && Self::scan_unlowered(table, text, &mut hits) {
                            continue;
                        }
                        if let Some(lowered) = lowered_text(text) {
                            Self::scan(table, &lowered, &mut hits);
                            continue;
                        }
                    }
                }
                None if !stand_ins => continue,
                None => {}
            }
            let lowered = view.get_item(name)?;
            for text in lowered.cast::<PyTuple>()?.iter() {
                // Lone surrogates (never in an anchor) read as U+FFFD: no hit is lost.
                let text = text.cast::<PyString>()?.to_string_lossy();
                Self::scan(table, &text, &mut hits);
            }
        }
        for &position in &self.always {
            hits.rules.insert(position as usize);
        }
        let clauses = &hits.clauses;
        let selected = hits
            .rules
            .members()
            .map(|position| position as u32)
            // A rule with further clauses needs a hit on each of them too.
            .filter(|position| match self.further.get(position) {
                Some(ids) => ids.iter().all(|&id| clauses.contains(id as usize)),
                None => true,
            })
            .collect();
        Ok(selected)
    }
}

/// Whether `text` holds İ or the Kelvin sign, the only characters other than ASCII that
/// lower-case to ASCII (`LiteralTables::scan_unlowered`).
fn lowers_to_ascii(text: &str) -> bool {
    // Byte searches: `str::contains` with a set of chars decodes every character.
    let bytes = text.as_bytes();
    memchr::memmem::find(bytes, "\u{130}".as_bytes()).is_some()
        || memchr::memmem::find(bytes, "\u{212A}".as_bytes()).is_some()
}

/// Whether Rust lower-cases the character as Python's `str.lower()` does, in every
/// context: the Latin blocks (Vietnamese included), combining marks, punctuation and
/// letterlike symbols, whose case mappings no Unicode version since 5.1 has changed and
/// none of which lower-cases by context (Greek's final sigma does: it is not here).
/// tests/correlator/test_prefilter.py checks every one of them against Python.
fn lowers_alike(character: char) -> bool {
    matches!(
        character,
        '\0'..='\u{024F}' | '\u{0300}'..='\u{036F}' | '\u{1E00}'..='\u{1EFF}' | '\u{2000}'..='\u{214F}'
    )
}

/// `text.lower()` as Python gives it, computed here when every character lowers alike
/// (`lowers_alike`); None for other text, which Python lower-cases.
pub fn lowered_text(text: &str) -> Option<String> {
    if text.is_ascii() {
        return Some(text.to_ascii_lowercase()); // the same, and cheaper
    }
    text.chars().all(lowers_alike).then(|| text.to_lowercase())
}

/// `lowered_text`, for the tests that hold it to Python's `str.lower()`.
#[pyfunction]
#[pyo3(name = "lowered_text")]
pub fn lowered_text_for_python(text: &Bound<'_, PyString>) -> Option<String> {
    // Lone surrogates have no UTF-8 form: the scan reads such text through the view.
    lowered_text(text.to_str().ok()?)
}

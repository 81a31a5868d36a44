//! Whether any of many literals occurs in a text: `canhgac._native.NeedleSet`.
//!
//! The rule predicates in `correlator/_matchers.py` test a field against many
//! substrings at once (`x|contains: [...]`, keyword lists). In Python that is one
//! `needle in text` per needle, or a regex alternation, each a pass over the text; an
//! Aho-Corasick automaton answers in one pass. The answer is exactly Python's: UTF-8
//! is self-synchronizing, so a needle occurs in a text's characters exactly when its
//! bytes occur in the text's bytes. With `ascii_case_insensitive`, for ASCII needles
//! and ASCII text, it is what `re.IGNORECASE` gives there; the caller keeps other
//! text for its regex.

use aho_corasick::{AhoCorasick, MatchKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

#[pyclass(frozen, module = "canhgac._native")]
pub struct NeedleSet {
    automaton: AhoCorasick,
}

#[pymethods]
impl NeedleSet {
    #[new]
    fn new(needles: Vec<String>, ascii_case_insensitive: bool) -> PyResult<Self> {
        if needles.iter().any(String::is_empty) {
            return Err(PyValueError::new_err(
                "NeedleSet: an empty needle occurs in every text",
            ));
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(ascii_case_insensitive)
            // Only whether some needle occurs matters: the first found will do.
            .match_kind(MatchKind::LeftmostFirst)
            .build(&needles)
            .map_err(|error| PyValueError::new_err(format!("NeedleSet: {error}")))?;
        Ok(NeedleSet { automaton })
    }

    /// Whether one of the needles occurs in `text`; None for a text with lone
    /// surrogates (no UTF-8 form), which the caller tests itself.
    fn found_in(&self, text: &Bound<'_, PyString>) -> Option<bool> {
        let text = text.to_str().ok()?;
        Some(self.automaton.is_match(text))
    }
}

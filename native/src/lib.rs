//! canhgac's native code, one Python extension module: `canhgac._native`.
//!
//! Each part has a Python reference that stays the source of truth and runs where this
//! module is not built (a machine without cargo); tests hold the two to the same results.
//!
//! - `literal_scan`: the correlator's prefilter scan (`correlator/_prefilter.py`).
//! - `evtx_record`: Windows records in the `evtx` package's JSON shape, flattened
//!   (`parsers/_windows.py`).
//! - `event_id`: event ids, the same BLAKE2b digest hashed with SIMD (`events/_event.py`).
//! - `needle_set`: whether any of many literals occurs in a text, for the rule
//!   predicates (`correlator/_matchers.py`).
//! - `ecs_plan`: the ECS fields of a Windows event, added (`parsers/_windows.py`).
//! - `route_key`: the routing cache's key for plain values (`correlator/_routing.py`).
//! - `rule_program`: rule bodies evaluated, their common parts without Python
//!   (`correlator/_compile.py`).

use pyo3::prelude::*;

mod ecs_plan;
mod event_id;
mod evtx_record;
mod literal_scan;
mod needle_set;
mod route_key;
mod rule_program;

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<literal_scan::LiteralTables>()?;
    module.add_class::<evtx_record::EvtxRecordFlattener>()?;
    module.add_class::<ecs_plan::EcsPlan>()?;
    module.add_class::<needle_set::NeedleSet>()?;
    module.add_class::<rule_program::RulePrograms>()?;
    module.add_function(wrap_pyfunction!(event_id::event_id, module)?)?;
    module.add_function(wrap_pyfunction!(route_key::plain_route_key, module)?)?;
    module.add_function(wrap_pyfunction!(
        literal_scan::lowered_text_for_python,
        module
    )?)
}

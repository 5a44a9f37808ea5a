//! Any bytes, read as a workbook or CSV and searched for the household
//! table: an error is fine, a panic or an unbounded allocation is not.
#![no_main]
use libfuzzer_sys::fuzz_target;
use monitor::ingest::{locate, read_grids_bytes};
use monitor::validate::HOUSEHOLD_SPECS;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    if let Ok(grids) = read_grids_bytes(data, "fuzz", None) {
        let grids: Vec<Arc<_>> = grids.into_iter().map(Arc::new).collect();
        if let Ok(t) = locate(&grids, &HOUSEHOLD_SPECS, None) {
            for (_, row) in t.iter() {
                for c in row {
                    let _ = monitor::normalize::parse_amount(c);
                    let _ = monitor::normalize::parse_date(c);
                    let _ = monitor::normalize::parse_ident(c);
                    let _ = monitor::normalize::parse_count(c);
                }
            }
        }
    }
});

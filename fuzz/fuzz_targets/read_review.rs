//! Any bytes as a filled 研判表 read back by `monitor decide`: every row is
//! checked against the month's statuses; errors are fine, panics are not.
#![no_main]
use libfuzzer_sys::fuzz_target;
use monitor::decide::{read_form, Gates, Signed};
use monitor::history::{Open, Status};
use monitor::ingest::read_grids_bytes;
use std::collections::HashMap;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Ok(grids) = read_grids_bytes(data, "研判表.xlsx", None) else {
        return;
    };
    let grids: Vec<Arc<_>> = grids.into_iter().map(Arc::new).collect();
    let statuses: HashMap<String, Open> = [
        ("5325040001000010", Status::Pending, None),
        ("5325040001000011", Status::Continuing, Some("2020-01")),
        ("5325040001000012", Status::SuggestElimination, Some("2019-09")),
        ("A", Status::Eliminated, Some("2019-01")),
    ]
    .into_iter()
    .map(|(id, s, m)| {
        let open = Open {
            status: s,
            identified: m.map(String::from),
            at_risk: id.ends_with('1'),
            labor: Some(0),
        };
        (id.to_string(), open)
    })
    .collect();
    let signed = Signed { by: "fuzz", at: "2020-03-25 10:00:00" };
    let review = monitor::rules::Review {
        include_requires: vec!["村级评议".into(), "公示".into(), "乡镇审核".into()],
        min_notice_days: Some(5),
        ..Default::default()
    };
    let supports = HashMap::new();
    let gates = Gates {
        review: &review,
        min_months_monitored: 6,
        supports: &supports,
    };
    let _ = read_form("研判表.xlsx", &grids, "2020-03", &statuses, &gates, &signed);
});

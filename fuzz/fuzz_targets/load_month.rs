//! Any bytes as every input of a month (roster, income, expenses, members)
//! through the real loader: errors and 数据问题 rows, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use monitor::validate::{load_month, InputSpec, Inputs};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let ext = match data.first() {
        Some(b) if b % 2 == 0 => "xlsx",
        _ => "csv",
    };
    let path = dir.path().join(format!("input.{ext}"));
    std::fs::write(&path, data).expect("write input");
    let spec = InputSpec { path, sheet: None };
    let inputs = Inputs {
        households: spec.clone(),
        income: Some(spec.clone()),
        expenses: vec![spec.clone()],
        members: Some(spec),
    };
    let _ = load_month(&inputs, &Default::default(), |_| {});
});

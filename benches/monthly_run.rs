//! Benchmark of the monthly run on synthetic data (not part of `cargo test`).
//!
//!   cargo bench --bench monthly_run                 # a county: 100,000 households
//!   MONITOR_BENCH_HOUSEHOLDS=2000000 cargo bench --bench monthly_run   # a province slice
//!
//! Inputs are CSV (an xlsx sheet holds at most 1,048,576 rows). Prints the
//! time of each phase and the process's peak memory.

use chrono::NaiveDate;
use monitor::config::Plan;
use monitor::run::{run, RunOptions};
use monitor::validate::{InputSpec, Inputs};
use std::time::Instant;

fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let n: usize = std::env::var("MONITOR_BENCH_HOUSEHOLDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let month = NaiveDate::from_ymd_opt(2020, 3, 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let county = monitor::synth::generate(n, 42, month);
    monitor::synth::write_csv_set(&county, dir.path()).unwrap();
    let expenses = county.expenses.len();
    drop(county);
    println!("生成 {n} 户（支出记录 {expenses} 条）：{:.2?}", t.elapsed());

    let plan = Plan {
        month,
        rules: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/mile-2020.toml"),
        out: dir.path().join("out"),
        inputs: Inputs {
            households: InputSpec {
                path: dir.path().join("households.csv"),
                sheet: None,
            },
            income: None,
            expenses: vec![InputSpec {
                path: dir.path().join("expenses.csv"),
                sheet: None,
            }],
            members: Some(InputSpec {
                path: dir.path().join("members.csv"),
                sheet: None,
            }),
        },
        workspace: dir.path().to_path_buf(),
        store: dir.path().join("history.sqlite"),
        forms: dir.path().join("forms"),
        public: Default::default(),
    };
    // Phases alone, then the whole run (which repeats them and writes).
    let t = Instant::now();
    let data = monitor::validate::load_month(&plan.inputs, &Default::default(), |_| {}).unwrap();
    println!("读取与校验：{:.2?}", t.elapsed());
    let rs = monitor::rules::RuleSet::load(&plan.rules).unwrap();
    let t = Instant::now();
    let a = monitor::assess::assess_all(
        &rs,
        month,
        &data.households,
        &data.expenses,
        &data.members,
        || {},
    );
    println!(
        "风险测算：{:.2?}（风险户 {}）",
        t.elapsed(),
        a.iter().filter(|x| x.at_risk()).count()
    );
    drop((data, a));

    let t = Instant::now();
    let outcome = run(
        &plan,
        &RunOptions {
            quiet: true,
            force: false,
        },
    )
    .unwrap();
    let elapsed = t.elapsed();
    let c = &outcome.summary.counts;
    println!(
        "月度运行 {n} 户：{elapsed:.2?}（{:.0} 户/秒），风险户 {} 户，数据问题 {} 条，峰值内存 {:.0} MB",
        n as f64 / elapsed.as_secs_f64(),
        c.risk_households,
        c.data_issues,
        peak_rss_mb().unwrap_or(f64::NAN)
    );
    for f in &outcome.summary.outputs {
        let len = std::fs::metadata(outcome.dir.join(f))
            .map(|m| m.len())
            .unwrap_or(0);
        println!("  {f}: {:.1} MB", len as f64 / 1e6);
    }
}

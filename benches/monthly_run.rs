//! Benchmark of the monthly run on synthetic data (not part of `cargo test`).
//!
//!   cargo bench --bench monthly_run                 # a county: 100,000 households
//!   MONITOR_BENCH_HOUSEHOLDS=2000000 cargo bench --bench monthly_run   # a province slice
//!
//! Settings (environment):
//! - `MONITOR_BENCH_HOUSEHOLDS` (100000)
//! - `MONITOR_BENCH_FORMAT`: `xlsx` (households and members as xlsx, the
//!   expenses as CSV: what townships send) or `csv`; default xlsx up to
//!   1,000,000 households (an xlsx sheet holds at most 1,048,576 rows), CSV above.
//! - `MONITOR_BENCH_SHARE`: `realistic` (~5% warned), `stress` (~30–40%) or
//!   `both` (default).
//! - `MONITOR_BENCH_REPEAT`: runs per case (1); the median is printed.
//! - `MONITOR_BENCH_KEEP=1`: keep the generated inputs and outputs (for `perf`).
//!
//! For each case it prints: the raw read of the same files with calamine /
//! csv (one thread per file: the floor), `monitor check` (read + validate)
//! and its ratio to that floor, and `monitor run` (everything: history,
//! all forms), each as its own process: wall time, CPU time (all threads,
//! and the least wall time it allows on the machine's cores), peak memory,
//! and the time and peak memory of every phase (`MONITOR_PHASES=1`); then the next
//! month on the same inputs and the store the first run left (a month
//! compared with the one before, the usual case).

use calamine::{open_workbook_auto, Reader};
use chrono::NaiveDate;
use monitor::synth::{self, Risk};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Case {
    name: &'static str,
    risk: Risk,
}

struct Measured {
    secs: f64,
    /// CPU time of the whole process (all threads), when it printed it.
    cpu: Option<f64>,
    peak_mb: f64,
    phases: Vec<(String, f64, f64)>,
    /// The report phase's workbooks: (name, seconds), written side by side.
    jobs: Vec<(String, f64)>,
}

fn monitor(dir: &Path, args: &[&str]) -> Measured {
    let t = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_monitor"))
        .args(args)
        .current_dir(dir)
        .env("MONITOR_PHASES", "1")
        .output()
        .expect("run monitor");
    let secs = t.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() || o.status.code() == Some(11),
        "monitor {args:?}: {err}"
    );
    let phases: Vec<(String, f64, f64)> = err
        .lines()
        .filter_map(|l| {
            let mut p = l.split('\t');
            (p.next()? == "阶段").then_some(())?;
            Some((
                p.next()?.to_string(),
                p.next()?.parse().ok()?,
                p.next()?.parse().ok()?,
            ))
        })
        .collect();
    let jobs: Vec<(String, f64)> = err
        .lines()
        .filter_map(|l| {
            let mut p = l.split('\t');
            (p.next()? == "作业").then_some(())?;
            Some((p.next()?.to_string(), p.next()?.parse().ok()?))
        })
        .collect();
    let cpu = err
        .lines()
        .find_map(|l| l.strip_prefix("CPU\t")?.parse().ok());
    // Each phase's peak is its own (reset at its start): the run's peak is
    // the largest of them.
    let peak_mb = phases.iter().map(|p| p.2).fold(0.0, f64::max);
    Measured {
        secs,
        cpu,
        peak_mb,
        phases,
        jobs,
    }
}

/// Every cell of every file, read the cheapest way the libraries allow,
/// one thread per file: the floor any reader of these files stands on.
/// Returns its wall time, its CPU time (this process's, all threads) and
/// the cells read.
fn raw_read(files: &[PathBuf]) -> (f64, Option<f64>, usize) {
    let cpu_before = monitor::phases::cpu_secs();
    let t = Instant::now();
    let cells: usize = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .map(|f| {
                s.spawn(move || {
                    if f.extension().is_some_and(|e| e == "csv") {
                        let mut r = csv::ReaderBuilder::new()
                            .has_headers(false)
                            .flexible(true)
                            .from_path(f)
                            .unwrap();
                        let mut rec = csv::ByteRecord::new();
                        let mut n = 0;
                        while r.read_byte_record(&mut rec).unwrap() {
                            n += rec.len();
                        }
                        n
                    } else {
                        let mut wb = open_workbook_auto(f).unwrap();
                        let name = wb.sheet_names()[0].clone();
                        let mut x = match &mut wb {
                            calamine::Sheets::Xlsx(x) => x,
                            _ => unreachable!("xlsx"),
                        }
                        .worksheet_cells_reader(&name)
                        .unwrap();
                        let mut n = 0;
                        while x.next_cell().unwrap().is_some() {
                            n += 1;
                        }
                        n
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let secs = t.elapsed().as_secs_f64();
    let cpu = monitor::phases::cpu_secs()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    (secs, cpu, cells)
}

/// CPU seconds, and the least wall time they allow on this machine's cores.
fn cpu_text(cpu: Option<f64>) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match cpu {
        Some(c) => format!("{c:.2} s（{cores} 核至少 {:.2} s）", c / cores as f64),
        None => "未知".to_string(),
    }
}

fn median(mut v: Vec<Measured>) -> Measured {
    v.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    let mid = v.len() / 2;
    v.swap_remove(mid)
}

fn write_inputs(
    n: usize,
    risk: Risk,
    month: NaiveDate,
    xlsx: bool,
    dir: &Path,
) -> (Vec<PathBuf>, usize) {
    let county = synth::generate_with(n, 42, month, risk);
    let expenses = county.expenses.len();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let d = dir.join("data");
    let files = if xlsx {
        synth::write_households_xlsx(&county, &d.join("households.xlsx"), month, false, 42)
            .unwrap();
        synth::write_members_xlsx(&county, &d.join("members.xlsx")).unwrap();
        synth::write_expenses_csv(&county, &d.join("expenses.csv"), false, 1).unwrap();
        vec!["households.xlsx", "members.xlsx", "expenses.csv"]
    } else {
        synth::write_csv_set(&county, &d).unwrap();
        vec!["households.csv", "members.csv", "expenses.csv"]
    };
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/mile-2020.toml");
    std::fs::write(
        dir.join("monitor.toml"),
        format!(
            "[run]\nrules = '{}'\nout = 'out'\n[inputs]\nhouseholds = 'data/{}'\nmembers = 'data/{}'\nexpenses = 'data/{}'\n",
            rules.display(),
            files[0],
            files[1],
            files[2]
        ),
    )
    .unwrap();
    (files.iter().map(|f| d.join(f)).collect(), expenses)
}

fn main() {
    let n: usize = std::env::var("MONITOR_BENCH_HOUSEHOLDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let xlsx = match std::env::var("MONITOR_BENCH_FORMAT").as_deref() {
        Ok("csv") => false,
        Ok("xlsx") => true,
        _ => n <= 1_000_000,
    };
    let repeat: usize = std::env::var("MONITOR_BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let cases: Vec<Case> = match std::env::var("MONITOR_BENCH_SHARE").as_deref() {
        Ok("stress") => vec![Case {
            name: "stress",
            risk: Risk::STRESS,
        }],
        Ok("realistic") => vec![Case {
            name: "realistic",
            risk: Risk::REALISTIC,
        }],
        _ => vec![
            Case {
                name: "realistic",
                risk: Risk::REALISTIC,
            },
            Case {
                name: "stress",
                risk: Risk::STRESS,
            },
        ],
    };
    let month = NaiveDate::from_ymd_opt(2020, 3, 1).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "机器：{cores} 核；{n} 户，输入 {}；每种情况运行 {repeat} 次取中位数",
        if xlsx {
            "xlsx（农户、成员）+ CSV（支出）"
        } else {
            "CSV"
        }
    );
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        if std::env::var_os("MONITOR_BENCH_KEEP").is_some() {
            println!("输入和结果保留在 {}", dir.path().display());
        }
        let t = Instant::now();
        let (files, expenses) = write_inputs(n, case.risk, month, xlsx, dir.path());
        let sizes: Vec<String> = files
            .iter()
            .map(|f| {
                format!(
                    "{} {:.1} MB",
                    f.file_name().unwrap().to_string_lossy(),
                    std::fs::metadata(f).unwrap().len() as f64 / 1e6
                )
            })
            .collect();
        println!(
            "\n== {}：生成输入 {:.1} s（支出记录 {expenses} 条；{}）",
            case.name,
            t.elapsed().as_secs_f64(),
            sizes.join("，")
        );
        let (raw, raw_cpu, cells) = raw_read(&files);
        println!(
            "原始读取（calamine/csv，每文件一线程）：{raw:.2} s，CPU {}（{cells} 个单元格）",
            cpu_text(raw_cpu)
        );
        let check = median(
            (0..repeat)
                .map(|_| monitor(dir.path(), &["check", "--month", "2020-03", "-q"]))
                .collect(),
        );
        println!(
            "monitor check：{:.2} s = 原始读取的 {:.2} 倍，CPU {}，峰值内存 {:.0} MB",
            check.secs,
            check.secs / raw,
            cpu_text(check.cpu),
            check.peak_mb
        );
        let runs: Vec<Measured> = (0..repeat)
            .map(|_| {
                let _ = std::fs::remove_dir_all(dir.path().join("out"));
                let _ = std::fs::remove_file(dir.path().join("monitor-history.sqlite"));
                monitor(dir.path(), &["run", "--month", "2020-03", "-q"])
            })
            .collect();
        let run = median(runs);
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("out/2020-03/summary.json")).unwrap(),
        )
        .unwrap();
        let warned = summary["counts"]["risk_households"].as_u64().unwrap_or(0);
        // The generator plants no errors: many 数据问题 here would mean the
        // inputs are not the county described (and the run times its list).
        let issues = summary["counts"]["data_issues"].as_u64().unwrap_or(0);
        println!(
            "monitor run：{:.2} s（{:.0} 户/秒），CPU {}，峰值内存 {:.0} MB；触发预警 {warned} 户（{:.1}%）；数据问题 {issues} 条",
            run.secs,
            n as f64 / run.secs,
            cpu_text(run.cpu),
            run.peak_mb,
            warned as f64 * 100.0 / n as f64
        );
        for (name, secs, mb) in &run.phases {
            println!("  阶段 {name:<24} {secs:>7.2} s  峰值 {mb:>6.0} MB");
        }
        let jobs: Vec<String> = run
            .jobs
            .iter()
            .map(|(n, t)| format!("{n} {t:.1}"))
            .collect();
        println!("  报表各工作簿（秒，两核并行）：{}", jobs.join("，"));
        let out = dir.path().join("out/2020-03");
        let mut total = 0u64;
        for e in std::fs::read_dir(&out).unwrap() {
            total += e.unwrap().metadata().unwrap().len();
        }
        println!("  输出合计 {:.1} MB", total as f64 / 1e6);
        // The usual case is not a first month: the next month compares with
        // the stored one (statuses, 自然增减 against last month's members).
        // Same inputs, one month later, on the store the run above left.
        let next = monitor(dir.path(), &["run", "--month", "2020-04", "-q"]);
        println!(
            "次月 monitor run（同一批输入，与上月比对）：{:.2} s，CPU {}，峰值内存 {:.0} MB",
            next.secs,
            cpu_text(next.cpu),
            next.peak_mb
        );
        for (name, secs, mb) in &next.phases {
            println!("  阶段 {name:<24} {secs:>7.2} s  峰值 {mb:>6.0} MB");
        }
        if std::env::var_os("MONITOR_BENCH_KEEP").is_some() {
            let _ = dir.keep();
        }
    }
}

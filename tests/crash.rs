//! A run killed at any point leaves the store and the month's folder as
//! they were (restored by the next command that takes the workspace lock),
//! and a second run at the same time is refused.
//!
//! `MONITOR_FAULT=<point>` makes the binary abort there, as a kill would;
//! `MONITOR_FAULT=pause:<point>` makes it wait there so the test can kill it.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn setup() -> (Ws, std::collections::BTreeMap<String, Vec<u8>>, String) {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster(
        "2020-03",
        &[
            hh("A", "脱贫户", 2, 2, 6000.0),
            hh("B", "一般农户", 2, 2, 30000.0),
        ],
    );
    ws.month("2020-03");
    let before = snapshot(&ws.path("out/2020-03"));
    let hist = stdout(&ws.run(&["history", "A"]));
    assert!(hist.contains("3000.00"), "{hist}");
    // New figures for the same month: a finished re-run would change both.
    ws.roster(
        "2020-03",
        &[
            hh("A", "脱贫户", 2, 2, 7000.0),
            hh("B", "一般农户", 2, 2, 8000.0),
        ],
    );
    (ws, before, hist)
}

fn spawn(ws: &Ws, fault: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_monitor"))
        .args(["run", "--month", "2020-03", "-q"])
        .env("MONITOR_FAULT", fault)
        .current_dir(ws.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for(cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for the run to get there"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn leftovers(ws: &Ws) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(ws.path("out"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn aborted_at_each_point_before_commit_nothing_changes() {
    for point in ["before_publish", "after_set_aside", "after_swap"] {
        let (ws, before, hist) = setup();
        let o = ws.run_env(
            &["run", "--month", "2020-03", "-q"],
            &[("MONITOR_FAULT", point)],
        );
        assert!(!o.status.success(), "{point}: the run was aborted");
        // The store never saw the run (SQLite rolls the journal back).
        assert_eq!(
            stdout(&ws.run(&["history", "A"])),
            hist,
            "{point}: store unchanged"
        );
        // …and the month's folder is as it was, with nothing left behind.
        assert_eq!(
            snapshot(&ws.path("out/2020-03")),
            before,
            "{point}: outputs unchanged"
        );
        assert_eq!(leftovers(&ws), ["2020-03"], "{point}");
        // Re-running now works and gives the new figures.
        let js = ws.month("2020-03");
        assert_eq!(
            js["households"][0]["per_capita_net_income"], "3500.00",
            "{point}"
        );
    }
}

#[test]
fn aborted_after_commit_the_run_counts_and_the_folder_follows() {
    let (ws, before, hist) = setup();
    let o = ws.run_env(
        &["run", "--month", "2020-03", "-q"],
        &[("MONITOR_FAULT", "after_commit")],
    );
    assert!(!o.status.success());
    let now = stdout(&ws.run(&["history", "A"]));
    assert_ne!(now, hist);
    assert!(now.contains("3500.00"), "{now}");
    let after = snapshot(&ws.path("out/2020-03"));
    assert_ne!(after, before, "folder and store agree on the new run");
    assert_eq!(leftovers(&ws), ["2020-03"]);
}

#[test]
fn killed_mid_run_then_rerun() {
    let (ws, before, hist) = setup();
    let mut child = spawn(&ws, "pause:after_swap");
    let old = ws.path("out/.2020-03.old");
    wait_for(|| old.exists());
    child.kill().unwrap();
    child.wait().unwrap();
    // Right after the kill the new folder is in place but never committed.
    assert_eq!(stdout(&ws.run(&["history", "A"])), hist, "store unchanged");
    assert_eq!(snapshot(&ws.path("out/2020-03")), before, "folder restored");
    assert_eq!(leftovers(&ws), ["2020-03"]);
    let js = ws.month("2020-03");
    assert_eq!(js["counts"]["risk_households"], 2);
}

#[test]
fn a_second_run_at_the_same_time_is_refused() {
    let (ws, before, _) = setup();
    let mut first = spawn(&ws, "pause:before_publish");
    wait_for(|| leftovers(&ws).iter().any(|n| n.contains(".tmp-")));
    let o = ws.run(&["run", "--month", "2020-03", "-q"]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(stderr(&o).contains("另一次"), "{}", stderr(&o));
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(stdout(&ws.run(&["history", "A"])).contains("3000.00"));
    assert_eq!(snapshot(&ws.path("out/2020-03")), before);
}

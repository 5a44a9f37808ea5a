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
    wait_for(|| leftovers(&ws).iter().any(|n| n.starts_with(".2020-03.old")));
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

/// The files of a folder and their bytes, for "nothing was deleted".
fn tree(ws: &Ws) -> Vec<String> {
    leftovers(ws)
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect()
}

#[test]
fn a_store_restored_from_backup_never_deletes_later_months() {
    let (ws, _, _) = setup();
    let backup = std::fs::read(ws.path("history.sqlite")).unwrap();
    ws.roster("2020-04", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    ws.month("2020-04");
    let april = snapshot(&ws.path("out/2020-04"));
    // The clerk restores the store from the backup taken before April.
    std::fs::write(ws.path("history.sqlite"), &backup).unwrap();
    let o = ws.run(&["history", "A"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(snapshot(&ws.path("out/2020-04")), april, "April kept");
    // A run of March (the store's latest) also leaves April alone.
    ws.month("2020-03");
    assert_eq!(snapshot(&ws.path("out/2020-04")), april, "April kept");
}

#[test]
fn a_new_store_never_deletes_earlier_months() {
    let (ws, before, _) = setup();
    std::fs::remove_file(ws.path("history.sqlite")).unwrap();
    let o = ws.run(&["run", "--month", "2020-04", "-q"]);
    assert_eq!(o.status.code(), Some(8), "missing store refused");
    assert!(stderr(&o).contains("history --init"), "{}", stderr(&o));
    let o = ws.run(&["history", "--init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    ws.roster("2020-04", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    ws.month("2020-04");
    assert_eq!(snapshot(&ws.path("out/2020-03")), before, "March kept");
    assert_eq!(tree(&ws), ["2020-03", "2020-04"]);
}

#[test]
fn two_stores_sharing_an_output_folder_keep_each_others_work() {
    let (ws, _, _) = setup();
    let mut first = spawn(&ws, "pause:before_publish");
    wait_for(|| leftovers(&ws).iter().any(|n| n.contains(".tmp-")));
    let tmp: Vec<String> = leftovers(&ws)
        .into_iter()
        .filter(|n| n.contains(".tmp-"))
        .collect();
    // A second workspace store writes into the same output folder.
    ws.roster("2020-04", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    let o = ws.run(&["history", "--init", "--store", "other.sqlite"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = ws.run(&["run", "--month", "2020-04", "--store", "other.sqlite", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for t in &tmp {
        assert!(ws.path(&format!("out/{t}")).exists(), "{t} kept");
    }
    first.kill().unwrap();
    first.wait().unwrap();
}

#[test]
fn a_kill_while_the_first_store_is_created_does_not_block_the_workspace() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster("2020-03", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    let o = ws.run_env(
        &["run", "--month", "2020-03", "-q"],
        &[("MONITOR_FAULT", "store_built")],
    );
    assert!(!o.status.success());
    assert!(!ws.path("history.sqlite").exists(), "no half-made store");
    ws.month("2020-03");
    // A blank store file (as an older version could leave) is rebuilt too.
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster("2020-03", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    ws.write("history.sqlite", "");
    ws.month("2020-03");
    let names: Vec<String> = std::fs::read_dir(ws.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("creating"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn a_previous_folder_that_cannot_be_removed_is_a_warning_not_a_failure() {
    let (ws, _, _) = setup();
    let o = ws.run_env(
        &["run", "--month", "2020-03", "-q"],
        &[("MONITOR_FAULT", "fail:remove_old")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("暂时无法删除"), "{}", stderr(&o));
    assert!(leftovers(&ws).iter().any(|n| n.starts_with(".2020-03.old")));
    // Later commands work, and the next one that can clears it.
    let o = ws.run(&["history", "A"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("3500.00"), "the run counts");
    assert_eq!(leftovers(&ws), ["2020-03"]);
    ws.month("2020-03");
}

#[test]
fn a_decide_killed_after_commit_and_repeated_records_once() {
    let (ws, _, _) = setup();
    let r5 = ws.path("out/2020-03/附件5 脱贫监测户动态监测分析研判表.xlsx");
    let f = ws.fill_review(&r5, "d5.xlsx", &[("A", "纳入监测", "")]);
    let args = [
        "decide",
        "--month",
        "2020-03",
        f.to_str().unwrap(),
        "--by",
        "李",
    ];
    let o = ws.run_env(&args, &[("MONITOR_FAULT", "decide_after_commit")]);
    assert!(!o.status.success());
    let o = ws.run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("未重复记录"), "{}", stdout(&o));
    let hist = stdout(&ws.run(&["history", "A"]));
    assert_eq!(hist.matches("纳入监测").count(), 1, "{hist}");
}

/// A store damaged in its structure (an index page claiming more entries
/// than it holds) stops the run: SQLite's checks, while the inputs are read
/// and before the commit, leave the store and the outputs as they were.
#[test]
fn a_store_damaged_in_its_structure_stops_the_next_run_and_is_not_written() {
    for keep_time in [false, true] {
        damaged_store_stops_the_run(keep_time);
    }
}

/// `keep_time`: the damage done with the file's length and time kept, so
/// the store looks as its last checked commit left it and is not checked
/// at open: the check before the commit still stops the run.
fn damaged_store_stops_the_run(keep_time: bool) {
    let (ws, _, _) = setup();
    let path = ws.path("history.sqlite");
    assert!(ws.path("history.sqlite.checked").is_file());
    let t = std::fs::metadata(&path).unwrap().modified().unwrap();
    let (root, page_size): (i64, i64) = {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row(
            "SELECT (SELECT rootpage FROM sqlite_master WHERE name = 'decisions_month'),
                    (SELECT page_size FROM pragma_page_size())",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let mut bytes = std::fs::read(&path).unwrap();
    let at = ((root - 1) * page_size) as usize;
    assert_eq!(bytes[at], 0x0a, "an index leaf page");
    bytes[at + 3] = 0x7f; // its number of entries
    std::fs::write(&path, &bytes).unwrap();
    if keep_time {
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(t).unwrap();
    }
    ws.roster("2020-04", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    let o = ws.run(&["run", "--month", "2020-04", "-q"]);
    assert_eq!(o.status.code(), Some(8), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("损坏") && stderr(&o).contains("history.sqlite"),
        "{}",
        stderr(&o)
    );
    assert!(!ws.path("out/2020-04").exists());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the store is not written"
    );
    if keep_time {
        // Found damaged: checked whole at open from now on.
        assert!(!ws.path("history.sqlite.checked").exists());
    }
}

#[test]
fn a_damaged_status_in_the_store_stops_the_next_run() {
    let (ws, _, _) = setup();
    let path = ws.path("history.sqlite");
    let mut bytes = std::fs::read(&path).unwrap();
    let needle = "预警待研判".as_bytes();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("a stored status");
    bytes[at + 1] ^= 0x01; // one byte
    std::fs::write(&path, &bytes).unwrap();
    ws.roster("2020-04", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    let o = ws.run(&["run", "--month", "2020-04", "-q"]);
    assert_eq!(o.status.code(), Some(8), "{}", stderr(&o));
    assert!(stderr(&o).contains("损坏"), "{}", stderr(&o));
    assert!(!ws.path("out/2020-04").exists());
}

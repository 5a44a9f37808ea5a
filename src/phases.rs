//! Time and peak memory of each phase of a run, printed to standard error
//! when `MONITOR_PHASES=1` (for the benchmark; silent otherwise). The peak
//! is reset at the start of each phase (Linux `/proc/self/clear_refs`), so
//! each line is that phase's own peak resident memory.

use std::sync::Mutex;
use std::time::Instant;

static CURRENT: Mutex<Option<(String, Instant)>> = Mutex::new(None);

fn enabled() -> bool {
    std::env::var_os("MONITOR_PHASES").is_some()
}

/// Peak resident memory since the last reset, in MB (Linux; 0 elsewhere).
pub fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time this process has used so far (user + system, all threads), in
/// seconds (Linux `/proc/self/stat`, in ticks of 1/100 s; `None` elsewhere).
pub fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (in parentheses, which may hold spaces):
    // utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace().skip(11);
    let user: f64 = f.next()?.parse().ok()?;
    let system: f64 = f.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

fn reset_peak() {
    // "5" resets the peak RSS to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The run enters phase `name` (the previous one ends).
pub fn mark(name: &str) {
    if !enabled() {
        return;
    }
    let Ok(mut cur) = CURRENT.lock() else { return };
    if cur.as_ref().is_some_and(|(n, _)| n == name) {
        return;
    }
    if let Some((prev, t)) = cur.take() {
        eprintln!(
            "阶段\t{prev}\t{:.2}\t{:.0}",
            t.elapsed().as_secs_f64(),
            peak_mb()
        );
    }
    reset_peak();
    *cur = Some((name.to_string(), Instant::now()));
}

/// One job of a phase took `secs` (printed as `作业\t名称\t秒`, when
/// enabled): the workbooks of the report phase are written side by side.
pub fn job(name: &str, secs: f64) {
    if enabled() {
        eprintln!("作业\t{name}\t{secs:.2}");
    }
}

/// The last phase ends; the process's CPU time is printed
/// (`CPU\t秒`).
pub fn end() {
    mark("");
    if let (true, Some(cpu)) = (enabled(), cpu_secs()) {
        eprintln!("CPU\t{cpu:.2}");
    }
    if let Ok(mut cur) = CURRENT.lock() {
        *cur = None;
    }
}

//! Putting a month's outputs in place atomically with the store's commit,
//! and undoing what an interrupted run of *this* store left behind.
//!
//! A run builds its outputs in `.<month>.tmp-<store>-…`, then writes a
//! journal `.<month>.pending` (store id, run id, set-aside folder name),
//! sets the previous month folder aside as `.<month>.old-<run>`, moves the
//! new folder in, commits the store, and removes the set-aside folder and
//! the journal. Recovery acts only on journals and temporary folders of
//! its own store; a month folder it does not recognise is never touched.

use crate::error::{MonitorError, Result};
use crate::history::Tx;
use std::path::{Path, PathBuf};

/// Name of the file in each month folder that ties it to its store record.
pub const RUN_MARK: &str = ".monitor-run";

/// Fault injection for the crash tests: `MONITOR_FAULT=<point>` aborts the
/// process there (as a kill would), `MONITOR_FAULT=pause:<point>` sleeps.
pub fn fault_point(name: &str) {
    if let Ok(v) = std::env::var("MONITOR_FAULT") {
        if v == name {
            std::process::abort();
        }
        if v.strip_prefix("pause:") == Some(name) {
            std::thread::sleep(std::time::Duration::from_secs(120));
        }
    }
}

/// `MONITOR_FAULT=fail:<point>` makes a file operation there fail, as a
/// file held open by another program would.
fn fault_fail(name: &str) -> std::io::Result<()> {
    match std::env::var("MONITOR_FAULT") {
        Ok(v) if v.strip_prefix("fail:") == Some(name) => {
            Err(std::io::Error::other("模拟故障：文件正被其他程序占用"))
        }
        _ => Ok(()),
    }
}

/// The journal of one publication in progress.
struct Pending {
    store_id: String,
    run_id: String,
    /// Name of the set-aside previous folder, inside the output folder.
    old: String,
}

fn pending_path(out: &Path, month: &str) -> PathBuf {
    out.join(format!(".{month}.pending"))
}

impl Pending {
    fn write(&self, out: &Path, month: &str) -> std::io::Result<()> {
        let tmp = out.join(format!(".{month}.pending.tmp"));
        std::fs::write(
            &tmp,
            format!("{}\n{}\n{}\n", self.store_id, self.run_id, self.old),
        )?;
        std::fs::rename(&tmp, pending_path(out, month))
    }

    fn read(path: &Path) -> Option<Pending> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut l = text.lines();
        let (store_id, run_id, old) = (l.next()?, l.next()?, l.next()?);
        // Only a plain folder name inside the output folder.
        if old.contains(['/', '\\']) || !old.starts_with('.') {
            return None;
        }
        Some(Pending {
            store_id: store_id.into(),
            run_id: run_id.into(),
            old: old.into(),
        })
    }
}

/// The prefix of this store's temporary folders for `month`.
pub fn tmp_prefix(month: &str, store_id: &str) -> String {
    format!(".{month}.tmp-{store_id}-")
}

fn read_mark(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(RUN_MARK)).ok()
}

fn out_err(p: &Path, e: std::io::Error, what: &str) -> MonitorError {
    MonitorError::Output {
        path: p.to_path_buf(),
        msg: format!("{what}（{e}）"),
    }
}

/// Put `built` in place as `<out>/<month>` and commit `tx`, all or nothing.
/// Returns warnings: after the commit, a previous folder that cannot be
/// removed is left for later, not a failure.
pub fn publish(
    out: &Path,
    month: &str,
    built: &Path,
    tx: Tx,
    store_id: &str,
    run_id: &str,
) -> Result<Vec<String>> {
    let final_dir = out.join(month);
    let old_name = format!(".{month}.old-{run_id}");
    let old = out.join(&old_name);
    let pending = Pending {
        store_id: store_id.into(),
        run_id: run_id.into(),
        old: old_name,
    };
    let journal = pending_path(out, month);
    pending
        .write(out, month)
        .map_err(|e| out_err(&journal, e, "无法写入运行记录文件"))?;
    if final_dir.exists() {
        if let Err(e) = std::fs::rename(&final_dir, &old) {
            let _ = std::fs::remove_file(&journal);
            return Err(out_err(
                &final_dir,
                e,
                "无法替换上次的结果；若其中的文件正在 Excel 或 WPS 中打开，请先关闭后再运行",
            ));
        }
    }
    fault_point("after_set_aside");
    if let Err(e) = std::fs::rename(built, &final_dir) {
        if old.exists() {
            let _ = std::fs::rename(&old, &final_dir);
        }
        let _ = std::fs::remove_file(&journal);
        return Err(out_err(&final_dir, e, "无法把新结果放到输出目录"));
    }
    fault_point("after_swap");
    if let Err(e) = tx.commit() {
        let _ = std::fs::remove_dir_all(&final_dir);
        if old.exists() {
            let _ = std::fs::rename(&old, &final_dir);
        }
        let _ = std::fs::remove_file(&journal);
        return Err(e);
    }
    fault_point("after_commit");
    Ok(finish(out, month, &old).into_iter().collect())
}

/// After the commit: remove the set-aside folder, then the journal. When
/// the folder cannot be removed the journal stays, so a later command
/// tries again; the month itself is done either way.
fn finish(out: &Path, month: &str, old: &Path) -> Option<String> {
    if old.exists() {
        if let Err(e) = fault_fail("remove_old").and_then(|()| std::fs::remove_dir_all(old)) {
            return Some(format!(
                "{month} 的结果已更新并记入历史库，但上次结果的备份文件夹 {} 暂时无法删除（{e}）；不影响使用，下次运行时会再试，也可关闭占用的程序后手动删除",
                old.display()
            ));
        }
    }
    let _ = std::fs::remove_file(pending_path(out, month));
    None
}

/// Undo (or, after the commit, complete) what an interrupted run of this
/// store left in `out`. Called with the workspace lock held. Month folders
/// without a journal of this store are never touched. Returns warnings.
pub fn recover(out: &Path, tx: &Tx) -> Result<Vec<String>> {
    let Ok(rd) = std::fs::read_dir(out) else {
        return Ok(Vec::new());
    };
    let store_id = tx.store_id()?;
    let reader = tx.reader();
    let mut names: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut warnings = Vec::new();
    let mut claimed: Vec<String> = Vec::new();
    for name in &names {
        let Some(month) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".pending"))
        else {
            continue;
        };
        let path = out.join(name);
        let Some(p) = Pending::read(&path) else {
            continue;
        };
        if p.store_id != store_id {
            continue;
        }
        claimed.push(p.old.clone());
        let old = out.join(&p.old);
        let final_dir = out.join(month);
        if reader.run_id(month)?.as_deref() == Some(p.run_id.as_str()) {
            warnings.extend(finish(out, month, &old));
            continue;
        }
        // Not committed: the folder in place (if it is that run's) goes,
        // the set-aside previous one comes back.
        if final_dir.exists() && read_mark(&final_dir).as_deref() == Some(p.run_id.as_str()) {
            std::fs::remove_dir_all(&final_dir).map_err(|e| {
                out_err(&final_dir, e, "恢复上次中断的运行时，无法移走未完成的结果")
            })?;
        }
        if old.exists() && !final_dir.exists() {
            std::fs::rename(&old, &final_dir)
                .map_err(|e| out_err(&old, e, "恢复上次中断的运行时，无法放回上次的结果"))?;
        }
        let _ = std::fs::remove_file(&path);
    }
    for name in &names {
        let path = out.join(name);
        if name.contains(&format!(".tmp-{store_id}-")) && name.starts_with('.') {
            // This store's run was killed while writing its outputs.
            std::fs::remove_dir_all(&path)
                .map_err(|e| out_err(&path, e, "无法清理上次中断的运行留下的临时文件夹"))?;
        } else if name.starts_with('.') && name.contains(".old") && !claimed.contains(name) {
            warnings.push(format!(
                "输出目录中有以前留下的文件夹 {}（不是本历史库中断的运行留下的），未做改动；确认无用后可手动删除",
                path.display()
            ));
        }
    }
    Ok(warnings)
}

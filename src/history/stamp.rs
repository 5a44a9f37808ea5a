//! The store as this program's last checked commit left it: its length
//! and modification time, kept beside it in `<store>.checked`. Read from
//! the file system's record of the file, never by opening it: closing any
//! handle of the file would drop the run's SQLite lock on it (POSIX
//! record locks belong to the process, not to the handle).
//!
//! A run's `quick_check` at open reads every page of the store, and the
//! store grows by a month of rows each month (about 60 MB a month for a
//! county of 100,000 households, 1.2 GB for a province slice of 2,000,000),
//! most of it not in memory when the monthly run starts. When the file is
//! exactly as the last checked commit left it, that check is skipped: the
//! check before every commit (`Tx::verify`) still reads the whole store
//! with the run's changes, so damage done since is found before anything
//! is committed over it. A file written by anything else (another program,
//! a restored copy, an interrupted transaction rolled back) no longer
//! matches and is checked at open as before.

use std::path::{Path, PathBuf};

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Eq, Debug)]
struct Stamp {
    len: u64,
    modified_ns: u128,
}

fn stamp_path(store: &Path) -> PathBuf {
    let mut p = store.as_os_str().to_owned();
    p.push(".checked");
    PathBuf::from(p)
}

fn of_file(store: &Path) -> std::io::Result<Stamp> {
    let meta = std::fs::metadata(store)?;
    let modified_ns = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Ok(Stamp {
        len: meta.len(),
        modified_ns,
    })
}

/// Note the store as just committed after its check. A stamp that cannot
/// be written is removed instead (the next run then checks at open).
pub(super) fn record(store: &Path) {
    let path = stamp_path(store);
    let written = of_file(store).and_then(|s| {
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".checked-")
            .tempfile_in(dir)?;
        serde_json::to_writer(&mut tmp, &s)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&path);
    }
}

/// Forget the stamp: the store was found damaged (by the check before a
/// commit, or by SQLite while reading it); the next open checks it whole.
pub(super) fn forget(store: &Path) {
    let _ = std::fs::remove_file(stamp_path(store));
}

/// Whether the store is exactly as its last checked commit left it.
pub(super) fn unchanged(store: &Path) -> bool {
    let Ok(text) = std::fs::read(stamp_path(store)) else {
        return false;
    };
    let Ok(stamp) = serde_json::from_slice::<Stamp>(&text) else {
        return false;
    };
    of_file(store).is_ok_and(|now| now == stamp)
}

//! The month-to-month memory of monitoring: an embedded SQLite store (no
//! server) holding every month's assessment of every household, the
//! roster, and the human decisions read back from the 研判表.
//!
//! Statuses are derived month by month from the previous stored month and
//! the decisions recorded for it, so re-running a month gives the same
//! result. Nothing is deleted: eliminated households keep their rows and
//! stay in the ledger (弥勒 一、（四）：不得在系统中作剔除处理).

mod changes;
mod stamp;

pub use changes::{
    natural_changes, person_key, Change, PeopleInKeyOrder, Previous, RosterHousehold, RosterPerson,
};

use crate::error::{MonitorError, Result};
use crate::model::Household;
use compact_str::CompactString;
use rusqlite::{
    params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use ustr::Ustr;

/// Version 2: warnings pending review, 新纳入, 已研判不纳入 with evidence,
/// review levels, expense records per household. A version-1 store is
/// upgraded in place (its months keep their statuses); a version-1 program
/// refuses a version-2 store (its check wants "1").
pub const SCHEMA_VERSION: &str = "2";

/// Monitoring status of a household in a month (000 三（二）: 一预警 →
/// 一研判 → 一审定; only a recorded 纳入监测 makes a 监测户).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash, PartialOrd, Ord, Default)]
pub enum Status {
    /// Triggered a rule and not monitored: waits for 研判/审定 (预警户).
    Pending,
    /// 纳入监测 recorded for this month.
    NewlyIncluded,
    /// Under monitoring, still at risk or not yet stable.
    Continuing,
    /// Under monitoring, no rule fired for N months: suggested for elimination.
    SuggestElimination,
    /// Eliminated earlier and triggering again: waits for review (预警户).
    ReturnedPending,
    /// Eliminated by a recorded decision (marked, never deleted).
    Eliminated,
    /// Decided 不纳入 and not worse since: held back, listed on its own.
    Declined,
    /// Not under monitoring.
    #[default]
    NotMonitored,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Pending,
        Status::NewlyIncluded,
        Status::Continuing,
        Status::SuggestElimination,
        Status::ReturnedPending,
        Status::Eliminated,
        Status::Declined,
        Status::NotMonitored,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Status::Pending => "预警待研判",
            Status::NewlyIncluded => "新纳入",
            Status::Continuing => "持续监测",
            Status::SuggestElimination => "建议消除",
            Status::ReturnedPending => "返贫/再次预警",
            Status::Eliminated => "已消除",
            Status::Declined => "已研判不纳入",
            Status::NotMonitored => "未监测",
        }
    }

    /// Also reads the labels of a version-1 store: its 新识别 and
    /// 返贫/再次识别 were warnings nobody had confirmed yet.
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "新识别" => Some(Status::Pending),
            "返贫/再次识别" => Some(Status::ReturnedPending),
            _ => Status::ALL.into_iter().find(|x| x.label() == s),
        }
    }

    /// A 监测户: confirmed by 纳入监测 (or typed so on the roster).
    pub fn monitored(self) -> bool {
        matches!(
            self,
            Status::NewlyIncluded | Status::Continuing | Status::SuggestElimination
        )
    }

    /// A 预警户 waiting for a decision.
    pub fn pending(self) -> bool {
        matches!(self, Status::Pending | Status::ReturnedPending)
    }

    /// Listed in the month's 研判表 and open to a decision.
    pub fn under_review(self) -> bool {
        self.monitored() || self.pending()
    }
}

/// The 研判结论 values and which statuses each applies to.
pub const DECISIONS: [&str; 4] = ["纳入监测", "不纳入", "继续监测", "风险消除"];
pub const METHODS: [&str; 2] = ["帮扶消除", "自然消除"];

pub fn decision_applies(decision: &str, status: Status) -> bool {
    match decision {
        "纳入监测" | "不纳入" => status.pending(),
        "继续监测" | "风险消除" => status.monitored(),
        _ => false,
    }
}

/// What the store remembers of a household's latest earlier month.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prev {
    /// The month stored. Months, 帮扶 methods and notes repeat across
    /// households: interned (8 bytes each, no allocation).
    pub month: Ustr,
    pub status: Status,
    pub quiet_months: u32,
    pub identified: Option<Ustr>,
    pub eliminated: Option<Ustr>,
    pub method: Option<Ustr>,
    pub first_warned: Option<Ustr>,
    pub pending_months: u32,
}

/// Each household's latest stored status before a month: a list and an
/// index of handles into it (a province's two million households without
/// a map's spare room: the map of `(户编号, Prev)` took 670 MB there).
pub struct PrevStatuses {
    rows: Vec<(CompactString, Prev)>,
    index: crate::keyindex::KeyIndex<u32>,
}

impl PrevStatuses {
    pub fn new(rows: Vec<(CompactString, Prev)>) -> Self {
        let mut index = crate::keyindex::KeyIndex::with_capacity(rows.len());
        for (i, (id, _)) in rows.iter().enumerate() {
            index.insert(id, i as u32, |&k| rows[k as usize].0.as_str());
        }
        PrevStatuses { rows, index }
    }

    pub fn get(&self, hh_id: &str) -> Option<&Prev> {
        let rows = &self.rows;
        self.index
            .get(hh_id, |&k| rows[k as usize].0.as_str())
            .map(|k| &rows[k as usize].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&CompactString, &Prev)> {
        self.rows.iter().map(|(id, p)| (id, p))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub month: String,
    pub hh_id: String,
    pub decision: String,
    pub method: Option<String>,
    pub by: String,
    pub at: String,
    pub source: String,
    /// For 不纳入: what the household showed when decided (JSON of `Evidence`).
    pub evidence: Option<String>,
    /// The review levels filled on the form (JSON of `Levels`).
    pub levels: Option<String>,
}

/// A household as a month's 研判表 conclusions are checked against.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Open {
    pub status: Status,
    pub identified: Option<String>,
    /// A rule fired for it in that month.
    pub at_risk: bool,
    pub labor: Option<u32>,
}

/// What a household showed in a month: the basis a 不纳入 is compared with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Evidence {
    /// Rule id → measured value (as text; absent when the rule has none).
    pub rules: std::collections::BTreeMap<String, Option<String>>,
    pub per_capita: Option<String>,
    /// Keys of the expense records on file for the household.
    pub expenses: Vec<String>,
}

impl Evidence {
    /// Whether `now` shows more than this: a rule that did not fire, an
    /// expense record not counted, or a measured value worse by more than
    /// `margin` (lower for income rules, higher for spending rules).
    pub fn worse(
        &self,
        now: &Evidence,
        margin: rust_decimal::Decimal,
        lower_is_worse: impl Fn(&str) -> bool,
    ) -> Option<String> {
        use rust_decimal::Decimal;
        use std::str::FromStr;
        let num = |v: &Option<String>| v.as_deref().and_then(|t| Decimal::from_str(t).ok());
        for (rule, value) in &now.rules {
            let Some(before) = self.rules.get(rule) else {
                return Some(format!("新触发规则 {rule}"));
            };
            if let (Some(b), Some(n)) = (num(before), num(value)) {
                let step = (b.abs() * margin).max(Decimal::new(1, 2));
                let worse = if lower_is_worse(rule) {
                    n < b - step
                } else {
                    n > b + step
                };
                if worse {
                    return Some(format!("规则 {rule} 的实测值由 {b} 变为 {n}"));
                }
            }
        }
        if let Some(k) = now.expenses.iter().find(|k| !self.expenses.contains(k)) {
            let shown = k.split('|').skip(2).take(3).collect::<Vec<_>>().join(" ");
            return Some(format!("新的支出记录（{shown}）"));
        }
        if let (Some(b), Some(n)) = (num(&self.per_capita), num(&now.per_capita)) {
            if n < b - (b.abs() * margin) {
                return Some(format!("人均纯收入由 {b} 元降至 {n} 元"));
            }
        }
        None
    }
}

/// A household's latest 不纳入, still standing.
#[derive(Debug, Clone, PartialEq)]
pub struct Decline {
    pub month: String,
    pub by: String,
    pub at: String,
    pub evidence: Evidence,
}

/// A household's status this month with its dates.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct MonthStatus {
    pub status: Status,
    pub quiet_months: u32,
    /// 纳入监测时间 (YYYY-MM) of the current monitoring spell.
    pub identified: Option<Ustr>,
    pub eliminated: Option<Ustr>,
    pub method: Option<Ustr>,
    /// First month of the warning still waiting for a decision.
    pub first_warned: Option<Ustr>,
    /// Months the warning has waited (1 in its first month).
    pub pending_months: u32,
    /// The earlier 不纳入 (month) a warning or hold-back refers to.
    pub declined: Option<Ustr>,
    /// Why a held-back household is warned again, or why it is held back.
    pub note: Option<Ustr>,
}

/// Everything that decides a household's status this month.
pub struct DeriveInput<'a> {
    pub prev: Option<&'a Prev>,
    /// The decision recorded on the previous month's 研判表.
    pub prev_decision: Option<&'a Decision>,
    /// The decision recorded on this month's 研判表 (after `decide`).
    pub own_decision: Option<&'a Decision>,
    /// The latest standing 不纳入, with what it was based on.
    pub decline: Option<&'a Decline>,
    /// Why this month's evidence is worse than the decline's (None: not worse).
    pub worse: Option<String>,
    pub month: &'a str,
    pub at_risk: bool,
    /// The roster already says 脱贫监测户/边缘户 (confirmed elsewhere).
    pub preset_monitored: bool,
    /// 整户无劳动能力: never suggested for elimination.
    pub no_labour: bool,
    pub stable_months: u32,
}

fn status(s: Status) -> MonthStatus {
    MonthStatus {
        status: s,
        ..Default::default()
    }
}

/// A new warning, or one carried while nobody has decided.
fn pending(kind: Status, month: &str, prev: Option<&Prev>) -> MonthStatus {
    let carried = prev.filter(|p| p.status == kind);
    MonthStatus {
        status: kind,
        first_warned: carried
            .and_then(|p| p.first_warned.or(Some(p.month)))
            .or(Some(Ustr::from(month))),
        pending_months: carried.map_or(1, |p| p.pending_months.max(1) + 1),
        ..Default::default()
    }
}

/// Under monitoring: quiet months counted, elimination suggested after N.
fn monitored(quiet: u32, since: Option<Ustr>, i: &DeriveInput) -> MonthStatus {
    let quiet = if i.at_risk { 0 } else { quiet + 1 };
    let s = if !i.at_risk && quiet >= i.stable_months && !i.no_labour {
        Status::SuggestElimination
    } else {
        Status::Continuing
    };
    MonthStatus {
        status: s,
        quiet_months: quiet,
        identified: since,
        ..Default::default()
    }
}

/// A household not monitored that triggers: held back by a standing
/// 不纳入 unless it is worse now; otherwise a warning to review.
fn warning(kind: Status, i: &DeriveInput) -> MonthStatus {
    match (i.decline, &i.worse) {
        (Some(d), None) => MonthStatus {
            status: Status::Declined,
            declined: Some(Ustr::from(&d.month)),
            note: Some(ustr::ustr(&format!(
                "{} 研判不纳入（{}），情况未变差",
                d.month, d.by
            ))),
            ..Default::default()
        },
        (Some(d), Some(why)) => MonthStatus {
            declined: Some(Ustr::from(&d.month)),
            note: Some(ustr::ustr(&format!("{} 曾研判不纳入，现{why}", d.month))),
            ..pending(kind, i.month, i.prev)
        },
        (None, _) => pending(kind, i.month, i.prev),
    }
}

/// The status before this month's own decision.
fn before_decision(i: &DeriveInput) -> MonthStatus {
    let decided = i.prev_decision.map(|d| d.decision.as_str());
    let Some(p) = i.prev else {
        return if i.preset_monitored {
            monitored(0, None, i)
        } else if i.at_risk {
            warning(Status::Pending, i)
        } else {
            status(Status::NotMonitored)
        };
    };
    match (p.status, decided) {
        // A version-1 store or a month not re-rendered after its decide.
        (s, Some("纳入监测")) if s.pending() => monitored(0, Some(p.month), i),
        (s, Some("不纳入")) if s.pending() => {
            if i.at_risk {
                warning(Status::Pending, i)
            } else {
                status(Status::NotMonitored)
            }
        }
        (s, _) if s.pending() => pending(s, i.month, Some(p)),
        (s, Some("风险消除")) if s.monitored() => MonthStatus {
            status: Status::Eliminated,
            identified: p.identified,
            eliminated: Some(p.month),
            method: i
                .prev_decision
                .and_then(|d| d.method.as_deref().map(Ustr::from)),
            ..Default::default()
        },
        (s, _) if s.monitored() => monitored(p.quiet_months, p.identified.or(Some(p.month)), i),
        (Status::Eliminated, _) if i.at_risk => pending(Status::ReturnedPending, i.month, None),
        (Status::Eliminated, _) => MonthStatus {
            status: Status::Eliminated,
            identified: p.identified,
            eliminated: p.eliminated,
            method: p.method,
            ..Default::default()
        },
        _ if i.preset_monitored => monitored(0, None, i),
        _ if i.at_risk => warning(Status::Pending, i),
        _ => status(Status::NotMonitored),
    }
}

/// Derive this month's status: from the previous month and the decision
/// taken on it, then this month's own decision (纳入监测 → 新纳入,
/// 不纳入 → 已研判不纳入; 继续监测/风险消除 take effect next month).
pub fn derive(i: &DeriveInput) -> MonthStatus {
    let base = before_decision(i);
    match (
        i.own_decision.map(|d| d.decision.as_str()),
        base.status.pending(),
    ) {
        (Some("纳入监测"), true) => MonthStatus {
            status: Status::NewlyIncluded,
            identified: Some(Ustr::from(i.month)),
            ..Default::default()
        },
        (Some("不纳入"), true) => MonthStatus {
            status: Status::Declined,
            declined: Some(Ustr::from(i.month)),
            note: i
                .own_decision
                .map(|d| ustr::ustr(&format!("{} 研判不纳入（{}）", i.month, d.by))),
            ..Default::default()
        },
        _ => base,
    }
}

/// One household's row for a month, as stored.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub h: &'a Household,
    pub st: &'a MonthStatus,
    pub at_risk: bool,
    /// On this month's roster (false: carried, not written to the roster).
    pub on_roster: bool,
    pub class: &'a str,
    pub causes: Vec<String>,
    pub per_capita: Option<String>,
    pub triggers_json: String,
}

/// An eliminated household, for the 风险消除 sheet.
#[derive(Debug, Clone, Serialize)]
pub struct EliminatedRow {
    pub hh_id: String,
    pub head_name: String,
    pub township: String,
    pub village: String,
    pub identified: String,
    pub eliminated: String,
    pub method: String,
    pub decided_by: String,
}

/// Counts of one stored month, for the trend.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TrendPoint {
    pub month: String,
    /// 监测户 (confirmed).
    pub monitored: i64,
    /// 新纳入 this month.
    pub new: i64,
    pub eliminated: i64,
    /// 预警户 waiting for a decision.
    #[serde(default)]
    pub warned: i64,
}

/// (户编号, status, months pending, 乡镇, decided this month) of one household.
pub type OverviewLine = (String, Status, u32, String, bool);
/// (month, status, causes as JSON, 人均纯收入) of one household.
pub type MonthLine = (String, String, String, Option<String>);

pub struct Store {
    conn: Connection,
    pub path: PathBuf,
}

/// Files left by a creation that was killed before it put the store in place.
fn remove_stale_creations(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.creating-", name.to_string_lossy());
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// A new store's identity: ties temporary and set-aside output folders to
/// the store whose run made them.
fn new_store_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}", nanos, std::process::id())
}

fn serr(path: &Path, e: impl std::fmt::Display) -> MonitorError {
    MonitorError::Store {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

/// A database error, in the clerk's words, with SQLite's detail after.
fn dberr(path: &Path, e: rusqlite::Error) -> MonitorError {
    use rusqlite::ErrorCode::*;
    let what = match e.sqlite_error_code() {
        Some(DatabaseCorrupt) | Some(NotADatabase) => {
            // Checked whole at open next time.
            stamp::forget(path);
            "文件已损坏，请从备份恢复该文件（不会自动重建，以免丢失历史）"
        }
        Some(DiskFull) => "磁盘已满，请腾出空间后重新运行",
        Some(ReadOnly) | Some(PermissionDenied) | Some(CannotOpen) => {
            "无法写入该文件，请检查文件是否只读、是否有写入权限"
        }
        Some(DatabaseBusy) | Some(DatabaseLocked) => "文件正被另一个程序使用，请稍后再试",
        _ if matches!(e, rusqlite::Error::InvalidColumnType(..)) => {
            "库中有无法识别的内容，文件可能已损坏，请从备份恢复该文件"
        }
        _ => "读写监测历史库时出错，文件可能已损坏或不是本程序的监测历史库",
    };
    serr(path, format!("{what}（技术信息：{e}）"))
}

fn damaged(path: &Path, e: &dyn std::fmt::Display) -> MonitorError {
    serr(
        path,
        format!("文件已损坏或不是监测历史库，请从备份恢复该文件（技术信息：{e}）"),
    )
}

/// SQLite's own check of the file's structure (every page of every table
/// and index): a damaged store is neither read for a month nor written.
fn quick_check(conn: &Connection, path: &Path) -> Result<()> {
    let ok: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| damaged(path, &e))?;
    if ok != "ok" {
        return Err(damaged(path, &ok));
    }
    Ok(())
}

/// When a store opened is checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    Now,
    Later,
}

/// Work on the store going on in a thread of its own, on a read-only
/// connection of its own (the run's write lock lets readers in, and it
/// keeps any other writer out while the thread reads the file). A run that
/// stops early (bad input) does not wait for it: dropped, it is stopped.
struct Worker<T> {
    path: PathBuf,
    handle: Option<std::thread::JoinHandle<Result<T>>>,
    interrupt: Option<rusqlite::InterruptHandle>,
}

impl<T: Send + 'static> Worker<T> {
    fn none(path: &Path) -> Self {
        Worker {
            path: path.to_path_buf(),
            handle: None,
            interrupt: None,
        }
    }

    fn start(
        path: &Path,
        name: &str,
        work: impl FnOnce(&Connection, &Path) -> Result<T> + Send + 'static,
    ) -> Result<Self> {
        let conn = reading(path)?;
        let interrupt = conn.get_interrupt_handle();
        let p = path.to_path_buf();
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || work(&conn, &p))
            .map_err(|e| serr(path, e))?;
        Ok(Worker {
            path: path.to_path_buf(),
            handle: Some(handle),
            interrupt: Some(interrupt),
        })
    }

    /// Its result (`None`: nothing was started).
    fn join(&mut self) -> Option<Result<T>> {
        let h = self.handle.take()?;
        Some(
            h.join()
                .unwrap_or_else(|_| Err(serr(&self.path, "读取监测历史库的线程意外中止"))),
        )
    }
}

impl<T> Drop for Worker<T> {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            // Again until it stops: an interrupt before the thread's
            // statement has started is not remembered by SQLite.
            while !h.is_finished() {
                if let Some(i) = &self.interrupt {
                    i.interrupt();
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let _ = h.join();
        }
    }
}

/// A store's `quick_check` going on beside the reading of the inputs.
pub struct PendingCheck(Worker<()>);

impl PendingCheck {
    /// Whether a check was started (not skipped for an unchanged store).
    pub fn started(&self) -> bool {
        self.0.handle.is_some()
    }

    /// Wait for the check: `Err` when the store is damaged.
    pub fn finish(mut self) -> Result<()> {
        self.0.join().unwrap_or(Ok(()))
    }

    /// What to report for `e`, met before the check was finished: the
    /// damage, when the check finds the store damaged.
    pub fn or_damage(mut self, e: MonitorError) -> MonitorError {
        match self.0.join() {
            Some(Err(damage)) => damage,
            _ => e,
        }
    }
}

/// What deriving a month's statuses reads from the store: each household's
/// latest stored status before the month, the decisions on those months,
/// the month's own decisions and the standing 不纳入.
pub struct Before {
    pub prev: PrevStatuses,
    pub decisions: HashMap<String, Decision>,
    pub own: HashMap<String, Decision>,
    pub declines: HashMap<String, Decline>,
}

/// [`Before`] being read beside the reading of the inputs.
pub struct BeforeReading {
    worker: Worker<Before>,
    /// The run's count of changed rows when it was started.
    began_at: u64,
}

/// A status read back that this program never writes: the store is damaged.
fn status_col(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Status> {
    let s: String = r.get(i)?;
    Status::parse(&s).ok_or(rusqlite::Error::InvalidColumnType(
        i,
        format!("status = {s:?}"),
        rusqlite::types::Type::Text,
    ))
}

impl Store {
    /// Create a new store; refuses to overwrite an existing file (except
    /// a blank one left by a creation that was interrupted). The file is
    /// built under a temporary name and put in place whole, so a kill
    /// during creation leaves either no store or a complete one.
    pub fn create(path: &Path) -> Result<Store> {
        if path.exists() {
            if !Store::is_blank(path) {
                return Err(serr(path, "监测历史库已存在，不会覆盖"));
            }
            std::fs::remove_file(path)
                .map_err(|e| serr(path, format!("无法替换空的历史库文件（{e}）")))?;
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| serr(path, format!("无法建立所在文件夹（{e}）")))?;
        }
        let tmp = path.with_file_name(format!(
            ".{}.creating-{}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            std::process::id()
        ));
        remove_stale_creations(path);
        let built = Store::build(&tmp);
        crate::publish::fault_point("store_built");
        let placed = built.and_then(|()| {
            // A link fails if the name was taken meanwhile; never overwrite.
            std::fs::hard_link(&tmp, path)
                .or_else(|_| {
                    if path.exists() {
                        Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists))
                    } else {
                        std::fs::rename(&tmp, path)
                    }
                })
                .map_err(|e| serr(path, format!("无法建立监测历史库文件（{e}）")))
        });
        let _ = std::fs::remove_file(&tmp);
        placed?;
        Store::open(path)
    }

    /// Write the empty schema and this store's identity into `path`. The
    /// per-month tables keyed by text are WITHOUT ROWID: one b-tree each
    /// instead of a table and its key's index, for the millions of rows a
    /// province writes a month. Stores made before keep their rowid tables;
    /// every statement works on both.
    fn build(path: &Path) -> Result<()> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(|e| dberr(path, e))?;
        conn.execute_batch(
            "BEGIN;
             CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE runs(
                 month TEXT PRIMARY KEY, run_id TEXT NOT NULL, ruleset TEXT NOT NULL,
                 households INTEGER NOT NULL, monitored INTEGER NOT NULL,
                 new INTEGER NOT NULL, eliminated INTEGER NOT NULL, run_at TEXT NOT NULL,
                 warned INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE assessments(
                 month TEXT NOT NULL, hh_id TEXT NOT NULL, status TEXT NOT NULL,
                 at_risk INTEGER NOT NULL, quiet_months INTEGER NOT NULL,
                 class TEXT, causes TEXT NOT NULL, per_capita TEXT, triggers TEXT NOT NULL,
                 identified TEXT, eliminated TEXT, method TEXT,
                 first_warned TEXT, pending_months INTEGER NOT NULL DEFAULT 0,
                 declined TEXT, note TEXT,
                 PRIMARY KEY(month, hh_id)) WITHOUT ROWID;
             CREATE INDEX assessments_hh ON assessments(hh_id, month);
             CREATE TABLE households(
                 hh_id TEXT PRIMARY KEY, head_name TEXT, id_no TEXT, township TEXT,
                 village TEXT, hh_type TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL)
                 WITHOUT ROWID;
             CREATE TABLE roster(
                 month TEXT NOT NULL, hh_id TEXT NOT NULL, head_name TEXT, township TEXT,
                 village TEXT, size INTEGER, labor INTEGER, PRIMARY KEY(month, hh_id)) WITHOUT ROWID;
             CREATE TABLE roster_members(
                 month TEXT NOT NULL, person_key TEXT NOT NULL, hh_id TEXT NOT NULL,
                 name TEXT, id_no TEXT, relation TEXT, PRIMARY KEY(month, person_key))
                 WITHOUT ROWID;
             CREATE TABLE decisions(
                 id INTEGER PRIMARY KEY AUTOINCREMENT, month TEXT NOT NULL, hh_id TEXT NOT NULL,
                 decision TEXT NOT NULL, method TEXT, decided_by TEXT NOT NULL,
                 decided_at TEXT NOT NULL, source TEXT NOT NULL, evidence TEXT, levels TEXT);
             CREATE INDEX decisions_month ON decisions(month, hh_id);
             CREATE TABLE counted_expenses(
                 month TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY(month, key));
             CREATE TABLE month_expenses(
                 month TEXT NOT NULL, hh_id TEXT NOT NULL, key TEXT NOT NULL,
                 PRIMARY KEY(month, hh_id, key));
             INSERT INTO meta(key, value) VALUES ('app', 'monitor');
             COMMIT;",
        )
        .map_err(|e| dberr(path, e))?;
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('schema', ?1), ('store_id', ?2)",
            params![SCHEMA_VERSION, new_store_id()],
        )
        .map_err(|e| dberr(path, e))?;
        conn.close().map_err(|(_, e)| dberr(path, e))
    }

    /// A store file that holds nothing: empty, or a database with no
    /// tables (its creation was interrupted). Nothing is lost replacing it.
    pub fn is_blank(path: &Path) -> bool {
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() && m.len() == 0 => return true,
            Ok(m) if m.is_file() => {}
            _ => return false,
        }
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| {
                c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .is_ok_and(|n| n == 0)
    }

    /// Open an existing store. A missing or damaged file is an error naming
    /// the path: the store is never silently recreated.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with(path, Check::Now)
    }

    /// Open the store for a run whose `quick_check` is started, once the
    /// run holds the write lock, by [`Tx::start_check`] and finished before
    /// the run reads the store's months: the check of a province's store
    /// (seconds to a minute, growing with its months) goes on while the
    /// month's inputs are read. A store to be upgraded is checked first.
    pub fn open_for_run(path: &Path) -> Result<Store> {
        Store::open_with(path, Check::Later)
    }

    fn open_with(path: &Path, check: Check) -> Result<Store> {
        if !path.exists() {
            return Err(serr(
                path,
                "监测历史库不存在。若这是第一次运行，请先执行 monitor history --init；若以前运行过，请找回该文件（不会自动新建，以免丢失历史）",
            ));
        }
        if Store::is_blank(path) {
            return Err(serr(
                path,
                "监测历史库是空文件（新建时被中断，里面没有任何记录）；请执行 monitor history --init 重新建立",
            ));
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .map_err(|e| dberr(path, e))?;
        // A second run is refused rather than queued behind a long one.
        conn.busy_timeout(std::time::Duration::from_millis(300))
            .map_err(|e| dberr(path, e))?;
        let damaged = |e: &dyn std::fmt::Display| damaged(path, e);
        // Not read through when the file is as the last checked commit left
        // it (see `stamp`; a commit checks it whole first). A province's
        // store took 94 s to check from disk before `monitor history`
        // showed one household.
        let checked = check == Check::Now && !stamp::unchanged(path);
        if checked {
            quick_check(&conn, path)?;
        }
        let app: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'app'", [], |r| r.get(0))
            .optional()
            .map_err(|e| damaged(&e))?;
        let schema: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| damaged(&e))?;
        if app.as_deref() != Some("monitor") {
            return Err(damaged(&"缺少版本信息"));
        }
        match schema.as_deref() {
            Some(SCHEMA_VERSION) => {}
            Some("1") => {
                // Nothing is written to a store not yet checked.
                if !checked {
                    quick_check(&conn, path)?;
                }
                upgrade_v1(&conn, path)?
            }
            Some(v) => {
                return Err(serr(
                    path,
                    format!(
                        "该监测历史库由更新版本的 monitor 写入（格式 {v}，本程序只认识 {SCHEMA_VERSION} 及以前），为免误读已停止；请使用新版本的 monitor"
                    ),
                ))
            }
            None => return Err(damaged(&"缺少版本信息")),
        }
        tune(&conn, path)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Take the workspace's write lock for the whole run. A second run at
    /// the same time is refused at once with a clear message.
    pub fn begin(&mut self) -> Result<Tx<'_>> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy)
                | Some(rusqlite::ErrorCode::DatabaseLocked) => MonitorError::Busy(format!(
                    "另一次 monitor 运行正在使用 {}，请等它结束后再运行",
                    path.display()
                )),
                _ => serr(&path, e),
            })?;
        let schema_at = schema_version(&tx).map_err(|e| dberr(&path, e))?;
        Ok(Tx {
            began_at: tx.total_changes(),
            schema_at,
            tx,
            path,
            verified_at: std::cell::Cell::new(None),
        })
    }

    /// Read-only queries outside a run.
    pub fn reader(&self) -> Reader<'_> {
        Reader {
            conn: &self.conn,
            path: &self.path,
        }
    }
}

/// A bounded page cache (16 MB), so memory does not grow with the store:
/// at 100,000 households writing the month took 2.3–3.5 s with either a
/// 64 MB or a 512 MB cache (noisy machine); at 300,000, 16 MB instead of
/// 64 MB wrote the month as fast (2.4–2.6 s first month, 2.8–2.9 s next,
/// measured alternately: rows go in key order) with a peak 50 MB lower.
/// Temporary tables and indexes spill to disk, not memory.
fn tune(conn: &Connection, path: &Path) -> Result<()> {
    conn.execute_batch("PRAGMA cache_size = -16384; PRAGMA temp_store = FILE;")
        .map_err(|e| dberr(path, e))
}

/// Tables added after the first version, created in a store of that
/// version the first time it is written (nothing existing changes).
const ADDED_TABLES: &str = "CREATE TABLE IF NOT EXISTS counted_expenses(
    month TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY(month, key));
CREATE TABLE IF NOT EXISTS month_expenses(
    month TEXT NOT NULL, hh_id TEXT NOT NULL, key TEXT NOT NULL,
    PRIMARY KEY(month, hh_id, key));
CREATE TABLE IF NOT EXISTS proposals(
    month TEXT NOT NULL, hh_id TEXT NOT NULL, levels TEXT NOT NULL,
    recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL, source TEXT NOT NULL,
    PRIMARY KEY(month, hh_id));
CREATE TABLE IF NOT EXISTS supports(
    month TEXT NOT NULL, hh_id TEXT NOT NULL, data TEXT NOT NULL,
    recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL, source TEXT NOT NULL,
    PRIMARY KEY(month, hh_id));";

/// Upgrade a version-1 store to version 2 in one transaction: new columns
/// and tables only; every recorded month keeps its rows and statuses.
fn upgrade_v1(conn: &Connection, path: &Path) -> Result<()> {
    let sql = format!(
        "BEGIN IMMEDIATE;
         ALTER TABLE assessments ADD COLUMN first_warned TEXT;
         ALTER TABLE assessments ADD COLUMN pending_months INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE assessments ADD COLUMN declined TEXT;
         ALTER TABLE assessments ADD COLUMN note TEXT;
         ALTER TABLE decisions ADD COLUMN evidence TEXT;
         ALTER TABLE decisions ADD COLUMN levels TEXT;
         ALTER TABLE runs ADD COLUMN warned INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE roster ADD COLUMN labor INTEGER;
         {ADDED_TABLES}
         UPDATE meta SET value = '{SCHEMA_VERSION}' WHERE key = 'schema';
         COMMIT;"
    );
    conn.execute_batch(&sql).map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
                MonitorError::Busy(format!(
                    "另一次 monitor 运行正在使用 {}，请等它结束后再运行",
                    path.display()
                ))
            }
            _ => dberr(path, e),
        }
    })
}

/// The run's write transaction: everything the run records is committed
/// at once, or not at all.
pub struct Tx<'c> {
    tx: Transaction<'c>,
    path: PathBuf,
    /// The transaction's count of changed rows when [`Tx::verify`] last
    /// found the store sound: the commit checks again only after changes.
    verified_at: std::cell::Cell<Option<u64>>,
    /// The connection's count of changed rows when the transaction began.
    began_at: u64,
    /// The store's schema version then (tables added since are a change too).
    schema_at: i64,
}

fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA schema_version", [], |r| r.get(0))
}

pub struct Reader<'c> {
    conn: &'c Connection,
    path: &'c Path,
}

macro_rules! q {
    ($self:expr, $e:expr) => {
        $e.map_err(|e| dberr(&$self.path, e))
    };
}

impl Reader<'_> {
    /// What deriving `month`'s statuses reads (see [`Before`]).
    pub fn before(&self, month: &str) -> Result<Before> {
        let prev = self.previous(month)?;
        Ok(Before {
            decisions: self.decisions_for(&prev)?,
            own: self.own_decisions(month)?,
            declines: self.declines(month)?,
            prev,
        })
    }

    /// Decisions recorded on `month`'s own 研判表 (latest per household).
    pub fn own_decisions(&self, month: &str) -> Result<HashMap<String, Decision>> {
        self.latest_decisions("month = ?1", month)
    }

    /// The latest decision per household among those matching `filter`
    /// (an SQL condition on `?1` = `month`).
    fn latest_decisions(&self, filter: &str, month: &str) -> Result<HashMap<String, Decision>> {
        let mut st = q!(
            self,
            self.conn.prepare(&format!(
                "SELECT {DECISION_COLS} FROM decisions WHERE {filter} ORDER BY id"
            ))
        )?;
        let rows = q!(self, st.query_map(params![month], decision_row))?;
        let mut out = HashMap::new();
        for d in rows {
            let d = q!(self, d)?;
            out.insert(d.hh_id.clone(), d);
        }
        Ok(out)
    }

    /// Each household's latest decision before `month` when it is 不纳入:
    /// a standing 不纳入 and what it was based on.
    pub fn declines(&self, month: &str) -> Result<HashMap<String, Decline>> {
        let latest = self.latest_decisions("month < ?1", month)?;
        Ok(latest
            .into_iter()
            .filter(|(_, d)| d.decision == "不纳入")
            .map(|(id, d)| {
                let evidence = d
                    .evidence
                    .as_deref()
                    .and_then(|e| serde_json::from_str(e).ok())
                    .unwrap_or_default();
                (
                    id,
                    Decline {
                        month: d.month,
                        by: d.by,
                        at: d.at,
                        evidence,
                    },
                )
            })
            .collect())
    }

    /// Each household's latest stored month before `month`.
    ///
    /// Households whose latest stored status is 未监测 are left out: for
    /// [`derive`] such a household is the same as one never seen (unit test
    /// `a_household_last_seen_not_monitored_is_derived_as_one_never_seen`),
    /// and they are most of a province (1.3 of 2 million at the stress
    /// share: about 120 MB not held).
    pub fn previous(&self, month: &str) -> Result<PrevStatuses> {
        let mut st = q!(self, self.conn.prepare(
            "SELECT a.hh_id, a.month, a.status, a.quiet_months, a.identified, a.eliminated, a.method,
                    a.first_warned, a.pending_months
             FROM assessments a
             JOIN (SELECT hh_id, MAX(month) AS m FROM assessments WHERE month < ?1 GROUP BY hh_id) b
               ON a.hh_id = b.hh_id AND a.month = b.m
             WHERE a.status <> ?2"
        ))?;
        let rows = q!(
            self,
            st.query_map(params![month, Status::NotMonitored.label()], |r| {
                Ok((
                    inline(r, 0)?,
                    Prev {
                        month: label(r, 1)?,
                        status: status_col(r, 2)?,
                        quiet_months: r.get(3)?,
                        identified: opt_label(r, 4)?,
                        eliminated: opt_label(r, 5)?,
                        method: opt_label(r, 6)?,
                        first_warned: opt_label(r, 7)?,
                        pending_months: r.get(8)?,
                    },
                ))
            })
        )?;
        let mut list = crate::keyindex::Chunked::default();
        for r in rows {
            list.push(q!(self, r)?);
        }
        Ok(PrevStatuses::new(list.into_vec()))
    }

    /// The latest decision per (month, household) for the given months.
    pub fn decisions_for(&self, prev: &PrevStatuses) -> Result<HashMap<String, Decision>> {
        let mut st = q!(
            self,
            self.conn.prepare(&format!(
                "SELECT {DECISION_COLS} FROM decisions ORDER BY id"
            ))
        )?;
        let rows = q!(self, st.query_map([], decision_row))?;
        let mut out = HashMap::new();
        for d in rows {
            let d = q!(self, d)?;
            if prev
                .get(d.hh_id.as_str())
                .is_some_and(|p| p.month == d.month)
            {
                out.insert(d.hh_id.clone(), d);
            }
        }
        Ok(out)
    }

    /// (month, status, causes, per_capita, decisions) for `monitor history`.
    pub fn household(&self, hh_id: &str) -> Result<Vec<MonthLine>> {
        let mut st = q!(self, self.conn.prepare(
            "SELECT month, status, causes, per_capita FROM assessments WHERE hh_id = ?1 ORDER BY month"
        ))?;
        let rows = q!(
            self,
            st.query_map(params![hh_id], |r| Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?
            )))
        )?;
        q!(self, rows.collect::<rusqlite::Result<Vec<_>>>())
    }

    /// (month, measures, who, when) of every 附件4 record of a household.
    pub fn supports_of(
        &self,
        hh_id: &str,
    ) -> Result<Vec<(String, crate::measures::Support, String, String)>> {
        let exists: bool = q!(
            self,
            self.conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE name = 'supports')",
                [],
                |r| r.get(0)
            )
        )?;
        if !exists {
            return Ok(Vec::new());
        }
        let mut st = q!(self, self.conn.prepare(
            "SELECT month, data, recorded_by, recorded_at FROM supports WHERE hh_id = ?1 ORDER BY month"
        ))?;
        let rows = q!(
            self,
            st.query_map(params![hh_id], |r| {
                let data: String = r.get(1)?;
                Ok((
                    r.get(0)?,
                    serde_json::from_str(&data).unwrap_or_default(),
                    r.get(2)?,
                    r.get(3)?,
                ))
            })
        )?;
        q!(self, rows.collect::<rusqlite::Result<Vec<_>>>())
    }

    pub fn decisions_of(&self, hh_id: &str) -> Result<Vec<Decision>> {
        let mut st = q!(
            self,
            self.conn.prepare(&format!(
                "SELECT {DECISION_COLS} FROM decisions WHERE hh_id = ?1 ORDER BY id"
            ))
        )?;
        let rows = q!(self, st.query_map(params![hh_id], decision_row))?;
        q!(self, rows.collect::<rusqlite::Result<Vec<_>>>())
    }

    pub fn months(&self) -> Result<Vec<String>> {
        let mut st = q!(
            self,
            self.conn.prepare("SELECT month FROM runs ORDER BY month")
        )?;
        let rows = q!(self, st.query_map([], |r| r.get(0)))?;
        q!(self, rows.collect::<rusqlite::Result<Vec<_>>>())
    }

    /// Every household listed for `month` (status, 乡镇, months pending)
    /// and whether a conclusion is recorded for it on that month's form.
    pub fn month_overview(&self, month: &str) -> Result<Vec<OverviewLine>> {
        let mut st = q!(
            self,
            self.conn.prepare(
                "SELECT a.hh_id, a.status, a.pending_months, COALESCE(r.township, h.township, ''),
                        EXISTS(SELECT 1 FROM decisions d WHERE d.month = a.month AND d.hh_id = a.hh_id)
                 FROM assessments a
                 LEFT JOIN roster r ON r.month = a.month AND r.hh_id = a.hh_id
                 LEFT JOIN households h ON h.hh_id = a.hh_id
                 WHERE a.month = ?1 ORDER BY a.hh_id"
            )
        )?;
        let rows = q!(
            self,
            st.query_map(params![month], |r| {
                Ok((
                    r.get(0)?,
                    status_col(r, 1)?,
                    r.get::<_, Option<u32>>(2)?.unwrap_or(0),
                    r.get(3)?,
                    r.get(4)?,
                ))
            })
        )?;
        q!(self, rows.collect::<rusqlite::Result<Vec<_>>>())
    }

    pub fn run_id(&self, month: &str) -> Result<Option<String>> {
        q!(
            self,
            self.conn
                .query_row(
                    "SELECT run_id FROM runs WHERE month = ?1",
                    params![month],
                    |r| r.get(0)
                )
                .optional()
        )
    }
}

const DECISION_COLS: &str =
    "month, hh_id, decision, method, decided_by, decided_at, source, evidence, levels";

fn decision_row(r: &rusqlite::Row) -> rusqlite::Result<Decision> {
    Ok(Decision {
        month: r.get(0)?,
        hh_id: r.get(1)?,
        decision: r.get(2)?,
        method: r.get(3)?,
        by: r.get(4)?,
        at: r.get(5)?,
        source: r.get(6)?,
        evidence: r.get(7)?,
        levels: r.get(8)?,
    })
}

const ROSTER_HOUSEHOLDS: &str =
    "SELECT hh_id, head_name, township, village, size FROM roster WHERE month = ?1 ORDER BY hh_id";
const ROSTER_PEOPLE: &str =
    "SELECT person_key, hh_id, name, id_no FROM roster_members WHERE month = ?1 ORDER BY person_key";

fn roster_household(r: &rusqlite::Row) -> rusqlite::Result<RosterHousehold> {
    Ok(RosterHousehold {
        hh_id: inline(r, 0)?,
        head_name: inline(r, 1)?,
        township: inline(r, 2)?,
        village: inline(r, 3)?,
        size: r.get(4)?,
    })
}

fn roster_person(r: &rusqlite::Row) -> rusqlite::Result<RosterPerson> {
    Ok(RosterPerson {
        key: inline(r, 0)?,
        hh_id: inline(r, 1)?,
        name: inline(r, 2)?,
        id_no: inline(r, 3)?,
    })
}

/// A read-only connection of its own to the store, beside the run's. It
/// reads each page once, in order: a small page cache (2 MB) is enough and
/// keeps a province's largest moment (three of them at once) in bounds.
fn reading(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| dberr(path, e))?;
    conn.busy_timeout(std::time::Duration::from_millis(300))
        .map_err(|e| dberr(path, e))?;
    conn.execute_batch("PRAGMA cache_size = -2048; PRAGMA temp_store = FILE;")
        .map_err(|e| dberr(path, e))?;
    Ok(conn)
}

/// Rows handed from the thread that reads them to the one that walks them.
enum Handed<T> {
    Rows(Vec<T>),
    Failed(MonitorError),
    End,
}

const BATCH: usize = 4096;

/// Send the rows of `sql` for `month` in batches, then `End`; stop when the
/// walker stops taking them (it returned early).
fn send_rows<T>(
    conn: &Connection,
    path: &Path,
    sql: &str,
    month: &str,
    row: fn(&rusqlite::Row) -> rusqlite::Result<T>,
    to: &std::sync::mpsc::SyncSender<Handed<T>>,
) {
    let read = || -> rusqlite::Result<()> {
        let mut st = conn.prepare(sql)?;
        let mut rows = st.query(params![month])?;
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(r) = rows.next()? {
            batch.push(row(r)?);
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if to.send(Handed::Rows(full)).is_err() {
                    return Ok(());
                }
            }
        }
        if to.send(Handed::Rows(batch)).is_ok() {
            let _ = to.send(Handed::End);
        }
        Ok(())
    };
    if let Err(e) = read() {
        let _ = to.send(Handed::Failed(dberr(path, e)));
    }
}

/// The rows a reading thread hands over, one by one. Its end is the
/// thread's `End`: a thread that stopped without it (it panicked) is an
/// error, never a shorter roster.
struct Batches<T> {
    from: std::sync::mpsc::Receiver<Handed<T>>,
    batch: std::vec::IntoIter<T>,
    done: bool,
}

impl<T> Batches<T> {
    fn new(from: std::sync::mpsc::Receiver<Handed<T>>) -> Self {
        Batches {
            from,
            batch: Vec::new().into_iter(),
            done: false,
        }
    }
}

impl<T> Iterator for Batches<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(x) = self.batch.next() {
                return Some(Ok(x));
            }
            if self.done {
                return None;
            }
            match self.from.recv() {
                Ok(Handed::Rows(b)) => self.batch = b.into_iter(),
                Ok(Handed::End) => self.done = true,
                Ok(Handed::Failed(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Err(_) => {
                    self.done = true;
                    return Some(Err(MonitorError::Internal(
                        "读取上月花名册的线程意外中止".into(),
                    )));
                }
            }
        }
    }
}

impl Tx<'_> {
    /// Start SQLite's `quick_check` of the store as last committed, in a
    /// thread of its own (see [`Store::open_for_run`]); the run finishes it
    /// before reading the store's months.
    /// Not started when the file is exactly as the last checked commit
    /// left it (see `stamp`): the check before the commit still reads it all.
    pub fn start_check(&self) -> Result<PendingCheck> {
        if stamp::unchanged(&self.path) {
            return Ok(PendingCheck(Worker::none(&self.path)));
        }
        Worker::start(&self.path, "quick_check", quick_check).map(PendingCheck)
    }

    /// Start reading [`Before`] for `month` on a connection and thread of
    /// its own, to be taken by [`Tx::before`]: only while this run has
    /// written nothing (another connection sees only what is committed),
    /// and only once the store is known sound (`checked`; the run's check
    /// at open is finished before any month of the store is read).
    pub fn read_before_alongside(&self, month: &str, checked: bool) -> Option<BeforeReading> {
        if !checked || self.tx.total_changes() != self.began_at {
            return None;
        }
        let month = month.to_string();
        let worker = Worker::start(&self.path, "before", move |conn, path| {
            Reader { conn, path }.before(&month)
        })
        .ok()?;
        Some(BeforeReading {
            worker,
            began_at: self.began_at,
        })
    }

    /// [`Before`] for `month`: as read alongside when nothing has been
    /// written since it was started, else read now.
    pub fn before(&self, month: &str, alongside: Option<BeforeReading>) -> Result<Before> {
        if let Some(mut a) = alongside {
            if self.tx.total_changes() == a.began_at {
                if let Some(read) = a.worker.join() {
                    return read;
                }
            }
        }
        self.reader().before(month)
    }

    /// This store's identity (given to a store of an older version the
    /// first time it is written).
    pub fn store_id(&self) -> Result<String> {
        q!(
            self,
            self.tx.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id', ?1)",
                params![new_store_id()],
            )
        )?;
        q!(
            self,
            self.tx
                .query_row("SELECT value FROM meta WHERE key = 'store_id'", [], |r| {
                    r.get(0)
                })
        )
    }

    pub fn reader(&self) -> Reader<'_> {
        Reader {
            conn: &self.tx,
            path: &self.path,
        }
    }

    /// What the store last knew of households (for those that left the
    /// roster): head, ID, place, type and the latest 家庭人口.
    pub fn last_known(&self, ids: &[&str]) -> Result<HashMap<String, Household>> {
        let mut st = q!(
            self,
            self.tx.prepare_cached(
                "SELECT h.head_name, h.id_no, h.township, h.village, h.hh_type,
                    (SELECT size FROM roster r WHERE r.hh_id = h.hh_id ORDER BY month DESC LIMIT 1)
             FROM households h WHERE h.hh_id = ?1"
            )
        )?;
        let mut out = HashMap::new();
        for id in ids {
            let row = q!(
                self,
                st.query_row(params![id], |r| {
                    let t: String = r.get(4)?;
                    Ok(Household {
                        id: (*id).into(),
                        head_name: r.get::<_, Option<String>>(0)?.unwrap_or_default().into(),
                        id_no: r.get::<_, Option<String>>(1)?.unwrap_or_default().into(),
                        phone: Default::default(),
                        township: r.get::<_, Option<String>>(2)?.unwrap_or_default().into(),
                        village: r.get::<_, Option<String>>(3)?.unwrap_or_default().into(),
                        group: Default::default(),
                        hh_type: crate::model::HouseholdType::parse(&t)
                            .unwrap_or(crate::model::HouseholdType::General),
                        size: r.get::<_, Option<u32>>(5)?.unwrap_or(1).max(1),
                        labor: None,
                        resident: None,
                        tuopin_year: Default::default(),
                        main_cause: Default::default(),
                        income: None,
                        last_year_net: None,
                        guarantees: Default::default(),
                        applied: None,
                        applied_cause: Default::default(),
                        row: 0,
                    })
                })
                .optional()
            )?;
            if let Some(h) = row {
                out.insert(id.to_string(), h);
            }
        }
        Ok(out)
    }

    /// What a household showed in `month` (for the evidence of a 不纳入).
    pub fn evidence(&self, month: &str, hh_id: &str) -> Result<Evidence> {
        let row: Option<(String, Option<String>)> = q!(
            self,
            self.tx
                .query_row(
                    "SELECT triggers, per_capita FROM assessments WHERE month = ?1 AND hh_id = ?2",
                    params![month, hh_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
        )?;
        let Some((triggers, per_capita)) = row else {
            return Ok(Evidence::default());
        };
        let fired: Vec<crate::assess::Trigger> =
            serde_json::from_str(&triggers).unwrap_or_default();
        let mut st = q!(
            self,
            self.tx.prepare_cached(
                "SELECT key FROM month_expenses WHERE month = ?1 AND hh_id = ?2 ORDER BY key"
            )
        )?;
        let keys = q!(self, st.query_map(params![month, hh_id], |r| r.get(0)))?;
        Ok(Evidence {
            rules: fired
                .into_iter()
                .map(|t| (t.rule_id.to_string(), t.measured.map(|m| format!("{m:.2}"))))
                .collect(),
            per_capita,
            expenses: q!(self, keys.collect::<rusqlite::Result<Vec<String>>>())?,
        })
    }

    /// The expense records on file for each household this month.
    pub fn record_expenses(&self, month: &str, records: &[(String, String)]) -> Result<()> {
        let mut st = q!(
            self,
            self.tx.prepare_cached(
                "INSERT OR IGNORE INTO month_expenses(month, hh_id, key) VALUES (?1, ?2, ?3)"
            )
        )?;
        for (hh, key) in records {
            q!(self, st.execute(params![month, hh, key]))?;
        }
        Ok(())
    }

    /// Record the measures and 帮扶责任人 read from a month's 附件4: each
    /// household's list replaces what that month had for it.
    pub fn record_supports(
        &self,
        month: &str,
        supports: &std::collections::BTreeMap<String, crate::measures::Support>,
        by: &str,
        at: &str,
        source: &str,
    ) -> Result<usize> {
        q!(self, self.tx.execute_batch(ADDED_TABLES))?;
        let mut same = q!(
            self,
            self.tx
                .prepare_cached("SELECT data FROM supports WHERE month = ?1 AND hh_id = ?2")
        )?;
        let mut st = q!(self, self.tx.prepare_cached(
            "INSERT OR REPLACE INTO supports(month, hh_id, data, recorded_by, recorded_at, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        ))?;
        let mut changed = 0;
        for (id, s) in supports {
            let data = serde_json::to_string(s).unwrap_or_default();
            let before: Option<String> = q!(
                self,
                same.query_row(params![month, id], |r| r.get(0)).optional()
            )?;
            if before.as_deref() == Some(data.as_str()) {
                continue;
            }
            q!(self, st.execute(params![month, id, data, by, at, source]))?;
            changed += 1;
        }
        Ok(changed)
    }

    /// Record households a village reviewed and put on 公示 (no conclusion
    /// yet); the same row again changes nothing.
    pub fn record_proposals(
        &self,
        month: &str,
        proposals: &[(String, crate::decide::Levels)],
        by: &str,
        at: &str,
        source: &str,
    ) -> Result<()> {
        q!(self, self.tx.execute_batch(ADDED_TABLES))?;
        let mut st = q!(self, self.tx.prepare_cached(
            "INSERT INTO proposals(month, hh_id, levels, recorded_by, recorded_at, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(month, hh_id) DO UPDATE SET levels = excluded.levels, recorded_by = excluded.recorded_by,
               recorded_at = excluded.recorded_at, source = excluded.source WHERE levels <> excluded.levels"
        ))?;
        for (id, l) in proposals {
            let levels = serde_json::to_string(l).unwrap_or_default();
            q!(self, st.execute(params![month, id, levels, by, at, source]))?;
        }
        Ok(())
    }

    /// The month's proposals (村级评议 recorded, no conclusion yet).
    pub fn proposals(&self, month: &str) -> Result<HashMap<String, crate::decide::Levels>> {
        self.json_by_household(
            "SELECT hh_id, levels FROM proposals WHERE month = ?1",
            month,
        )
    }

    /// Each household's measures as of `month` (its latest record up to it).
    pub fn supports(&self, month: &str) -> Result<HashMap<String, crate::measures::Support>> {
        self.json_by_household(
            "SELECT s.hh_id, s.data FROM supports s
             JOIN (SELECT hh_id, MAX(month) AS m FROM supports WHERE month <= ?1 GROUP BY hh_id) l
               ON l.hh_id = s.hh_id AND l.m = s.month",
            month,
        )
    }

    /// The causes stored for each (户编号, month) asked, where that month
    /// has a row for the household.
    pub fn causes_in(&self, wanted: &[(&str, &str)]) -> Result<HashMap<String, Vec<String>>> {
        let mut st = q!(
            self,
            self.tx
                .prepare_cached("SELECT causes FROM assessments WHERE month = ?1 AND hh_id = ?2")
        )?;
        let mut out = HashMap::new();
        for (hh_id, month) in wanted {
            let json: Option<String> = q!(
                self,
                st.query_row(params![month, hh_id], |r| r.get(0)).optional()
            )?;
            if let Some(json) = json {
                out.insert(
                    hh_id.to_string(),
                    serde_json::from_str(&json).unwrap_or_default(),
                );
            }
        }
        Ok(out)
    }

    /// Rows of (户编号, JSON) for `month`, parsed.
    fn json_by_household<T: serde::de::DeserializeOwned + Default>(
        &self,
        sql: &str,
        month: &str,
    ) -> Result<HashMap<String, T>> {
        q!(self, self.tx.execute_batch(ADDED_TABLES))?;
        let mut st = q!(self, self.tx.prepare(sql))?;
        let rows = q!(
            self,
            st.query_map(params![month], |r| Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?
            )))
        )?;
        let mut out = HashMap::new();
        for row in rows {
            let (id, json) = q!(self, row)?;
            out.insert(id, serde_json::from_str(&json).unwrap_or_default());
        }
        Ok(out)
    }

    /// Expense records a count-once rule already counted in a month before
    /// `month`: record key → that month.
    pub fn counted_before(&self, month: &str) -> Result<HashMap<String, String>> {
        q!(self, self.tx.execute_batch(ADDED_TABLES))?;
        let mut st = q!(
            self,
            self.tx.prepare(
                "SELECT key, MIN(month) FROM counted_expenses WHERE month < ?1 GROUP BY key"
            )
        )?;
        let rows = q!(
            self,
            st.query_map(params![month], |r| Ok((r.get(0)?, r.get(1)?)))
        )?;
        q!(self, rows.collect::<rusqlite::Result<HashMap<_, _>>>())
    }

    /// Record the expense records this month's count-once rules counted.
    pub fn record_counted(&self, month: &str, keys: &[String]) -> Result<()> {
        let mut st = q!(
            self,
            self.tx.prepare_cached(
                "INSERT OR IGNORE INTO counted_expenses(month, key) VALUES (?1, ?2)"
            )
        )?;
        for k in keys {
            q!(self, st.execute(params![month, k]))?;
        }
        Ok(())
    }

    /// (month, households, households warned) of the latest month run
    /// before `month`.
    pub fn previous_share(&self, month: &str) -> Result<Option<(String, i64, i64)>> {
        q!(
            self,
            self.tx
                .query_row(
                    "SELECT month, count(*), COALESCE(sum(at_risk), 0) FROM assessments
                     WHERE month = (SELECT MAX(month) FROM runs WHERE month < ?1) GROUP BY month",
                    params![month],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
        )
    }

    /// Months already run after `month`.
    pub fn later_months(&self, month: &str) -> Result<Vec<String>> {
        let mut st = q!(
            self,
            self.tx
                .prepare("SELECT month FROM runs WHERE month > ?1 ORDER BY month")
        )?;
        let rows = q!(self, st.query_map(params![month], |r| r.get(0)))?;
        q!(self, rows.collect::<rusqlite::Result<Vec<_>>>())
    }

    /// Status of each household stored for `month`.
    /// Status and 纳入监测时间 of each household stored for `month`.
    /// Households of `month` open to that month's decisions, with their
    /// status before any decision of the month (a 新纳入 or 已研判不纳入 of
    /// this month reads as the warning it was, so a form can be recorded
    /// again or corrected), 纳入监测时间, whether a rule fired and 劳动力人数.
    pub fn statuses(&self, month: &str) -> Result<HashMap<String, Open>> {
        let mut st = q!(
            self,
            self.tx.prepare(
                "SELECT a.hh_id, a.status, a.identified, a.declined, a.at_risk, r.labor
                 FROM assessments a
                 LEFT JOIN roster r ON r.month = a.month AND r.hh_id = a.hh_id
                 WHERE a.month = ?1"
            )
        )?;
        let rows = q!(
            self,
            st.query_map(params![month], |r| {
                let status = status_col(r, 1)?;
                let identified: Option<String> = r.get(2)?;
                let declined: Option<String> = r.get(3)?;
                let this_month = |m: &Option<String>| m.as_deref() == Some(month);
                let open = match status {
                    Status::NewlyIncluded if this_month(&identified) => Status::Pending,
                    Status::Declined if this_month(&declined) => Status::Pending,
                    s => s,
                };
                Ok((
                    r.get::<_, String>(0)?,
                    Open {
                        status: open,
                        identified,
                        at_risk: r.get(4)?,
                        labor: r.get(5)?,
                    },
                ))
            })
        )?;
        q!(self, rows.collect::<rusqlite::Result<HashMap<_, _>>>())
    }

    /// Run `f` on the latest stored month before `month`, its roster read
    /// from the store as `f` walks it (households by 户编号, people by
    /// key); `None` when no month is stored before.
    ///
    /// When this run has written nothing yet (a run's comparison, not the
    /// re-run after `decide` recorded conclusions), the roster is read on a
    /// read-only connection of its own, in a thread of its own, and handed
    /// over in batches: SQLite's reading and the comparison go on two
    /// cores. Nothing this transaction could change is read there.
    pub fn with_previous_roster<T>(
        &self,
        month: &str,
        f: impl FnOnce(Previous) -> Result<T>,
    ) -> Result<Option<T>> {
        let m: Option<String> = q!(
            self,
            self.tx
                .query_row(
                    "SELECT MAX(month) FROM runs WHERE month < ?1",
                    params![month],
                    |r| r.get(0)
                )
                .optional()
        )?
        .flatten();
        let Some(m) = m else { return Ok(None) };
        let has_people: bool = q!(
            self,
            self.tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM roster_members WHERE month = ?1)",
                params![m],
                |r| r.get(0)
            )
        )?;
        if self.tx.total_changes() == self.began_at {
            return self.previous_roster_alongside(m, has_people, f).map(Some);
        }
        let mut st = q!(self, self.tx.prepare(ROSTER_HOUSEHOLDS))?;
        let mut households =
            q!(self, st.query_map(params![m], roster_household))?.map(|r| q!(self, r));
        let mut st = q!(self, self.tx.prepare(ROSTER_PEOPLE))?;
        let mut people = q!(self, st.query_map(params![m], roster_person))?.map(|r| q!(self, r));
        f(Previous {
            month: m.clone(),
            households: &mut households,
            people: &mut people,
            has_people,
        })
        .map(Some)
    }

    fn previous_roster_alongside<T>(
        &self,
        m: String,
        has_people: bool,
        f: impl FnOnce(Previous) -> Result<T>,
    ) -> Result<T> {
        let path = &self.path;
        // Households and people each on a connection and thread of their
        // own: whichever `f` walks first, neither waits for the other.
        let (h_conn, p_conn) = (reading(path)?, reading(path)?);
        let (to_h, from_h) = std::sync::mpsc::sync_channel(4);
        let (to_p, from_p) = std::sync::mpsc::sync_channel(4);
        std::thread::scope(|s| {
            let m = &m;
            s.spawn(move || {
                send_rows(&h_conn, path, ROSTER_HOUSEHOLDS, m, roster_household, &to_h)
            });
            s.spawn(move || send_rows(&p_conn, path, ROSTER_PEOPLE, m, roster_person, &to_p));
            f(Previous {
                month: m.clone(),
                households: &mut Batches::new(from_h),
                people: &mut Batches::new(from_p),
                has_people,
            })
        })
    }

    /// Every elimination on record (latest status 已消除 or eliminated and
    /// later re-identified), newest first.
    pub fn eliminations(&self, up_to: &str) -> Result<Vec<EliminatedRow>> {
        let mut st = q!(self, self.tx.prepare(
            "SELECT d.hh_id, COALESCE(h.head_name, ''), COALESCE(h.township, ''), COALESCE(h.village, ''),
                    COALESCE(a.identified, ''), d.month, COALESCE(d.method, ''), d.decided_by
             FROM decisions d
             JOIN (SELECT MAX(id) AS id FROM decisions WHERE month < ?1 GROUP BY month, hh_id) last ON last.id = d.id
             LEFT JOIN households h ON h.hh_id = d.hh_id
             LEFT JOIN assessments a ON a.hh_id = d.hh_id AND a.month = d.month
             WHERE d.decision = '风险消除'
             ORDER BY d.month DESC, d.hh_id"
        ))?;
        let rows = q!(
            self,
            st.query_map(params![up_to], |r| Ok(EliminatedRow {
                hh_id: r.get(0)?,
                head_name: r.get(1)?,
                township: r.get(2)?,
                village: r.get(3)?,
                identified: r.get(4)?,
                eliminated: r.get(5)?,
                method: r.get(6)?,
                decided_by: r.get(7)?,
            }))
        )?;
        q!(self, rows.collect::<rusqlite::Result<Vec<_>>>())
    }

    /// Stored months before `month`, for the trend.
    pub fn trend_before(&self, month: &str) -> Result<Vec<TrendPoint>> {
        let mut st = q!(self, self.tx.prepare(
            "SELECT month, monitored, new, eliminated, warned FROM runs WHERE month < ?1 ORDER BY month"
        ))?;
        let rows = q!(
            self,
            st.query_map(params![month], |r| Ok(TrendPoint {
                month: r.get(0)?,
                monitored: r.get(1)?,
                new: r.get(2)?,
                eliminated: r.get(3)?,
                warned: r.get(4)?,
            }))
        )?;
        q!(self, rows.collect::<rusqlite::Result<Vec<_>>>())
    }

    /// Replace everything stored for `month` with this run's rows.
    #[allow(clippy::too_many_arguments)]
    pub fn record_month<'r>(
        &self,
        month: &str,
        run_id: &str,
        ruleset: &str,
        rows: impl Iterator<Item = Row<'r>>,
        members: &PeopleInKeyOrder,
        trend: &TrendPoint,
        run_at: &str,
    ) -> Result<()> {
        let t = &self.tx;
        q!(self, t.execute_batch(ADDED_TABLES))?;
        let mut households: i64 = 0;
        for table in [
            "assessments",
            "roster",
            "roster_members",
            "runs",
            "counted_expenses",
        ] {
            q!(
                self,
                t.execute(
                    &format!("DELETE FROM {table} WHERE month = ?1"),
                    params![month]
                )
            )?;
        }
        {
            let mut a = q!(self, t.prepare_cached(
                "INSERT INTO assessments(month, hh_id, status, at_risk, quiet_months, class, causes, per_capita, triggers, identified, eliminated, method, first_warned, pending_months, declined, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            ))?;
            let mut h = q!(self, t.prepare_cached(
                "INSERT INTO households(hh_id, head_name, id_no, township, village, hh_type, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
                 ON CONFLICT(hh_id) DO UPDATE SET head_name = excluded.head_name, id_no = excluded.id_no,
                   township = excluded.township, village = excluded.village, hh_type = excluded.hh_type,
                   first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen)"
            ))?;
            let mut r = q!(self, t.prepare_cached(
                "INSERT INTO roster(month, hh_id, head_name, township, village, size, labor) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))?;
            for row in rows {
                households += 1;
                let causes = serde_json::to_string(&row.causes).unwrap_or_else(|_| "[]".into());
                q!(
                    self,
                    a.execute(params![
                        month,
                        row.h.id.as_str(),
                        row.st.status.label(),
                        row.at_risk,
                        row.st.quiet_months,
                        row.class,
                        causes,
                        row.per_capita,
                        row.triggers_json,
                        row.st.identified.as_deref(),
                        row.st.eliminated.as_deref(),
                        row.st.method.as_deref(),
                        row.st.first_warned.as_deref(),
                        row.st.pending_months,
                        row.st.declined.as_deref(),
                        row.st.note.as_deref(),
                    ])
                )?;
                if !row.on_roster {
                    continue;
                }
                q!(
                    self,
                    h.execute(params![
                        row.h.id.as_str(),
                        row.h.head_name.as_str(),
                        row.h.id_no.as_str(),
                        row.h.township.as_str(),
                        row.h.village.as_str(),
                        row.h.hh_type.label(),
                        month
                    ])
                )?;
                q!(
                    self,
                    r.execute(params![
                        month,
                        row.h.id.as_str(),
                        row.h.head_name.as_str(),
                        row.h.township.as_str(),
                        row.h.village.as_str(),
                        row.h.size,
                        row.h.labor
                    ])
                )?;
            }
            let mut m = q!(self, t.prepare_cached(
                "INSERT OR REPLACE INTO roster_members(month, person_key, hh_id, name, id_no, relation) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))?;
            // In key order, so each insert lands beside the last in the
            // key's index instead of at a random page (stable: of two rows
            // with one key the later read still replaces the earlier).
            for p in members.iter() {
                q!(
                    self,
                    m.execute(params![
                        month,
                        person_key(p).as_str(),
                        p.hh_id.as_str(),
                        p.name.as_str(),
                        p.id_no.as_str(),
                        p.relation.as_str()
                    ])
                )?;
            }
        }
        q!(self, t.execute(
            "INSERT INTO runs(month, run_id, ruleset, households, monitored, new, eliminated, run_at, warned)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![month, run_id, ruleset, households, trend.monitored, trend.new, trend.eliminated, run_at, trend.warned],
        ))?;
        Ok(())
    }

    /// Record decisions; one the household already has as its latest for
    /// that month (same conclusion and method) is not recorded again, so
    /// recording the same form twice changes nothing. Returns how many
    /// were new.
    pub fn record_decisions(&self, ds: &[Decision]) -> Result<usize> {
        let mut latest = q!(self, self.tx.prepare_cached(
            "SELECT decision, method FROM decisions WHERE month = ?1 AND hh_id = ?2 ORDER BY id DESC LIMIT 1"
        ))?;
        let mut st = q!(self, self.tx.prepare_cached(
            "INSERT INTO decisions(month, hh_id, decision, method, decided_by, decided_at, source, evidence, levels) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ))?;
        let mut new = 0;
        for d in ds {
            let last: Option<(String, Option<String>)> = q!(
                self,
                latest
                    .query_row(params![d.month, d.hh_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            )?;
            if last.as_ref() == Some(&(d.decision.clone(), d.method.clone())) {
                continue;
            }
            q!(
                self,
                st.execute(params![
                    d.month, d.hh_id, d.decision, d.method, d.by, d.at, d.source, d.evidence,
                    d.levels
                ])
            )?;
            new += 1;
        }
        Ok(new)
    }

    /// Commit, after SQLite's own check that the file is sound: a damaged
    /// store is not written to further.
    /// A transaction that wrote nothing (`monitor history` finishing no
    /// interrupted run) leaves the file as it was: neither checked (a
    /// province's store took 80 s to read from disk) nor stamped.
    pub fn commit(self) -> Result<()> {
        let wrote = self.tx.total_changes() != self.began_at
            || schema_version(&self.tx).map_err(|e| dberr(&self.path, e))? != self.schema_at;
        if wrote && self.verified_at.get() != Some(self.tx.total_changes()) {
            self.verify()?;
        }
        self.tx.commit().map_err(|e| dberr(&self.path, e))?;
        if wrote {
            stamp::record(&self.path);
        }
        Ok(())
    }

    /// SQLite's check of the store with this run's changes, before they
    /// are committed: done as soon as the month is recorded (beside the
    /// reports still being written), it is not repeated by the commit
    /// unless something was written since.
    pub fn verify(&self) -> Result<()> {
        let ok: String = self
            .tx
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| {
                stamp::forget(&self.path);
                dberr(&self.path, e)
            })?;
        if ok != "ok" {
            // The next run checks it at open (and stops before reading).
            stamp::forget(&self.path);
            return Err(serr(
                &self.path,
                format!("文件已损坏，本次结果未写入；请从备份恢复该文件（技术信息：{ok}）"),
            ));
        }
        self.verified_at.set(Some(self.tx.total_changes()));
        Ok(())
    }
}

/// A text column interned (months, methods: few distinct values).
fn label(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Ustr> {
    Ok(Ustr::from(r.get_ref(i)?.as_str()?))
}

fn opt_label(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Option<Ustr>> {
    Ok(r.get_ref(i)?.as_str_or_null()?.map(Ustr::from))
}

/// A text column held inline (last month's roster is read for 自然增减:
/// millions of people in a province, no allocation each).
fn inline(r: &rusqlite::Row, i: usize) -> rusqlite::Result<CompactString> {
    Ok(CompactString::from(r.get_ref(i)?.as_str()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prev(month: &str, status: Status, quiet: u32) -> Prev {
        Prev {
            month: month.into(),
            status,
            quiet_months: quiet,
            identified: Some("2020-01".into()),
            ..Default::default()
        }
    }

    /// `previous` leaves out households last stored as 未监测: whatever this
    /// month brings (a trigger, a preset type, a standing 不纳入, decisions
    /// on either month), such a household derives as one never seen.
    #[test]
    fn a_household_last_seen_not_monitored_is_derived_as_one_never_seen() {
        let quiet = Prev {
            month: "2020-03".into(),
            status: Status::NotMonitored,
            quiet_months: 2,
            pending_months: 1,
            ..Default::default()
        };
        let standing = Decline {
            month: "2020-02".into(),
            by: "张三".into(),
            at: String::new(),
            evidence: Evidence::default(),
        };
        let prev_decisions = [
            None,
            Some(decision("2020-03", "纳入监测", None)),
            Some(decision("2020-03", "不纳入", None)),
            Some(decision("2020-03", "风险消除", Some("稳定脱贫"))),
        ];
        let own_decisions = [
            None,
            Some(decision("2020-04", "纳入监测", None)),
            Some(decision("2020-04", "不纳入", None)),
        ];
        let mut cases = 0;
        for flags in 0..16u8 {
            let [at_risk, preset, no_labour, declined] = [1, 2, 4, 8].map(|b| flags & b != 0);
            for worse in [None, Some("新的支出记录".to_string())] {
                for pd in &prev_decisions {
                    for od in &own_decisions {
                        let with = |prev| DeriveInput {
                            prev,
                            prev_decision: pd.as_ref(),
                            own_decision: od.as_ref(),
                            decline: declined.then_some(&standing),
                            worse: worse.clone(),
                            preset_monitored: preset,
                            no_labour,
                            ..input("2020-04", None, at_risk)
                        };
                        assert_eq!(
                            derive(&with(Some(&quiet))),
                            derive(&with(None)),
                            "flags {flags:04b}, worse {worse:?}, {pd:?}, {od:?}"
                        );
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 16 * 2 * 4 * 3);
    }

    fn decision(month: &str, d: &str, method: Option<&str>) -> Decision {
        Decision {
            month: month.into(),
            hh_id: "A".into(),
            decision: d.into(),
            method: method.map(String::from),
            by: "张三".into(),
            at: "2020-02-20 10:00:00".into(),
            source: "x.xlsx#Sheet1!3".into(),
            evidence: None,
            levels: None,
        }
    }

    fn input<'a>(month: &'a str, prev: Option<&'a Prev>, at_risk: bool) -> DeriveInput<'a> {
        DeriveInput {
            prev,
            prev_decision: None,
            own_decision: None,
            decline: None,
            worse: None,
            month,
            at_risk,
            preset_monitored: false,
            no_labour: false,
            stable_months: 3,
        }
    }

    fn to_prev(month: &str, s: &MonthStatus) -> Prev {
        Prev {
            month: month.into(),
            status: s.status,
            quiet_months: s.quiet_months,
            identified: s.identified,
            eliminated: s.eliminated,
            method: s.method,
            first_warned: s.first_warned,
            pending_months: s.pending_months,
        }
    }

    #[test]
    fn a_warning_waits_for_a_decision_and_is_never_a_monitored_household() {
        let s = derive(&input("2020-01", None, true));
        assert_eq!(s.status, Status::Pending);
        assert!(!s.status.monitored());
        assert_eq!(
            (s.first_warned.as_deref(), s.pending_months),
            (Some("2020-01"), 1)
        );
        // Undecided for three months: still pending, counting the months.
        let mut p = to_prev("2020-01", &s);
        for (m, n) in [("2020-02", 2), ("2020-03", 3)] {
            let s = derive(&input(m, Some(&p), false));
            assert_eq!(s.status, Status::Pending, "{m}");
            assert_eq!(
                (s.first_warned.as_deref(), s.pending_months),
                (Some("2020-01"), n)
            );
            p = to_prev(m, &s);
        }
    }

    #[test]
    fn inclusion_is_the_decision_month_then_quiet_months_lead_to_a_suggestion() {
        let s = derive(&input("2020-01", None, true));
        let own = decision("2020-01", "纳入监测", None);
        let decided = derive(&DeriveInput {
            own_decision: Some(&own),
            ..input("2020-01", None, true)
        });
        assert_eq!(decided.status, Status::NewlyIncluded);
        assert_eq!(decided.identified.as_deref(), Some("2020-01"));
        assert!(decided.status.monitored() && s.status.pending());
        let mut p = to_prev("2020-01", &decided);
        let mut seen = Vec::new();
        for m in ["2020-02", "2020-03", "2020-04"] {
            let s = derive(&input(m, Some(&p), false));
            seen.push(s.status);
            p = to_prev(m, &s);
        }
        assert_eq!(
            seen,
            [
                Status::Continuing,
                Status::Continuing,
                Status::SuggestElimination
            ]
        );
        assert_eq!(p.identified.as_deref(), Some("2020-01"));
    }

    #[test]
    fn a_version_1_store_month_decided_afterwards_is_followed() {
        // 新识别 of a version-1 store reads as a warning; its 纳入监测 counts.
        let p = Prev {
            status: Status::parse("新识别").unwrap(),
            ..prev("2020-03", Status::Pending, 0)
        };
        let d = decision("2020-03", "纳入监测", None);
        let s = derive(&DeriveInput {
            prev_decision: Some(&d),
            ..input("2020-04", Some(&p), false)
        });
        assert_eq!(s.status, Status::Continuing);
        assert_eq!(s.identified.as_deref(), Some("2020-03"));
    }

    #[test]
    fn no_labour_households_are_never_suggested() {
        let p = prev("2020-04", Status::Continuing, 5);
        let s = derive(&DeriveInput {
            no_labour: true,
            ..input("2020-05", Some(&p), false)
        });
        assert_eq!(s.status, Status::Continuing);
        assert_eq!(s.quiet_months, 6);
    }

    #[test]
    fn elimination_takes_effect_the_next_month_and_a_new_warning_waits_again() {
        let p = prev("2020-05", Status::SuggestElimination, 3);
        let d = decision("2020-05", "风险消除", Some("帮扶消除"));
        let s = derive(&DeriveInput {
            prev_decision: Some(&d),
            ..input("2020-06", Some(&p), false)
        });
        assert_eq!(s.status, Status::Eliminated);
        assert_eq!(s.eliminated.as_deref(), Some("2020-05"));
        assert_eq!(s.method.as_deref(), Some("帮扶消除"));
        let e = to_prev("2020-06", &s);
        let again = derive(&input("2020-07", Some(&e), true));
        assert_eq!(again.status, Status::ReturnedPending);
        assert!(!again.status.monitored());
    }

    #[test]
    fn a_decline_holds_until_the_household_is_worse() {
        let own = decision("2020-03", "不纳入", None);
        let s = derive(&DeriveInput {
            own_decision: Some(&own),
            ..input("2020-03", None, true)
        });
        assert_eq!(s.status, Status::Declined);
        let p = to_prev("2020-03", &s);
        let standing = Decline {
            month: "2020-03".into(),
            by: "张三".into(),
            at: String::new(),
            evidence: Evidence::default(),
        };
        let same = derive(&DeriveInput {
            decline: Some(&standing),
            ..input("2020-04", Some(&p), true)
        });
        assert_eq!(same.status, Status::Declined);
        assert_eq!(same.declined.as_deref(), Some("2020-03"));
        let worse = derive(&DeriveInput {
            decline: Some(&standing),
            worse: Some("新的支出记录".into()),
            ..input("2020-04", Some(&p), true)
        });
        assert_eq!(worse.status, Status::Pending);
        assert!(worse
            .note
            .as_deref()
            .unwrap_or("")
            .contains("2020-03 曾研判不纳入"));
    }

    #[test]
    fn evidence_is_worse_on_a_new_rule_a_new_record_or_a_drop_past_the_margin() {
        let before = Evidence {
            rules: [("line".to_string(), Some("4000.00".to_string()))].into(),
            per_capita: Some("4000.00".into()),
            expenses: vec!["A|x|2020-03-01|因病|100|".into()],
        };
        let low = |r: &str| r == "line";
        let margin = rust_decimal::Decimal::new(10, 2);
        let mut now = before.clone();
        assert_eq!(before.worse(&now, margin, low), None);
        now.rules.insert("line".into(), Some("3700.00".into()));
        now.per_capita = Some("3700.00".into());
        assert_eq!(before.worse(&now, margin, low), None, "within 10%");
        now.rules.insert("line".into(), Some("3500.00".into()));
        assert!(
            before.worse(&now, margin, low).is_some(),
            "more than 10% lower"
        );
        let mut now = before.clone();
        now.rules.insert("drop".into(), None);
        assert!(before.worse(&now, margin, low).unwrap().contains("drop"));
        let mut now = before.clone();
        now.expenses.push("A|x|2020-04-01|因病|100|".into());
        assert!(before.worse(&now, margin, low).unwrap().contains("支出"));
    }

    #[test]
    fn households_typed_as_monitored_start_under_monitoring() {
        let s = derive(&DeriveInput {
            preset_monitored: true,
            ..input("2020-01", None, false)
        });
        assert_eq!(s.status, Status::Continuing);
    }

    #[test]
    fn decisions_apply_to_the_right_statuses() {
        assert!(decision_applies("纳入监测", Status::Pending));
        assert!(decision_applies("不纳入", Status::ReturnedPending));
        assert!(!decision_applies("风险消除", Status::Pending));
        assert!(decision_applies("风险消除", Status::SuggestElimination));
        assert!(decision_applies("继续监测", Status::NewlyIncluded));
        assert!(!decision_applies("继续监测", Status::Eliminated));
    }

    #[test]
    fn store_is_never_silently_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.sqlite");
        let e = Store::open(&p).err().unwrap().to_string();
        assert!(
            e.contains("h.sqlite") && e.contains("history --init"),
            "{e}"
        );
        Store::create(&p).unwrap();
        assert!(Store::create(&p).is_err());
        Store::open(&p).unwrap();
        std::fs::write(&p, b"not a database at all, just text").unwrap();
        let e = Store::open(&p).err().unwrap().to_string();
        assert!(e.contains("损坏"), "{e}");
    }

    #[test]
    fn creation_is_atomic_and_a_blank_store_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.sqlite");
        // What a kill during creation used to leave: a file with no tables.
        Connection::open(&p)
            .unwrap()
            .execute_batch("PRAGMA user_version = 1")
            .unwrap();
        assert!(Store::is_blank(&p));
        let e = Store::open(&p).err().unwrap().to_string();
        assert!(e.contains("--init"), "{e}");
        let mut s = Store::create(&p).unwrap();
        let id = s.begin().unwrap().store_id().unwrap();
        assert!(!id.is_empty());
        assert!(!Store::is_blank(&p));
        assert!(Store::create(&p).is_err(), "a store with content is kept");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["h.sqlite"], "no temporary file left");
    }

    #[test]
    fn recording_the_same_decisions_twice_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::create(&dir.path().join("h.sqlite")).unwrap();
        let tx = s.begin().unwrap();
        let d = |v: &str| Decision {
            month: "2020-03".into(),
            hh_id: "A".into(),
            decision: v.into(),
            method: None,
            by: "张三".into(),
            at: "2020-03-25".into(),
            source: "f.xlsx#农户!3".into(),
            evidence: None,
            levels: None,
        };
        assert_eq!(tx.record_decisions(&[d("纳入监测")]).unwrap(), 1);
        assert_eq!(tx.record_decisions(&[d("纳入监测")]).unwrap(), 0);
        assert_eq!(tx.record_decisions(&[d("不纳入")]).unwrap(), 1);
        assert_eq!(tx.reader().decisions_of("A").unwrap().len(), 2);
    }

    #[test]
    fn an_unknown_status_read_back_is_damage() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::create(&dir.path().join("h.sqlite")).unwrap();
        let tx = s.begin().unwrap();
        tx.tx
            .execute(
                "INSERT INTO assessments(month, hh_id, status, at_risk, quiet_months, causes, triggers)
                 VALUES ('2020-03', 'A', '持续监?', 0, 0, '[]', '[]')",
                [],
            )
            .unwrap();
        let e = tx.reader().previous("2020-04").err().unwrap();
        assert_eq!(e.exit_code(), 8);
        assert!(e.to_string().contains("损坏"), "{e}");
    }

    /// The store's `assessments_hh` index page made to claim more cells
    /// than it holds: its small tables still read, SQLite's check finds the
    /// damage.
    fn damage_the_index_of(p: &Path) {
        let s = Store::open(p).unwrap();
        let (root, page_size): (i64, i64) = s
            .conn
            .query_row(
                "SELECT (SELECT rootpage FROM sqlite_master WHERE name = 'assessments_hh'),
                        (SELECT page_size FROM pragma_page_size())",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        drop(s);
        let mut bytes = std::fs::read(p).unwrap();
        let at = ((root - 1) * page_size) as usize;
        assert_eq!(bytes[at], 0x0a, "an index leaf page");
        bytes[at + 3] = 0x7f; // number of cells
        std::fs::write(p, &bytes).unwrap();
    }

    #[test]
    fn a_run_store_is_checked_beside_the_reading_and_its_damage_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.sqlite");
        Store::create(&p).unwrap();
        let mut s = Store::open_for_run(&p).unwrap();
        let tx = s.begin().unwrap();
        tx.start_check().unwrap().finish().unwrap();
        drop(tx);
        drop(s);

        damage_the_index_of(&p);
        let e = Store::open(&p).err().unwrap().to_string();
        assert!(e.contains("损坏"), "{e}");
        // Opened for a run, the damage is found by the check it starts.
        let mut s = Store::open_for_run(&p).unwrap();
        let tx = s.begin().unwrap();
        assert!(!tx.store_id().unwrap().is_empty());
        let e = tx
            .start_check()
            .unwrap()
            .finish()
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("损坏") && e.contains("h.sqlite"), "{e}");
        // An error met meanwhile gives way to the damage…
        let e = tx
            .start_check()
            .unwrap()
            .or_damage(MonitorError::Internal("其他".into()))
            .to_string();
        assert!(e.contains("损坏"), "{e}");
        // …and a check not waited for is stopped, not left running.
        drop(tx.start_check().unwrap());
    }

    /// Whether a run's check at open is started on the store at `p`.
    fn checked_at_open(p: &Path) -> bool {
        let mut s = Store::open_for_run(p).unwrap();
        let tx = s.begin().unwrap();
        let c = tx.start_check().unwrap();
        let started = c.started();
        c.finish().unwrap();
        started
    }

    /// A run that writes `key`.
    fn commit_a_run(p: &Path, key: &str) -> Result<()> {
        let mut s = Store::open_for_run(p).unwrap();
        let tx = s.begin().unwrap();
        tx.start_check()?.finish()?;
        tx.record_counted("2020-03", &[key.to_string()])?;
        tx.commit()
    }

    #[test]
    fn a_store_as_its_last_checked_commit_left_it_is_not_checked_again_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.sqlite");
        Store::create(&p).unwrap();
        assert!(checked_at_open(&p), "a new store has no stamp");
        commit_a_run(&p, "k1").unwrap();
        assert!(dir.path().join("h.sqlite.checked").is_file());
        assert!(!checked_at_open(&p), "as its checked commit left it");
        // Written by anything else: checked at open again.
        rusqlite::Connection::open(&p)
            .unwrap()
            .execute("INSERT INTO meta(key, value) VALUES ('x', 'y')", [])
            .unwrap();
        assert!(checked_at_open(&p));
        // A transaction that writes nothing leaves it unchecked and unstamped.
        commit_a_run(&p, "k1").unwrap();
        assert!(checked_at_open(&p));
        commit_a_run(&p, "k2").unwrap();
        assert!(!checked_at_open(&p));
        // Damaged with its length and time kept: not seen at open, but the
        // check before the commit reads the whole file and refuses it.
        let t = std::fs::metadata(&p).unwrap().modified().unwrap();
        damage_the_index_of(&p);
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(t)
            .unwrap();
        assert!(!checked_at_open(&p));
        // The same for the commands that only read (`history`, `status`).
        assert!(Store::open(&p).is_ok());
        let before = std::fs::read(&p).unwrap();
        let e = commit_a_run(&p, "k3").err().unwrap().to_string();
        assert!(e.contains("损坏"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), before, "not written");
        assert!(checked_at_open_fails(&p));
        assert!(Store::open(&p).is_err());
    }

    fn checked_at_open_fails(p: &Path) -> bool {
        let mut s = Store::open_for_run(p).unwrap();
        let tx = s.begin().unwrap();
        let c = tx.start_check().unwrap();
        c.started() && c.finish().is_err()
    }

    #[test]
    fn the_commit_checks_again_only_after_a_change_since_the_last_check() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.sqlite");
        let mut s = Store::create(&p).unwrap();
        let tx = s.begin().unwrap();
        assert_eq!(tx.verified_at.get(), None);
        tx.verify().unwrap();
        let at = tx.verified_at.get();
        assert!(at.is_some());
        tx.record_counted("2020-03", &["k".to_string()]).unwrap();
        assert_ne!(tx.verified_at.get(), Some(tx.tx.total_changes()));
        tx.commit().unwrap();
        let mut s = Store::open(&p).unwrap();
        assert_eq!(
            s.begin().unwrap().counted_before("2020-04").unwrap().len(),
            1
        );
    }

    /// Last month's roster, walked whole: (households, people).
    type Walked = (Vec<RosterHousehold>, Vec<RosterPerson>);

    fn walk_whole(tx: &Tx, month: &str) -> Walked {
        tx.with_previous_roster(month, |p| {
            let h = p.households.collect::<Result<Vec<_>>>()?;
            let m = p.people.collect::<Result<Vec<_>>>()?;
            Ok((h, m))
        })
        .unwrap()
        .unwrap()
    }

    #[test]
    fn last_months_roster_read_alongside_is_the_roster_read_in_turn() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.sqlite");
        let mut s = Store::create(&p).unwrap();
        {
            let tx = s.begin().unwrap();
            tx.tx
                .execute(
                    "INSERT INTO runs(month, run_id, ruleset, households, monitored, new, eliminated, run_at)
                     VALUES ('2020-03', 'r', 'x', 0, 0, 0, 0, '')",
                    [],
                )
                .unwrap();
            // More people than one batch, households as well.
            for i in 0..(2 * BATCH + 7) {
                let (hh, key) = (format!("H{:05}", i / 3), format!("5301{i:014}"));
                tx.tx
                    .execute(
                        "INSERT INTO roster_members(month, person_key, hh_id, name, id_no, relation)
                         VALUES ('2020-03', ?1, ?2, ?3, ?1, '户主')",
                        params![key, hh, format!("人{i}")],
                    )
                    .unwrap();
                if i % 3 == 0 {
                    tx.tx
                        .execute(
                            "INSERT INTO roster(month, hh_id, head_name, township, village, size)
                             VALUES ('2020-03', ?1, ?2, '东乡', '一村', 3)",
                            params![hh, format!("人{i}")],
                        )
                        .unwrap();
                }
            }
            tx.commit().unwrap();
        }
        let tx = s.begin().unwrap();
        assert_eq!(tx.tx.total_changes(), tx.began_at);
        let alongside = walk_whole(&tx, "2020-04");
        // Once this run has written, the roster is read on its connection.
        tx.record_counted("2020-04", &["k".to_string()]).unwrap();
        assert!(tx.tx.total_changes() > tx.began_at);
        let in_turn = walk_whole(&tx, "2020-04");
        assert_eq!(alongside.0.len(), (2 * BATCH + 7).div_ceil(3));
        assert_eq!(alongside.1.len(), 2 * BATCH + 7);
        assert_eq!(alongside, in_turn);
        assert!(alongside.1.is_sorted_by(|a, b| a.key <= b.key));
        drop(tx);
        // A walk that stops early lets the reading threads go.
        let tx = s.begin().unwrap();
        let first = tx
            .with_previous_roster("2020-04", |p| Ok(p.people.next().map(|r| r.unwrap().key)))
            .unwrap()
            .flatten();
        assert_eq!(first.as_deref(), Some("530100000000000000"));
    }

    /// (households with their previous month and status, decisions, own, declines).
    type BeforeParts = (
        Vec<(String, Prev)>,
        Vec<Decision>,
        Vec<Decision>,
        Vec<Decline>,
    );

    fn before_parts(b: &Before) -> BeforeParts {
        let mut prev: Vec<(String, Prev)> = b
            .prev
            .iter()
            .map(|(k, p)| (k.to_string(), p.clone()))
            .collect();
        prev.sort_by(|a, b| a.0.cmp(&b.0));
        let sorted = |m: &HashMap<String, Decision>| {
            let mut v: Vec<Decision> = m.values().cloned().collect();
            v.sort_by(|a, b| a.hh_id.cmp(&b.hh_id));
            v
        };
        let mut declines: Vec<(String, Decline)> = b
            .declines
            .iter()
            .map(|(k, d)| (k.clone(), d.clone()))
            .collect();
        declines.sort_by(|a, b| a.0.cmp(&b.0));
        (
            prev,
            sorted(&b.decisions),
            sorted(&b.own),
            declines.into_iter().map(|(_, d)| d).collect(),
        )
    }

    #[test]
    fn what_a_month_derives_from_is_read_alongside_only_while_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.sqlite");
        let mut s = Store::create(&p).unwrap();
        {
            let tx = s.begin().unwrap();
            for (hh, status) in [("A", "预警待研判"), ("B", "持续监测"), ("C", "未监测")]
            {
                tx.tx
                    .execute(
                        "INSERT INTO assessments(month, hh_id, status, at_risk, quiet_months, causes, triggers)
                         VALUES ('2020-03', ?1, ?2, 1, 0, '[]', '[]')",
                        params![hh, status],
                    )
                    .unwrap();
            }
            tx.record_decisions(&[
                decision("2020-03", "不纳入", None),
                decision("2020-03", "纳入", None),
            ])
            .unwrap();
            tx.commit().unwrap();
        }
        let tx = s.begin().unwrap();
        let now = before_parts(&tx.reader().before("2020-04").unwrap());
        assert_eq!(now.0.len(), 2, "未监测 left out: {:?}", now.0);
        assert_eq!(now.1.len(), 1);
        let alongside = tx.read_before_alongside("2020-04", true);
        assert!(alongside.is_some());
        assert_eq!(before_parts(&tx.before("2020-04", alongside).unwrap()), now);
        // Not before the store is checked.
        assert!(tx.read_before_alongside("2020-04", false).is_none());
        // Started, then the run writes: what it read is not used.
        let alongside = tx.read_before_alongside("2020-04", true);
        tx.record_decisions(&[decision("2020-04", "纳入", None)])
            .unwrap();
        let read = before_parts(&tx.before("2020-04", alongside).unwrap());
        assert_eq!(read.2.len(), 1, "this month's own decision");
        assert!(tx.read_before_alongside("2020-04", true).is_none());
        // One not taken is stopped, not left running.
        drop(tx.read_before_alongside("2020-04", true));
    }

    #[test]
    fn rows_from_a_reading_thread_that_stopped_unfinished_are_an_error_not_fewer() {
        let (to, from) = std::sync::mpsc::sync_channel(4);
        to.send(Handed::Rows(vec![1, 2])).unwrap();
        drop(to); // no End: the thread panicked
        let got: Vec<_> = Batches::new(from).collect();
        assert!(matches!(got[..], [Ok(1), Ok(2), Err(_)]), "{got:?}");
        let (to, from) = std::sync::mpsc::sync_channel(4);
        to.send(Handed::Rows(vec![1])).unwrap();
        to.send(Handed::End).unwrap();
        drop(to);
        let got: Vec<_> = Batches::new(from).map(|r| r.unwrap()).collect();
        assert_eq!(got, vec![1]);
    }

    #[test]
    fn second_writer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.sqlite");
        let mut a = Store::create(&p).unwrap();
        let mut b = Store::open(&p).unwrap();
        let _tx = a.begin().unwrap();
        let e = b.begin().err().unwrap();
        assert_eq!(e.exit_code(), 7, "{e}");
    }
}

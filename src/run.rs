//! The monthly run: read → normalize → assess → history → write.
//!
//! The run holds the history store's write lock from start to end. Outputs
//! are built in a temporary folder; then the month's previous folder is set
//! aside, the new one moved in, the store committed, and the old folder
//! removed. A run killed at any point is undone (or, if the store already
//! committed, completed) by the next command that takes the lock, so the
//! store and the output folder always match.

use crate::assess::{assess_all, class_label, Assessment};
use crate::config::Plan;
use crate::error::{MonitorError, Result};
use crate::history::{self, derive, DeriveInput, Evidence, MonthStatus, Status, Store, TrendPoint};
use crate::model::{DataIssue, Household, HouseholdType, MonthData};
use crate::report::{annex, ledger, ReportCtx, RiskRow};
use crate::rules::RuleSet;
use crate::validate::load_month;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rust_decimal::Decimal;
use serde::Serialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub const SUMMARY_FILE: &str = "summary.json";

/// A progress display on a terminal; silent otherwise.
pub struct Progress(ProgressBar);

const SPINNER: &str = "{spinner} {msg}";
const BAR: &str = "{spinner} {msg} [{bar:30}] {pos}/{len}";

impl Progress {
    pub fn new(quiet: bool) -> Self {
        let target = if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let visible = !target.is_hidden();
        let pb = ProgressBar::with_draw_target(None, target);
        if visible {
            // Keeps the spinner moving while a large file is being read.
            pb.enable_steady_tick(std::time::Duration::from_millis(120));
        }
        Progress(pb)
    }
    fn style(&self, template: &str) {
        if let Ok(s) = ProgressStyle::with_template(template) {
            self.0.set_style(s.progress_chars("=> "));
        }
    }
    /// A step without a count (reading, writing).
    pub fn stage(&self, msg: &str) {
        crate::phases::mark(msg);
        self.style(SPINNER);
        self.0.set_message(msg.to_string());
        self.0.tick();
    }
    /// A step over `len` items, advanced by `inc`.
    pub fn start(&self, msg: &str, len: u64) {
        crate::phases::mark(msg);
        self.style(BAR);
        self.0.set_length(len);
        self.0.set_position(0);
        self.0.set_message(msg.to_string());
    }
    pub fn inc(&self) {
        self.0.inc(1);
    }
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

#[derive(Debug, Serialize)]
pub struct TriggerOut {
    pub rule_id: String,
    pub causes: Vec<String>,
    pub measured: Option<String>,
    pub threshold: Option<String>,
    pub basis: String,
}

#[derive(Debug, Serialize)]
pub struct HouseholdOut {
    pub household_id: String,
    pub head_name: String,
    pub township: String,
    pub village: String,
    pub household_type: String,
    /// 监测类型 (脱贫监测户 / 边缘户 …)
    pub status: String,
    /// 风险属性 (返贫风险 / 致贫风险)
    pub risk: String,
    /// 监测状态 (预警待研判 / 新纳入 / 持续监测 / 建议消除 / 返贫/再次预警 / 已消除 / 已研判不纳入)
    pub monitoring_status: String,
    /// First month of a warning still waiting for a decision, and how many
    /// months it has waited.
    pub first_warned_month: Option<String>,
    pub months_pending: u32,
    /// A standing 不纳入 this household refers to, and the note on it.
    pub declined_month: Option<String>,
    pub note: Option<String>,
    pub identified_month: Option<String>,
    pub eliminated_month: Option<String>,
    pub elimination_method: Option<String>,
    pub months_without_warning: u32,
    /// false: not on this month's roster, carried with its last status (户减少).
    pub on_roster: bool,
    pub size: u32,
    pub causes: Vec<String>,
    pub per_capita_net_income: Option<String>,
    pub triggers: Vec<TriggerOut>,
}

#[derive(Debug, Serialize, Default)]
pub struct Counts {
    pub households_read: usize,
    /// Households that triggered a rule this month.
    pub risk_households: usize,
    pub risk_people: u32,
    /// 监测户: confirmed by 纳入监测 (新纳入 + 持续监测 + 建议消除).
    pub monitored: usize,
    /// 预警户 waiting for 研判/审定 (预警待研判 + 返贫/再次预警); not 监测户.
    pub warned: usize,
    /// Held back by a standing 不纳入 (listed on “已研判不纳入”).
    pub declined: usize,
    pub by_monitoring_status: std::collections::BTreeMap<String, usize>,
    /// 监测户 by 监测类型.
    pub by_status: std::collections::BTreeMap<String, usize>,
    /// 预警户 (waiting for review) by the 监测类型 they would be reported as.
    pub warned_by_class: std::collections::BTreeMap<String, usize>,
    pub by_cause: std::collections::BTreeMap<String, usize>,
    /// Eliminations on record (cumulative).
    pub eliminated_total: usize,
    /// 未脱贫户 that triggered a rule (counted apart from the monitored).
    pub poor_warned: usize,
    pub natural_changes: usize,
    pub data_issues: usize,
    pub rows_skipped: usize,
    pub expense_records: usize,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub month: String,
    pub ruleset: RulesetOut,
    pub counts: Counts,
    pub trend: Vec<TrendPoint>,
    pub outputs: Vec<String>,
    /// Things to check before reporting this month's lists upward.
    pub warnings: Vec<String>,
    /// The locality's due dates and, per 乡镇, what waits at each step.
    pub calendar: crate::calendar::CalendarOut,
    /// 未脱贫户 that triggered a rule (not monitored, listed on their own);
    /// written after the listed households (see [`SummaryFile`]).
    #[serde(skip)]
    pub poor_households: Vec<HouseholdOut>,
}

/// summary.json: the summary, then every listed household and the 未脱贫户
/// that triggered. The listed households are written one by one as the
/// file is written: a province's half a million of them, built as a list
/// first, took about 0.5 GB.
#[derive(Serialize)]
struct SummaryFile<'a> {
    #[serde(flatten)]
    summary: &'a Summary,
    households: Listed<'a>,
    poor_households: &'a [HouseholdOut],
}

/// The listed households of summary.json, each built as it is written.
struct Listed<'a>(&'a [RiskRow<'a>]);

impl Serialize for Listed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(household_out))
    }
}

#[derive(Debug, Serialize)]
pub struct RulesetOut {
    pub id: String,
    pub locality: String,
    pub document: String,
    pub file: String,
}

pub struct RunOptions {
    pub quiet: bool,
    /// Allow running a month earlier than one already run.
    pub force: bool,
}

pub struct Outcome {
    pub dir: PathBuf,
    pub summary: Summary,
    /// Later months whose results no longer follow from this one (after --force).
    pub stale_later_months: Vec<String>,
    /// Done, but worth telling the clerk (a folder left to clean up, …).
    pub warnings: Vec<String>,
}

use crate::publish::fault_point;
pub use crate::publish::{recover, RUN_MARK};

/// Open the store, creating it only on a workspace's very first run: when
/// month folders already exist, a missing store means lost history. Its
/// check is left to the run ([`history::Tx::start_check`]).
pub fn open_store(store: &Path, out: &Path) -> Result<Store> {
    if store.exists() && !Store::is_blank(store) {
        return Store::open_for_run(store);
    }
    let previous: Vec<String> = std::fs::read_dir(out)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().join(SUMMARY_FILE).exists())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    if !previous.is_empty() {
        return Err(MonitorError::Store {
            path: store.to_path_buf(),
            msg: format!(
                "监测历史库不存在，但输出目录 {} 中已有 {} 等月份的结果：历史库可能被删除或移动。请找回该文件；确需从头开始时先执行 monitor history --init（以前各月的结果文件夹会保留，不会被删除）",
                out.display(),
                previous.join("、")
            ),
        });
    }
    Store::create(store)
}

/// Run one month.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<Outcome> {
    let month = plan.month;
    let month_key = month.format("%Y-%m").to_string();
    let progress = Progress::new(opts.quiet);
    progress.stage("读取规则");
    let rs = RuleSet::load(&plan.rules)?;
    rs.check_month(month)?;

    // Take the workspace lock before reading, so a second run stops at once.
    std::fs::create_dir_all(&plan.out).map_err(|e| MonitorError::Output {
        path: plan.out.clone(),
        msg: format!("无法建立输出目录：{}", crate::error::io_detail(&e)),
    })?;
    let mut store = open_store(&plan.store, &plan.out)?;
    let tx = store.begin()?;
    // SQLite's check of the store goes on while the inputs are read.
    let check = tx.start_check()?;
    let before = || -> Result<_> { Ok((recover(&plan.out, &tx)?, tx.later_months(&month_key)?)) };
    let (recovered, later) = match before() {
        Ok(x) => x,
        Err(e) => return Err(check.or_damage(e)),
    };
    if !later.is_empty() && !opts.force {
        return Err(MonitorError::Refused(format!(
            "已运行过更晚的月份（{}），不能再运行更早的 {month_key}：那会改变以后各月的监测状态。确需重跑请加 --force，并随后按顺序重跑以后各月",
            later.join("、")
        )));
    }
    month_in(plan, &rs, tx, Some(check), recovered, later, opts.quiet)
}

/// The month's work inside the run's transaction (taken by `run`, or by
/// `decide` after it recorded conclusions): read, assess, derive statuses,
/// record, write, and publish with the commit.
pub(crate) fn month_in(
    plan: &Plan,
    rs: &RuleSet,
    tx: history::Tx,
    check: Option<history::PendingCheck>,
    recovered: Vec<String>,
    later: Vec<String>,
    quiet: bool,
) -> Result<Outcome> {
    let month = plan.month;
    let month_key = month.format("%Y-%m").to_string();
    let progress = Progress::new(quiet);
    // The county's own form files are checked before any work is done.
    let forms = crate::forms::load(Some(&plan.forms))?;
    // What deriving the statuses reads from the store is read meanwhile,
    // when the store needs no check first.
    let checked = check.as_ref().is_none_or(|c| !c.started());
    let before = tx.read_before_alongside(&month_key, checked);
    // The store's months are read once it is known to be sound.
    let from_store = || {
        if let Some(c) = check {
            c.finish()?;
        }
        tx.counted_before(&month_key)
    };
    let (mut data, assessments) = read_and_assess(plan, rs, month, from_store, &progress)?;
    let store_id = tx.store_id()?;
    let once: Vec<String> = rs
        .count_once_windows(month)
        .iter()
        .flat_map(|(from, to, causes)| {
            data.expenses.iter().filter(move |e| {
                e.counted_in.is_none()
                    && e.date >= *from
                    && e.date <= *to
                    && causes.contains(&e.cause)
            })
        })
        .map(|e| e.key())
        .collect();

    progress.stage("比对监测历史");
    // A county's people are put in key order on the other core while last
    // month's statuses are read and this month's derived. A larger run
    // sorts them after, when the statuses are let go: at 2,000,000
    // households both at once were 22 MB more at the run's peak.
    let alongside = data.households.len() <= COUNTY_SIZE;
    let (people, derived) = std::thread::scope(|s| {
        let sorting = alongside.then(|| s.spawn(|| history::PeopleInKeyOrder::new(&data.members)));
        let derived = derive_month(
            &tx,
            plan,
            rs,
            &month_key,
            &data.households,
            &data.expenses,
            &assessments,
            &mut data.issues,
            before,
        );
        let people = match sorting {
            Some(j) => j.join(),
            None => Ok(history::PeopleInKeyOrder::new(&data.members)),
        };
        (people, derived)
    });
    let Derived {
        own,
        statuses,
        absent,
        eliminated,
        point,
        trend,
    } = derived?;
    let people = people.map_err(|_| MonitorError::Internal("排序人员的线程意外中止".into()))?;
    let changes = tx
        .with_previous_roster(&month_key, |prev| {
            history::natural_changes(prev, &data.households, &people, month)
        })?
        .unwrap_or_default();

    let run_id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.9f"),
        std::process::id()
    );
    let present = data.households.iter().zip(&assessments).zip(&statuses);
    let carried = absent.iter().map(|(h, a, st)| ((h, a), st));
    // Built as they are written: a province's rows are never all held.
    let store_rows = present
        .clone()
        .map(|x| (x, true))
        .chain(carried.clone().map(|x| (x, false)))
        .map(|(((h, a), st), on_roster)| history::Row {
            h,
            st,
            at_risk: a.at_risk(),
            on_roster,
            class: class_label(rs, h.hh_type).0,
            causes: a.causes(),
            per_capita: a.per_capita.map(|d| format!("{d:.2}")),
            triggers_json: serde_json::to_string(&a.triggers).unwrap_or_else(|_| "[]".into()),
        });
    let out = &plan.out;
    let oerr = |p: &Path, e: std::io::Error| MonitorError::Output {
        path: p.to_path_buf(),
        msg: crate::error::io_detail(&e),
    };
    let tmp = tempfile::Builder::new()
        .prefix(&crate::publish::tmp_prefix(&month_key, &store_id))
        .tempdir_in(out)
        .map_err(|e| oerr(out, e))?;
    let record = || -> Result<()> {
        tx.record_month(
            &month_key,
            &run_id,
            &rs.meta.id,
            store_rows,
            &people,
            &point,
            &chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        )?;
        tx.record_counted(&month_key, &once)?;
        tx.record_expenses(&month_key, &expense_records(&data.expenses))?;
        // Checked here, beside the reports still being written, so the
        // commit does not check again.
        tx.verify()
    };
    let job = ReportJob {
        rs,
        plan,
        month,
        month_key: &month_key,
        forms: &forms,
        dir: tmp.path(),
        run_id: &run_id,
        households_read: data.households.len(),
        expenses: &data.expenses,
        own: &own,
        eliminated: &eliminated,
        changes: &changes,
        store_written: None,
    };
    let on = Subjects::of(&data, &assessments, &statuses, &absent);
    let summary = if side_by_side(on.listed(), data.households.len()) {
        let p = prepare_reports(&tx, plan, rs, &month_key, &on, &own)?;
        // The reports are written from a copy of the listed households'
        // members while the whole month is stored from all of them.
        let members = p.listed_members(&data.members);
        progress.stage("写入监测历史、生成报表");
        let gate = Gate::default();
        let job = ReportJob {
            store_written: Some(&gate),
            ..job
        };
        let (stored, reported) = std::thread::scope(|s| {
            let job =
                s.spawn(|| crate::error::catch_panic(|| write_reports(&job, p, trend, &members)));
            let stored = {
                let _open = gate.opens_on_drop();
                record()
            };
            (stored, job.join())
        });
        stored?;
        reported
            .unwrap_or_else(|_| Err("生成报表的线程意外中止".into()))
            .map_err(MonitorError::Internal)??
    } else {
        // One after the other, the reports' data gathered once the month
        // is stored and the members not listed are let go.
        progress.stage("写入监测历史");
        record()?;
        drop(people);
        keep_listed_members(&mut data.members, &data.households, &assessments, &statuses);
        progress.stage("生成报表");
        let on = Subjects::of(&data, &assessments, &statuses, &absent);
        let p = prepare_reports(&tx, plan, rs, &month_key, &on, &own)?;
        write_reports(&job, p, trend, &data.members)?
    };
    fault_point("before_publish");

    let mut warnings = recovered;
    // The month's own warning (a sudden jump in the share warned).
    warnings.extend(summary.warnings.iter().cloned());
    warnings.extend(crate::publish::publish(
        out,
        &month_key,
        tmp.path(),
        tx,
        &store_id,
        &run_id,
    )?);
    progress.finish();
    Ok(Outcome {
        dir: out.join(&month_key),
        summary,
        stale_later_months: later,
        warnings,
    })
}

/// This month's statuses, derived from last month's and the decisions on
/// record, with the households carried though not on the roster.
struct Derived {
    own: std::collections::HashMap<String, history::Decision>,
    statuses: Vec<MonthStatus>,
    absent: Vec<(Household, Assessment, MonthStatus)>,
    eliminated: Vec<history::EliminatedRow>,
    point: TrendPoint,
    trend: Vec<TrendPoint>,
}

/// Derive each household's status this month from last month's (read from
/// the store) and the decisions on record; monitored households missing
/// from the roster are carried with a 数据问题 row.
#[allow(clippy::too_many_arguments)]
fn derive_month(
    tx: &history::Tx,
    plan: &Plan,
    rs: &RuleSet,
    month_key: &str,
    households: &[Household],
    expenses: &[crate::model::Expense],
    assessments: &[Assessment],
    issues: &mut Vec<DataIssue>,
    alongside: Option<history::BeforeReading>,
) -> Result<Derived> {
    let history::Before {
        prev,
        decisions,
        own,
        declines,
    } = tx.before(month_key, alongside)?;
    // Only a household with a standing 不纳入 compares its records.
    let expense_keys = expense_keys_by_household(expenses, |hh| declines.contains_key(hh));
    let statuses: Vec<MonthStatus> = households
        .iter()
        .zip(assessments)
        .map(|(h, a)| {
            let decline = declines.get(h.id.as_str());
            let worse = decline.and_then(|d| {
                let now = evidence_now(a, expense_keys.get(h.id.as_str()));
                d.evidence
                    .worse(&now, rs.review.decline_margin, |r| rs.lower_is_worse(r))
            });
            derive(&DeriveInput {
                prev: prev.get(h.id.as_str()),
                prev_decision: decisions.get(h.id.as_str()),
                own_decision: own.get(h.id.as_str()),
                decline,
                worse,
                month: month_key,
                // 未脱贫户 are warned and listed on their own, never monitored.
                at_risk: a.at_risk() && h.hh_type != HouseholdType::Poor,
                preset_monitored: h.hh_type.already_monitored(),
                no_labour: h.labor == Some(0),
                stable_months: rs.elimination.stable_months,
            })
        })
        .collect();
    drop(expense_keys);
    // Monitored or eliminated households missing from this month's roster
    // stay in the ledger with their last status (弥勒 一、（四）
    // “不得在系统中作剔除处理”), noted as 户减少.
    // The roster is sorted by 户编号 (validate): found by binary search.
    debug_assert!(households.is_sorted_by(|a, b| a.id <= b.id));
    let on_roster = |id: &str| {
        households
            .binary_search_by(|h| h.id.as_str().cmp(id))
            .is_ok()
    };
    let mut missing: Vec<(&compact_str::CompactString, &history::Prev)> = prev
        .iter()
        .filter(|(id, p)| {
            (p.status.under_review() || p.status == Status::Eliminated) && !on_roster(id.as_str())
        })
        .collect();
    missing.sort_by(|a, b| a.0.cmp(b.0));
    let known = tx.last_known(
        &missing
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>(),
    )?;
    let roster_file = plan.inputs.households.path.display().to_string();
    let mut absent: Vec<(Household, Assessment, MonthStatus)> = Vec::new();
    for (id, p) in &missing {
        if p.status.under_review() {
            issues.push(DataIssue {
                loc: crate::error::Location::file(&roster_file),
                value: id.to_string(),
                severity: "存疑",
                reason: format!(
                    "监测户 {id}（{} 为“{}”）本月不在农户信息中，台账中保留其上月状态并注明户减少，请核实是否迁出、死亡或合户",
                    p.month,
                    p.status.label()
                ),
            });
        }
        // Carried from the store (row 0: not read this month).
        let Some(h) = known.get(id.as_str()).cloned() else {
            continue;
        };
        let mut st = derive(&DeriveInput {
            prev: Some(p),
            prev_decision: decisions.get(id.as_str()),
            own_decision: own.get(id.as_str()),
            decline: None,
            worse: None,
            month: month_key,
            at_risk: false,
            preset_monitored: false,
            no_labour: true, // no suggestion for a household not seen this month
            stable_months: rs.elimination.stable_months,
        });
        st.quiet_months = p.quiet_months;
        if st.status == Status::NotMonitored {
            continue; // decided 不纳入: nothing to carry
        }
        absent.push((h, Assessment::empty(), st));
    }
    let eliminated = tx.eliminations(month_key)?;
    let all_st = || statuses.iter().chain(absent.iter().map(|x| &x.2));
    let point = TrendPoint {
        month: month_key.to_string(),
        monitored: all_st().filter(|s| s.status.monitored()).count() as i64,
        new: all_st()
            .filter(|s| s.status == Status::NewlyIncluded)
            .count() as i64,
        warned: all_st().filter(|s| s.status.pending()).count() as i64,
        eliminated: statuses
            .iter()
            .zip(households.iter())
            .filter(|(s, h)| {
                s.status == Status::Eliminated
                    && prev
                        .get(h.id.as_str())
                        .is_some_and(|p| p.status != Status::Eliminated)
            })
            .count() as i64,
    };
    let mut trend = tx.trend_before(month_key)?;
    trend.push(point.clone());
    // Last month's statuses are let go here, before last month's
    // roster is walked (a province's largest moment).
    Ok(Derived {
        own,
        statuses,
        absent,
        eliminated,
        point,
        trend,
    })
}

/// What every report of the month is written with, beside its lists.
struct ReportJob<'a> {
    rs: &'a RuleSet,
    plan: &'a Plan,
    month: chrono::NaiveDate,
    month_key: &'a str,
    forms: &'a crate::forms::Forms,
    /// The folder the outputs are written to before they are published.
    dir: &'a Path,
    run_id: &'a str,
    households_read: usize,
    expenses: &'a [crate::model::Expense],
    own: &'a std::collections::HashMap<String, history::Decision>,
    eliminated: &'a [history::EliminatedRow],
    changes: &'a [history::Change],
    /// Opened once the month is stored, when that is done beside the
    /// reports: until then one core is the store's (see [`Gate`]).
    store_written: Option<&'a Gate>,
}

/// Until it is opened, one report worker fewer runs. The store is written
/// on one thread; shared evenly among it and two report workers on two
/// cores it got two thirds of a core and, at 2,000,000 households, went on
/// alone for 16 s after the reports were done. With the gate the store has
/// a core to itself and the reports take both once it is written.
#[derive(Default)]
struct Gate {
    open: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        while !*open {
            open = self.opened.wait(open).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Opens the gate when dropped: also when writing the store failed or
    /// panicked, so no worker waits for ever.
    fn opens_on_drop(&self) -> impl Drop + '_ {
        struct Opener<'g>(&'g Gate);
        impl Drop for Opener<'_> {
            fn drop(&mut self) {
                *self.0.open.lock().unwrap_or_else(|e| e.into_inner()) = true;
                self.0.opened.notify_all();
            }
        }
        Opener(self)
    }
}

/// Every workbook of the month, summary.json and the run's mark, written
/// to `job.dir`.
fn write_reports(
    job: &ReportJob,
    p: Prepared,
    trend: Vec<TrendPoint>,
    members: &[crate::model::Member],
) -> Result<Summary> {
    let out = &job.plan.out;
    let Prepared {
        rows,
        poor,
        declined: declined_rows,
        years,
        issues,
        jump,
        reading,
    } = p;
    let ReportReading {
        supports,
        entry,
        proposals,
        overrides,
    } = reading;
    let mut ctx = ReportCtx::new(job.rs, job.month, members, job.expenses);
    ctx.supports = supports;
    ctx.entry = entry;
    ctx.forms = job.forms;
    let outputs = write_outputs(
        job.dir,
        &ctx,
        &rows,
        (job.own, &proposals, &job.plan.public),
        &ledger::LedgerData {
            rows: &rows,
            poor: &poor,
            declined: &declined_rows,
            overrides: &overrides,
            eliminated: job.eliminated,
            changes: job.changes,
            trend: &trend,
            years: &years,
            households_read: job.households_read,
            issues: &issues,
        },
        job.store_written,
    )
    .map_err(|e| shown_in_place(e, job.dir, &out.join(job.month_key)))?;
    let mut summary = build_summary(
        job.month_key,
        job.rs,
        (job.households_read, job.expenses.len()),
        &rows,
        &issues,
        job.eliminated,
        job.changes,
        trend,
        outputs,
    );
    summary.warnings.extend(jump);
    summary.counts.poor_warned = poor.len();
    summary.counts.declined = declined_rows.len();
    let entries: Vec<crate::calendar::Entry> = rows
        .iter()
        .map(|r| crate::calendar::Entry {
            township: &r.h.township,
            status: r.st.status,
            pending_months: r.st.pending_months,
            decided: job.own.contains_key(r.h.id.as_str()),
        })
        .collect();
    summary.calendar = crate::calendar::CalendarOut {
        due: crate::calendar::due_dates(&job.rs.review.calendar, job.month),
        waiting: crate::calendar::waiting(&entries, None, None),
    };
    summary.poor_households = poor.iter().map(household_out).collect();
    let file = SummaryFile {
        summary: &summary,
        households: Listed(&rows),
        poor_households: &summary.poor_households,
    };
    write_json(&job.dir.join(SUMMARY_FILE), &file).map_err(|e| MonitorError::Output {
        path: out.join(job.month_key).join(SUMMARY_FILE),
        msg: format!("写 summary.json 时出错（技术信息：{e}）"),
    })?;
    let mark = job.dir.join(RUN_MARK);
    std::fs::write(&mark, job.run_id).map_err(|e| MonitorError::Output {
        path: mark.clone(),
        msg: crate::error::io_detail(&e),
    })?;
    Ok(summary)
}

/// The month's households with their assessments and statuses, and those
/// carried from last month though not on the roster.
struct Subjects<'a> {
    data: &'a MonthData,
    assessments: &'a [Assessment],
    statuses: &'a [MonthStatus],
    absent: &'a [(Household, Assessment, MonthStatus)],
}

impl<'a> Subjects<'a> {
    fn of(
        data: &'a MonthData,
        assessments: &'a [Assessment],
        statuses: &'a [MonthStatus],
        absent: &'a [(Household, Assessment, MonthStatus)],
    ) -> Self {
        Subjects {
            data,
            assessments,
            statuses,
            absent,
        }
    }

    /// Each household with its assessment and status, and whether it is
    /// carried (not on this month's roster).
    fn all(&self) -> impl Iterator<Item = (&'a Household, &'a Assessment, &'a MonthStatus, bool)> {
        let present = self
            .data
            .households
            .iter()
            .zip(self.assessments)
            .zip(self.statuses);
        let carried = self.absent.iter().map(|(h, a, st)| ((h, a), st));
        present
            .map(|x| (x, false))
            .chain(carried.map(|x| (x, true)))
            .map(|(((h, a), st), absent)| (h, a, st, absent))
    }

    /// Households on the reports' lists (the ledger's, 未脱贫户 warned, 不纳入).
    fn listed(&self) -> usize {
        self.all()
            .filter(|(h, a, st, _)| on_lists(h, a, st))
            .count()
    }
}

fn on_lists(h: &Household, a: &Assessment, st: &MonthStatus) -> bool {
    in_ledger(st) || (h.hh_type == HouseholdType::Poor && a.at_risk())
}

/// In the monitoring procedure, eliminated, or held back by a 不纳入: the
/// ledger's households and its 不纳入 list.
fn in_ledger(st: &MonthStatus) -> bool {
    st.status.under_review() || matches!(st.status, Status::Eliminated | Status::Declined)
}

/// What the reports are written from.
struct Prepared<'a> {
    /// The ledger's households: monitored first (by 乡镇, 村, 户编号),
    /// eliminated ones after them.
    rows: Vec<RiskRow<'a>>,
    /// 未脱贫户 that triggered (listed on their own).
    poor: Vec<RiskRow<'a>>,
    declined: Vec<RiskRow<'a>>,
    years: Vec<crate::report::stats::YearLine>,
    issues: Vec<DataIssue>,
    /// A sudden jump in the share warned.
    jump: Option<String>,
    reading: ReportReading,
}

impl Prepared<'_> {
    /// The members of the listed households, copied.
    fn listed_members(&self, members: &[crate::model::Member]) -> Vec<crate::model::Member> {
        let all = self.rows.iter().chain(&self.poor).chain(&self.declined);
        let ids: rustc_hash::FxHashSet<&str> = all.map(|r| r.h.id.as_str()).collect();
        members
            .iter()
            .filter(|m| ids.contains(m.hh_id.as_str()))
            .cloned()
            .collect()
    }
}

fn risk_row<'a>(
    rs: &'a RuleSet,
    (h, a, st, absent): (&'a Household, &'a Assessment, &'a MonthStatus, bool),
) -> RiskRow<'a> {
    let (class, risk) = class_label(rs, h.hh_type);
    RiskRow {
        h,
        a,
        class,
        risk,
        st,
        absent,
    }
}

/// The reports' lists and what they read from the store (none of which the
/// month's own writing changes: gathered before or after it alike).
fn prepare_reports<'a>(
    tx: &history::Tx,
    plan: &Plan,
    rs: &'a RuleSet,
    month_key: &str,
    on: &Subjects<'a>,
    own: &std::collections::HashMap<String, history::Decision>,
) -> Result<Prepared<'a>> {
    let (mut rows, declined): (Vec<RiskRow>, Vec<RiskRow>) = on
        .all()
        .filter(|(_, _, st, _)| in_ledger(st))
        .map(|x| risk_row(rs, x))
        .partition(|r| r.st.status != Status::Declined);
    rows.sort_by(|a, b| {
        (
            a.st.status == Status::Eliminated,
            &a.h.township,
            &a.h.village,
            &a.h.id,
        )
            .cmp(&(
                b.st.status == Status::Eliminated,
                &b.h.township,
                &b.h.village,
                &b.h.id,
            ))
    });
    let poor: Vec<RiskRow> = on
        .all()
        .filter(|(h, a, _, absent)| !absent && h.hh_type == HouseholdType::Poor && a.at_risk())
        .map(|x| risk_row(rs, x))
        .collect();
    let monitored_ids: std::collections::HashSet<&str> = rows
        .iter()
        .filter(|r| r.st.status.under_review())
        .map(|r| r.h.id.as_str())
        .collect();
    let years = crate::report::stats::by_tuopin_year(
        &on.data.households,
        on.assessments,
        &monitored_ids,
        rs.statistics.county_income_growth,
    );
    let mut issues = issues_with_unassessed(on.data, on.assessments);
    let jump = share_jump(&tx.previous_share(month_key)?, on.assessments);
    if let Some(w) = &jump {
        issues.insert(
            0,
            DataIssue {
                loc: crate::error::Location::file(
                    plan.inputs.households.path.display().to_string(),
                ),
                value: String::new(),
                severity: "存疑",
                reason: w.clone(),
            },
        );
    }
    let all_rows = rows.iter().chain(&poor).chain(&declined);
    let reading = ReportReading {
        supports: tx.supports(month_key)?,
        entry: entry_causes(tx, month_key, all_rows)?,
        proposals: tx.proposals(month_key)?,
        overrides: override_lines(own),
    };
    Ok(Prepared {
        rows,
        poor,
        declined,
        years,
        issues,
        jump,
        reading,
    })
}

/// What the reports read from the history store: read before this month
/// is written (none of it is written by the month's run).
struct ReportReading {
    supports: std::collections::HashMap<String, crate::measures::Support>,
    entry: std::collections::HashMap<String, Vec<String>>,
    proposals: std::collections::HashMap<String, crate::decide::Levels>,
    overrides: Vec<ledger::OverrideLine>,
}

/// The causes each listed household showed in the month it was taken into
/// monitoring (its 纳入监测时间 this month): this month's own causes when
/// that is this month, else the stored row of that month.
fn entry_causes<'r>(
    tx: &history::Tx,
    month_key: &str,
    rows: impl Iterator<Item = &'r RiskRow<'r>>,
) -> Result<std::collections::HashMap<String, Vec<String>>> {
    let mut entry = std::collections::HashMap::new();
    let mut earlier: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        match r.st.identified.as_deref() {
            Some(m) if m == month_key => {
                entry.insert(r.h.id.to_string(), r.a.causes());
            }
            Some(m) => earlier.push((r.h.id.as_str(), m)),
            None => {}
        }
    }
    entry.extend(tx.causes_in(&earlier)?);
    Ok(entry)
}

/// Whether this month is stored and its reports written side by side (two
/// cores busy instead of one while the store is written). Memory decides:
/// the reports then hold their own data beside all the month's records that
/// storing holds. A county (up to half a million households: a few hundred
/// MB in all) always; a larger run only when few households are listed —
/// with a quarter of a province's 2 million listed, one after the other
/// keeps it under 2 GB (README, 规模和性能).
/// `MONITOR_SIDE_BY_SIDE=1` or `0` decides it instead (for the tests and
/// the benchmark, which compare the two).
fn side_by_side(listed: usize, households: usize) -> bool {
    match std::env::var("MONITOR_SIDE_BY_SIDE").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => households <= COUNTY_SIZE || listed.saturating_mul(5) <= households,
    }
}

/// Households of the largest county (the largest in China have about half a
/// million): below this a whole month stays well under 1 GB.
const COUNTY_SIZE: usize = 500_000;

/// This month's conclusions recorded past a gate (reasons from 备注).
fn override_lines(
    own: &std::collections::HashMap<String, history::Decision>,
) -> Vec<ledger::OverrideLine> {
    let mut v: Vec<ledger::OverrideLine> = own
        .values()
        .filter_map(|d| {
            let levels: crate::decide::Levels = serde_json::from_str(d.levels.as_deref()?).ok()?;
            Some(
                levels
                    .overrides
                    .into_iter()
                    .map(move |(gate, reason)| ledger::OverrideLine {
                        hh_id: d.hh_id.clone(),
                        decision: d.decision.clone(),
                        gate,
                        reason,
                        by: d.by.clone(),
                        at: d.at.clone(),
                    }),
            )
        })
        .flatten()
        .collect();
    v.sort_by(|a, b| (&a.hh_id, &a.gate).cmp(&(&b.hh_id, &b.gate)));
    v
}

/// Keys of the expense records in this month's inputs of each household
/// `wanted` names.
fn expense_keys_by_household(
    expenses: &[crate::model::Expense],
    wanted: impl Fn(&str) -> bool,
) -> std::collections::HashMap<&str, Vec<String>> {
    let mut m: std::collections::HashMap<&str, Vec<String>> = Default::default();
    for e in expenses.iter().filter(|e| wanted(&e.hh_id)) {
        m.entry(e.hh_id.as_str()).or_default().push(e.key());
    }
    for v in m.values_mut() {
        v.sort();
        v.dedup();
    }
    m
}

/// (户编号, key) of every expense record this month, each once: built when
/// they are stored, not held through the run.
fn expense_records(expenses: &[crate::model::Expense]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = expenses
        .iter()
        .map(|e| (e.hh_id.clone(), e.key()))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// What a household shows this month, to compare with a standing 不纳入.
fn evidence_now(a: &Assessment, expenses: Option<&Vec<String>>) -> Evidence {
    Evidence {
        rules: a
            .triggers
            .iter()
            .map(|t| (t.rule_id.to_string(), t.measured.map(|m| format!("{m:.2}"))))
            .collect(),
        per_capita: a.per_capita.map(|d| format!("{d:.2}")),
        expenses: expenses.cloned().unwrap_or_default(),
    }
}

/// An output error names the file where the clerk will look for it, not
/// the temporary folder it was being written in.
fn shown_in_place(e: MonitorError, tmp: &Path, final_dir: &Path) -> MonitorError {
    match e {
        MonitorError::Output { path, msg } => MonitorError::Output {
            path: path
                .strip_prefix(tmp)
                .map(|rel| final_dir.join(rel))
                .unwrap_or(path),
            msg,
        },
        other => other,
    }
}

/// Read the month's inputs and assess every household. `counted`, asked
/// once the inputs are read: expense records a count-once rule counted in
/// an earlier month (key → month), from the store.
fn read_and_assess(
    plan: &Plan,
    rs: &RuleSet,
    month: chrono::NaiveDate,
    counted: impl FnOnce() -> Result<std::collections::HashMap<String, String>>,
    progress: &Progress,
) -> Result<(MonthData, Vec<Assessment>)> {
    let mut data = load_month(&plan.inputs, &rs.load_options(), |m| progress.stage(m))?;
    let counted = counted()?;
    if !counted.is_empty() {
        for e in &mut data.expenses {
            e.counted_in = counted.get(&e.key()).cloned();
        }
    }
    if rs.needs_income()
        && !data.households.is_empty()
        && data.households.iter().all(|h| h.income.is_none())
    {
        return Err(MonitorError::input(
            crate::error::Location::file(plan.inputs.households.path.display().to_string()),
            if plan.inputs.income.is_some() {
                "所有农户都没有可用的收入数据（收入表中的户编号与农户信息不符，或金额无法识别）"
                    .to_string()
            } else {
                "农户信息表中没有收入列（工资性收入、生产经营性收入、财产性收入、转移性收入），也未配置收入文件（--income）".to_string()
            },
        ));
    }
    progress.start("风险测算", data.households.len() as u64);
    let assessments = assess_all(
        rs,
        month,
        &data.households,
        &data.expenses,
        &data.members,
        || progress.inc(),
    );
    Ok((data, assessments))
}

/// What `monitor check` found: the inputs read, and their problems.
pub struct CheckReport {
    pub households: usize,
    pub members: usize,
    pub expenses: usize,
    pub at_risk: usize,
    pub issues: Vec<DataIssue>,
}

/// Read and assess a month without touching the store or the outputs, so
/// township staff can check their exports before the monthly run.
pub fn check(plan: &Plan, quiet: bool) -> Result<CheckReport> {
    let m = plan.month;
    let progress = Progress::new(quiet);
    let rs = RuleSet::load(&plan.rules)?;
    rs.check_month(m)?;
    let (data, assessments) = read_and_assess(plan, &rs, m, || Ok(Default::default()), &progress)?;
    progress.finish();
    Ok(CheckReport {
        households: data.households.len(),
        members: data.members.len(),
        expenses: data.expenses.len(),
        at_risk: assessments.iter().filter(|a| a.at_risk()).count(),
        issues: issues_with_unassessed(&data, &assessments),
    })
}

/// A share of households warned far above last month's usually means an
/// input was read wrongly (a column lost, amounts in 万元): say so loudly.
fn share_jump(prev: &Option<(String, i64, i64)>, assessments: &[Assessment]) -> Option<String> {
    let (month, households, warned) = prev.as_ref()?;
    if *households == 0 || assessments.is_empty() {
        return None;
    }
    let now = assessments.iter().filter(|a| a.at_risk()).count() as f64 / assessments.len() as f64;
    let before = *warned as f64 / *households as f64;
    (now >= 2.0 * before && now - before >= 0.10).then(|| {
        format!(
            "本月触发预警的户占 {:.1}%，而 {month} 只占 {:.1}%：比例突然大幅升高，常见原因是某个收入列没有读到或金额单位不一致。请先核对输入表和“数据问题”，确认无误后再上报",
            now * 100.0,
            before * 100.0
        )
    })
}

fn issues_with_unassessed(data: &MonthData, assessments: &[Assessment]) -> Vec<DataIssue> {
    let mut issues = data.issues.clone();
    // A rule no household could be assessed on is one problem of the file
    // (a column missing), not one per household.
    let mut count: std::collections::BTreeMap<&str, usize> = Default::default();
    for a in assessments {
        for n in &a.not_assessed {
            *count.entry(n.as_str()).or_default() += 1;
        }
    }
    let everyone =
        |n: &str| data.households.len() > 1 && count.get(n) == Some(&data.households.len());
    for (n, c) in &count {
        if everyone(n) {
            issues.push(DataIssue {
                loc: data.roster.clone(),
                value: String::new(),
                severity: "存疑",
                reason: format!("全部 {c} 户都未能测算 {n}（表中没有该列或都未填写）"),
            });
        }
    }
    for (h, a) in data.households.iter().zip(assessments) {
        for n in a.not_assessed.iter().filter(|n| !everyone(n)) {
            issues.push(DataIssue {
                loc: crate::error::Location {
                    row: (h.row > 0).then_some(h.row),
                    ..data.roster.clone()
                },
                value: h.id.to_string(),
                severity: "存疑",
                reason: format!("未能测算 {n}"),
            });
        }
    }
    issues
}

/// Write a value as pretty JSON straight to a file (a county's summary is
/// tens of MB: it is not built as one string first).
fn write_json(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer_pretty(&mut w, value)?;
    w.write_all(b"\n")?;
    w.flush()
}

/// Write the six workbooks into `dir`; returns the output file names.
fn write_outputs(
    dir: &Path,
    ctx: &ReportCtx,
    rows: &[RiskRow],
    (own, proposals, public): (
        &std::collections::HashMap<String, history::Decision>,
        &std::collections::HashMap<String, crate::decide::Levels>,
        &crate::report::public::PublicSettings,
    ),
    ledger_data: &ledger::LedgerData,
    gate: Option<&Gate>,
) -> Result<Vec<String>> {
    use crate::report::public;
    let rs = ctx.rs;
    let at_risk: Vec<RiskRow> = rows.iter().filter(|r| r.a.at_risk()).copied().collect();
    // 附件4 for every household that triggered and every 监测户 (measures so far).
    let supported: Vec<RiskRow> = rows
        .iter()
        .filter(|r| r.a.at_risk() || r.st.status.monitored())
        .copied()
        .collect();
    let (returning, others): (Vec<&RiskRow>, Vec<&RiskRow>) = rows
        .iter()
        .filter(|r| r.st.status.under_review())
        .partition(|r| r.class == rs.labels.returning);
    let f5 = annex::review_file_returning(rs);
    let f6 = annex::review_file_new(rs);
    let f1 = annex::application_file(rs, true);
    let f2 = annex::application_file(rs, false);
    let (new_returning, new_others): (Vec<RiskRow>, Vec<RiskRow>) = rows
        .iter()
        .filter(|r| r.st.status.pending() && r.st.pending_months <= 1)
        .partition(|r| r.class == rs.labels.returning);
    // The workbooks are independent: write them on all cores, biggest first.
    // A large county's per-household forms continue in more files.
    let more = std::sync::Mutex::new(Vec::new());
    let parts = |r: Result<Vec<PathBuf>>| -> Result<()> {
        for p in r?.iter().skip(1) {
            if let (Ok(mut m), Some(n)) = (more.lock(), p.file_name()) {
                m.push(n.to_string_lossy().to_string());
            }
        }
        Ok(())
    };
    let jobs: Vec<(&str, Job)> = vec![
        (
            "附件3-1",
            Box::new(|| {
                parts(annex::write_survey(
                    ctx,
                    &at_risk,
                    &dir.join(annex::FILE_SURVEY),
                ))
            }),
        ),
        (
            "附件3-2",
            Box::new(|| {
                parts(annex::write_budget(
                    ctx,
                    &at_risk,
                    &dir.join(annex::FILE_BUDGET),
                ))
            }),
        ),
        (
            "附件4",
            Box::new(|| {
                parts(annex::write_measures(
                    ctx,
                    &supported,
                    &dir.join(annex::FILE_MEASURES),
                ))
            }),
        ),
        (
            "台账",
            Box::new(|| ledger::write(ctx, ledger_data, &dir.join(ledger::FILE))),
        ),
        (
            "附件5",
            Box::new(|| annex::write_review(ctx, &returning, true, &dir.join(&f5))),
        ),
        (
            "附件6",
            Box::new(|| annex::write_review(ctx, &others, false, &dir.join(&f6))),
        ),
        (
            "附件1",
            Box::new(|| {
                parts(annex::write_application(
                    ctx,
                    &new_returning,
                    true,
                    &dir.join(&f1),
                ))
            }),
        ),
        (
            "附件2",
            Box::new(|| {
                parts(annex::write_application(
                    ctx,
                    &new_others,
                    false,
                    &dir.join(&f2),
                ))
            }),
        ),
        (
            "公示",
            Box::new(|| {
                public::write_notice(
                    ctx,
                    rows,
                    own,
                    proposals,
                    public,
                    &dir.join(public::FILE_NOTICE),
                )
            }),
        ),
        (
            "乡镇月报",
            Box::new(|| {
                public::write_town_report(ctx, rows, own, &dir.join(public::FILE_TOWN_REPORT))
            }),
        ),
    ];
    run_parallel(jobs, gate)?;
    let mut names = vec![
        ledger::FILE.to_string(),
        f1,
        f2,
        annex::FILE_SURVEY.to_string(),
        annex::FILE_BUDGET.to_string(),
        annex::FILE_MEASURES.to_string(),
        f5,
        f6,
        public::FILE_NOTICE.to_string(),
        public::FILE_TOWN_REPORT.to_string(),
        SUMMARY_FILE.to_string(),
    ];
    let mut more = more.into_inner().unwrap_or_default();
    more.sort();
    names.extend(more);
    Ok(names)
}

/// The month's people are in the store now; the forms list the members
/// of households that triggered or are in the procedure only. The others
/// are let go before the forms are written (a province's seven million
/// members are most of what a run holds).
fn keep_listed_members(
    members: &mut Vec<crate::model::Member>,
    households: &[Household],
    assessments: &[Assessment],
    statuses: &[MonthStatus],
) {
    let listed: rustc_hash::FxHashSet<&str> = households
        .iter()
        .zip(assessments)
        .zip(statuses)
        .filter(|((_, a), st)| a.at_risk() || st.status != Status::NotMonitored)
        .map(|((h, _), _)| h.id.as_str())
        .collect();
    members.retain(|m| listed.contains(m.hh_id.as_str()));
    members.shrink_to_fit();
}

type Job<'j> = Box<dyn FnOnce() -> Result<()> + Send + 'j>;

/// Run independent jobs on the available cores; the first error wins.
/// The jobs on one worker per core, the last worker only once `gate` (if
/// any) is open.
fn run_parallel(jobs: Vec<(&str, Job)>, gate: Option<&Gate>) -> Result<()> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len())
        .max(1);
    let queue = std::sync::Mutex::new(jobs.into_iter());
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|i| {
                let queue = &queue;
                s.spawn(move || loop {
                    if i + 1 == workers {
                        if let Some(g) = gate {
                            g.wait();
                        }
                    }
                    let job = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                    let Some((name, job)) = job else {
                        return Ok(());
                    };
                    let t = std::time::Instant::now();
                    job()?;
                    crate::phases::job(name, t.elapsed().as_secs_f64());
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(MonitorError::Output {
                        path: PathBuf::new(),
                        msg: "生成报表的线程意外中止".into(),
                    })
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

#[allow(clippy::too_many_arguments)]
fn build_summary(
    month_key: &str,
    rs: &RuleSet,
    (households_read, expense_records): (usize, usize),
    rows: &[RiskRow],
    issues: &[DataIssue],
    eliminated: &[history::EliminatedRow],
    changes: &[history::Change],
    trend: Vec<TrendPoint>,
    outputs: Vec<String>,
) -> Summary {
    let at_risk: Vec<&RiskRow> = rows.iter().filter(|r| r.a.at_risk()).collect();
    let mut counts = Counts {
        households_read,
        risk_households: at_risk.len(),
        risk_people: at_risk.iter().map(|r| r.h.size).sum(),
        monitored: rows.iter().filter(|r| r.st.status.monitored()).count(),
        warned: rows.iter().filter(|r| r.st.status.pending()).count(),
        eliminated_total: eliminated.len(),
        natural_changes: changes.len(),
        data_issues: issues.len(),
        rows_skipped: issues.iter().filter(|i| i.severity == "已跳过").count(),
        expense_records,
        ..Default::default()
    };
    for r in rows {
        *counts
            .by_monitoring_status
            .entry(r.status().to_string())
            .or_default() += 1;
        if r.st.status.monitored() {
            *counts.by_status.entry(r.class.to_string()).or_default() += 1;
        }
        if r.st.status.pending() {
            *counts
                .warned_by_class
                .entry(r.class.to_string())
                .or_default() += 1;
        }
        for c in r.a.causes() {
            *counts.by_cause.entry(c).or_default() += 1;
        }
    }
    Summary {
        month: month_key.to_string(),
        ruleset: RulesetOut {
            id: rs.meta.id.clone(),
            locality: rs.meta.locality.clone(),
            document: rs.meta.document.clone(),
            file: rs.path.display().to_string(),
        },
        counts,
        trend,
        outputs,
        warnings: Vec::new(),
        calendar: Default::default(),
        poor_households: Vec::new(),
    }
}

/// One household of summary.json.
fn household_out(r: &RiskRow) -> HouseholdOut {
    let s = |d: Option<Decimal>| d.map(|d| format!("{d:.2}"));
    HouseholdOut {
        household_id: r.h.id.to_string(),
        head_name: r.h.head_name.to_string(),
        township: r.h.township.to_string(),
        village: r.h.village.to_string(),
        household_type: r.h.hh_type.label().to_string(),
        status: r.class.to_string(),
        risk: r.risk.to_string(),
        monitoring_status: r.status().to_string(),
        identified_month: r.st.identified.map(|x| x.to_string()),
        eliminated_month: r.st.eliminated.map(|x| x.to_string()),
        elimination_method: r.st.method.map(|x| x.to_string()),
        months_without_warning: r.st.quiet_months,
        first_warned_month: r.st.first_warned.map(|x| x.to_string()),
        months_pending: r.st.pending_months,
        declined_month: r.st.declined.map(|x| x.to_string()),
        note: r.st.note.map(|x| x.to_string()),
        on_roster: !r.absent,
        size: r.h.size,
        causes: r.a.causes(),
        per_capita_net_income: s(r.a.per_capita),
        triggers: r
            .a
            .triggers
            .iter()
            .map(|t| TriggerOut {
                rule_id: t.rule_id.to_string(),
                causes: t.causes.iter().map(|c| c.to_string()).collect(),
                measured: s(t.measured),
                threshold: s(t.threshold),
                basis: t.basis.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Member;

    #[test]
    fn one_report_worker_waits_while_the_store_is_written_and_none_for_ever() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let (running, most, done) = (
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        );
        let jobs = || -> Vec<(&str, Job)> {
            (0..6)
                .map(|_| {
                    let job: Job = Box::new(|| {
                        let now = running.fetch_add(1, SeqCst) + 1;
                        most.fetch_max(now, SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, SeqCst);
                        done.fetch_add(1, SeqCst);
                        Ok(())
                    });
                    ("作业", job)
                })
                .collect()
        };
        let gate = Gate::default();
        std::thread::scope(|s| {
            let reports = s.spawn(|| run_parallel(jobs(), Some(&gate)));
            // The store's writing ends (here: with an error) once every job
            // is done by the one worker let run meanwhile.
            let stored: Result<()> = {
                let _open = gate.opens_on_drop();
                while done.load(SeqCst) < 6 {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(MonitorError::Internal("写入失败".into()))
            };
            assert!(stored.is_err());
            reports.join().unwrap().unwrap();
        });
        assert_eq!(most.load(SeqCst), 1);
        // Without a gate every core works at once.
        most.store(0, SeqCst);
        run_parallel(jobs(), None).unwrap();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(most.load(SeqCst) <= cores.min(6));
        assert_eq!(done.load(SeqCst), 12);
    }

    #[test]
    fn a_county_is_stored_beside_its_reports_a_province_only_when_few_are_listed() {
        assert!(side_by_side(40_000, 100_000), "a county at any share");
        assert!(side_by_side(258_000, 2_000_000), "a province, 13% listed");
        assert!(!side_by_side(637_000, 2_000_000), "a province, 32% listed");
    }

    #[test]
    fn a_household_not_assessed_is_named_by_its_roster_row() {
        let hh = |id: &str, row: u32| Household {
            id: id.into(),
            row,
            ..Default::default()
        };
        let roster = crate::error::Location {
            file: "农户.xlsx".into(),
            sheet: Some("Sheet1".into()),
            row: None,
            col: None,
        };
        let data = MonthData {
            roster: roster.clone(),
            households: vec![hh("A", 7), hh("B", 9)],
            members: Vec::new(),
            expenses: Vec::new(),
            issues: Vec::new(),
        };
        let mut missing = Assessment::empty();
        missing.not_assessed.push("两不愁三保障：缺少饮水".into());
        let issues = issues_with_unassessed(&data, &[Assessment::empty(), missing]);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].value, "B");
        let want = crate::error::Location {
            row: Some(9),
            ..roster
        };
        assert_eq!(issues[0].loc.to_string(), want.to_string());
    }

    #[test]
    fn the_forms_keep_the_members_of_every_listed_household() {
        let hh = |id: &str| Household {
            id: id.into(),
            ..Default::default()
        };
        let member = |hh: &str, name: &str| Member {
            hh_id: hh.into(),
            name: name.into(),
            id_no: Default::default(),
            relation: Default::default(),
            health: Default::default(),
        };
        // A triggered this month; B is monitored without a trigger; C is
        // neither, and appears on no form.
        let households = [hh("A"), hh("B"), hh("C")];
        let mut warned = Assessment::empty();
        warned.triggers.push(crate::assess::Trigger {
            rule_id: "r".into(),
            rule_name: "收入偏低".into(),
            causes: vec!["收入偏低".into()],
            measured: None,
            threshold: None,
            basis: String::new(),
        });
        let assessments = [warned, Assessment::empty(), Assessment::empty()];
        let statuses = [
            MonthStatus::default(),
            MonthStatus {
                status: Status::Continuing,
                ..Default::default()
            },
            MonthStatus::default(),
        ];
        assert_eq!(statuses[0].status, Status::NotMonitored);
        let mut members = vec![
            member("A", "甲"),
            member("C", "丙"),
            member("B", "乙"),
            member("A", "丁"),
        ];
        keep_listed_members(&mut members, &households, &assessments, &statuses);
        let kept: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(kept, vec!["甲", "乙", "丁"]);
    }
}

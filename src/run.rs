//! The monthly run: read → normalize → assess → write, with outputs built
//! in a temporary folder and moved into place only when complete.

use crate::assess::{assess_all, class_label, Assessment};
use crate::config::Plan;
use crate::error::{MonitorError, Result};
use crate::model::{DataIssue, MonthData};
use crate::normalize::parse_month;
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

impl Progress {
    pub fn new(quiet: bool) -> Self {
        let target = if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let pb = ProgressBar::with_draw_target(None, target);
        if let Ok(s) = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}") {
            pb.set_style(s.progress_chars("=> "));
        }
        Progress(pb)
    }
    pub fn hidden() -> Self {
        Progress(ProgressBar::hidden())
    }
    pub fn stage(&self, msg: &str) {
        self.0.set_message(msg.to_string());
        self.0.tick();
    }
    pub fn start(&self, msg: &str, len: u64) {
        self.0.set_length(len);
        self.0.set_position(0);
        self.stage(msg);
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
    pub size: u32,
    pub causes: Vec<String>,
    pub per_capita_net_income: Option<String>,
    pub triggers: Vec<TriggerOut>,
}

#[derive(Debug, Serialize, Default)]
pub struct Counts {
    pub households_read: usize,
    pub risk_households: usize,
    pub risk_people: u32,
    pub by_status: std::collections::BTreeMap<String, usize>,
    pub by_cause: std::collections::BTreeMap<String, usize>,
    pub data_issues: usize,
    pub rows_skipped: usize,
    pub expense_records: usize,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub month: String,
    pub ruleset: RulesetOut,
    pub counts: Counts,
    pub outputs: Vec<String>,
    pub households: Vec<HouseholdOut>,
}

#[derive(Debug, Serialize)]
pub struct RulesetOut {
    pub id: String,
    pub locality: String,
    pub document: String,
    pub file: String,
}

pub struct RunOptions {
    pub month: String,
    pub quiet: bool,
}

pub struct Outcome {
    pub dir: PathBuf,
    pub summary: Summary,
}

/// Run one month. Nothing under `<out>/<month>` changes unless everything
/// was written.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<Outcome> {
    let (month, _) = parse_month(&opts.month).map_err(MonitorError::Config)?;
    let month_key = month.format("%Y-%m").to_string();
    let progress = Progress::new(opts.quiet);
    progress.stage("读取规则");
    let rs = RuleSet::load(&plan.rules)?;
    rs.check_month(month)?;

    let data = load_month(&plan.inputs, |m| progress.stage(m))?;
    if rs.needs_income()
        && data.households.iter().all(|h| h.income.is_none())
        && !data.households.is_empty()
    {
        let has_income_file = plan.inputs.income.is_some();
        return Err(MonitorError::input(
            crate::error::Location::file(plan.inputs.households.path.display().to_string()),
            if has_income_file {
                "所有农户都没有可用的收入数据（收入表中的户编号与农户信息不符，或金额无法识别）"
                    .to_string()
            } else {
                "农户信息表中没有收入列（工资性收入、生产经营性收入、财产性收入、转移性收入），也未配置收入文件（--income）".to_string()
            },
        ));
    }
    progress.start("风险测算", data.households.len() as u64);
    let assessments = assess_all(&rs, month, &data.households, &data.expenses, || {
        progress.inc()
    });
    progress.stage("生成报表");
    let outcome = write_outputs(&plan.out, &month_key, month, &rs, &data, &assessments)?;
    progress.finish();
    Ok(outcome)
}

fn issues_with_unassessed(data: &MonthData, assessments: &[Assessment]) -> Vec<DataIssue> {
    let mut issues = data.issues.clone();
    for (h, a) in data.households.iter().zip(assessments) {
        for n in &a.not_assessed {
            issues.push(DataIssue {
                loc: h.source.clone(),
                value: h.id.clone(),
                severity: "存疑",
                reason: format!("未能测算 {n}"),
            });
        }
    }
    issues
}

fn write_outputs(
    out: &Path,
    month_key: &str,
    month: chrono::NaiveDate,
    rs: &RuleSet,
    data: &MonthData,
    assessments: &[Assessment],
) -> Result<Outcome> {
    let oerr = |p: &Path, e: std::io::Error| MonitorError::Output {
        path: p.to_path_buf(),
        msg: e.to_string(),
    };
    std::fs::create_dir_all(out).map_err(|e| oerr(out, e))?;
    recover(out, month_key).map_err(|e| oerr(out, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{month_key}.tmp-"))
        .tempdir_in(out)
        .map_err(|e| oerr(out, e))?;

    let mut rows: Vec<RiskRow> = data
        .households
        .iter()
        .zip(assessments)
        .filter(|(_, a)| a.at_risk())
        .map(|(h, a)| {
            let (class, risk) = class_label(rs, h.hh_type);
            RiskRow {
                h,
                a,
                class,
                risk,
                since: month_key.to_string(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (&a.h.township, &a.h.village, &a.h.id).cmp(&(&b.h.township, &b.h.village, &b.h.id))
    });
    let ctx = ReportCtx::new(rs, month, &data.members, &data.expenses);
    let issues = issues_with_unassessed(data, assessments);
    let dir = tmp.path();
    let (returning, others): (Vec<&RiskRow>, Vec<&RiskRow>) =
        rows.iter().partition(|r| r.class == rs.labels.returning);
    let f5 = annex::review_file_returning(rs);
    let f6 = annex::review_file_new(rs);
    // The workbooks are independent: write them on all cores, biggest first.
    let jobs: Vec<Job> = vec![
        Box::new(|| annex::write_survey(&ctx, &rows, &dir.join(annex::FILE_SURVEY))),
        Box::new(|| annex::write_budget(&ctx, &rows, &dir.join(annex::FILE_BUDGET))),
        Box::new(|| annex::write_measures(&ctx, &rows, &dir.join(annex::FILE_MEASURES))),
        Box::new(|| {
            ledger::write(
                &ctx,
                &rows,
                data.households.len(),
                &issues,
                &dir.join(ledger::FILE),
            )
        }),
        Box::new(|| annex::write_review(&ctx, &returning, true, &dir.join(&f5))),
        Box::new(|| annex::write_review(&ctx, &others, false, &dir.join(&f6))),
    ];
    run_parallel(jobs)?;

    let outputs = vec![
        ledger::FILE.to_string(),
        annex::FILE_SURVEY.to_string(),
        annex::FILE_BUDGET.to_string(),
        annex::FILE_MEASURES.to_string(),
        f5,
        f6,
        SUMMARY_FILE.to_string(),
    ];
    let summary = build_summary(month_key, rs, data, &rows, &issues, outputs);
    let json = serde_json::to_string_pretty(&summary).map_err(|e| MonitorError::Output {
        path: dir.join(SUMMARY_FILE),
        msg: e.to_string(),
    })?;
    std::fs::write(dir.join(SUMMARY_FILE), json + "\n")
        .map_err(|e| oerr(&dir.join(SUMMARY_FILE), e))?;

    let final_dir = out.join(month_key);
    publish(tmp.path(), &final_dir, out, month_key).map_err(|e| oerr(&final_dir, e))?;
    Ok(Outcome {
        dir: final_dir,
        summary,
    })
}

type Job<'j> = Box<dyn FnOnce() -> Result<()> + Send + 'j>;

/// Run independent jobs on the available cores; the first error wins.
fn run_parallel(jobs: Vec<Job>) -> Result<()> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len())
        .max(1);
    let queue = std::sync::Mutex::new(jobs.into_iter());
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| loop {
                    let job = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                    let Some(job) = job else { return Ok(()) };
                    job()?;
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

fn build_summary(
    month_key: &str,
    rs: &RuleSet,
    data: &MonthData,
    rows: &[RiskRow],
    issues: &[DataIssue],
    outputs: Vec<String>,
) -> Summary {
    let mut counts = Counts {
        households_read: data.households.len(),
        risk_households: rows.len(),
        risk_people: rows.iter().map(|r| r.h.size).sum(),
        data_issues: issues.len(),
        rows_skipped: issues.iter().filter(|i| i.severity == "已跳过").count(),
        expense_records: data.expenses.len(),
        ..Default::default()
    };
    for r in rows {
        *counts.by_status.entry(r.class.to_string()).or_default() += 1;
        for c in r.a.causes() {
            *counts.by_cause.entry(c).or_default() += 1;
        }
    }
    let s = |d: Option<Decimal>| d.map(|d| format!("{d:.2}"));
    Summary {
        month: month_key.to_string(),
        ruleset: RulesetOut {
            id: rs.meta.id.clone(),
            locality: rs.meta.locality.clone(),
            document: rs.meta.document.clone(),
            file: rs.path.display().to_string(),
        },
        counts,
        outputs,
        households: rows
            .iter()
            .map(|r| HouseholdOut {
                household_id: r.h.id.clone(),
                head_name: r.h.head_name.clone(),
                township: r.h.township.clone(),
                village: r.h.village.clone(),
                household_type: r.h.hh_type.label().to_string(),
                status: r.class.to_string(),
                risk: r.risk.to_string(),
                size: r.h.size,
                causes: r.a.causes(),
                per_capita_net_income: s(r.a.per_capita),
                triggers: r
                    .a
                    .triggers
                    .iter()
                    .map(|t| TriggerOut {
                        rule_id: t.rule_id.clone(),
                        causes: t.causes.clone(),
                        measured: s(t.measured),
                        threshold: s(t.threshold),
                        basis: t.basis.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn old_dir(out: &Path, month_key: &str) -> PathBuf {
    out.join(format!(".{month_key}.old"))
}

/// Undo what a run killed between the two renames of `publish` left, and
/// clear temporary folders of killed runs.
pub fn recover(out: &Path, month_key: &str) -> std::io::Result<()> {
    let final_dir = out.join(month_key);
    let old = old_dir(out, month_key);
    if old.exists() {
        if final_dir.exists() {
            std::fs::remove_dir_all(&old)?;
        } else {
            std::fs::rename(&old, &final_dir)?;
        }
    }
    if let Ok(rd) = std::fs::read_dir(out) {
        let prefix = format!(".{month_key}.tmp-");
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(())
}

/// Move the finished folder into place: the previous month's folder is set
/// aside first and removed only after the new one is in place.
fn publish(tmp: &Path, final_dir: &Path, out: &Path, month_key: &str) -> std::io::Result<()> {
    let old = old_dir(out, month_key);
    if final_dir.exists() {
        std::fs::rename(final_dir, &old)?;
    }
    if let Err(e) = std::fs::rename(tmp, final_dir) {
        if old.exists() {
            let _ = std::fs::rename(&old, final_dir);
        }
        return Err(e);
    }
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    Ok(())
}

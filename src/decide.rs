//! `monitor decide`: read a filled-in 研判表 (附件5/6) back, check every
//! conclusion and the review levels the locality requires (村级评议、公示、
//! 乡镇审核) against the store, record them with who and when as the
//! county's 审定, and re-render that month's outputs with them — in one
//! transaction, with the same crash guarantees as `run`. A file with any
//! wrong row records nothing.

use crate::error::{Location, MonitorError, Result};
use crate::history::{decision_applies, Decision, Open, Store, DECISIONS, METHODS};
use crate::ingest::{locate, read_grids, FieldSpec, Table};
use crate::normalize::{parse_ident, parse_month};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const SPECS: &[FieldSpec] = &[
    FieldSpec {
        key: "户编号",
        aliases: &["户编号", "户码"],
        required: true,
    },
    FieldSpec {
        key: "研判结论",
        aliases: &["研判结论", "研判意见"],
        required: true,
    },
    FieldSpec {
        key: "消除方式",
        aliases: &["消除方式", "风险消除方式"],
        required: false,
    },
    FieldSpec {
        key: "户主姓名",
        aliases: &["户主姓名", "户主"],
        required: false,
    },
    FieldSpec {
        key: "村级评议结果",
        aliases: &[
            "村级评议结果",
            "村组评议结果",
            "群众评议结果",
            "嘎查村评议结果",
        ],
        required: false,
    },
    FieldSpec {
        key: "村级评议日期",
        aliases: &["村级评议日期", "村组评议日期", "评议日期"],
        required: false,
    },
    FieldSpec {
        key: "公示开始日期",
        aliases: &["公示开始日期", "公示开始", "公示起始日期"],
        required: false,
    },
    FieldSpec {
        key: "公示结束日期",
        aliases: &["公示结束日期", "公示结束", "公示截止日期"],
        required: false,
    },
    FieldSpec {
        key: "乡镇审核意见",
        aliases: &["乡镇审核意见", "苏木乡镇审核意见", "乡镇审核"],
        required: false,
    },
    FieldSpec {
        key: "乡镇审核人",
        aliases: &["乡镇审核人", "审核人"],
        required: false,
    },
    FieldSpec {
        key: "乡镇审核日期",
        aliases: &["乡镇审核日期", "审核日期"],
        required: false,
    },
    FieldSpec {
        key: "备注",
        aliases: &["备注", "说明", "例外理由"],
        required: false,
    },
];

/// The review levels a row carries (stored with the decision as JSON).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Levels {
    pub village: Option<(String, String)>,
    pub notice: Option<(String, String)>,
    pub township: Option<(String, String, String)>,
    /// A gate passed on the strength of the row's 备注: (gate, reason).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<(String, String)>,
}

impl Levels {
    /// Read the levels of a row; `errors` gets one line per bad cell of a
    /// level that is `required`.
    fn read(
        t: &Table,
        row_no: u32,
        row: &[crate::ingest::Cell],
        required: &[String],
        min_days: Option<u32>,
        errors: &mut Vec<String>,
    ) -> Levels {
        let at = |k: &str| t.loc(row_no, Some(k)).to_string();
        let text = |k: &str| t.cell(row, k).text();
        let need = |level: &str| required.iter().any(|r| r == level);
        let date = |k: &str, level: &str, errors: &mut Vec<String>| -> Option<chrono::NaiveDate> {
            match crate::normalize::parse_date(t.cell(row, k)) {
                Ok(Some(d)) => Some(d),
                Ok(None) if need(level) => {
                    errors.push(format!(
                        "{}：{level}须填写{k}",
                        if t.has(k) { at(k) } else { at("研判结论") }
                    ));
                    None
                }
                Ok(None) => None,
                Err(e) => {
                    errors.push(format!("{}：{e}", at(k)));
                    None
                }
            }
        };
        let mut l = Levels::default();
        let vr = text("村级评议结果");
        let vd = date("村级评议日期", "村级评议", errors);
        if vr.is_empty() && need("村级评议") {
            errors.push(format!(
                "{}：须填写村级评议结果（本地规定纳入或消除须经村级评议）",
                if t.has("村级评议结果") {
                    at("村级评议结果")
                } else {
                    at("研判结论")
                }
            ));
        }
        if let (false, Some(d)) = (vr.is_empty(), vd) {
            l.village = Some((vr, d.to_string()));
        }
        let from = date("公示开始日期", "公示", errors);
        let to = date("公示结束日期", "公示", errors);
        if let (Some(a), Some(b)) = (from, to) {
            let days = (b - a).num_days() + 1;
            if days < 1 {
                errors.push(format!("{}：公示结束日期早于开始日期", at("公示结束日期")));
            } else if need("公示") && min_days.is_some_and(|m| days < i64::from(m)) {
                errors.push(format!(
                    "{}：公示只有 {days} 天，本地规定不少于 {} 天",
                    at("公示结束日期"),
                    min_days.unwrap_or(0)
                ));
            } else {
                l.notice = Some((a.to_string(), b.to_string()));
            }
        }
        let (op, by) = (text("乡镇审核意见"), text("乡镇审核人"));
        let td = date("乡镇审核日期", "乡镇审核", errors);
        if need("乡镇审核") {
            for (k, v) in [("乡镇审核意见", &op), ("乡镇审核人", &by)] {
                if v.is_empty() {
                    errors.push(format!(
                        "{}：须填写{k}（本地规定须经乡镇审核）",
                        if t.has(k) { at(k) } else { at("研判结论") }
                    ));
                }
            }
        }
        if let (false, false, Some(d)) = (op.is_empty(), by.is_empty(), td) {
            l.township = Some((op, by, d.to_string()));
        }
        l
    }

    fn is_empty(&self) -> bool {
        *self == Levels::default()
    }
}

pub struct DecideOutcome {
    pub month: String,
    pub recorded: usize,
    /// Conclusions the store already had (the same form recorded again).
    pub already: usize,
    /// Households whose 附件4 measures were recorded (changed).
    pub measures_recorded: usize,
    pub by_decision: BTreeMap<String, usize>,
    /// Months already run after `month`: they do not reflect these decisions yet.
    pub later_months: Vec<String>,
    /// Recorded, but worth a second look.
    pub warnings: Vec<String>,
}

/// Record the conclusions of `file` for the plan's month (the county's
/// 审定 by `by`) and re-render the month with them.
pub fn decide(
    plan: &crate::config::Plan,
    files: &[std::path::PathBuf],
    by: &str,
    quiet: bool,
) -> Result<DecideOutcome> {
    let month = plan.month.format("%Y-%m").to_string();
    let rs = crate::rules::RuleSet::load(&plan.rules)?;
    let mut store = Store::open(&plan.store)?;
    let tx = store.begin()?;
    let mut warnings = crate::run::recover(&plan.out, &tx)?;
    if tx.reader().run_id(&month)?.is_none() {
        return Err(MonitorError::Refused(format!(
            "{month} 还没有运行过监测，没有可研判的名单；请先运行 monitor run --month {month}"
        )));
    }
    let statuses = tx.statuses(&month)?;
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let mut read: Vec<(String, Vec<Arc<crate::ingest::Grid>>)> = Vec::new();
    for f in files {
        let grids = read_grids(f)?.into_iter().map(Arc::new).collect();
        read.push((f.display().to_string(), grids));
    }
    // 附件4 first: measures recorded with this submission count for the
    // 研判表's 帮扶消除 gate.
    let mut measures_recorded = 0;
    for (name, grids) in read
        .iter()
        .filter(|(_, g)| g.iter().any(|g| crate::measures::is_measure_form(g)))
    {
        let mut errors = Vec::new();
        let supports = crate::measures::read(name, grids, &mut errors);
        for id in supports.keys() {
            if !statuses.get(id).is_some_and(|o| o.status.under_review()) {
                errors.push(format!(
                    "{name}：户编号 {id} 在 {month} 不是监测户或预警户，不能记录帮扶措施"
                ));
            }
        }
        crate::measures::check(name, errors)?;
        measures_recorded += tx.record_supports(&month, &supports, by, &now, name)?;
    }
    let supports = tx.supports(&month)?;
    let mut decisions = Vec::new();
    for (name, grids) in read
        .iter()
        .filter(|(_, g)| !g.iter().any(|g| crate::measures::is_measure_form(g)))
    {
        let mut form = read_form(
            name,
            grids,
            &month,
            &statuses,
            &Gates {
                review: &rs.review,
                min_months_monitored: rs.elimination.min_months_monitored,
                supports: &supports,
            },
            &Signed { by, at: &now },
        )?;
        warnings.append(&mut form.warnings);
        decisions.append(&mut form.decisions);
        tx.record_proposals(&month, &form.proposals, by, &now, name)?;
    }
    for d in decisions.iter_mut().filter(|d| d.decision == "不纳入") {
        let e = tx.evidence(&month, &d.hh_id)?;
        d.evidence = serde_json::to_string(&e).ok();
    }
    let new = tx.record_decisions(&decisions)?;
    let later_months = tx.later_months(&month)?;
    crate::publish::fault_point("decide_recorded");
    let outcome = crate::run::month_in(plan, &rs, tx, None, warnings, later_months.clone(), quiet)?;
    crate::publish::fault_point("decide_after_commit");
    let mut by_decision = BTreeMap::new();
    for d in &decisions {
        *by_decision.entry(d.decision.clone()).or_default() += 1;
    }
    Ok(DecideOutcome {
        month,
        recorded: new,
        already: decisions.len() - new,
        measures_recorded,
        by_decision,
        later_months,
        warnings: outcome.warnings,
    })
}

/// Who records a form's conclusions, and when.
pub struct Signed<'a> {
    pub by: &'a str,
    pub at: &'a str,
}

/// What a filled 研判表 says, checked row by row.
pub struct Form {
    pub decisions: Vec<Decision>,
    /// Rows with 村级评议 (and 公示) filled but no conclusion yet: the
    /// households a village proposes (拟纳入/拟消除), for the 公示.
    pub proposals: Vec<(String, Levels)>,
    pub warnings: Vec<String>,
}

/// Read the conclusions of a filled 研判表 (`grids`, shown as `file`) for
/// `month`, against the statuses stored for that month. Any wrong row makes
/// the whole form an error listing every problem with sheet, row, column.
pub fn read_form(
    file: &str,
    grids: &[Arc<crate::ingest::Grid>],
    month: &str,
    statuses: &HashMap<String, Open>,
    rules: &Gates,
    signed: &Signed,
) -> Result<Form> {
    let mut warnings: Vec<String> = Vec::new();
    let tables: Vec<Table> = grids
        .iter()
        .filter_map(|g| locate(std::slice::from_ref(g), SPECS, None).ok())
        .collect();
    if tables.is_empty() {
        // Explain with the best candidate's missing columns.
        locate(grids, SPECS, None)?;
    }
    // The form says which month it is for (“2020年3月” under the title).
    for g in grids {
        for r in 0..g.rows.len().min(3) {
            for c in &g.rows[r] {
                if let Some(m) = month_in(&c.text()) {
                    if m != month {
                        return Err(MonitorError::input(
                            Location {
                                file: file.into(),
                                sheet: g.sheet.clone(),
                                row: Some(r as u32 + 1),
                                col: None,
                            },
                            format!("这是 {m} 的研判表，不是 {month} 的；请核对 --month 或文件"),
                        ));
                    }
                }
            }
        }
    }
    let mut errors: Vec<String> = Vec::new();
    let mut seen: HashMap<String, (String, String)> = HashMap::new();
    let mut proposals: Vec<(String, Levels)> = Vec::new();
    let mut decisions = Vec::new();
    for t in &tables {
        for (row_no, row) in t.iter() {
            let value = t.cell(row, "研判结论").text();
            let at = |key: &str| t.loc(row_no, Some(key)).to_string();
            if value.is_empty() {
                // Reviewed by the village, not yet decided: a proposal.
                if !t.cell(row, "村级评议结果").is_empty() {
                    if let Ok(Some(id)) = parse_ident(t.cell(row, "户编号")) {
                        let id = id.to_string();
                        if statuses.get(&id).is_some_and(|o| o.status.under_review()) {
                            let levels = Levels::read(t, row_no, row, &[], None, &mut errors);
                            proposals.push((id, levels));
                        } else {
                            errors.push(format!(
                                "{}：户编号 {id} 不在 {month} 的研判范围内",
                                at("户编号")
                            ));
                        }
                    }
                }
                continue;
            }
            let id = match parse_ident(t.cell(row, "户编号")) {
                Ok(Some(id)) => id.to_string(),
                Ok(None) => {
                    errors.push(format!("{}：填了研判结论但户编号为空", at("户编号")));
                    continue;
                }
                Err(e) => {
                    errors.push(format!("{}：{e}", at("户编号")));
                    continue;
                }
            };
            if !DECISIONS.contains(&value.as_str()) {
                errors.push(format!(
                    "{}：研判结论“{value}”不是 {}",
                    at("研判结论"),
                    DECISIONS.join("、")
                ));
                continue;
            }
            let (status, identified, open) = match statuses.get(&id) {
                None => {
                    errors.push(format!(
                        "{}：户编号 {id} 不在 {month} 的监测记录中",
                        at("户编号")
                    ));
                    continue;
                }
                Some(o) => (o.status, o.identified.clone(), o),
            };
            if !status.under_review() {
                errors.push(format!(
                    "{}：户编号 {id} 在 {month} 为“{}”，不在研判范围内",
                    at("户编号"),
                    status.label()
                ));
                continue;
            }
            if !decision_applies(&value, status) {
                let fits: Vec<&str> = DECISIONS
                    .iter()
                    .copied()
                    .filter(|d| decision_applies(d, status))
                    .collect();
                errors.push(format!(
                    "{}：户编号 {id} 为“{}”，研判结论只能是 {}",
                    at("研判结论"),
                    status.label(),
                    fits.join("、")
                ));
                continue;
            }
            let method = t.cell(row, "消除方式").text();
            let method = if value == "风险消除" {
                if !METHODS.contains(&method.as_str()) {
                    errors.push(format!(
                        "{}：选择“风险消除”时须填写消除方式（{}）",
                        if t.has("消除方式") {
                            at("消除方式")
                        } else {
                            at("研判结论")
                        },
                        METHODS.join("、")
                    ));
                    continue;
                }
                // Quality rule: 帮扶消除 within two months of identification is
                // unusual (measures take time): recorded, but pointed out.
                let months = identified.as_deref().and_then(|i| months_between(i, month));
                if method == "帮扶消除" && months.is_some_and(|n| n < 2) {
                    warnings.push(format!(
                        "{}：户编号 {id} 于 {} 纳入监测，{month} 即“帮扶消除”，不足2个月，请核实帮扶措施是否已落实",
                        at("消除方式"),
                        identified.as_deref().unwrap_or("")
                    ));
                }
                Some(method)
            } else {
                None
            };
            let review = rules.review;
            let required: &[String] = match value.as_str() {
                "纳入监测" => &review.include_requires,
                "风险消除" => &review.eliminate_requires,
                _ => &[],
            };
            let mut levels = Levels::read(
                t,
                row_no,
                row,
                required,
                review.min_notice_days,
                &mut errors,
            );
            if value == "风险消除" {
                let note = t.cell(row, "备注").text();
                let done = rules.supports.get(&id).is_some_and(|s| s.any_done());
                let gates = elimination_gates(
                    open,
                    method.as_deref(),
                    identified.as_deref(),
                    month,
                    rules,
                    done,
                );
                for gate in gates {
                    if note.is_empty() {
                        errors.push(format!(
                            "{}：户编号 {id} {gate}，不能“风险消除”；确有理由的，在“备注”列写明理由后重新提交（会列入例外清单）",
                            at("研判结论")
                        ));
                    } else {
                        levels.overrides.push((gate, note.clone()));
                    }
                }
            }
            let here = format!("{}!{}", t.sheet.clone().unwrap_or_default(), row_no);
            if let Some((prev_value, prev_at)) = seen.get(&id) {
                if *prev_value != value {
                    errors.push(format!(
                        "{}：户编号 {id} 在 {prev_at} 已填“{prev_value}”，两处结论不一致",
                        at("研判结论")
                    ));
                }
                continue;
            }
            seen.insert(id.clone(), (value.clone(), here.clone()));
            decisions.push(Decision {
                month: month.to_string(),
                hh_id: id,
                decision: value,
                method,
                by: signed.by.to_string(),
                at: signed.at.to_string(),
                source: format!("{}#{here}", file),
                evidence: None,
                levels: (!levels.is_empty())
                    .then(|| serde_json::to_string(&levels).ok())
                    .flatten(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(MonitorError::input(
            Location::file(file),
            format!(
                "研判表中有 {} 处错误，未记录任何结论：\n  {}",
                errors.len(),
                errors.join("\n  ")
            ),
        ));
    }
    if decisions.is_empty() && proposals.is_empty() {
        return Err(MonitorError::input(
            Location::file(file),
            "研判表中没有填写任何研判结论或村级评议",
        ));
    }

    Ok(Form {
        decisions,
        proposals,
        warnings,
    })
}

/// What a 研判表 is checked against from the rule file.
pub struct Gates<'a> {
    pub review: &'a crate::rules::Review,
    pub min_months_monitored: u32,
    /// Measures on record (including this submission's 附件4).
    pub supports: &'a HashMap<String, crate::measures::Support>,
}

/// Why 风险消除 should not be recorded for this household now (each gate
/// of issue “elimination gated”: still triggering, too soon, no labour).
fn elimination_gates(
    open: &Open,
    method: Option<&str>,
    identified: Option<&str>,
    month: &str,
    rules: &Gates,
    measure_done: bool,
) -> Vec<String> {
    let mut why = Vec::new();
    if method == Some("帮扶消除") && !measure_done {
        why.push("没有已落实的帮扶措施（附件4 落实时间未填），不能“帮扶消除”".to_string());
    }
    if open.at_risk {
        why.push(format!("{month} 仍触发预警规则"));
    }
    let months = identified.and_then(|i| months_between(i, month));
    if let Some(n) = months.filter(|n| *n < rules.min_months_monitored as i32) {
        why.push(format!(
            "纳入监测（{}）才 {n} 个月，未满 {} 个月",
            identified.unwrap_or(""),
            rules.min_months_monitored
        ));
    }
    if method == Some("帮扶消除") && open.labor == Some(0) {
        why.push("整户无劳动力，不宜“帮扶消除”".to_string());
    }
    why
}

/// Whole months from `from` to `to` (both `YYYY-MM`).
fn months_between(from: &str, to: &str) -> Option<i32> {
    use chrono::Datelike;
    let (a, _) = parse_month(from).ok()?;
    let (b, _) = parse_month(to).ok()?;
    Some((b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32)
}

/// The first “YYYY年M月” in a text, as `YYYY-MM`.
fn month_in(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for (i, ch) in chars.iter().enumerate() {
        if *ch != '年' || i < 4 {
            continue;
        }
        let year: String = chars[i - 4..i].iter().collect();
        let month: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if year.chars().all(|c| c.is_ascii_digit())
            && !month.is_empty()
            && chars.get(i + 1 + month.len()) == Some(&'月')
        {
            return parse_month(&format!("{year}-{month}"))
                .ok()
                .map(|(d, _)| d.format("%Y-%m").to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn month_in_titles() {
        assert_eq!(
            super::month_in("弥勒市  东乡 乡(镇)   2020年3月   监测标准").as_deref(),
            Some("2020-03")
        );
        assert_eq!(super::month_in("2020年12月").as_deref(), Some("2020-12"));
        assert_eq!(super::month_in("今年三月"), None);
    }
}

//! The annex forms of the 弥勒 2020 办法 (附件1–6) for this month's risk
//! households. Their layouts are data (`forms/*.toml`, see [`crate::forms`]);
//! this module names the files and gives each form its own fields.
//! Per-household forms put one household per printed page, one sheet per
//! 乡镇; the 研判表 (附件5, 6) have one sheet per 村.

use super::*;
use crate::forms::fields::{Fields, V};
use crate::normalize::fmt_money;

pub const FILE_SURVEY: &str = "附件3-1 返贫致贫风险户调查表.xlsx";
pub const FILE_BUDGET: &str = "附件3-2 致贫返贫风险户收支测算表.xlsx";
pub const FILE_MEASURES: &str = "附件4 致贫返贫风险户帮扶措施表.xlsx";

pub fn review_file_returning(rs: &RuleSet) -> String {
    format!("附件5 {}动态监测分析研判表.xlsx", rs.labels.returning)
}
pub fn review_file_new(rs: &RuleSet) -> String {
    format!("附件6 {}动态监测分析研判表.xlsx", rs.labels.new)
}

pub fn application_file(rs: &RuleSet, returning: bool) -> String {
    if returning {
        format!("附件1 {}申请书.xlsx", rs.labels.returning)
    } else {
        format!("附件2 {}申请书.xlsx", rs.labels.new)
    }
}

/// 附件1 / 附件2 申请书: a pre-filled letter for each household warned for
/// the first time, to be checked, signed (or thumb-printed) by the
/// household and kept in the 一户一档.
pub fn write_application(
    ctx: &ReportCtx,
    rows: &[RiskRow],
    returning: bool,
    path: &Path,
) -> Result<Vec<std::path::PathBuf>> {
    let l = &ctx.rs.labels;
    let (no, label) = if returning {
        ("附件1", &l.returning)
    } else {
        ("附件2", &l.new)
    };
    let month = ctx.month_cn();
    let extra = |f: &mut Fields| {
        f.text("附件号", no);
        f.text("表名", format!("{label}申请书"));
        f.text("申请类别", label.as_str());
        f.text(
            "无户说明",
            format!(
                "{month}没有首次预警的{label}（需要填写申请书的户）。本月触发预警的户都在 附件5/附件6 研判表 中。"
            ),
        );
    };
    crate::forms::write_households(ctx, &ctx.forms.application, rows, &extra, path)
}

fn titled<'a>(title: &'a str, ctx: &'a ReportCtx) -> impl Fn(&mut Fields) + 'a {
    let month = ctx.month_cn();
    move |f: &mut Fields| {
        f.text("表名", title);
        f.text("无户说明", format!("{month}没有触发预警的户"));
    }
}

/// 附件3-1 返贫致贫风险户调查表.
pub fn write_survey(
    ctx: &ReportCtx,
    rows: &[RiskRow],
    path: &Path,
) -> Result<Vec<std::path::PathBuf>> {
    let extra = titled("返贫致贫风险户调查表", ctx);
    crate::forms::write_households(ctx, &ctx.forms.survey, rows, &extra, path)
}

/// 附件3-2 致贫返贫风险户收支测算表: every derived amount is a formula
/// carrying the value it computes to.
pub fn write_budget(
    ctx: &ReportCtx,
    rows: &[RiskRow],
    path: &Path,
) -> Result<Vec<std::path::PathBuf>> {
    let extra = titled("致贫返贫风险户收支测算表", ctx);
    crate::forms::write_households(ctx, &ctx.forms.budget, rows, &extra, path)
}

/// 附件4 致贫返贫风险户帮扶措施表: measures on record, the rule file's
/// suggestions for this month's causes, and blank rows to add measures.
pub fn write_measures(
    ctx: &ReportCtx,
    rows: &[RiskRow],
    path: &Path,
) -> Result<Vec<std::path::PathBuf>> {
    let extra = titled("致贫返贫风险户帮扶措施表", ctx);
    crate::forms::write_households(ctx, &ctx.forms.measures, rows, &extra, path)
}

/// The causes as a letter says them: “因病、因学” → “因病、因学”, other
/// causes (收入偏低, 义务教育无保障) get one 因 in front, never two.
pub fn because(causes: &[String]) -> String {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| {
            if c.starts_with('因') {
                c.clone()
            } else {
                format!("因{c}")
            }
        })
        .collect();
    if parts.is_empty() {
        "因________".to_string()
    } else {
        parts.join("、")
    }
}

/// 附件5 / 附件6 动态监测分析研判表: one sheet per 村, a row per household
/// under review, dropdowns for 研判结论 and 消除方式. Filled in, the file
/// is read back by `monitor decide` (by its header names).
pub fn write_review(
    ctx: &ReportCtx,
    rows: &[&RiskRow],
    returning: bool,
    path: &Path,
) -> Result<()> {
    let (no, label) = if returning {
        ("附件5", ctx.rs.labels.returning.as_str())
    } else {
        ("附件6", ctx.rs.labels.new.as_str())
    };
    let el = &ctx.rs.elimination;
    let line = ctx.rs.income_line(ctx.month);
    let extra = |f: &mut Fields| {
        f.text("附件号", no);
        f.text("表名", format!("{label}动态监测分析研判表"));
        f.text(
            "属性列",
            if returning {
                "脱贫年度"
            } else {
                "户属性"
            },
        );
        f.text(
            "消除说明",
            format!(
                "建议消除：连续 {} 个月未触发预警（期限：{}；消除依据：{}）",
                el.stable_months, el.period_basis, el.citation.clause
            ),
        );
        f.set("监测标准", line.map_or(V::Absent("—"), V::Money));
        f.text("无户说明", format!("{}本月无{label}监测户", ctx.month_cn()));
        let _ = fmt_money;
    };
    crate::forms::write_villages(ctx, &ctx.forms.review, rows, returning, &extra, path)
}

#[cfg(test)]
mod tests {
    use super::because;

    #[test]
    fn one_yin_in_front_of_each_cause() {
        let c = |v: &[&str]| because(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(c(&["因学", "收入偏低"]), "因学、因收入偏低");
        assert_eq!(c(&["因意外事故"]), "因意外事故");
        assert_eq!(c(&[]), "因________");
    }
}

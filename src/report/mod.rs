//! Print-ready xlsx outputs: the risk ledger and the annex forms. Every
//! sheet is A4, bordered, fitted to the page width, with repeated header
//! rows and page numbers in the footer.

pub mod annex;
pub mod ledger;
pub mod public;
pub mod stats;

use crate::assess::Assessment;
use crate::error::{MonitorError, Result};
use crate::model::{Expense, Household, Member};
use crate::rules::RuleSet;
use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};
use std::collections::HashMap;
use std::path::Path;

/// What the report writers need about one monitored household.
#[derive(Clone, Copy)]
pub struct RiskRow<'a> {
    pub h: &'a Household,
    pub a: &'a Assessment,
    /// 监测类型 (e.g. 脱贫监测户 / 边缘户)
    pub class: &'a str,
    /// 风险属性 (返贫风险 / 致贫风险)
    pub risk: &'a str,
    /// Monitoring status this month, from the history.
    pub st: &'a crate::history::MonthStatus,
    /// Not on this month's roster: carried with its last status (户减少).
    pub absent: bool,
}

impl RiskRow<'_> {
    /// 纳入监测时间 (YYYY-MM) of the current monitoring spell.
    pub fn since(&self) -> &str {
        self.st.identified.as_deref().unwrap_or("")
    }
    /// 监测状态 (预警待研判 / 新纳入 / 持续监测 / 建议消除 / 返贫/再次预警 / 已消除).
    pub fn status(&self) -> &'static str {
        self.st.status.label()
    }
}

pub struct ReportCtx<'a> {
    pub rs: &'a RuleSet,
    pub month: NaiveDate,
    members: crate::model::ByHousehold<'a, Member>,
    expenses: crate::model::ByHousehold<'a, Expense>,
    /// Measures and 帮扶责任人 on record as of the month (附件4 read back).
    pub supports: HashMap<String, crate::measures::Support>,
    /// Causes in the month each monitored household was taken in (纳入).
    pub entry: HashMap<String, Vec<String>>,
    /// The form layouts (bundled, or the workspace's own).
    pub forms: &'a crate::forms::Forms,
}

impl<'a> ReportCtx<'a> {
    pub fn new(
        rs: &'a RuleSet,
        month: NaiveDate,
        members: &'a [Member],
        expenses: &'a [Expense],
    ) -> Self {
        let m = crate::model::ByHousehold::members(members);
        let e = crate::model::ByHousehold::expenses(expenses);
        ReportCtx {
            rs,
            month,
            members: m,
            expenses: e,
            supports: HashMap::new(),
            entry: HashMap::new(),
            forms: crate::forms::bundled(),
        }
    }

    pub fn support_of(&self, hh_id: &str) -> Option<&crate::measures::Support> {
        self.supports.get(hh_id)
    }

    pub fn entry_causes(&self, hh_id: &str) -> &[String] {
        self.entry.get(hh_id).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn members_of(&self, hh_id: &str) -> &[&'a Member] {
        self.members.get(hh_id)
    }

    pub fn expenses_of(&self, hh_id: &str) -> &[&'a Expense] {
        self.expenses.get(hh_id)
    }

    pub fn month_cn(&self) -> String {
        format!("{}年{}月", self.month.year(), self.month.month())
    }
}

pub const FONT: &str = "宋体";

pub struct Styles {
    pub title: Format,
    pub subtitle: Format,
    pub header: Format,
    pub text: Format,
    pub center: Format,
    pub wrap: Format,
    pub money: Format,
    pub int: Format,
    pub label: Format,
    pub sign: Format,
    pub note: Format,
}

impl Styles {
    pub fn new() -> Self {
        let base = Format::new().set_font_name(FONT).set_font_size(10.5);
        let cell = base
            .clone()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::VerticalCenter);
        Styles {
            title: base
                .clone()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            subtitle: base.clone().set_align(FormatAlign::VerticalCenter),
            header: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_background_color(0xEDEDED),
            // Text wraps: rows are sized from it where the writer knows it.
            text: cell.clone().set_text_wrap(),
            center: cell.clone().set_align(FormatAlign::Center).set_text_wrap(),
            wrap: cell.clone().set_text_wrap().set_align(FormatAlign::Top),
            money: cell.clone().set_num_format("#,##0.00"),
            int: cell
                .clone()
                .set_align(FormatAlign::Center)
                .set_num_format("0"),
            label: cell
                .clone()
                .set_bold()
                .set_align(FormatAlign::Center)
                .set_text_wrap(),
            sign: base
                .clone()
                .set_align(FormatAlign::VerticalCenter)
                .set_text_wrap(),
            note: base.set_font_size(9).set_text_wrap(),
        }
    }
}

impl Default for Styles {
    fn default() -> Self {
        Self::new()
    }
}

/// A4, orientation, fit to one page wide, repeated header rows, page
/// numbers "第 n 页，共 N 页".
pub fn page_setup(
    ws: &mut Worksheet,
    landscape: bool,
    repeat: Option<(u32, u32)>,
) -> Result<(), XlsxError> {
    ws.set_paper_size(9);
    if landscape {
        ws.set_landscape();
    } else {
        ws.set_portrait();
    }
    ws.set_print_fit_to_pages(1, 0);
    ws.set_margins(0.5, 0.5, 0.6, 0.7, 0.3, 0.3);
    ws.set_print_center_horizontally(true);
    ws.set_footer("&C第 &P 页，共 &N 页");
    if let Some((a, b)) = repeat {
        ws.set_repeat_rows(a, b)?;
    }
    Ok(())
}

/// A new workbook whose document properties do not depend on the clock,
/// so re-running a month writes the same bytes.
pub fn new_workbook(month: NaiveDate, title: &str) -> Workbook {
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(month.year() as u16, month.month() as u8, 1)
        .unwrap_or_else(|_| ExcelDateTime::from_ymd(2020, 1, 1).expect("valid date"));
    let props = DocProperties::new()
        .set_title(title)
        .set_author("monitor 防止返贫致贫监测")
        .set_creation_datetime(&created);
    wb.set_properties(&props);
    // Level 1 of 9: the fastest; files are about a fifth larger than at 6.
    wb.set_zip_compression_level(1);
    wb
}

pub fn save(wb: &mut Workbook, path: &Path) -> Result<()> {
    wb.save(path).map_err(|e| MonitorError::Output {
        path: path.to_path_buf(),
        msg: crate::error::xlsx_detail(&e),
    })
}

pub fn xerr(path: &Path) -> impl Fn(XlsxError) -> MonitorError + '_ {
    move |e| MonitorError::Output {
        path: path.to_path_buf(),
        msg: crate::error::xlsx_detail(&e),
    }
}

/// Money for a spreadsheet cell. `Decimal` is the value everywhere; the
/// conversion to a float happens only here, at the xlsx boundary.
pub fn money_f64(d: Decimal) -> f64 {
    crate::normalize::round2(d).to_f64().unwrap_or(0.0)
}

/// Excel sheet names from any text: at most 31 characters, none of
/// `[]:*?/\` or control characters, no `'` at either end, not "History",
/// and unique ignoring case (Excel compares names case-insensitively,
/// non-ASCII letters included).
pub fn sheet_name(base: &str, used: &mut Vec<String>) -> String {
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let clean: String = clean.trim_matches(['\'', ' ']).chars().take(28).collect();
    let clean = match clean.trim_matches('\'') {
        "" => "Sheet".to_string(),
        t if t.eq_ignore_ascii_case("history") => format!("{t}_"),
        t => t.to_string(),
    };
    let same = |a: &str, b: &str| a.to_lowercase() == b.to_lowercase();
    let mut name = clean.clone();
    let mut n = 2;
    while used.iter().any(|u| same(u, &name)) {
        name = format!("{clean}{n}");
        n += 1;
    }
    used.push(name.clone());
    name
}

/// Group risk rows by 乡镇 (sorted), in chunks small enough for Excel's
/// limit of 1023 manual page breaks per sheet.
pub fn by_township<'a, 'b>(
    rows: impl IntoIterator<Item = &'b RiskRow<'a>>,
    chunk: usize,
) -> Vec<(String, Vec<&'b RiskRow<'a>>)>
where
    'a: 'b,
{
    let mut groups: std::collections::BTreeMap<&str, Vec<&RiskRow>> = Default::default();
    for r in rows {
        groups.entry(r.h.township.as_str()).or_default().push(r);
    }
    let mut out = Vec::new();
    for (t, v) in groups {
        let parts = v.len().div_ceil(chunk);
        for (i, c) in v.chunks(chunk).enumerate() {
            let name = if parts > 1 {
                format!("{t}（{}）", i + 1)
            } else {
                t.to_string()
            };
            out.push((name, c.to_vec()));
        }
    }
    out
}

/// Row height (points) that shows `text` wrapped in a column `width`
/// characters wide at 10.5 pt (see [`crate::forms::render::wrapped_lines`]).
pub fn wrapped_height(text: &str, width: f64, min: f64) -> f64 {
    use crate::forms::render::{column_points, lines_height, wrapped_lines};
    let lines = wrapped_lines(text, column_points(width), 10.5);
    lines_height(lines, 10.5).max(min).min(409.0)
}

/// Height of a header row whose texts wrap in their columns.
pub fn header_height<S: AsRef<str>>(heads: &[S], widths: impl Fn(usize) -> f64) -> f64 {
    heads
        .iter()
        .enumerate()
        .map(|(i, h)| wrapped_height(h.as_ref(), widths(i), 20.0))
        .fold(20.0, f64::max)
}

/// Money in a bordered cell, or “未测算” when it could not be computed.
pub fn put_money(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    v: Option<Decimal>,
    st: &Styles,
) -> Result<(), XlsxError> {
    match v {
        Some(v) => ws.write_number_with_format(r, c, money_f64(v), &st.money)?,
        None => ws.write_string_with_format(r, c, "未测算", &st.center)?,
    };
    Ok(())
}

pub fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "是",
        Some(false) => "否",
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_clean_and_unique() {
        let mut used = Vec::new();
        assert_eq!(sheet_name("勐遮镇", &mut used), "勐遮镇");
        assert_eq!(sheet_name("勐遮镇", &mut used), "勐遮镇2");
        assert_eq!(sheet_name("a/b:c", &mut used), "a_b_c");
        assert!(sheet_name(&"长".repeat(40), &mut used).chars().count() <= 31);
        // Names Excel refuses, from 乡镇 names as typed.
        assert_eq!(sheet_name("'东乡'", &mut used), "东乡");
        assert_eq!(sheet_name("Ä镇", &mut used), "Ä镇");
        assert_eq!(sheet_name("ä镇", &mut used), "ä镇2");
        assert_eq!(sheet_name("History", &mut used), "History_");
        assert_eq!(sheet_name("\u{7}'", &mut used), "Sheet");
        let mut wb = rust_xlsxwriter::Workbook::new();
        for n in &used {
            wb.add_worksheet()
                .set_name(n)
                .expect("Excel accepts the name");
        }
    }
}

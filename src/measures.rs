//! 一帮扶: support measures read back from filled 附件4 pages (000 三（二）3
//! “逐户逐项制定并审定帮扶方案，建立监测动态管理台账”; 003 四 “一对一联系
//! 服务制度”). Each household page carries its 户编号, the 帮扶责任人 and a
//! measure table; rows a township filled in (unit, person, date, amount or
//! effect) are measures, untouched suggestions are not.

use crate::error::{Location, MonitorError, Result};
use crate::ingest::{Cell, Grid};
use crate::normalize::{header_key, parse_amount, parse_date, parse_ident};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The measure table's columns, as 附件4 prints them (header names).
pub const COLUMNS: [&str; 9] = [
    "序号",
    "针对风险",
    "措施类别",
    "具体措施",
    "责任单位",
    "责任人",
    "落实时间",
    "金额(元)",
    "成效",
];

/// One measure of a household.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    pub cause: String,
    pub category: String,
    pub detail: String,
    pub unit: String,
    pub person: String,
    /// 落实时间 (YYYY-MM-DD); a measure with one is 落实.
    pub done: Option<String>,
    pub amount: Option<String>,
    pub effect: String,
}

impl Measure {
    pub fn done(&self) -> bool {
        self.done.is_some()
    }
}

/// A household's measures and 帮扶责任人 as of a month.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Support {
    pub helper: String,
    pub phone: String,
    pub measures: Vec<Measure>,
}

impl Support {
    /// “N 项已落实：类别、类别” for the forms.
    pub fn summary(&self) -> String {
        let done: Vec<&Measure> = self.measures.iter().filter(|m| m.done()).collect();
        if done.is_empty() {
            return if self.measures.is_empty() {
                String::new()
            } else {
                format!("已制定 {} 项，未落实", self.measures.len())
            };
        }
        let mut cats: Vec<&str> = done.iter().map(|m| m.category.as_str()).collect();
        cats.dedup();
        format!("{} 项已落实：{}", done.len(), cats.join("、"))
    }

    pub fn any_done(&self) -> bool {
        self.measures.iter().any(Measure::done)
    }
}

/// Whether a sheet is a 附件4 (has the measure table header).
pub fn is_measure_form(g: &Grid) -> bool {
    g.rows.iter().any(|r| header_row(r).is_some())
}

/// The column of each measure-table header in a row, when it is one.
fn header_row(row: &[Cell]) -> Option<BTreeMap<&'static str, usize>> {
    let keys: Vec<String> = row.iter().map(|c| header_key(&c.text())).collect();
    let find = |name: &str| {
        let k = header_key(name);
        keys.iter().position(|x| x.starts_with(&k))
    };
    if find("措施类别").is_none() || find("具体措施").is_none() {
        return None;
    }
    Some(
        COLUMNS
            .iter()
            .filter_map(|c| find(c).map(|i| (*c, i)))
            .collect(),
    )
}

/// The cell right of the first cell whose text is `label` ("" when empty).
fn after(row: &[Cell], label: &str) -> Option<String> {
    let i = row.iter().position(|c| header_key(&c.text()) == label)?;
    Some(row.get(i + 1).map(Cell::text).unwrap_or_default())
}

/// Read the households' measures from 附件4 sheets; `errors` gets one line
/// per bad cell (file, sheet, row, column).
pub fn read(
    file: &str,
    grids: &[std::sync::Arc<Grid>],
    errors: &mut Vec<String>,
) -> BTreeMap<String, Support> {
    let mut out: BTreeMap<String, Support> = BTreeMap::new();
    for g in grids.iter().filter(|g| is_measure_form(g)) {
        let at = |r: usize, c: usize| {
            Location {
                file: file.into(),
                sheet: g.sheet.clone(),
                row: Some(r as u32 + 1),
                col: Some(c as u32),
            }
            .to_string()
        };
        let mut id: Option<String> = None;
        let mut cols: Option<BTreeMap<&'static str, usize>> = None;
        for (r, row) in g.rows.iter().enumerate() {
            if let Some(v) = after(row, "户编号").filter(|v| !v.is_empty()) {
                id = match parse_ident(&Cell::Text(v.as_str().into())) {
                    Ok(Some(x)) => Some(x.to_string()),
                    _ => {
                        errors.push(format!("{}：户编号“{v}”无法识别", at(r, 1)));
                        None
                    }
                };
                cols = None;
                if let Some(x) = &id {
                    out.entry(x.clone()).or_default();
                }
                continue;
            }
            if let (Some(x), Some(name)) = (&id, after(row, "帮扶责任人")) {
                let s = out.entry(x.clone()).or_default();
                s.helper = name;
                s.phone = after(row, "联系电话").unwrap_or_default();
                continue;
            }
            if let Some(h) = header_row(row) {
                cols = Some(h);
                continue;
            }
            let (Some(x), Some(c)) = (&id, &cols) else {
                continue;
            };
            if row.iter().any(|c| c.text().contains("签字")) {
                cols = None;
                continue;
            }
            if let Some(m) = read_row(row, c, &|k| at(r, c.get(k).copied().unwrap_or(0)), errors) {
                out.entry(x.clone()).or_default().measures.push(m);
            }
        }
    }
    // A page left as printed (no helper, no measure filled in) says nothing.
    out.retain(|_, s| *s != Support::default());
    out
}

/// One row of the measure table: a measure when the township filled in any
/// of unit, person, date, amount or effect.
fn read_row(
    row: &[Cell],
    cols: &BTreeMap<&'static str, usize>,
    at: &dyn Fn(&str) -> String,
    errors: &mut Vec<String>,
) -> Option<Measure> {
    let cell = |k: &str| {
        cols.get(k)
            .and_then(|i| row.get(*i))
            .cloned()
            .unwrap_or_default()
    };
    let text = |k: &str| cell(k).text();
    let filled = ["责任单位", "责任人", "落实时间", "金额(元)", "成效"]
        .iter()
        .any(|k| !cell(k).is_empty());
    if !filled || (text("措施类别").is_empty() && text("具体措施").is_empty()) {
        return None;
    }
    let done = match parse_date(&cell("落实时间")) {
        Ok(d) => d.map(|d| d.to_string()),
        Err(e) => {
            errors.push(format!("{}：{e}", at("落实时间")));
            None
        }
    };
    let amount = if cell("金额(元)").is_empty() {
        None
    } else {
        match parse_amount(&cell("金额(元)")) {
            Ok(v) => Some(format!("{:.2}", crate::normalize::round2(v))),
            Err(e) => {
                errors.push(format!("{}：{e}", at("金额(元)")));
                None
            }
        }
    };
    if text("措施类别").is_empty() {
        errors.push(format!(
            "{}：填了措施内容但没有选择措施类别",
            at("措施类别")
        ));
    }
    Some(Measure {
        cause: text("针对风险"),
        category: text("措施类别"),
        detail: text("具体措施"),
        unit: text("责任单位"),
        person: text("责任人"),
        done,
        amount,
        effect: text("成效"),
    })
}

/// Refuse a read that found problems, naming every cell.
pub fn check(file: &str, errors: Vec<String>) -> Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(MonitorError::input(
        Location::file(file),
        format!(
            "帮扶措施表中有 {} 处错误，未记录任何内容：\n  {}",
            errors.len(),
            errors.join("\n  ")
        ),
    ))
}

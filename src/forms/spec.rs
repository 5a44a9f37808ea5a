//! The layout of a form as data: a TOML file per form under `forms/`
//! (bundled with the program; a workspace may override any of them with
//! its own copy, see `monitor forms export`).
//!
//! A form is a list of rows, each a list of cells spanning columns. A cell
//! shows `text` (with `{字段}` placeholders), writes the typed `value` of a
//! field (money, count, percentage) or a `formula` whose `{@名称}` refer to
//! cells of the same block given a `name`. A row may repeat over a list
//! (`each = "成员"`, padded to `min` rows) or appear only `when` a field
//! has a value. Row heights grow from the text they hold.

use super::fields::{self, Scope};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FormSpec {
    /// What the form is (shown by `monitor forms list`).
    pub title: String,
    /// One block per household (附件1–4) or per 村 (研判表).
    pub unit: Unit,
    #[serde(default)]
    pub landscape: bool,
    /// Column widths in Excel character units.
    pub columns: Vec<f64>,
    /// Print scale in percent; `None` fits the columns to one page width.
    #[serde(default)]
    pub scale: Option<u16>,
    /// Columns before which a new printed page starts (0-based).
    #[serde(default)]
    pub column_breaks: Vec<u16>,
    /// Columns repeated on every printed page (count from column A).
    #[serde(default)]
    pub repeat_columns: u16,
    /// The row (by `name`) repeated at the top of every printed page, also
    /// the row the freeze panes and autofilter start from.
    #[serde(default)]
    pub header_row: Option<String>,
    /// Columns frozen left of the scrolling area.
    #[serde(default)]
    pub freeze_columns: u16,
    #[serde(default)]
    pub autofilter: bool,
    /// Footer text (Excel codes: &L left, &C centre, &R right).
    #[serde(default)]
    pub footer: String,
    pub rows: Vec<RowSpec>,
}

impl FormSpec {
    /// Whether some row repeats over the list `name` (`each = "…"`): the
    /// lists a form does not show are not built for it.
    pub fn uses_list(&self, name: &str) -> bool {
        self.rows.iter().any(|r| r.each.as_deref() == Some(name))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Household,
    Village,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RowSpec {
    /// Smallest height in points; the text may make it taller.
    #[serde(default = "default_height")]
    pub height: f64,
    /// Repeat this row for each item of a list field.
    #[serde(default)]
    pub each: Option<String>,
    /// With `each`: blank rows added up to this many.
    #[serde(default)]
    pub min: usize,
    /// With `each`: blank rows always added after the items.
    #[serde(default)]
    pub extra: usize,
    /// Only when this field has a value.
    #[serde(default)]
    pub when: Option<String>,
    /// A name for the row (see `header_row`).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub cells: Vec<CellSpec>,
}

fn default_height() -> f64 {
    15.0
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CellSpec {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub formula: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "one")]
    pub span: u16,
    #[serde(default)]
    pub style: Option<Style>,
    /// A dropdown of allowed entries (研判结论 / 消除方式).
    #[serde(default)]
    pub dropdown: Option<String>,
}

fn one() -> u16 {
    1
}

/// The cell styles a form may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    Title,
    Subtitle,
    Header,
    Label,
    Text,
    Center,
    Wrap,
    Money,
    Int,
    Pct,
    Sign,
    /// A line to sign or write on (bottom border only).
    Line,
    Letter,
    Note,
    /// The page mark (户编号, 本户第1页，共1页): small, right-aligned.
    Page,
}

impl Style {
    /// Font size in points.
    pub fn font_size(self) -> f64 {
        match self {
            Style::Title => 16.0,
            Style::Letter => 14.0,
            Style::Note | Style::Page => 9.0,
            _ => 10.5,
        }
    }
    /// Whether text wraps in the cell (heights are computed for these).
    pub fn wraps(self) -> bool {
        !matches!(
            self,
            Style::Title | Style::Page | Style::Int | Style::Money | Style::Pct
        )
    }
}

impl CellSpec {
    pub fn style(&self) -> Style {
        self.style
            .unwrap_or(if self.value.is_some() || self.formula.is_some() {
                Style::Center
            } else {
                Style::Text
            })
    }
}

/// What is wrong with a form file, in words for the clerk.
pub fn check(spec: &FormSpec, scope: Scope) -> Vec<String> {
    let mut errs = Vec::new();
    let width = spec.columns.len() as u16;
    if width == 0 {
        errs.push("columns 为空：至少要有一列".to_string());
    }
    if spec.columns.iter().any(|w| !(0.5..=255.0).contains(w)) {
        errs.push("columns 中的列宽应在 0.5 到 255 之间".to_string());
    }
    if let Some(s) = spec.scale.filter(|s| !(10..=400).contains(s)) {
        errs.push(format!("scale = {s}：打印比例应在 10 到 400 之间"));
    }
    let names: Vec<&str> = spec
        .rows
        .iter()
        .flat_map(|r| r.cells.iter().filter_map(|c| c.name.as_deref()))
        .collect();
    if let Some(h) = &spec.header_row {
        if !spec.rows.iter().any(|r| r.name.as_deref() == Some(h)) {
            errs.push(format!("header_row = \"{h}\"：没有叫这个名字的行"));
        }
    }
    for (i, row) in spec.rows.iter().enumerate() {
        let at = format!("第 {} 个 [[rows]]", i + 1);
        let list = row.each.as_deref();
        if let Some(l) = list {
            if !fields::is_list(scope, l) {
                errs.push(format!("{at}：each = \"{l}\" 不是可以逐项列出的内容"));
            }
        }
        if let Some(w) = &row.when {
            if !fields::known(scope, None, w) {
                errs.push(format!("{at}：when = \"{w}\" 不是已知字段"));
            }
        }
        if !(1.0..=409.0).contains(&row.height) {
            errs.push(format!("{at}：height 应在 1 到 409 磅之间"));
        }
        let used: u16 = row.cells.iter().map(|c| c.span.max(1)).sum();
        if used > width {
            errs.push(format!("{at}：各格 span 之和 {used} 超过列数 {width}"));
        }
        for c in &row.cells {
            for f in c.text.iter().flat_map(|t| placeholders(t)) {
                if !fields::known(scope, list, &f) {
                    errs.push(format!("{at}：text 中的 {{{f}}} 不是已知字段"));
                }
            }
            if let Some(v) = &c.value {
                if !fields::known(scope, list, v) {
                    errs.push(format!("{at}：value = \"{v}\" 不是已知字段"));
                }
            }
            for f in c.formula.iter().flat_map(|t| placeholders(t)) {
                if !fields::known(scope, list, &f) {
                    errs.push(format!("{at}：formula 中的 {{{f}}} 不是已知字段"));
                }
            }
            for r in c.formula.iter().flat_map(|t| references(t)) {
                if !names.contains(&r.as_str()) {
                    errs.push(format!("{at}：formula 中的 {{@{r}}} 没有对应 name 的格"));
                }
            }
            if let Some(d) = &c.dropdown {
                if fields::dropdown(d).is_none() {
                    errs.push(format!(
                        "{at}：dropdown = \"{d}\" 只能是 研判结论 或 消除方式"
                    ));
                }
            }
        }
    }
    errs
}

/// `{名}` placeholders of a text (not `{@名}` references).
/// `{名|空时}` names the field and what to show when it has no value.
pub fn placeholders(text: &str) -> Vec<String> {
    braces(text)
        .into_iter()
        .filter(|s| !s.starts_with('@'))
        .map(|s| s.split('|').next().unwrap_or("").to_string())
        .collect()
}

/// `{@名}` references of a formula.
pub fn references(text: &str) -> Vec<String> {
    braces(text)
        .into_iter()
        .filter_map(|s| s.strip_prefix('@').map(str::to_string))
        .collect()
}

fn braces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        out.push(rest[i + 1..i + j].to_string());
        rest = &rest[i + j + 1..];
    }
    out
}

/// Replace each `{名}` by `f(名)`; text outside braces is kept.
pub fn fill(text: &str, mut f: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        out.push_str(&rest[..i]);
        out.push_str(&f(&rest[i + 1..i + j]));
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_references() {
        assert_eq!(placeholders("户主：{户主姓名}，{@K}"), vec!["户主姓名"]);
        assert_eq!(placeholders("{证件号码|____}"), vec!["证件号码"]);
        assert_eq!(references("=SUM({@L}:{@P})"), vec!["L", "P"]);
        assert_eq!(fill("{a}-{b}", |k| k.to_uppercase()), "A-B");
        assert_eq!(fill("无{结尾", |_| String::new()), "无{结尾");
    }

    #[test]
    fn each_bundled_form_names_the_lists_it_repeats_over() {
        let forms = crate::forms::bundled();
        let lists = |spec: &FormSpec| -> Vec<&str> {
            ["成员", "支出", "预警", "措施", "户"]
                .into_iter()
                .filter(|l| spec.uses_list(l))
                .collect()
        };
        assert_eq!(lists(&forms.application.spec), Vec::<&str>::new());
        assert_eq!(lists(&forms.survey.spec), ["成员"]);
        assert_eq!(lists(&forms.budget.spec), ["支出", "预警"]);
        assert_eq!(lists(&forms.measures.spec), ["措施"]);
        assert_eq!(lists(&forms.review.spec), ["户"]);
    }
}

//! One small writer for every form: lays a block's rows out (repeated
//! rows, conditional rows, named cells for formulas), sizes each row from
//! the text it holds, and writes the block in row order (the sheets stream
//! to disk in constant-memory mode).

use super::fields::{Fields, V};
use super::spec::{fill, CellSpec, FormSpec, RowSpec, Style};
use super::Form;
use crate::error::Result;
use crate::report::{money_f64, new_workbook, save, sheet_name, xerr, FONT};
use rust_xlsxwriter::{
    DataValidation, Format, FormatAlign, FormatBorder, Formula, Workbook, Worksheet, XlsxError,
};
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

/// Width of a column in points (Excel: 7 px per character unit + 5 px).
pub fn column_points(width: f64) -> f64 {
    (width * 7.0 + 5.0) * 0.75
}

/// Width of text in points at a font size: CJK and full-width characters
/// take the font size, others about half of it.
pub fn text_points(text: &str, font: f64) -> f64 {
    text.chars()
        .map(|c| if (c as u32) < 0x2E80 { 0.6 } else { 1.0 })
        .sum::<f64>()
        * font
}

/// Lines `text` takes wrapped in `width` points.
pub fn wrapped_lines(text: &str, width: f64, font: f64) -> usize {
    let avail = (width - 4.0).max(font);
    text.split('\n')
        .map(|l| (text_points(l, font) / avail).ceil().max(1.0) as usize)
        .sum()
}

/// Row height (points) that shows `lines` lines of text at `font`, in
/// whole pixels (Excel stores row heights in pixels of 0.75 pt).
pub fn lines_height(lines: usize, font: f64) -> f64 {
    px(lines as f64 * font * 1.4 + 4.0)
}

/// One laid-out row: the spec row, and the list item it shows (`None` for
/// a row that is not repeated or a blank row added to a list).
struct Placed<'s, 'f> {
    spec: &'s RowSpec,
    item: Option<&'f Fields>,
    /// Position among the list's rows (0-based), for 序号 of blank rows.
    index: usize,
}

fn layout<'s, 'f>(spec: &'s FormSpec, f: &'f Fields) -> Vec<Placed<'s, 'f>> {
    let mut out = Vec::new();
    for row in &spec.rows {
        if let Some(w) = &row.when {
            if !f.get(w).is_some_and(V::present) {
                continue;
            }
        }
        match &row.each {
            None => out.push(Placed {
                spec: row,
                item: None,
                index: 0,
            }),
            Some(l) => {
                let items = f.lists.get(l.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                let n = items.len().max(row.min) + row.extra;
                for i in 0..n {
                    out.push(Placed {
                        spec: row,
                        item: items.get(i),
                        index: i,
                    });
                }
            }
        }
    }
    out
}

/// Where each named cell is: (first row, last row, column).
type Names<'s> = FxHashMap<&'s str, (u32, u32, u16)>;

fn names<'s>(rows: &[Placed<'s, '_>], r0: u32) -> Names<'s> {
    let mut out: Names = FxHashMap::default();
    for (i, p) in rows.iter().enumerate() {
        let r = r0 + i as u32;
        let mut c = 0u16;
        for cell in &p.spec.cells {
            if let Some(n) = &cell.name {
                out.entry(n.as_str())
                    .and_modify(|e| e.1 = r)
                    .or_insert((r, r, c));
            }
            c += cell.span.max(1);
        }
    }
    out
}

fn a1(row: u32, col: u16) -> String {
    let mut letters = String::new();
    let mut n = col as u32 + 1;
    while n > 0 {
        let m = (n - 1) % 26;
        letters.insert(0, (b'A' + m as u8) as char);
        n = (n - 1) / 26;
    }
    format!("{letters}{}", row + 1)
}

/// The cell formats of the styles.
pub struct Formats {
    by_style: HashMap<Style, Format>,
    /// A title centred across its span without a merge.
    title_across: Format,
    /// Unbordered styles without wrapping: a line of text that runs on
    /// into the empty cells beside it (wrapped text would stay in its cell).
    run_on: HashMap<Style, Format>,
}

impl Formats {
    pub fn new() -> Self {
        use Style::*;
        let base = Format::new().set_font_name(FONT).set_font_size(10.5);
        let cell = base
            .clone()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::VerticalCenter)
            .set_text_wrap();
        let center = cell.clone().set_align(FormatAlign::Center);
        let mut m = HashMap::new();
        m.insert(
            Title,
            base.clone()
                .set_bold()
                .set_font_size(Title.font_size())
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
        );
        m.insert(
            Subtitle,
            base.clone()
                .set_text_wrap()
                .set_align(FormatAlign::VerticalCenter),
        );
        m.insert(
            Header,
            center.clone().set_bold().set_background_color(0xEDEDED),
        );
        m.insert(Label, center.clone().set_bold());
        m.insert(Text, cell.clone());
        m.insert(Center, center.clone());
        m.insert(Wrap, cell.clone().set_align(FormatAlign::Top));
        m.insert(Money, cell.clone().set_num_format("#,##0.00"));
        m.insert(Int, center.clone().set_num_format("0"));
        m.insert(Pct, center.clone().set_num_format("0.00%"));
        m.insert(
            Sign,
            base.clone().set_text_wrap().set_align(FormatAlign::Bottom),
        );
        m.insert(
            Line,
            base.clone()
                .set_border_bottom(FormatBorder::Thin)
                .set_align(FormatAlign::Bottom),
        );
        m.insert(
            Letter,
            base.clone()
                .set_font_size(Letter.font_size())
                .set_text_wrap()
                .set_align(FormatAlign::Top)
                .set_align(FormatAlign::Left),
        );
        m.insert(
            Note,
            base.clone().set_font_size(Note.font_size()).set_text_wrap(),
        );
        m.insert(
            Page,
            base.set_font_size(Page.font_size())
                .set_font_color(0x555555)
                .set_align(FormatAlign::Right)
                .set_align(FormatAlign::VerticalCenter),
        );
        let title_across = m[&Title].clone().set_align(FormatAlign::CenterAcross);
        let run_on = [Subtitle, Sign, Note]
            .into_iter()
            .map(|st| (st, m[&st].clone().unset_text_wrap()))
            .collect();
        Formats {
            by_style: m,
            title_across,
            run_on,
        }
    }
    fn get(&self, s: Style) -> &Format {
        &self.by_style[&s]
    }
}

impl Default for Formats {
    fn default() -> Self {
        Self::new()
    }
}

/// What one cell shows: the form's own words and the fields' values are
/// borrowed, not copied for every household.
enum Content<'a> {
    Text(Cow<'a, str>),
    Value(Cow<'a, V>),
    Formula(String, Cow<'a, V>),
}

static ABSENT: V = V::Absent("");

fn lookup<'a>(
    f: &'a Fields,
    item: Option<&'a Fields>,
    index: usize,
    in_list: bool,
    k: &str,
) -> Cow<'a, V> {
    if let Some(v) = item.and_then(|i| i.get(k)) {
        return Cow::Borrowed(v);
    }
    if in_list && item.is_none() && k == "序号" {
        return Cow::Owned(V::Int(index as i64 + 1));
    }
    if in_list && item.is_none() {
        return Cow::Borrowed(&ABSENT);
    }
    Cow::Borrowed(f.get(k).unwrap_or(&ABSENT))
}

fn content<'a>(
    cell: &'a CellSpec,
    p: &Placed<'a, 'a>,
    f: &'a Fields,
    names: &Names,
) -> Content<'a> {
    let in_list = p.spec.each.is_some();
    let get = |k: &str| lookup(f, p.item, p.index, in_list, k);
    // `{名|空时}`: the field's words, or the given words when it has none.
    let words = |k: &str| {
        let (name, blank) = k.split_once('|').unwrap_or((k, ""));
        let v = get(name);
        if v.present() || blank.is_empty() {
            v.text()
        } else {
            blank.to_string()
        }
    };
    let value = cell.value.as_deref().map(get);
    if let Some(t) = &cell.formula {
        let text = fill(t, |k| {
            match k.strip_prefix('@').and_then(|n| names.get(n)) {
                Some((a, b, c)) if a == b => a1(*a, *c),
                Some((a, b, c)) => format!("{}:{}", a1(*a, *c), a1(*b, *c)),
                None => words(k),
            }
        });
        // A blank row added to a list has no formula to show.
        if in_list && p.item.is_none() {
            return Content::Text(Cow::Borrowed(""));
        }
        return Content::Formula(text, value.unwrap_or(Cow::Borrowed(&ABSENT)));
    }
    if let Some(v) = value {
        return Content::Value(v);
    }
    let t = cell.text.as_deref().unwrap_or("");
    if t.contains('{') {
        Content::Text(Cow::Owned(fill(t, words)))
    } else {
        Content::Text(Cow::Borrowed(t))
    }
}

/// Width in points of `span` columns from `col`.
fn span_points(spec: &FormSpec, col: u16, span: u16) -> f64 {
    (col..col + span.max(1))
        .filter_map(|i| spec.columns.get(i as usize))
        .map(|w| column_points(*w))
        .sum()
}

/// The height a placed row is given (its spec height, or more for its
/// text) and the least it needs to show its text.
fn row_height(spec: &FormSpec, p: &Placed, contents: &[(&CellSpec, u16, Content)]) -> (f64, f64) {
    let mut need: f64 = 0.0;
    for (cell, col, c) in contents {
        let style = cell.style();
        let text = match c {
            Content::Text(t) => Cow::Borrowed(t.as_ref()),
            Content::Value(v) | Content::Formula(_, v) => v.words(),
        };
        if text.is_empty() {
            continue;
        }
        let width = span_points(spec, *col, cell.span);
        let lines = if style.wraps() {
            wrapped_lines(&text, width, style.font_size())
        } else {
            1
        };
        need = need.max(lines_height(lines, style.font_size()));
    }
    let need = px(need.min(409.0));
    (px(p.spec.height.max(need).min(409.0)), need)
}

/// Up to a whole pixel (0.75 pt): Excel stores row heights in pixels.
fn px(points: f64) -> f64 {
    (points / 0.75).ceil() * 0.75
}

/// Heights that keep a block on one page: the room rows were given
/// beyond their text is taken back, in steps of a quarter, when the block
/// is too tall. The steps keep most pages at the form's own heights (the
/// sheet's default, which costs no memory per row).
fn fit_heights(sized: &[(f64, f64)], page: f64) -> Vec<f64> {
    let at = |keep: f64| -> Vec<f64> {
        // Whole pixels, rounded down, never below what the text needs.
        sized
            .iter()
            .map(|(h, n)| (((n + (h - n) * keep) / 0.75).floor() * 0.75).max(*n))
            .collect()
    };
    for keep in [1.0, 0.75, 0.5, 0.25] {
        let hs = at(keep);
        if hs.iter().sum::<f64>() <= page {
            return hs;
        }
    }
    at(0.0)
}

/// The height most of a block's rows have (the sheet's default row height).
pub fn usual_height(heights: &[f64]) -> Option<f64> {
    let mut counts: Vec<(f64, usize)> = Vec::new();
    for h in heights {
        match counts.iter_mut().find(|(x, _)| (*x - h).abs() < 0.01) {
            Some(c) => c.1 += 1,
            None => counts.push((*h, 1)),
        }
    }
    counts.into_iter().max_by_key(|c| c.1).map(|c| c.0)
}

/// A span of cells that needs no merge (a merge costs memory until the
/// workbook is saved): an unbordered line of text overflows into the empty
/// cells beside it, a title is centred across them, a line to sign on is a
/// bottom border on each. Returns false when the span must be merged.
fn write_unmerged(
    ws: &mut Worksheet,
    (r, c, last): (u32, u16, u16),
    style: Style,
    content: &Content,
    width: f64,
    fm: &Formats,
) -> Result<bool, XlsxError> {
    let one_line = |t: &str| !t.contains('\n') && text_points(t, style.font_size()) + 4.0 <= width;
    match (content, style) {
        (_, Style::Line) => {
            for k in c..=last {
                ws.write_blank(r, k, fm.get(Style::Line))?;
            }
        }
        (Content::Text(t), Style::Page) if one_line(t) => {
            ws.write_string_with_format(r, last, t.as_ref(), fm.get(Style::Page))?;
        }
        (Content::Text(t), Style::Subtitle | Style::Sign | Style::Note) if one_line(t) => {
            ws.write_string_with_format(r, c, t.as_ref(), &fm.run_on[&style])?;
        }
        (Content::Text(t), Style::Title) if one_line(t) => {
            ws.write_string_with_format(r, c, t.as_ref(), &fm.title_across)?;
            for k in c + 1..=last {
                ws.write_blank(r, k, &fm.title_across)?;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn write_cell(
    ws: &mut Worksheet,
    (r, c): (u32, u16),
    cell: &CellSpec,
    content: Content,
    width: f64,
    fm: &Formats,
) -> Result<(), XlsxError> {
    let style = cell.style();
    let last = c + cell.span.max(1) - 1;
    if last > c && write_unmerged(ws, (r, c, last), style, &content, width, fm)? {
        return Ok(());
    }
    let fmt_of = |v: &V| match v {
        V::Money(_) => fm.get(Style::Money),
        V::Int(_) => fm.get(Style::Int),
        V::Pct(_) => fm.get(Style::Pct),
        _ => fm.get(style),
    };
    let f = match &content {
        Content::Value(v) | Content::Formula(_, v) if style == Style::Center => fmt_of(v.as_ref()),
        _ => fm.get(style),
    };
    if last > c {
        if let Content::Text(t) = &content {
            ws.merge_range(r, c, r, last, t, f)?;
            return Ok(());
        }
        ws.merge_range(r, c, r, last, "", f)?;
    }
    match content {
        Content::Text(t) => ws.write_string_with_format(r, c, t, f)?,
        Content::Value(v) => match v.as_ref() {
            V::Money(d) | V::Pct(d) => {
                ws.write_number_with_format(r, c, money_or_ratio(&v, *d), f)?
            }
            V::Int(n) => ws.write_number_with_format(r, c, *n as f64, f)?,
            other => ws.write_string_with_format(r, c, other.words(), f)?,
        },
        Content::Formula(t, v) => {
            let result = match v.as_ref() {
                V::Money(d) | V::Pct(d) => money_or_ratio(&v, *d).to_string(),
                other => other.text(),
            };
            ws.write_formula_with_format(r, c, Formula::new(t).set_result(result), f)?
        }
    };
    Ok(())
}

fn money_or_ratio(v: &V, d: rust_decimal::Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    match v {
        V::Pct(_) => d.round_dp(4).to_f64().unwrap_or(0.0),
        _ => money_f64(d),
    }
}

/// What writing a block left to the sheet: the next free row, the row of
/// the named header row, and the rows of each dropdown column.
pub struct Block {
    pub next: u32,
    pub header: Option<u32>,
    pub dropdowns: Vec<(String, u16, u32, u32)>,
    /// The block's height in points (for the one-page check).
    pub height: f64,
    /// Each row's height.
    pub heights: Vec<f64>,
}

/// Write one block (a household's form, or a 村's table) from row `r0`.
pub fn write_block(
    ws: &mut Worksheet,
    spec: &FormSpec,
    f: &Fields,
    (r0, default_height): (u32, Option<f64>),
    fm: &Formats,
) -> Result<Block, XlsxError> {
    let rows = layout(spec, f);
    let names = names(&rows, r0);
    let mut block = Block {
        next: r0 + rows.len() as u32,
        header: None,
        dropdowns: Vec::new(),
        height: 0.0,
        heights: Vec::new(),
    };
    let mut laid = Vec::with_capacity(rows.len());
    for (i, p) in rows.iter().enumerate() {
        let r = r0 + i as u32;
        if p.spec.name.is_some() && p.spec.name == spec.header_row {
            block.header = Some(r);
        }
        let mut col = 0u16;
        let mut contents = Vec::with_capacity(p.spec.cells.len());
        for cell in &p.spec.cells {
            contents.push((cell, col, content(cell, p, f, &names)));
            if let Some(d) = &cell.dropdown {
                match block.dropdowns.iter_mut().find(|x| x.0 == *d && x.1 == col) {
                    Some(x) => x.3 = r,
                    None => block.dropdowns.push((d.clone(), col, r, r)),
                }
            }
            col += cell.span.max(1);
        }
        let h = row_height(spec, p, &contents);
        laid.push((h, contents));
    }
    let sized: Vec<(f64, f64)> = laid.iter().map(|(h, _)| *h).collect();
    let heights = if spec.unit == super::spec::Unit::Household {
        fit_heights(&sized, page_points(spec))
    } else {
        sized.iter().map(|(h, _)| *h).collect()
    };
    for (i, ((_, contents), h)) in laid.into_iter().zip(heights).enumerate() {
        let r = r0 + i as u32;
        block.height += h;
        block.heights.push(h);
        // The sheet's default height is not stored per row: a row's
        // settings cost memory until the workbook is saved.
        if default_height.is_none_or(|d| (d - h).abs() > 0.01) {
            ws.set_row_height(r, h)?;
        }
        for (cell, c, content) in contents {
            let width = span_points(spec, c, cell.span);
            // `{}` or `{ span = n }`: room left empty, without borders.
            let bare = cell.style.is_none()
                && cell.text.is_none()
                && cell.value.is_none()
                && cell.formula.is_none();
            if !bare {
                write_cell(ws, (r, c), cell, content, width, fm)?;
            }
        }
    }
    Ok(block)
}

/// A4 page setup from the spec; the footer's `{字段}` are filled from `f`.
pub fn page_setup(ws: &mut Worksheet, spec: &FormSpec, f: &Fields) -> Result<(), XlsxError> {
    ws.set_paper_size(9);
    if spec.landscape {
        ws.set_landscape();
    } else {
        ws.set_portrait();
    }
    match spec.scale {
        Some(s) => ws.set_print_scale(s),
        None => ws.set_print_fit_to_pages(1, 0),
    };
    ws.set_margins(0.5, 0.5, 0.6, 0.7, 0.3, 0.3);
    ws.set_print_center_horizontally(true);
    if !spec.footer.is_empty() {
        ws.set_footer(fill(&spec.footer, |k| {
            f.get(k).map(V::text).unwrap_or_default()
        }));
    }
    if !spec.column_breaks.is_empty() {
        let breaks: Vec<u32> = spec.column_breaks.iter().map(|c| *c as u32).collect();
        ws.set_vertical_page_breaks(&breaks)?;
    }
    if spec.repeat_columns > 0 {
        ws.set_repeat_columns(0, spec.repeat_columns - 1)?;
    }
    for (c, w) in spec.columns.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    Ok(())
}

/// Printable height of an A4 page in points at the form's scale, the
/// margins of `page_setup` taken off.
pub fn page_points(spec: &FormSpec) -> f64 {
    let (w, h) = if spec.landscape {
        (842.0, 595.0)
    } else {
        (595.0, 842.0)
    };
    // Margins, and a little room LibreOffice keeps for the footer.
    let usable_h = h - (0.6 + 0.7) * 72.0 - 6.0;
    let usable_w = w - (0.5 + 0.5) * 72.0;
    let scale = match spec.scale {
        Some(s) => s as f64 / 100.0,
        None => {
            let total: f64 = spec.columns.iter().map(|w| column_points(*w)).sum();
            (usable_w / total).min(1.0)
        }
    };
    usable_h / scale
}

/// Dropdown lists of a block's cells.
pub fn add_dropdowns(ws: &mut Worksheet, b: &Block) -> Result<(), XlsxError> {
    for (name, col, first, last) in &b.dropdowns {
        let Some(list) = super::fields::dropdown(name) else {
            continue;
        };
        let dv = DataValidation::new()
            .allow_list_strings(list)?
            .set_input_title(name)?
            .set_input_message(list.join(" / "))?;
        ws.add_data_validation(*first, *col, *last, *col, &dv)?;
    }
    Ok(())
}

/// A workbook with one sheet saying there is nothing this month.
pub fn write_empty(
    wb: &mut Workbook,
    form: &Form,
    f: &Fields,
    fm: &Formats,
) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name("本月无")?;
    let last = form.spec.columns.len().max(1) as u16 - 1;
    let title = f.get("表名").map(V::text).unwrap_or_default();
    let say = f.get("无户说明").map(V::text).unwrap_or_default();
    for (r, (t, s)) in [(title, Style::Title), (say, Style::Subtitle)]
        .into_iter()
        .enumerate()
    {
        if last > 0 {
            ws.merge_range(r as u32, 0, r as u32, last, "", fm.get(s))?;
        }
        ws.write_string_with_format(r as u32, 0, t, fm.get(s))?;
        ws.set_row_height(r as u32, 32)?;
    }
    page_setup(ws, &form.spec, f)
}

/// Name a new sheet, in constant-memory mode.
pub fn add_sheet<'w>(
    wb: &'w mut Workbook,
    name: &str,
    used: &mut Vec<String>,
) -> Result<&'w mut Worksheet, XlsxError> {
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name(sheet_name(name, used))?;
    Ok(ws)
}

pub fn workbook(ctx: &crate::report::ReportCtx, title: &str) -> Workbook {
    new_workbook(ctx.month, title)
}

pub fn save_to(wb: &mut Workbook, path: &Path) -> Result<()> {
    save(wb, path)
}

pub fn err(path: &Path) -> impl Fn(XlsxError) -> crate::error::MonitorError + '_ {
    xerr(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_names_and_widths() {
        assert_eq!(a1(0, 0), "A1");
        assert_eq!(a1(9, 27), "AB10");
        // 10 CJK characters at 10.5 pt need 105 pt: two lines in a
        // column 12 characters wide (about 66 pt), one line in 22 (120 pt).
        assert_eq!(
            wrapped_lines(&"户".repeat(10), column_points(12.0), 10.5),
            2
        );
        assert_eq!(
            wrapped_lines(&"户".repeat(10), column_points(22.0), 10.5),
            1
        );
        assert_eq!(wrapped_lines("a\nb", 100.0, 10.5), 2);
    }
}

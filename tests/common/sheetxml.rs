//! What a written xlsx says about print layout, read from its XML (calamine
//! reads values only): column widths, row heights, merges, formulas, page
//! breaks, page setup, panes and filters.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

#[derive(Debug, Default, Clone)]
pub struct Cell {
    pub text: String,
    pub formula: Option<String>,
    /// The cell's format wraps text (so it does not run on into the cells
    /// beside it).
    pub wrap: bool,
}

#[derive(Debug, Default)]
pub struct Sheet {
    pub name: String,
    /// Column widths as written (Excel units), by 0-based column.
    pub widths: BTreeMap<u32, f64>,
    /// Row heights in points, by 0-based row.
    pub heights: BTreeMap<u32, f64>,
    /// Cells by (row, col), 0-based.
    pub cells: BTreeMap<(u32, u32), Cell>,
    /// Merged ranges (r1, c1, r2, c2).
    pub merges: Vec<(u32, u32, u32, u32)>,
    /// Rows before which a manual page break is set.
    pub row_breaks: Vec<u32>,
    pub col_breaks: Vec<u32>,
    pub xml: String,
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag[i..].find('"')?;
    Some(&tag[i..i + j])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// All `<t>` texts inside `s`, joined.
fn texts(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("<t") {
        let after = &rest[i + 2..];
        let Some(gt) = after.find('>') else { break };
        if after[..gt].ends_with('/') {
            rest = &after[gt + 1..];
            continue;
        }
        let body = &after[gt + 1..];
        let Some(end) = body.find("</t>") else { break };
        out.push_str(&unescape(&body[..end]));
        rest = &body[end..];
    }
    out
}

/// "AB12" → (11, 27).
pub fn cell_ref(r: &str) -> (u32, u32) {
    let letters: String = r.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let row: u32 = r[letters.len()..].parse().unwrap_or(1);
    let col = letters
        .chars()
        .fold(0u32, |n, c| n * 26 + (c as u32 - 'A' as u32 + 1));
    (row - 1, col - 1)
}

fn elements<'a>(xml: &'a str, open: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(open) {
        let s = &rest[i..];
        let end = if let Some(gt) = s.find('>') {
            if s[..gt].ends_with('/') {
                gt + 1
            } else {
                let close = format!(
                    "</{}>",
                    open.trim_start_matches('<')
                        .trim_end()
                        .trim_end_matches('>')
                );
                s.find(&close).map_or(gt + 1, |c| c + close.len())
            }
        } else {
            s.len()
        };
        out.push(&s[..end]);
        rest = &s[end..];
    }
    out
}

fn read(z: &mut zip::ZipArchive<std::fs::File>, name: &str) -> Option<String> {
    let mut f = z.by_name(name).ok()?;
    let mut s = String::new();
    f.read_to_string(&mut s).ok()?;
    Some(s)
}

/// The `id`s of the `<brk>` elements inside `<tag>` (row or column breaks).
fn breaks(xml: &str, tag: &str) -> Vec<u32> {
    let Some(i) = xml.find(&format!("<{tag}")) else {
        return Vec::new();
    };
    let end = xml[i..]
        .find(&format!("</{tag}>"))
        .map_or(xml.len(), |j| i + j);
    elements(&xml[i..end], "<brk ")
        .iter()
        .filter_map(|b| attr(b, "id").and_then(|v| v.parse().ok()))
        .collect()
}

/// Every sheet of a workbook, in order.
pub fn sheets(path: &Path) -> Vec<Sheet> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut z = zip::ZipArchive::new(f).expect("xlsx is a zip");
    let shared: Vec<String> = read(&mut z, "xl/sharedStrings.xml")
        .map(|s| elements(&s, "<si>").iter().map(|x| texts(x)).collect())
        .unwrap_or_default();
    // Which cell formats (by index) wrap text.
    let styles = read(&mut z, "xl/styles.xml").unwrap_or_default();
    let xfs = styles
        .find("<cellXfs")
        .map(|i| &styles[i..i + styles[i..].find("</cellXfs>").unwrap_or(0)])
        .unwrap_or("");
    let wraps: Vec<bool> = elements(xfs, "<xf ")
        .iter()
        .map(|x| x.contains("wrapText=\"1\""))
        .collect();
    let wb = read(&mut z, "xl/workbook.xml").expect("workbook.xml");
    let names: Vec<String> = elements(&wb, "<sheet ")
        .iter()
        .filter_map(|t| attr(t, "name").map(unescape))
        .collect();
    let mut out = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        let xml = read(&mut z, &format!("xl/worksheets/sheet{}.xml", i + 1)).expect("sheet xml");
        let mut sh = Sheet {
            name,
            ..Default::default()
        };
        for c in elements(&xml, "<col ") {
            let (a, b) = (attr(c, "min").unwrap(), attr(c, "max").unwrap());
            let w: f64 = attr(c, "width").unwrap().parse().unwrap();
            for k in a.parse::<u32>().unwrap()..=b.parse::<u32>().unwrap() {
                sh.widths.insert(k - 1, w);
            }
        }
        for row in elements(&xml, "<row ") {
            let head = &row[..row.find('>').unwrap()];
            let r: u32 = attr(head, "r").unwrap().parse().unwrap();
            if let Some(h) = attr(head, "ht") {
                sh.heights.insert(r - 1, h.parse().unwrap());
            }
            for c in elements(row, "<c ") {
                let head = &c[..c.find('>').unwrap()];
                let at = cell_ref(attr(head, "r").unwrap());
                let wrap = attr(head, "s")
                    .and_then(|s| s.parse::<usize>().ok())
                    .and_then(|i| wraps.get(i).copied())
                    .unwrap_or(false);
                let formula = c
                    .find("<f>")
                    .map(|i| unescape(&c[i + 3..c.find("</f>").unwrap()]));
                let value = c
                    .find("<v>")
                    .map(|i| unescape(&c[i + 3..c.find("</v>").unwrap()]));
                let text = match attr(head, "t") {
                    Some("s") => value
                        .and_then(|v| v.parse::<usize>().ok())
                        .and_then(|i| shared.get(i).cloned())
                        .unwrap_or_default(),
                    Some("inlineStr") => texts(c),
                    _ => value.unwrap_or_default(),
                };
                sh.cells.insert(
                    at,
                    Cell {
                        text,
                        formula,
                        wrap,
                    },
                );
            }
        }
        for m in elements(&xml, "<mergeCell ") {
            let r = attr(m, "ref").unwrap();
            let (a, b) = r.split_once(':').unwrap();
            let (a, b) = (cell_ref(a), cell_ref(b));
            sh.merges.push((a.0, a.1, b.0, b.1));
        }
        sh.row_breaks = breaks(&xml, "rowBreaks");
        sh.col_breaks = breaks(&xml, "colBreaks");
        sh.xml = xml;
        out.push(sh);
    }
    out
}

impl Sheet {
    pub fn text(&self, r: u32, c: u32) -> &str {
        self.cells.get(&(r, c)).map_or("", |x| x.text.as_str())
    }
    /// Width in points a cell's text has: its merge, or its column and,
    /// when its format does not wrap, the empty cells beside it that the
    /// text runs on into.
    pub fn span_points(&self, r: u32, c: u32) -> f64 {
        let wraps = self.cells.get(&(r, c)).is_some_and(|x| x.wrap);
        let empty = |k: u32| !wraps && self.cells.get(&(r, k)).is_none_or(|x| x.text.is_empty());
        let (c1, c2) = match self
            .merges
            .iter()
            .find(|m| m.0 <= r && r <= m.2 && m.1 <= c && c <= m.3)
        {
            Some(m) => (m.1, m.3),
            None => {
                let max = self.widths.keys().max().copied().unwrap_or(c);
                let mut a = c;
                while a > 0 && empty(a - 1) {
                    a -= 1;
                }
                let mut b = c;
                while b < max && empty(b + 1) {
                    b += 1;
                }
                (a, b)
            }
        };
        (c1..=c2)
            .map(|k| {
                // Written widths carry Excel's padding (+0.71): back to units.
                let w = self.widths.get(&k).copied().unwrap_or(8.43) - 0.7109375;
                monitor::forms::render::column_points(w.max(0.0))
            })
            .sum()
    }
    pub fn height(&self, r: u32) -> f64 {
        self.heights.get(&r).copied().unwrap_or(15.0)
    }
    /// A tag's attribute, e.g. `attr_of("<pageSetup", "scale")`.
    pub fn attr_of(&self, tag: &str, name: &str) -> Option<String> {
        let i = self.xml.find(tag)?;
        let t = &self.xml[i..i + self.xml[i..].find('>')?];
        attr(t, name).map(str::to_string)
    }
    /// The first text in row `r` containing `needle`.
    pub fn text_with(&self, r: u32, needle: &str) -> &str {
        self.cells
            .range((r, 0)..(r + 1, 0))
            .map(|(_, c)| c.text.as_str())
            .find(|t| t.contains(needle))
            .unwrap_or("")
    }
    pub fn rows_with(&self, needle: &str) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .cells
            .iter()
            .filter(|(_, c)| c.text.contains(needle))
            .map(|((r, _), _)| *r)
            .collect();
        v.dedup();
        v
    }
}

//! Helpers for the integration tests: build input files in a temporary
//! workspace, run the real binary, read the xlsx outputs back with calamine.
#![allow(dead_code)]

use calamine::{open_workbook_auto, Data, Reader};
use rust_xlsxwriter::{Format, Workbook};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Ws {
    pub dir: tempfile::TempDir,
}

/// A cell to write: text, number, or an explicit empty cell.
#[derive(Clone, Debug)]
pub enum V {
    S(String),
    N(f64),
    E,
}

pub fn s(x: &str) -> V {
    V::S(x.to_string())
}
pub fn n(x: f64) -> V {
    V::N(x)
}

impl Ws {
    pub fn new() -> Self {
        Ws {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Write a workbook with one sheet; `merges` are (r1, c1, r2, c2).
    pub fn xlsx(
        &self,
        rel: &str,
        sheet: &str,
        rows: &[Vec<V>],
        merges: &[(u32, u16, u32, u16)],
    ) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name(sheet).unwrap();
        let f = Format::new();
        for &(r1, c1, r2, c2) in merges {
            let text = match &rows[r1 as usize][c1 as usize] {
                V::S(t) => t.clone(),
                _ => String::new(),
            };
            ws.merge_range(r1, c1, r2, c2, &text, &f).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let inside = merges.iter().any(|&(r1, c1, r2, c2)| {
                    (r1..=r2).contains(&(r as u32)) && (c1..=c2).contains(&(c as u16))
                });
                if inside {
                    continue;
                }
                match v {
                    V::S(t) => {
                        ws.write_string(r as u32, c as u16, t).unwrap();
                    }
                    V::N(x) => {
                        ws.write_number(r as u32, c as u16, *x).unwrap();
                    }
                    V::E => {}
                }
            }
        }
        wb.save(&p).unwrap();
        p
    }

    /// Write CSV text, optionally encoded as GBK.
    pub fn csv(&self, rel: &str, text: &str, gbk: bool) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let bytes = if gbk {
            encoding_rs::GBK.encode(text).0.into_owned()
        } else {
            text.as_bytes().to_vec()
        };
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Run `monitor` with the workspace as current folder.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_monitor"))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run monitor")
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn rules(name: &str) -> String {
    repo().join("rules").join(name).display().to_string()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// All cells of a sheet as absolute rows (row 0 = spreadsheet row 1).
pub fn sheet(path: &Path, name: &str) -> Vec<Vec<Data>> {
    let mut wb = open_workbook_auto(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let r = wb
        .worksheet_range(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let (r0, c0) = r.start().unwrap_or((0, 0));
    let mut out = vec![Vec::new(); r0 as usize];
    for row in r.rows() {
        let mut v = vec![Data::Empty; c0 as usize];
        v.extend(row.iter().cloned());
        out.push(v);
    }
    out
}

pub fn sheet_names(path: &Path) -> Vec<String> {
    open_workbook_auto(path).unwrap().sheet_names().to_vec()
}

pub fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

pub fn num(d: &Data) -> f64 {
    match d {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

/// Column index of a header in the given header row.
pub fn col(rows: &[Vec<Data>], header_row: usize, name: &str) -> usize {
    rows[header_row]
        .iter()
        .position(|d| text(d) == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", rows[header_row]))
}

/// The ledger's data rows keyed by 户编号.
pub fn ledger_rows(
    path: &Path,
) -> (
    Vec<Vec<Data>>,
    std::collections::BTreeMap<String, Vec<Data>>,
) {
    let rows = sheet(path, "风险户台账");
    let id = col(&rows, 1, "户编号");
    let map = rows
        .iter()
        .skip(2)
        .filter(|r| r.len() > id && !text(&r[id]).is_empty())
        .map(|r| (text(&r[id]), r.clone()))
        .collect();
    (rows, map)
}

pub fn summary(out_month: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out_month.join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every file in a folder with its bytes, for before/after comparisons.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut m = std::collections::BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            // Dot files (the run mark) tie a folder to its store record; not outputs.
            if e.path().is_file() && !e.file_name().to_string_lossy().starts_with('.') {
                m.insert(
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                );
            }
        }
    }
    m
}

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

/// Merged ranges of a sheet: (r1, c1, r2, c2).
pub type Merges<'a> = &'a [(u32, u16, u32, u16)];

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
        self.xlsx_sheets(rel, &[(sheet, rows, merges)])
    }

    /// Write a workbook with the given sheets (name, rows, merges).
    pub fn xlsx_sheets(&self, rel: &str, sheets: &[(&str, &[Vec<V>], Merges)]) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut wb = Workbook::new();
        for (sheet, rows, merges) in sheets {
            let ws = wb.add_worksheet();
            ws.set_name(*sheet).unwrap();
            let f = Format::new();
            for &(r1, c1, r2, c2) in *merges {
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
        self.run_env(args, &[])
    }

    /// `monitor run --month M --rules R --households H [extra…] -q`
    pub fn run_on(&self, month: &str, rules: &str, households: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "run",
            "--month",
            month,
            "--rules",
            rules,
            "--households",
            households,
        ];
        args.extend_from_slice(extra);
        args.push("-q");
        self.run(&args)
    }

    /// The same with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_monitor"));
        c.args(args)
            .current_dir(self.dir.path())
            .env_remove("MONITOR_FAULT");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("run monitor")
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A bundled rule file copied into the workspace, declaring the income
/// columns the test's exports do not have (as a county would).
pub fn rules_without(ws: &Ws, name: &str, unused: &[&str]) -> String {
    let list: Vec<String> = unused.iter().map(|u| format!("\"{u}\"")).collect();
    let text = std::fs::read_to_string(repo().join("rules").join(name))
        .unwrap()
        .replace(
            "[labels]",
            &format!(
                "[inputs]\nunused_income = [{}]\n\n[labels]",
                list.join(", ")
            ),
        );
    ws.write(name, &text);
    ws.path(name).display().to_string()
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

/// A household line for the history tests' rosters.
#[derive(Clone, Debug)]
pub struct Hh {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub size: u32,
    pub labour: u32,
    pub wage: f64,
}

pub fn hh(id: &'static str, kind: &'static str, size: u32, labour: u32, wage: f64) -> Hh {
    Hh {
        id,
        name: id,
        kind,
        size,
        labour,
        wage,
    }
}

impl Ws {
    /// A plain roster with income on the same sheet, and one member per person.
    pub fn roster(&self, month: &str, hhs: &[Hh]) {
        let mut rows = vec![vec![
            s("户编号"),
            s("户主姓名"),
            s("户类型"),
            s("家庭人口"),
            s("劳动力人数"),
            s("乡镇"),
            s("村"),
            s("工资性收入"),
        ]];
        let mut members = vec![vec![s("户编号"), s("姓名"), s("证件号码"), s("与户主关系")]];
        for h in hhs {
            rows.push(vec![
                s(h.id),
                s(h.name),
                s(h.kind),
                n(h.size as f64),
                n(h.labour as f64),
                s("东乡"),
                s("甲村"),
                n(h.wage),
            ]);
            for k in 0..h.size {
                members.push(vec![
                    s(h.id),
                    s(&format!("{}-{k}", h.name)),
                    s(&format!("P-{}-{k}", h.id)),
                    s(if k == 0 { "户主" } else { "子女" }),
                ]);
            }
        }
        self.xlsx(&format!("data/{month}/h.xlsx"), "农户", &rows, &[]);
        self.xlsx(&format!("data/{month}/m.xlsx"), "成员", &members, &[]);
    }

    /// monitor.toml with the 弥勒 rules, elimination after `stable` quiet months.
    pub fn history_workspace(&self, stable: u32) {
        let rules = std::fs::read_to_string(repo().join("rules/mile-2020.toml"))
            .unwrap()
            .replace("stable_months = 6", &format!("stable_months = {stable}"))
            .replace(
                "min_months_monitored = 6",
                &format!("min_months_monitored = {stable}"),
            )
            // The test roster has 工资性收入 only; a county declares that.
            .replace(
                "[labels]",
                "[inputs]\nunused_income = [\"生产经营性收入\", \"财产性收入\", \"转移性收入\", \"生产经营性支出\"]\n\n[labels]",
            );
        self.write("rules.toml", &rules);
        std::fs::copy(
            repo().join("rules/mile-2020.cases.toml"),
            self.path("rules.cases.toml"),
        )
        .unwrap();
        self.write(
            "monitor.toml",
            "[run]\nrules = 'rules.toml'\nout = 'out'\n[inputs]\nhouseholds = 'data/{month}/h.xlsx'\nmembers = 'data/{month}/m.xlsx'\n[history]\nstore = 'history.sqlite'\n",
        );
    }

    /// `monitor run --month M -q`, asserting success; returns summary.json.
    pub fn month(&self, month: &str) -> serde_json::Value {
        let o = self.run(&["run", "--month", month, "-q"]);
        assert!(o.status.success(), "{month}: {}", stderr(&o));
        summary(&self.path(&format!("out/{month}")))
    }

    /// Fill a produced 研判表 the way a clerk would: same sheets and cells,
    /// with 研判结论 (and 消除方式) typed in for some households.
    /// … with the review levels filled in as well (村级评议, 乡镇审核) for
    /// every answered row, as a township returns the form.
    pub fn fill_review(&self, src: &Path, dst: &str, answers: &[(&str, &str, &str)]) -> PathBuf {
        let levels: Vec<(String, &str, &str)> = answers
            .iter()
            .flat_map(|(id, _, _)| {
                [
                    ("村级评议结果", "同意"),
                    ("村级评议日期", "2020-03-18"),
                    ("乡镇审核意见", "同意"),
                    ("乡镇审核人", "王审核"),
                    ("乡镇审核日期", "2020-03-19"),
                ]
                .map(|(h, v)| (id.to_string(), h, v))
            })
            .collect();
        let cells: Vec<(&str, &str, &str)> = levels
            .iter()
            .map(|(id, h, v)| (id.as_str(), *h, *v))
            .collect();
        self.fill_review_cells(src, dst, answers, &cells)
    }

    /// Fill a produced 研判表: conclusions, and any other cell by
    /// (户编号, column header, value).
    pub fn fill_review_cells(
        &self,
        src: &Path,
        dst: &str,
        answers: &[(&str, &str, &str)],
        cells: &[(&str, &str, &str)],
    ) -> PathBuf {
        let p = self.path(dst);
        let mut wb = Workbook::new();
        for name in sheet_names(src) {
            let rows = sheet(src, &name);
            let ws = wb.add_worksheet();
            ws.set_name(&name).unwrap();
            let head = rows
                .iter()
                .position(|r| r.iter().any(|c| text(c) == "研判结论"))
                .unwrap_or(0);
            let c_id = rows[head].iter().position(|c| text(c) == "户编号");
            let c_dec = rows[head].iter().position(|c| text(c) == "研判结论");
            let c_met = rows[head].iter().position(|c| text(c) == "消除方式");
            for (r, row) in rows.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    match v {
                        Data::Float(f) => {
                            ws.write_number(r as u32, c as u16, *f).unwrap();
                        }
                        Data::Int(i) => {
                            ws.write_number(r as u32, c as u16, *i as f64).unwrap();
                        }
                        Data::Empty => {}
                        other => {
                            ws.write_string(r as u32, c as u16, text(other)).unwrap();
                        }
                    }
                }
                if let (Some(ci), Some(cd)) = (c_id, c_dec) {
                    let id = row.get(ci).map(text).unwrap_or_default();
                    for (_, h, v) in cells.iter().filter(|(x, _, _)| *x == id) {
                        if let Some(c) = rows[head].iter().position(|c| text(c) == *h) {
                            ws.write_string(r as u32, c as u16, *v).unwrap();
                        }
                    }
                    if let Some((_, d, m)) = answers.iter().find(|(x, _, _)| *x == id) {
                        ws.write_string(r as u32, cd as u16, *d).unwrap();
                        if let (Some(cm), false) = (c_met, m.is_empty()) {
                            ws.write_string(r as u32, cm as u16, *m).unwrap();
                        }
                    }
                }
            }
        }
        wb.save(&p).unwrap();
        p
    }
}

impl Ws {
    /// Fill a produced 附件4 the way a township would: the household's
    /// 帮扶责任人 and one measure in the first empty row of its table.
    pub fn fill_measures(
        &self,
        src: &Path,
        dst: &str,
        id: &str,
        helper: (&str, &str),
        measure: [&str; 5],
    ) -> PathBuf {
        let p = self.path(dst);
        let mut wb = Workbook::new();
        for name in sheet_names(src) {
            let rows = sheet(src, &name);
            let ws = wb.add_worksheet();
            ws.set_name(&name).unwrap();
            let mut mine = false;
            let mut header: Option<Vec<String>> = None;
            let mut filled = false;
            for (r, row) in rows.iter().enumerate() {
                let mut cells: Vec<String> = row.iter().map(text).collect();
                if let Some(i) = cells.iter().position(|c| c == "户编号") {
                    mine = cells.get(i + 1).is_some_and(|c| c == id);
                    header = None;
                }
                if mine && cells.first().is_some_and(|c| c == "帮扶责任人") {
                    cells.resize(cells.len().max(5), String::new());
                    cells[1] = helper.0.to_string();
                    cells[4] = helper.1.to_string();
                }
                if mine && cells.iter().any(|c| c == "措施类别") {
                    header = Some(cells.clone());
                } else if let (true, Some(h), false) = (mine, &header, filled) {
                    let col = |k: &str| h.iter().position(|c| c.starts_with(k)).unwrap();
                    if cells.get(col("措施类别")).is_none_or(|c| c.is_empty()) && !cells.is_empty()
                    {
                        cells.resize(h.len(), String::new());
                        for (k, v) in ["措施类别", "具体措施", "责任单位", "责任人", "落实时间"]
                            .iter()
                            .zip(measure)
                        {
                            cells[col(k)] = v.to_string();
                        }
                        filled = true;
                    }
                }
                for (c, v) in cells.iter().enumerate() {
                    if !v.is_empty() {
                        ws.write_string(r as u32, c as u16, v).unwrap();
                    }
                }
            }
        }
        wb.save(&p).unwrap();
        p
    }
}

/// monitoring_status of each listed household in a summary.json.
pub fn statuses(js: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    js["households"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["household_id"].as_str().unwrap().to_string(),
                h["monitoring_status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The bundled example county, run for 2020-03 in a temporary copy.
pub fn example_run(ws: &Ws) -> PathBuf {
    let root = ws.path("ex");
    copy_dir(&repo().join("examples/data"), &root.join("examples/data"));
    std::fs::copy(
        repo().join("examples/monitor.toml"),
        root.join("examples/monitor.toml"),
    )
    .unwrap();
    copy_dir(&repo().join("rules"), &root.join("rules"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_monitor"))
        .args([
            "run",
            "--month",
            "2020-03",
            "--config",
            "monitor.toml",
            "-q",
        ])
        .current_dir(root.join("examples"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    root.join("examples/out/2020-03")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

//! `monitor rollup`: a city or prefecture combines its counties' monthly
//! results (each county runs on its own PC; its `out/<月份>/summary.json`
//! is the unit). Counties on another rule file or without the month are
//! refused by name, never merged silently.

use crate::error::{MonitorError, Result};
use crate::history::TrendPoint;
use crate::report::{new_workbook, page_setup, save, xerr, Styles};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The parts of a county's summary.json the roll-up reads (the rest of
/// the file is skipped while parsing).
#[derive(Debug, Deserialize)]
struct CountySummary {
    month: String,
    ruleset: Ruleset,
    counts: Counts,
    #[serde(default)]
    trend: Vec<TrendPoint>,
    households: Vec<Hh>,
}

#[derive(Debug, Deserialize)]
struct Ruleset {
    id: String,
}

#[derive(Debug, Deserialize, Default)]
struct Counts {
    households_read: usize,
    #[serde(default)]
    monitored: usize,
    #[serde(default)]
    warned: usize,
}

#[derive(Debug, Deserialize)]
struct Hh {
    status: String,
    monitoring_status: String,
    size: u32,
    causes: Vec<String>,
}

/// One county's totals.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CountyLine {
    pub county: String,
    pub households_read: usize,
    pub monitored: usize,
    pub warned: usize,
    /// (户, 人) by 监测类型, 监测状态 and 风险类型 (listed households).
    pub by_class: BTreeMap<String, (u32, u32)>,
    pub by_status: BTreeMap<String, (u32, u32)>,
    pub by_cause: BTreeMap<String, (u32, u32)>,
    pub listed: (u32, u32),
    pub trend: Vec<TrendPoint>,
}

/// The roll-up of one month.
#[derive(Debug, Clone, Serialize)]
pub struct Rollup {
    pub month: String,
    pub ruleset: String,
    pub counties: Vec<CountyLine>,
    pub total: CountyLine,
}

/// Where a county's summary for `month` is: a workspace folder (its
/// monitor.toml names `out`), or a summary.json itself.
fn summary_path(arg: &Path, month: &str) -> Result<(String, PathBuf)> {
    if arg.is_file() {
        let county = arg
            .ancestors()
            .nth(3)
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| arg.display().to_string());
        return Ok((county, arg.to_path_buf()));
    }
    let cfg_path = arg.join(crate::config::DEFAULT_CONFIG);
    let (cfg, base) = crate::config::load(Some(&cfg_path))?;
    let out = cfg
        .run
        .out
        .as_ref()
        .map_or_else(|| base.join("out"), |o| base.join(o));
    let county = std::fs::canonicalize(arg)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| arg.display().to_string());
    Ok((county, out.join(month).join(crate::run::SUMMARY_FILE)))
}

fn add(m: &mut BTreeMap<String, (u32, u32)>, k: &str, size: u32) {
    let e = m.entry(k.to_string()).or_default();
    e.0 += 1;
    e.1 += size;
}

fn county_line(county: String, s: CountySummary) -> CountyLine {
    let mut l = CountyLine {
        county,
        households_read: s.counts.households_read,
        monitored: s.counts.monitored,
        warned: s.counts.warned,
        trend: s.trend,
        ..Default::default()
    };
    for h in &s.households {
        add(&mut l.by_class, &h.status, h.size);
        add(&mut l.by_status, &h.monitoring_status, h.size);
        for c in &h.causes {
            add(&mut l.by_cause, c, h.size);
        }
        l.listed.0 += 1;
        l.listed.1 += h.size;
    }
    l
}

/// Read the counties' summaries for `month` and add them up.
pub fn rollup(month: &str, inputs: &[PathBuf]) -> Result<Rollup> {
    let m = crate::normalize::parse_month_arg(month).map_err(MonitorError::Config)?;
    let month = m.format("%Y-%m").to_string();
    if inputs.is_empty() {
        return Err(MonitorError::Config(
            "请给出各县的工作区文件夹或 summary.json".into(),
        ));
    }
    let mut problems = Vec::new();
    // Each county is reduced to its totals as soon as it is read.
    let mut read: Vec<(String, CountyLine)> = Vec::new();
    for arg in inputs {
        let (county, path) = summary_path(arg, &month)?;
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(_) => {
                problems.push(format!(
                    "{county}：没有 {month} 的结果（{}）",
                    path.display()
                ));
                continue;
            }
        };
        match serde_json::from_slice::<CountySummary>(&text) {
            Ok(s) if s.month != month => problems.push(format!(
                "{county}：{} 是 {} 的结果，不是 {month} 的",
                path.display(),
                s.month
            )),
            Ok(s) => {
                let id = s.ruleset.id.clone();
                read.push((id, county_line(county, s)));
            }
            Err(e) => problems.push(format!("{county}：{} 无法读取（{e}）", path.display())),
        }
    }
    let ruleset = read.first().map(|(id, _)| id.clone()).unwrap_or_default();
    for (id, c) in &read {
        if *id != ruleset {
            problems.push(format!(
                "{} 用的规则文件是 {id}，与 {} 的 {ruleset} 不同，不能合并",
                c.county, read[0].1.county
            ));
        }
    }
    if !problems.is_empty() {
        return Err(MonitorError::Refused(format!(
            "以下各县不能汇总，未写出任何结果：\n  {}",
            problems.join("\n  ")
        )));
    }
    let counties: Vec<CountyLine> = read.into_iter().map(|(_, c)| c).collect();
    let mut total = CountyLine {
        county: "合计".into(),
        ..Default::default()
    };
    for c in &counties {
        total.households_read += c.households_read;
        total.monitored += c.monitored;
        total.warned += c.warned;
        total.listed.0 += c.listed.0;
        total.listed.1 += c.listed.1;
        for (from, into) in [
            (&c.by_class, &mut total.by_class),
            (&c.by_status, &mut total.by_status),
            (&c.by_cause, &mut total.by_cause),
        ] {
            for (k, v) in from {
                let e = into.entry(k.clone()).or_default();
                e.0 += v.0;
                e.1 += v.1;
            }
        }
    }
    Ok(Rollup {
        month,
        ruleset,
        counties,
        total,
    })
}

fn pct(n: u32, d: u32) -> f64 {
    if d == 0 {
        0.0
    } else {
        (f64::from(n) * 10_000.0 / f64::from(d)).round() / 100.0
    }
}

/// Write the city workbook and rollup.json into `dir`.
pub fn write(r: &Rollup, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| MonitorError::Output {
        path: dir.to_path_buf(),
        msg: crate::error::io_detail(&e),
    })?;
    let path = dir.join("市级汇总.xlsx");
    let e = xerr(&path);
    let st = Styles::new();
    let first = chrono::NaiveDate::parse_from_str(&format!("{}-01", r.month), "%Y-%m-%d")
        .unwrap_or_default();
    let mut wb = new_workbook(first, "防止返贫监测市级汇总");
    let lines: Vec<&CountyLine> = r.counties.iter().chain(std::iter::once(&r.total)).collect();
    for (sheet, pick) in [("监测类型", 0usize), ("监测状态", 1), ("风险类型", 2)] {
        let ws = wb.add_worksheet();
        ws.set_name(sheet).map_err(&e)?;
        let keys: Vec<&String> = match pick {
            0 => r.total.by_class.keys().collect(),
            1 => r.total.by_status.keys().collect(),
            _ => r.total.by_cause.keys().collect(),
        };
        let title = format!(
            "{} 各县{sheet}汇总（规则 {}；户占%、人占% 以该县列出的户和人为分母）",
            r.month, r.ruleset
        );
        ws.merge_range(0, 0, 0, (keys.len() * 4 + 2) as u16, &title, &st.title)
            .map_err(&e)?;
        ws.write_string_with_format(1, 0, "县（市、区）", &st.header)
            .map_err(&e)?;
        ws.write_string_with_format(1, 1, "列出户数", &st.header)
            .map_err(&e)?;
        ws.write_string_with_format(1, 2, "列出人数", &st.header)
            .map_err(&e)?;
        ws.set_column_width(0, 14).map_err(&e)?;
        for (i, k) in keys.iter().enumerate() {
            for (j, unit) in ["户", "人", "户占%", "人占%"].iter().enumerate() {
                let c = (3 + i * 4 + j) as u16;
                ws.write_string_with_format(1, c, format!("{k}{unit}"), &st.header)
                    .map_err(&e)?;
                ws.set_column_width(c, 9).map_err(&e)?;
            }
        }
        for (ri, l) in lines.iter().enumerate() {
            let row = ri as u32 + 2;
            let map = match pick {
                0 => &l.by_class,
                1 => &l.by_status,
                _ => &l.by_cause,
            };
            ws.write_string_with_format(row, 0, &l.county, &st.text)
                .map_err(&e)?;
            ws.write_number_with_format(row, 1, f64::from(l.listed.0), &st.int)
                .map_err(&e)?;
            ws.write_number_with_format(row, 2, f64::from(l.listed.1), &st.int)
                .map_err(&e)?;
            for (i, k) in keys.iter().enumerate() {
                let (h, p) = map.get(*k).copied().unwrap_or_default();
                let c = (3 + i * 4) as u16;
                ws.write_number_with_format(row, c, f64::from(h), &st.int)
                    .map_err(&e)?;
                ws.write_number_with_format(row, c + 1, f64::from(p), &st.int)
                    .map_err(&e)?;
                ws.write_number_with_format(row, c + 2, pct(h, l.listed.0), &st.money)
                    .map_err(&e)?;
                ws.write_number_with_format(row, c + 3, pct(p, l.listed.1), &st.money)
                    .map_err(&e)?;
            }
        }
        page_setup(ws, true, Some((0, 1))).map_err(&e)?;
    }
    // 逐月趋势：每县一列监测户，附折线图。
    let ws = wb.add_worksheet();
    ws.set_name("逐月趋势").map_err(&e)?;
    let months: std::collections::BTreeSet<&String> = r
        .counties
        .iter()
        .flat_map(|c| c.trend.iter().map(|p| &p.month))
        .collect();
    ws.write_string_with_format(0, 0, "月份", &st.header)
        .map_err(&e)?;
    for (ci, c) in r.counties.iter().enumerate() {
        ws.write_string_with_format(0, ci as u16 + 1, format!("{}监测户", c.county), &st.header)
            .map_err(&e)?;
        ws.set_column_width(ci as u16 + 1, 14).map_err(&e)?;
    }
    for (ri, m) in months.iter().enumerate() {
        let row = ri as u32 + 1;
        ws.write_string_with_format(row, 0, m.as_str(), &st.center)
            .map_err(&e)?;
        for (ci, c) in r.counties.iter().enumerate() {
            if let Some(p) = c.trend.iter().find(|p| &p.month == *m) {
                ws.write_number_with_format(row, ci as u16 + 1, p.monitored as f64, &st.int)
                    .map_err(&e)?;
            }
        }
    }
    if !months.is_empty() {
        let last = months.len() as u32;
        let mut chart = rust_xlsxwriter::Chart::new(rust_xlsxwriter::ChartType::Line);
        for ci in 0..r.counties.len() as u16 {
            chart
                .add_series()
                .set_name(("逐月趋势", 0, ci + 1))
                .set_categories(("逐月趋势", 1, 0, last, 0))
                .set_values(("逐月趋势", 1, ci + 1, last, ci + 1));
        }
        chart.title().set_name("各县监测户逐月变化");
        ws.insert_chart(last + 2, 0, &chart).map_err(&e)?;
    }
    page_setup(ws, true, None).map_err(&e)?;
    save(&mut wb, &path)?;
    let json = dir.join("rollup.json");
    let text = serde_json::to_string_pretty(r).map_err(|err| MonitorError::Output {
        path: json.clone(),
        msg: format!("生成 rollup.json 时出错（{err}）"),
    })?;
    std::fs::write(&json, text + "\n").map_err(|err| MonitorError::Output {
        path: json.clone(),
        msg: crate::error::io_detail(&err),
    })?;
    Ok(vec![path.clone(), json])
}

//! 风险户台账.xlsx: the ledger of monitored (and eliminated) households,
//! the month's new identifications, every elimination on record, the
//! 自然增减 of the roster, the summary (汇总) with the month-by-month trend
//! and a chart, and the data problems.

use super::*;
use crate::error::col_letter;
use crate::history::{Change, EliminatedRow, TrendPoint};
use crate::model::DataIssue;
use rust_xlsxwriter::{Chart, ChartType};
use std::collections::BTreeMap;

pub const FILE: &str = "风险户台账.xlsx";
pub const SHEET_LEDGER: &str = "风险户台账";
pub const SHEET_NEW: &str = "新识别";
pub const SHEET_ELIMINATED: &str = "风险消除";
pub const SHEET_CHANGES: &str = "自然增减";
pub const SHEET_SUMMARY: &str = "汇总";
pub const SHEET_ISSUES: &str = "数据问题";

pub const LEDGER_HEADERS: &[&str] = &[
    "序号",
    "户编号",
    "户主姓名",
    "证件号码",
    "乡镇",
    "村",
    "组",
    "户类型",
    "监测类型",
    "风险属性",
    "监测状态",
    "纳入监测时间",
    "家庭人口",
    "家庭纯收入(元)",
    "人均纯收入(元)",
    "风险类型",
    "预警依据",
    "消除时间",
    "消除方式",
];

/// Everything the ledger workbook shows.
pub struct LedgerData<'a> {
    /// Households under monitoring this month, then eliminated ones still on the roster.
    pub rows: &'a [RiskRow<'a>],
    pub eliminated: &'a [EliminatedRow],
    pub changes: &'a [Change],
    pub trend: &'a [TrendPoint],
    pub households_read: usize,
    pub issues: &'a [DataIssue],
}

fn header(
    ws: &mut Worksheet,
    st: &Styles,
    row: u32,
    heads: &[&str],
    widths: &[f64],
) -> Result<(), XlsxError> {
    for (c, h) in heads.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *h, &st.header)?;
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    Ok(())
}

fn title(ws: &mut Worksheet, st: &Styles, last: u16, text: &str) -> Result<(), XlsxError> {
    ws.merge_range(0, 0, 0, last, text, &st.title)?;
    ws.set_row_height(0, 30)?;
    Ok(())
}

fn empty_note(
    ws: &mut Worksheet,
    st: &Styles,
    row: u32,
    last: u16,
    text: &str,
) -> Result<(), XlsxError> {
    ws.merge_range(row, 0, row, last, text, &st.center)?;
    Ok(())
}

pub fn write(ctx: &ReportCtx, d: &LedgerData, path: &Path) -> Result<()> {
    let e = xerr(path);
    let st = Styles::new();
    let mut wb = new_workbook(ctx.month, "返贫致贫风险户台账");
    let place = format!("{} {}", ctx.rs.meta.locality, ctx.month_cn());

    // --- 风险户台账
    let ws = wb.add_worksheet_with_constant_memory().map_err(&e)?;
    ws.set_name(SHEET_LEDGER).map_err(&e)?;
    let last = LEDGER_HEADERS.len() as u16 - 1;
    let widths = [
        5.0, 15.0, 8.0, 19.0, 8.0, 10.0, 6.0, 8.0, 10.0, 8.0, 9.0, 9.0, 5.0, 11.0, 11.0, 12.0,
        44.0, 8.0, 9.0,
    ];
    title(
        ws,
        &st,
        last,
        &format!("{place} 返贫致贫风险户台账（风险消除户只标注、不删除）"),
    )
    .map_err(&e)?;
    header(ws, &st, 1, LEDGER_HEADERS, &widths).map_err(&e)?;
    for (i, r) in d.rows.iter().enumerate() {
        let row = i as u32 + 2;
        let h = r.h;
        ws.write_number_with_format(row, 0, (i + 1) as f64, &st.int)
            .map_err(&e)?;
        let eliminated = r.st.status == crate::history::Status::Eliminated;
        let texts = [
            (1, h.id.as_str()),
            (2, h.head_name.as_str()),
            (3, h.id_no.as_str()),
            (4, h.township.as_str()),
            (5, h.village.as_str()),
            (6, h.group.as_str()),
            (7, h.hh_type.label()),
            (8, r.class),
            (9, r.risk),
            (10, r.status()),
            (11, r.since()),
            (17, r.st.eliminated.as_deref().unwrap_or("")),
            (18, r.st.method.as_deref().unwrap_or("")),
        ];
        for (c, t) in texts {
            ws.write_string_with_format(row, c, t, &st.text)
                .map_err(&e)?;
        }
        ws.write_number_with_format(row, 12, h.size as f64, &st.int)
            .map_err(&e)?;
        for (c, v) in [(13, r.a.net_income), (14, r.a.per_capita)] {
            match v {
                Some(v) => ws.write_number_with_format(row, c, money_f64(v), &st.money),
                None => ws.write_string_with_format(row, c, "未测算", &st.center),
            }
            .map_err(&e)?;
        }
        ws.write_string_with_format(row, 15, r.a.causes().join("、"), &st.wrap)
            .map_err(&e)?;
        let basis = if r.a.at_risk() {
            r.a.basis_text()
        } else if eliminated {
            String::from("风险已消除（标注，不剔除）")
        } else {
            format!("本月未触发预警，已连续 {} 个月", r.st.quiet_months)
        };
        ws.set_row_height(row, wrapped_height(&basis, widths[16], 18.0))
            .map_err(&e)?;
        ws.write_string_with_format(row, 16, basis, &st.wrap)
            .map_err(&e)?;
    }
    if d.rows.is_empty() {
        empty_note(ws, &st, 2, last, "本月没有监测户").map_err(&e)?;
    }
    ws.set_freeze_panes(2, 3).map_err(&e)?;
    ws.autofilter(1, 0, (d.rows.len() as u32 + 1).max(2), last)
        .map_err(&e)?;
    page_setup(ws, true, Some((0, 1))).map_err(&e)?;

    // --- 新识别 (this month's new and returned households)
    let ws = wb.add_worksheet_with_constant_memory().map_err(&e)?;
    ws.set_name(SHEET_NEW).map_err(&e)?;
    let heads = [
        "序号",
        "户编号",
        "户主姓名",
        "乡镇",
        "村",
        "监测类型",
        "监测状态",
        "风险类型",
        "人均纯收入(元)",
        "预警依据",
    ];
    title(
        ws,
        &st,
        heads.len() as u16 - 1,
        &format!("{place} 新识别监测户"),
    )
    .map_err(&e)?;
    header(
        ws,
        &st,
        1,
        &heads,
        &[5.0, 15.0, 8.0, 10.0, 10.0, 10.0, 12.0, 14.0, 11.0, 50.0],
    )
    .map_err(&e)?;
    let new: Vec<&RiskRow> = d
        .rows
        .iter()
        .filter(|r| {
            matches!(
                r.st.status,
                crate::history::Status::New | crate::history::Status::Returned
            )
        })
        .collect();
    for (i, r) in new.iter().enumerate() {
        let row = i as u32 + 2;
        ws.write_number_with_format(row, 0, (i + 1) as f64, &st.int)
            .map_err(&e)?;
        let basis = r.a.basis_text();
        let causes = r.a.causes().join("、");
        for (c, t) in [
            (1, r.h.id.as_str()),
            (2, &r.h.head_name),
            (3, &r.h.township),
            (4, &r.h.village),
            (5, r.class),
            (6, r.status()),
            (7, &causes),
        ] {
            ws.write_string_with_format(row, c, t, &st.text)
                .map_err(&e)?;
        }
        match r.a.per_capita {
            Some(v) => ws.write_number_with_format(row, 8, money_f64(v), &st.money),
            None => ws.write_string_with_format(row, 8, "未测算", &st.center),
        }
        .map_err(&e)?;
        ws.set_row_height(row, wrapped_height(&basis, 50.0, 18.0))
            .map_err(&e)?;
        ws.write_string_with_format(row, 9, basis, &st.wrap)
            .map_err(&e)?;
    }
    if new.is_empty() {
        empty_note(ws, &st, 2, heads.len() as u16 - 1, "本月没有新识别的监测户").map_err(&e)?;
    }
    page_setup(ws, true, Some((0, 1))).map_err(&e)?;

    // --- 风险消除 (every elimination on record; nothing is deleted)
    let ws = wb.add_worksheet_with_constant_memory().map_err(&e)?;
    ws.set_name(SHEET_ELIMINATED).map_err(&e)?;
    let heads = [
        "序号",
        "户编号",
        "户主姓名",
        "乡镇",
        "村",
        "纳入监测时间",
        "消除时间",
        "消除方式",
        "研判人",
    ];
    title(
        ws,
        &st,
        heads.len() as u16 - 1,
        &format!("{place} 风险消除户（累计，标注不剔除）"),
    )
    .map_err(&e)?;
    header(
        ws,
        &st,
        1,
        &heads,
        &[5.0, 15.0, 8.0, 10.0, 10.0, 12.0, 10.0, 10.0, 10.0],
    )
    .map_err(&e)?;
    for (i, x) in d.eliminated.iter().enumerate() {
        let row = i as u32 + 2;
        ws.write_number_with_format(row, 0, (i + 1) as f64, &st.int)
            .map_err(&e)?;
        for (c, t) in [
            (1, &x.hh_id),
            (2, &x.head_name),
            (3, &x.township),
            (4, &x.village),
            (5, &x.identified),
            (6, &x.eliminated),
            (7, &x.method),
            (8, &x.decided_by),
        ] {
            ws.write_string_with_format(row, c, t, &st.text)
                .map_err(&e)?;
        }
    }
    if d.eliminated.is_empty() {
        empty_note(ws, &st, 2, heads.len() as u16 - 1, "尚无风险消除户").map_err(&e)?;
    }
    page_setup(ws, false, Some((0, 1))).map_err(&e)?;

    // --- 自然增减 (攀枝花: roster changes against the previous month)
    let ws = wb.add_worksheet_with_constant_memory().map_err(&e)?;
    ws.set_name(SHEET_CHANGES).map_err(&e)?;
    let heads = [
        "序号",
        "变动",
        "户编号",
        "姓名",
        "证件号码",
        "乡镇",
        "村",
        "说明",
    ];
    title(
        ws,
        &st,
        heads.len() as u16 - 1,
        &format!("{place} 农户和人口自然增减台账"),
    )
    .map_err(&e)?;
    header(
        ws,
        &st,
        1,
        &heads,
        &[5.0, 8.0, 15.0, 9.0, 19.0, 10.0, 10.0, 40.0],
    )
    .map_err(&e)?;
    for (i, c) in d.changes.iter().enumerate() {
        let row = i as u32 + 2;
        ws.write_number_with_format(row, 0, (i + 1) as f64, &st.int)
            .map_err(&e)?;
        for (col, t) in [
            (1, c.kind),
            (2, &c.hh_id),
            (3, &c.name),
            (4, &c.id_no),
            (5, &c.township),
            (6, &c.village),
            (7, &c.note),
        ] {
            ws.write_string_with_format(row, col, t, &st.text)
                .map_err(&e)?;
        }
    }
    if d.changes.is_empty() {
        empty_note(
            ws,
            &st,
            2,
            heads.len() as u16 - 1,
            "与上月相比没有增减（或没有上月数据）",
        )
        .map_err(&e)?;
    }
    page_setup(ws, false, Some((0, 1))).map_err(&e)?;

    // --- 汇总
    let ws = wb.add_worksheet();
    ws.set_name(SHEET_SUMMARY).map_err(&e)?;
    write_summary(ws, ctx, d, &st).map_err(&e)?;

    // --- 数据问题
    let ws = wb.add_worksheet_with_constant_memory().map_err(&e)?;
    ws.set_name(SHEET_ISSUES).map_err(&e)?;
    let heads = [
        "序号",
        "文件",
        "工作表",
        "行",
        "列",
        "原值",
        "处理",
        "问题说明",
    ];
    title(
        ws,
        &st,
        7,
        &format!("{} 数据问题清单（请核实后更正源表）", ctx.month_cn()),
    )
    .map_err(&e)?;
    header(
        ws,
        &st,
        1,
        &heads,
        &[5.0, 28.0, 12.0, 6.0, 5.0, 18.0, 8.0, 50.0],
    )
    .map_err(&e)?;
    for (i, x) in d.issues.iter().enumerate() {
        let r = i as u32 + 2;
        ws.write_number_with_format(r, 0, (i + 1) as f64, &st.int)
            .map_err(&e)?;
        ws.write_string_with_format(r, 1, &x.loc.file, &st.wrap)
            .map_err(&e)?;
        ws.write_string_with_format(r, 2, x.loc.sheet.as_deref().unwrap_or(""), &st.text)
            .map_err(&e)?;
        match x.loc.row {
            Some(n) => ws.write_number_with_format(r, 3, n as f64, &st.int),
            None => ws.write_string_with_format(r, 3, "", &st.text),
        }
        .map_err(&e)?;
        ws.write_string_with_format(
            r,
            4,
            x.loc.col.map(col_letter).unwrap_or_default(),
            &st.center,
        )
        .map_err(&e)?;
        ws.write_string_with_format(r, 5, &x.value, &st.text)
            .map_err(&e)?;
        ws.write_string_with_format(r, 6, x.severity, &st.center)
            .map_err(&e)?;
        ws.set_row_height(
            r,
            wrapped_height(&x.reason, 50.0, 18.0).max(wrapped_height(&x.loc.file, 28.0, 18.0)),
        )
        .map_err(&e)?;
        ws.write_string_with_format(r, 7, &x.reason, &st.wrap)
            .map_err(&e)?;
    }
    if d.issues.is_empty() {
        empty_note(ws, &st, 2, 7, "未发现数据问题").map_err(&e)?;
    }
    ws.set_freeze_panes(2, 0).map_err(&e)?;
    page_setup(ws, true, Some((0, 1))).map_err(&e)?;

    save(&mut wb, path)
}

fn write_summary(
    ws: &mut Worksheet,
    ctx: &ReportCtx,
    d: &LedgerData,
    st: &Styles,
) -> Result<(), XlsxError> {
    let rows: Vec<&RiskRow> = d
        .rows
        .iter()
        .filter(|r| r.st.status.under_review())
        .collect();
    let mut cause_count: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for r in &rows {
        for c in r.a.causes() {
            let e = cause_count.entry(c).or_default();
            e.0 += 1;
            e.1 += r.h.size;
        }
    }
    let mut causes: Vec<(String, (u32, u32))> = cause_count.into_iter().collect();
    causes.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
    let classes = [ctx.rs.labels.returning.as_str(), ctx.rs.labels.new.as_str()];
    let statuses = [
        crate::history::Status::New,
        crate::history::Status::Continuing,
        crate::history::Status::SuggestElimination,
        crate::history::Status::Returned,
    ];

    let mut heads: Vec<String> = vec!["乡镇".into(), "监测户(户)".into(), "监测人口(人)".into()];
    heads.extend(classes.iter().map(|c| format!("{c}(户)")));
    heads.extend(statuses.iter().map(|s| format!("{}(户)", s.label())));
    heads.extend(causes.iter().map(|(c, _)| format!("{c}(户)")));
    let last = heads.len() as u16 - 1;
    ws.merge_range(
        0,
        0,
        0,
        last.max(5),
        &format!(
            "{} {} 返贫致贫风险监测汇总",
            ctx.rs.meta.locality,
            ctx.month_cn()
        ),
        &st.title,
    )?;
    ws.set_row_height(1, 30)?;
    ws.merge_range(
        1,
        0,
        1,
        last.max(5),
        &format!(
            "规则：{}（{}）；本月参与测算 {} 户，监测户 {} 户 {} 人，其中本月触发预警 {} 户",
            ctx.rs.meta.document,
            ctx.rs.meta.id,
            d.households_read,
            rows.len(),
            rows.iter().map(|r| r.h.size).sum::<u32>(),
            rows.iter().filter(|r| r.a.at_risk()).count()
        ),
        &st.note,
    )?;
    for (c, h) in heads.iter().enumerate() {
        ws.write_string_with_format(2, c as u16, h, &st.header)?;
        ws.set_column_width(c as u16, if c == 0 { 14.0 } else { 10.0 })?;
    }
    let mut by_town: BTreeMap<&str, Vec<&RiskRow>> = BTreeMap::new();
    for r in &rows {
        by_town.entry(r.h.township.as_str()).or_default().push(r);
    }
    let write_line = |ws: &mut Worksheet,
                      name: &str,
                      v: &[&RiskRow],
                      row: u32,
                      fmt: &Format|
     -> Result<(), XlsxError> {
        ws.write_string_with_format(row, 0, name, fmt)?;
        ws.write_number_with_format(row, 1, v.len() as f64, &st.int)?;
        ws.write_number_with_format(
            row,
            2,
            v.iter().map(|r| r.h.size).sum::<u32>() as f64,
            &st.int,
        )?;
        let mut c = 3u16;
        for cl in classes {
            ws.write_number_with_format(
                row,
                c,
                v.iter().filter(|r| r.class == cl).count() as f64,
                &st.int,
            )?;
            c += 1;
        }
        for s in statuses {
            ws.write_number_with_format(
                row,
                c,
                v.iter().filter(|r| r.st.status == s).count() as f64,
                &st.int,
            )?;
            c += 1;
        }
        for (cause, _) in &causes {
            let n = v.iter().filter(|r| r.a.causes().contains(cause)).count();
            ws.write_number_with_format(row, c, n as f64, &st.int)?;
            c += 1;
        }
        Ok(())
    };
    let mut row = 3u32;
    for (t, v) in &by_town {
        write_line(ws, t, v, row, &st.text)?;
        row += 1;
    }
    write_line(ws, "合计", &rows, row, &st.label)?;
    row += 2;

    // Cause table in the layout of the 勐海 2018 statistics (户, 人, 户占%, 人占%).
    ws.merge_range(
        row,
        0,
        row,
        5,
        "风险类型统计（一户多种风险的分别计入，占比以监测户总数为分母）",
        &st.subtitle,
    )?;
    row += 1;
    for (c, h) in ["风险类型", "户数", "人数", "户占%", "人占%"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(row, c as u16, *h, &st.header)?;
    }
    row += 1;
    let total_h = rows.len() as u32;
    let total_p: u32 = rows.iter().map(|r| r.h.size).sum();
    let pct = |n: u32, dd: u32| -> f64 {
        if dd == 0 {
            0.0
        } else {
            money_f64(Decimal::from(n) * Decimal::ONE_HUNDRED / Decimal::from(dd))
        }
    };
    for (c, (h, p)) in &causes {
        ws.write_string_with_format(row, 0, c, &st.text)?;
        ws.write_number_with_format(row, 1, *h as f64, &st.int)?;
        ws.write_number_with_format(row, 2, *p as f64, &st.int)?;
        ws.write_number_with_format(row, 3, pct(*h, total_h), &st.money)?;
        ws.write_number_with_format(row, 4, pct(*p, total_p), &st.money)?;
        row += 1;
    }
    row += 1;

    // Month-by-month trend with a native chart.
    ws.merge_range(
        row,
        0,
        row,
        5,
        "逐月趋势（监测户 / 新识别 / 风险消除）",
        &st.subtitle,
    )?;
    row += 1;
    let head_row = row;
    for (c, h) in ["月份", "监测户(户)", "新识别(户)", "风险消除(户)"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(row, c as u16, *h, &st.header)?;
    }
    row += 1;
    let first = row;
    for p in d.trend {
        ws.write_string_with_format(row, 0, &p.month, &st.center)?;
        ws.write_number_with_format(row, 1, p.monitored as f64, &st.int)?;
        ws.write_number_with_format(row, 2, p.new as f64, &st.int)?;
        ws.write_number_with_format(row, 3, p.eliminated as f64, &st.int)?;
        row += 1;
    }
    if !d.trend.is_empty() {
        let last_row = row - 1;
        let mut chart = Chart::new(ChartType::Line);
        for c in 1..=3u16 {
            chart
                .add_series()
                .set_name((SHEET_SUMMARY, head_row, c))
                .set_categories((SHEET_SUMMARY, first, 0, last_row, 0))
                .set_values((SHEET_SUMMARY, first, c, last_row, c));
        }
        chart.title().set_name("监测户逐月变化");
        chart.y_axis().set_name("户数");
        chart.set_width(560).set_height(300);
        ws.insert_chart(row + 1, 0, &chart)?;
    }
    page_setup(ws, true, None)?;
    Ok(())
}

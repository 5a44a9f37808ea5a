//! 风险户台账.xlsx: the ledger, the summary (汇总) and the data problems.

use super::*;
use crate::error::col_letter;
use crate::model::DataIssue;
use std::collections::BTreeMap;

pub const FILE: &str = "风险户台账.xlsx";
pub const SHEET_LEDGER: &str = "风险户台账";
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
    "家庭人口",
    "家庭纯收入(元)",
    "人均纯收入(元)",
    "风险类型",
    "预警依据",
];

pub fn write(
    ctx: &ReportCtx,
    rows: &[RiskRow],
    households_read: usize,
    issues: &[DataIssue],
    path: &Path,
) -> Result<()> {
    let e = xerr(path);
    let st = Styles::new();
    let mut wb = new_workbook(ctx.month, "返贫致贫风险户台账");

    // --- 风险户台账
    let ws = wb.add_worksheet_with_constant_memory().map_err(&e)?;
    ws.set_name(SHEET_LEDGER).map_err(&e)?;
    let last = LEDGER_HEADERS.len() as u16 - 1;
    ws.merge_range(
        0,
        0,
        0,
        last,
        &format!(
            "{} {} 返贫致贫风险户台账",
            ctx.rs.meta.locality,
            ctx.month_cn()
        ),
        &st.title,
    )
    .map_err(&e)?;
    ws.set_row_height(0, 30).map_err(&e)?;
    for (c, h) in LEDGER_HEADERS.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, *h, &st.header)
            .map_err(&e)?;
    }
    let widths = [
        5.0, 14.0, 9.0, 20.0, 10.0, 10.0, 8.0, 9.0, 11.0, 9.0, 6.0, 12.0, 12.0, 16.0, 60.0,
    ];
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w).map_err(&e)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 2;
        let h = r.h;
        ws.write_number_with_format(row, 0, (i + 1) as f64, &st.int)
            .map_err(&e)?;
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
        ];
        for (c, t) in texts {
            ws.write_string_with_format(row, c, t, &st.text)
                .map_err(&e)?;
        }
        ws.write_number_with_format(row, 10, h.size as f64, &st.int)
            .map_err(&e)?;
        match r.a.net_income {
            Some(v) => ws.write_number_with_format(row, 11, money_f64(v), &st.money),
            None => ws.write_string_with_format(row, 11, "未测算", &st.center),
        }
        .map_err(&e)?;
        match r.a.per_capita {
            Some(v) => ws.write_number_with_format(row, 12, money_f64(v), &st.money),
            None => ws.write_string_with_format(row, 12, "未测算", &st.center),
        }
        .map_err(&e)?;
        ws.write_string_with_format(row, 13, r.a.causes().join("、"), &st.wrap)
            .map_err(&e)?;
        let basis = r.a.basis_text();
        ws.set_row_height(row, wrapped_height(&basis, widths[14], 18.0))
            .map_err(&e)?;
        ws.write_string_with_format(row, 14, basis, &st.wrap)
            .map_err(&e)?;
    }
    if rows.is_empty() {
        ws.merge_range(2, 0, 2, last, "本月未发现返贫致贫风险户", &st.center)
            .map_err(&e)?;
    }
    ws.set_freeze_panes(2, 3).map_err(&e)?;
    ws.autofilter(1, 0, (rows.len() as u32 + 1).max(2), last)
        .map_err(&e)?;
    page_setup(ws, true, Some((0, 1))).map_err(&e)?;

    // --- 汇总
    let ws = wb.add_worksheet();
    ws.set_name(SHEET_SUMMARY).map_err(&e)?;
    write_summary(ws, ctx, rows, households_read, &st).map_err(&e)?;

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
    ws.merge_range(
        0,
        0,
        0,
        7,
        &format!("{} 数据问题清单（请核实后更正源表）", ctx.month_cn()),
        &st.title,
    )
    .map_err(&e)?;
    for (c, h) in heads.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, *h, &st.header)
            .map_err(&e)?;
    }
    for (c, w) in [5.0, 28.0, 12.0, 6.0, 5.0, 18.0, 8.0, 50.0]
        .iter()
        .enumerate()
    {
        ws.set_column_width(c as u16, *w).map_err(&e)?;
    }
    for (i, d) in issues.iter().enumerate() {
        let r = i as u32 + 2;
        ws.write_number_with_format(r, 0, (i + 1) as f64, &st.int)
            .map_err(&e)?;
        ws.write_string_with_format(r, 1, &d.loc.file, &st.wrap)
            .map_err(&e)?;
        ws.write_string_with_format(r, 2, d.loc.sheet.as_deref().unwrap_or(""), &st.text)
            .map_err(&e)?;
        match d.loc.row {
            Some(n) => ws.write_number_with_format(r, 3, n as f64, &st.int),
            None => ws.write_string_with_format(r, 3, "", &st.text),
        }
        .map_err(&e)?;
        ws.write_string_with_format(
            r,
            4,
            d.loc.col.map(col_letter).unwrap_or_default(),
            &st.center,
        )
        .map_err(&e)?;
        ws.write_string_with_format(r, 5, &d.value, &st.text)
            .map_err(&e)?;
        ws.write_string_with_format(r, 6, d.severity, &st.center)
            .map_err(&e)?;
        ws.write_string_with_format(r, 7, &d.reason, &st.wrap)
            .map_err(&e)?;
    }
    if issues.is_empty() {
        ws.merge_range(2, 0, 2, 7, "未发现数据问题", &st.center)
            .map_err(&e)?;
    }
    ws.set_freeze_panes(2, 0).map_err(&e)?;
    page_setup(ws, true, Some((0, 1))).map_err(&e)?;

    save(&mut wb, path)
}

fn write_summary(
    ws: &mut Worksheet,
    ctx: &ReportCtx,
    rows: &[RiskRow],
    households_read: usize,
    st: &Styles,
) -> Result<(), XlsxError> {
    // Causes in a stable order: the order they first appear by frequency.
    let mut cause_count: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for r in rows {
        for c in r.a.causes() {
            let e = cause_count.entry(c).or_default();
            e.0 += 1;
            e.1 += r.h.size;
        }
    }
    let mut causes: Vec<(String, (u32, u32))> = cause_count.into_iter().collect();
    causes.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
    let classes = [ctx.rs.labels.returning.as_str(), ctx.rs.labels.new.as_str()];

    let mut heads: Vec<String> = vec!["乡镇".into(), "风险户(户)".into(), "风险人口(人)".into()];
    heads.extend(classes.iter().map(|c| format!("{c}(户)")));
    heads.extend(causes.iter().map(|(c, _)| format!("{c}(户)")));
    let last = heads.len() as u16 - 1;
    ws.merge_range(
        0,
        0,
        0,
        last.max(5),
        &format!(
            "{} {} 返贫致贫风险户汇总",
            ctx.rs.meta.locality,
            ctx.month_cn()
        ),
        &st.title,
    )?;
    ws.merge_range(
        1,
        0,
        1,
        last.max(5),
        &format!(
            "规则：{}（{}）；本月参与测算 {} 户，发现风险户 {} 户 {} 人",
            ctx.rs.meta.document,
            ctx.rs.meta.id,
            households_read,
            rows.len(),
            rows.iter().map(|r| r.h.size).sum::<u32>()
        ),
        &st.subtitle,
    )?;
    for (c, h) in heads.iter().enumerate() {
        ws.write_string_with_format(2, c as u16, h, &st.header)?;
        ws.set_column_width(c as u16, if c == 0 { 14.0 } else { 11.0 })?;
    }
    let mut by_town: BTreeMap<&str, Vec<&RiskRow>> = BTreeMap::new();
    for r in rows {
        by_town.entry(r.h.township.as_str()).or_default().push(r);
    }
    let mut row = 3u32;
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
        for (i, cl) in classes.iter().enumerate() {
            let n = v.iter().filter(|r| r.class == *cl).count();
            ws.write_number_with_format(row, 3 + i as u16, n as f64, &st.int)?;
        }
        for (i, (c, _)) in causes.iter().enumerate() {
            let n = v.iter().filter(|r| r.a.causes().contains(c)).count();
            ws.write_number_with_format(row, 5 + i as u16, n as f64, &st.int)?;
        }
        Ok(())
    };
    for (t, v) in &by_town {
        write_line(ws, t, v, row, &st.text)?;
        row += 1;
    }
    let all: Vec<&RiskRow> = rows.iter().collect();
    write_line(ws, "合计", &all, row, &st.label)?;
    row += 2;

    // Cause table in the layout of the 勐海 2018 statistics (户, 人, 户占%, 人占%).
    ws.merge_range(
        row,
        0,
        row,
        5,
        "风险类型统计（一户多种风险的分别计入，占比以风险户总数为分母）",
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
    let pct = |n: u32, d: u32| -> f64 {
        if d == 0 {
            0.0
        } else {
            money_f64(Decimal::from(n) * Decimal::ONE_HUNDRED / Decimal::from(d))
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
    page_setup(ws, true, None)?;
    Ok(())
}

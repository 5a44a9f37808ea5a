//! 风险户台账.xlsx: the ledger of monitored (and eliminated) households,
//! the month's new identifications, every elimination on record, the
//! 自然增减 of the roster, the summary (汇总) with the month-by-month trend
//! and a chart, and the data problems.

use super::*;
use crate::error::col_letter;
use crate::history::{Change, EliminatedRow, TrendPoint};
use crate::model::DataIssue;
use rust_xlsxwriter::{Chart, ChartMarker, ChartMarkerType, ChartType};
use std::collections::BTreeMap;

pub const FILE: &str = "风险户台账.xlsx";
pub const SHEET_LEDGER: &str = "风险户台账";
pub const SHEET_NEW: &str = "预警待研判";
pub const SHEET_DECLINED: &str = "已研判不纳入";
pub const SHEET_OVERRIDES: &str = "研判例外";

/// Who filled in and checked a list reported upward.
const SIGN_LINE: &str = "填报单位（盖章）：　　　　　　　　　　填表人：　　　　　　　　审核人：　　　　　　　　填报日期：　　　　年　　月　　日";

/// A conclusion recorded past a gate on the strength of its 备注.
#[derive(Debug, Clone)]
pub struct OverrideLine {
    pub hh_id: String,
    pub decision: String,
    pub gate: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}
pub const SHEET_POOR: &str = "未脱贫户预警";
pub const SHEET_ELIMINATED: &str = "风险消除";
pub const SHEET_CHANGES: &str = "自然增减";
pub const SHEET_CHANGE_TOTALS: &str = "自然增减汇总";
/// The kinds of 自然增减, in the order the totals show them.
pub const CHANGE_KINDS: [&str; 6] = ["户增加", "户减少", "人增加", "人减少", "转户", "人口变化"];
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
    "已落实措施",
    "帮扶责任人",
];

/// Everything the ledger workbook shows.
pub struct LedgerData<'a> {
    /// Households under monitoring this month, then eliminated ones still on the roster.
    pub rows: &'a [RiskRow<'a>],
    /// 未脱贫户 that triggered a rule: listed on their own, not monitored.
    pub poor: &'a [RiskRow<'a>],
    /// Held back by a standing 不纳入 (decision, who, when, why).
    pub declined: &'a [RiskRow<'a>],
    /// This month's conclusions recorded past a gate, with the reason.
    pub overrides: &'a [OverrideLine],
    pub eliminated: &'a [EliminatedRow],
    pub changes: &'a [Change],
    pub trend: &'a [TrendPoint],
    /// 脱贫户 by 脱贫年度 (all 脱贫户 read, with the monitored among them).
    pub years: &'a [super::stats::YearLine],
    pub households_read: usize,
    pub issues: &'a [DataIssue],
}

/// A cell of a list sheet.
enum Out<'a> {
    Text(&'a str),
    Owned(String),
    /// Wrapped text; the row grows to show it.
    Wrap(String),
    Int(f64),
    /// Money, or “未测算” when unknown.
    Money(Option<Decimal>),
}

/// How a list sheet is laid out.
struct ListSheet<'a> {
    name: &'a str,
    title: String,
    heads: &'a [&'a str],
    widths: &'a [f64],
    empty: &'a str,
    landscape: bool,
    /// Columns frozen left of the scrolling area (the header row is always
    /// frozen and filtered).
    freeze_cols: u16,
    /// A 合计 row: the count of rows, and the sum of this column.
    total: Option<usize>,
}

/// A sheet listing one row per item under a title and a header row, with a
/// 序号 column first; written row by row (constant memory).
fn list_sheet<'r>(
    wb: &mut Workbook,
    st: &Styles,
    path: &Path,
    spec: ListSheet,
    rows: impl IntoIterator<Item = Vec<Out<'r>>>,
) -> Result<()> {
    let e = xerr(path);
    let ws = wb.add_worksheet_with_constant_memory().map_err(&e)?;
    ws.set_name(spec.name).map_err(&e)?;
    let last = spec.heads.len() as u16 - 1;
    ws.merge_range(0, 0, 0, last, &spec.title, &st.title)
        .map_err(&e)?;
    ws.set_row_height(0, 30).map_err(&e)?;
    for (c, h) in spec.heads.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, *h, &st.header)
            .map_err(&e)?;
    }
    let width = |c: usize| spec.widths.get(c).copied().unwrap_or(8.43);
    ws.set_row_height(1, header_height(spec.heads, width))
        .map_err(&e)?;
    for (c, w) in spec.widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w).map_err(&e)?;
    }
    let mut n = 0u32;
    let mut sum = 0f64;
    for cells in rows {
        let row = n + 2;
        n += 1;
        ws.write_number_with_format(row, 0, n as f64, &st.int)
            .map_err(&e)?;
        let mut height: f64 = 18.0;
        for (i, cell) in cells.into_iter().enumerate() {
            let c = i as u16 + 1;
            let fit = |t: &str| wrapped_height(t, spec.widths[c as usize], 18.0);
            let written = match cell {
                Out::Text(t) => {
                    height = height.max(fit(t));
                    ws.write_string_with_format(row, c, t, &st.text).map(drop)
                }
                Out::Owned(t) => {
                    height = height.max(fit(&t));
                    ws.write_string_with_format(row, c, t, &st.center).map(drop)
                }
                Out::Wrap(t) => {
                    height = height.max(wrapped_height(&t, spec.widths[c as usize], 18.0));
                    ws.write_string_with_format(row, c, t, &st.wrap).map(drop)
                }
                Out::Int(v) => {
                    if spec.total == Some(c as usize) {
                        sum += v;
                    }
                    ws.write_number_with_format(row, c, v, &st.int).map(drop)
                }
                Out::Money(v) => put_money(ws, row, c, v, st),
            };
            written.map_err(&e)?;
        }
        ws.set_row_height(row, height).map_err(&e)?;
    }
    if n == 0 {
        ws.merge_range(2, 0, 2, last, spec.empty, &st.center)
            .map_err(&e)?;
    }
    let mut row = n.max(1) + 2;
    if let Some(c) = spec.total {
        ws.set_row_height(row, 20).map_err(&e)?;
        ws.merge_range(
            row,
            0,
            row,
            c as u16 - 1,
            &format!("合计 {n} 户"),
            &st.label,
        )
        .map_err(&e)?;
        ws.write_number_with_format(row, c as u16, sum, &st.int)
            .map_err(&e)?;
        for c in c as u16 + 1..=last {
            ws.write_blank(row, c, &st.text).map_err(&e)?;
        }
        row += 1;
    }
    let all: f64 = spec.widths.iter().sum();
    ws.set_row_height(row + 1, wrapped_height(SIGN_LINE, all, 30.0))
        .map_err(&e)?;
    ws.merge_range(row + 1, 0, row + 1, last, SIGN_LINE, &st.sign)
        .map_err(&e)?;
    ws.set_freeze_panes(2, spec.freeze_cols).map_err(&e)?;
    ws.autofilter(1, 0, (n + 1).max(2), last).map_err(&e)?;
    page_setup(ws, spec.landscape, Some((0, 1))).map_err(&e)?;
    Ok(())
}

pub fn write(ctx: &ReportCtx, d: &LedgerData, path: &Path) -> Result<()> {
    let st = Styles::new();
    let mut wb = new_workbook(ctx.month, "返贫致贫风险户台账");
    let place = format!("{} {}", ctx.rs.meta.locality, ctx.month_cn());
    use crate::history::Status;

    list_sheet(
        &mut wb,
        &st,
        path,
        ListSheet {
            name: SHEET_LEDGER,
            title: format!("{place} 返贫致贫风险户台账"),
            heads: LEDGER_HEADERS,
            widths: &[
                5.0, 19.0, 8.0, 22.0, 8.0, 10.0, 6.0, 8.0, 10.0, 9.0, 11.0, 9.0, 5.0, 11.0, 11.0,
                12.0, 41.0, 8.0, 9.0, 16.0, 10.0,
            ],
            empty: "本月没有监测户",
            landscape: true,
            freeze_cols: 3,
            total: Some(12),
        },
        d.rows.iter().map(|r| {
            let h = r.h;
            let basis = if r.absent {
                format!(
                    "户减少：本月花名册中没有该户，保留“{}”状态（不剔除），请核实迁出、死亡或合户",
                    r.status()
                )
            } else if r.a.at_risk() {
                r.a.basis_text()
            } else if r.st.status == Status::Eliminated {
                String::from("风险已消除（标注，不剔除）")
            } else {
                format!("本月未触发预警，已连续 {} 个月", r.st.quiet_months)
            };
            vec![
                Out::Text(&h.id),
                Out::Text(&h.head_name),
                Out::Text(&h.id_no),
                Out::Text(&h.township),
                Out::Text(&h.village),
                Out::Text(&h.group),
                Out::Text(h.hh_type.label()),
                Out::Text(r.class),
                Out::Text(r.risk),
                Out::Text(r.status()),
                Out::Text(r.since()),
                Out::Int(h.size as f64),
                Out::Money(r.a.net_income),
                Out::Money(r.a.per_capita),
                Out::Wrap(r.a.causes().join("、")),
                Out::Wrap(basis),
                Out::Text(r.st.eliminated.as_deref().unwrap_or("")),
                Out::Text(r.st.method.as_deref().unwrap_or("")),
                Out::Wrap(
                    ctx.support_of(&h.id)
                        .map(|s| s.summary())
                        .unwrap_or_default(),
                ),
                Out::Owned(
                    ctx.support_of(&h.id)
                        .map(|s| s.helper.clone())
                        .unwrap_or_default(),
                ),
            ]
        }),
    )?;

    list_sheet(
        &mut wb,
        &st,
        path,
        ListSheet {
            name: SHEET_NEW,
            title: format!("{place} 预警户（待研判、审定；不计入监测户）"),
            heads: &[
                "序号",
                "户编号",
                "户主姓名",
                "乡镇",
                "村",
                "监测类型",
                "监测状态",
                "首次预警月份",
                "待研判月数",
                "风险类型",
                "人均纯收入(元)",
                "预警依据",
            ],
            widths: &[
                5.0, 19.0, 8.0, 10.0, 10.0, 10.0, 12.0, 10.0, 8.0, 14.0, 11.0, 50.0,
            ],
            empty: "本月没有待研判的预警户",
            landscape: true,
            freeze_cols: 3,
            total: None,
        },
        d.rows.iter().filter(|r| r.st.status.pending()).map(|r| {
            let mut basis = r.a.basis_text();
            if let Some(n) = &r.st.note {
                basis = format!("{n}；{basis}");
            }
            vec![
                Out::Text(&r.h.id),
                Out::Text(&r.h.head_name),
                Out::Text(&r.h.township),
                Out::Text(&r.h.village),
                Out::Text(r.class),
                Out::Text(r.status()),
                Out::Text(r.st.first_warned.as_deref().unwrap_or("")),
                Out::Int(f64::from(r.st.pending_months)),
                Out::Wrap(r.a.causes().join("、")),
                Out::Money(r.a.per_capita),
                Out::Wrap(basis),
            ]
        }),
    )?;

    list_sheet(
        &mut wb,
        &st,
        path,
        ListSheet {
            name: SHEET_DECLINED,
            title: format!("{place} 已研判不纳入户（情况未变差，不再预警；有新情况时重新预警）"),
            heads: &[
                "序号",
                "户编号",
                "户主姓名",
                "乡镇",
                "村",
                "不纳入月份",
                "说明",
                "本月风险类型",
                "人均纯收入(元)",
            ],
            widths: &[5.0, 19.0, 8.0, 10.0, 10.0, 10.0, 40.0, 14.0, 11.0],
            empty: "没有已研判不纳入的户",
            landscape: true,
            freeze_cols: 3,
            total: None,
        },
        d.declined.iter().map(|r| {
            vec![
                Out::Text(&r.h.id),
                Out::Text(&r.h.head_name),
                Out::Text(&r.h.township),
                Out::Text(&r.h.village),
                Out::Text(r.st.declined.as_deref().unwrap_or("")),
                Out::Wrap(r.st.note.map(|n| n.to_string()).unwrap_or_default()),
                Out::Wrap(r.a.causes().join("、")),
                Out::Money(r.a.per_capita),
            ]
        }),
    )?;

    list_sheet(
        &mut wb,
        &st,
        path,
        ListSheet {
            name: SHEET_OVERRIDES,
            title: format!("{place} 研判例外清单（未满足消除条件、凭备注理由记录的结论）"),
            heads: &[
                "序号",
                "户编号",
                "研判结论",
                "未满足的条件",
                "理由（备注）",
                "审定人",
                "记录时间",
            ],
            widths: &[5.0, 15.0, 10.0, 30.0, 36.0, 8.0, 17.0],
            empty: "本月没有例外",
            landscape: true,
            freeze_cols: 3,
            total: None,
        },
        d.overrides.iter().map(|o| {
            vec![
                Out::Text(&o.hh_id),
                Out::Text(&o.decision),
                Out::Wrap(o.gate.clone()),
                Out::Wrap(o.reason.clone()),
                Out::Text(&o.by),
                Out::Text(&o.at),
            ]
        }),
    )?;

    list_sheet(
        &mut wb,
        &st,
        path,
        ListSheet {
            name: SHEET_POOR,
            title: format!("{place} 未脱贫户触发预警情况（单独列出，不计入脱贫监测户和边缘户）"),
            heads: &[
                "序号",
                "户编号",
                "户主姓名",
                "乡镇",
                "村",
                "家庭人口",
                "风险类型",
                "人均纯收入(元)",
                "预警依据",
            ],
            widths: &[5.0, 15.0, 8.0, 10.0, 10.0, 6.0, 14.0, 11.0, 50.0],
            empty: "本月没有触发预警的未脱贫户",
            landscape: true,
            freeze_cols: 3,
            total: None,
        },
        d.poor.iter().map(|r| {
            vec![
                Out::Text(&r.h.id),
                Out::Text(&r.h.head_name),
                Out::Text(&r.h.township),
                Out::Text(&r.h.village),
                Out::Int(r.h.size as f64),
                Out::Wrap(r.a.causes().join("、")),
                Out::Money(r.a.per_capita),
                Out::Wrap(r.a.basis_text()),
            ]
        }),
    )?;

    list_sheet(
        &mut wb,
        &st,
        path,
        ListSheet {
            name: SHEET_ELIMINATED,
            title: format!("{place} 风险消除户（累计，标注不剔除）"),
            heads: &[
                "序号",
                "户编号",
                "户主姓名",
                "乡镇",
                "村",
                "纳入监测时间",
                "消除时间",
                "消除方式",
                "研判人",
            ],
            widths: &[5.0, 15.0, 8.0, 10.0, 10.0, 12.0, 10.0, 10.0, 10.0],
            empty: "尚无风险消除户",
            landscape: false,
            freeze_cols: 3,
            total: None,
        },
        d.eliminated.iter().map(|x| {
            vec![
                Out::Text(&x.hh_id),
                Out::Text(&x.head_name),
                Out::Text(&x.township),
                Out::Text(&x.village),
                Out::Text(&x.identified),
                Out::Text(&x.eliminated),
                Out::Text(&x.method),
                Out::Text(&x.decided_by),
            ]
        }),
    )?;

    // 攀枝花 二、（一）一是：roster changes against the previous month.
    list_sheet(
        &mut wb,
        &st,
        path,
        ListSheet {
            name: SHEET_CHANGES,
            title: format!("{place} 农户和人口自然增减台账"),
            heads: &[
                "序号",
                "变动",
                "户编号",
                "姓名",
                "证件号码",
                "乡镇",
                "村",
                "说明",
            ],
            widths: &[5.0, 8.0, 15.0, 9.0, 19.0, 10.0, 10.0, 40.0],
            empty: "与上月相比没有增减（或没有上月数据）",
            landscape: false,
            freeze_cols: 3,
            total: None,
        },
        d.changes.iter().map(|c| {
            vec![
                Out::Text(c.kind),
                Out::Text(&c.hh_id),
                Out::Text(&c.name),
                Out::Text(&c.id_no),
                Out::Text(&c.township),
                Out::Text(&c.village),
                Out::Wrap(c.note.clone()),
            ]
        }),
    )?;

    let ws = wb.add_worksheet();
    ws.set_name(SHEET_CHANGE_TOTALS).map_err(xerr(path))?;
    write_change_totals(ws, ctx, d.changes, &st).map_err(xerr(path))?;

    let ws = wb.add_worksheet();
    ws.set_name(SHEET_SUMMARY).map_err(xerr(path))?;
    write_summary(ws, ctx, d, &st).map_err(xerr(path))?;

    list_sheet(
        &mut wb,
        &st,
        path,
        ListSheet {
            name: SHEET_ISSUES,
            title: format!("{} 数据问题清单（请核实后更正源表）", ctx.month_cn()),
            heads: &[
                "序号",
                "文件",
                "工作表",
                "行",
                "列",
                "原值",
                "处理",
                "问题说明",
            ],
            widths: &[5.0, 28.0, 12.0, 6.0, 5.0, 22.0, 8.0, 46.0],
            empty: "未发现数据问题",
            landscape: true,
            freeze_cols: 0,
            total: None,
        },
        d.issues.iter().map(|x| {
            vec![
                Out::Wrap(x.loc.file.to_string()),
                Out::Text(x.loc.sheet.as_deref().unwrap_or("")),
                x.loc.row.map_or(Out::Text(""), |n| Out::Int(n as f64)),
                Out::Owned(x.loc.col.map(col_letter).unwrap_or_default()),
                Out::Text(&x.value),
                Out::Text(x.severity),
                Out::Wrap(x.reason.clone()),
            ]
        }),
    )?;

    save(&mut wb, path)
}

/// 自然增减 totals by 乡镇 and kind (攀枝花 二、（一）一是 工作台账).
fn write_change_totals(
    ws: &mut Worksheet,
    ctx: &ReportCtx,
    changes: &[Change],
    st: &Styles,
) -> Result<(), XlsxError> {
    let last = CHANGE_KINDS.len() as u16 + 1;
    let title = format!(
        "{} {} 农户和人口自然增减汇总",
        ctx.rs.meta.locality,
        ctx.month_cn()
    );
    ws.merge_range(0, 0, 0, last, &title, &st.title)?;
    ws.set_row_height(0, 30)?;
    ws.write_string_with_format(1, 0, "乡镇", &st.header)?;
    ws.set_column_width(0, 14)?;
    for (c, k) in CHANGE_KINDS.iter().enumerate() {
        ws.write_string_with_format(1, c as u16 + 1, *k, &st.header)?;
        ws.set_column_width(c as u16 + 1, 9)?;
    }
    ws.write_string_with_format(1, last, "合计(条)", &st.header)?;
    ws.set_column_width(last, 9)?;
    let mut heads = vec!["乡镇"];
    heads.extend(CHANGE_KINDS.iter());
    heads.push("合计(条)");
    ws.set_row_height(
        1,
        header_height(&heads, |c| if c == 0 { 14.0 } else { 9.0 }),
    )?;
    let mut by_town: BTreeMap<&str, [u32; 6]> = BTreeMap::new();
    for ch in changes {
        let town = if ch.township.is_empty() {
            "（未填乡镇）"
        } else {
            ch.township.as_str()
        };
        let line = by_town.entry(town).or_default();
        if let Some(i) = CHANGE_KINDS.iter().position(|k| *k == ch.kind) {
            line[i] += 1;
        }
    }
    let mut total = [0u32; 6];
    let mut row = 2u32;
    let put = |ws: &mut Worksheet,
               row: u32,
               name: &str,
               v: &[u32; 6],
               f: &Format|
     -> Result<(), XlsxError> {
        ws.write_string_with_format(row, 0, name, f)?;
        for (c, n) in v.iter().enumerate() {
            ws.write_number_with_format(row, c as u16 + 1, f64::from(*n), &st.int)?;
        }
        ws.write_number_with_format(row, last, f64::from(v.iter().sum::<u32>()), &st.int)?;
        Ok(())
    };
    for (town, v) in &by_town {
        put(ws, row, town, v, &st.text)?;
        for (t, n) in total.iter_mut().zip(v) {
            *t += n;
        }
        row += 1;
    }
    put(ws, row, "合计", &total, &st.label)?;
    page_setup(ws, false, Some((0, 1)))?;
    Ok(())
}

/// 一帮扶 per 乡镇: measures carried out among the 监测户, those still
/// without any measure past the rule file's days, and those still
/// triggering after measures (000 三（二）5 次月审核评估帮扶措施实效).
fn measures_table(
    ws: &mut Worksheet,
    ctx: &ReportCtx,
    rows: &[&RiskRow],
    mut row: u32,
    st: &Styles,
) -> Result<u32, XlsxError> {
    let days = ctx.rs.review.measure_days;
    let end = crate::normalize::month_end(ctx.month);
    ws.merge_range(
        row,
        0,
        row,
        5,
        &format!("帮扶措施落实情况（监测户；纳入 {days} 天后仍无措施的列为“超期无措施”）"),
        &st.subtitle,
    )?;
    row += 1;
    let heads = [
        "乡镇",
        "监测户(户)",
        "已落实措施(户)",
        "措施落实率%",
        "超期无措施(户)",
        "措施后仍触发(户)",
    ];
    for (c, h) in heads.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *h, &st.header)?;
    }
    row += 1;
    let mut towns: BTreeMap<&str, [u32; 4]> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.st.status.monitored()) {
        let s = ctx.support_of(&r.h.id);
        let done = s.is_some_and(|s| s.any_done());
        let since =
            r.st.identified
                .as_deref()
                .and_then(|m| crate::normalize::parse_month_arg(m).ok());
        let overdue = s.is_none_or(|s| s.measures.is_empty())
            && since.is_some_and(|d| (end - d).num_days() >= i64::from(days));
        let t = towns.entry(r.h.township.as_str()).or_default();
        t[0] += 1;
        t[1] += u32::from(done);
        t[2] += u32::from(overdue);
        t[3] += u32::from(done && r.a.at_risk());
    }
    let mut total = [0u32; 4];
    for (town, v) in towns
        .iter()
        .map(|(t, v)| (*t, *v))
        .chain(std::iter::once(("合计", [0; 4])))
    {
        let v = if town == "合计" { total } else { v };
        ws.write_string_with_format(
            row,
            0,
            town,
            if town == "合计" {
                &st.label
            } else {
                &st.text
            },
        )?;
        ws.write_number_with_format(row, 1, f64::from(v[0]), &st.int)?;
        ws.write_number_with_format(row, 2, f64::from(v[1]), &st.int)?;
        let rate = if v[0] == 0 {
            0.0
        } else {
            money_f64(Decimal::from(v[1]) * Decimal::ONE_HUNDRED / Decimal::from(v[0]))
        };
        ws.write_number_with_format(row, 3, rate, &st.money)?;
        ws.write_number_with_format(row, 4, f64::from(v[2]), &st.int)?;
        ws.write_number_with_format(row, 5, f64::from(v[3]), &st.int)?;
        for (t, n) in total.iter_mut().zip(v) {
            *t += n;
        }
        row += 1;
    }
    Ok(row + 1)
}

/// One 主要风险类型 per household, 户/人/户占%/人占% adding up to the total
/// (勐海 海发〔2018〕18号 二、（一）1 layout).
fn primary_cause_table(
    ws: &mut Worksheet,
    ctx: &ReportCtx,
    rows: &[&RiskRow],
    mut row: u32,
    st: &Styles,
) -> Result<u32, XlsxError> {
    let cite = ctx
        .rs
        .statistics
        .citation
        .as_ref()
        .map(|c| format!("，口径见{}", c.clause))
        .unwrap_or_default();
    ws.merge_range(
        row,
        0,
        row,
        5,
        &format!(
            "主要风险类型统计（一户只计一项，取农户信息“主要致贫原因”或第一个触发的规则{cite}）"
        ),
        &st.subtitle,
    )?;
    row += 1;
    for (c, h) in ["主要风险类型", "户数", "人数", "户占%", "人占%"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(row, c as u16, *h, &st.header)?;
    }
    row += 1;
    let lines = super::stats::primary_cause_table(rows, &ctx.rs.statistics.primary_causes);
    for l in &lines {
        ws.write_string_with_format(row, 0, &l.cause, &st.text)?;
        ws.write_number_with_format(row, 1, f64::from(l.households), &st.int)?;
        ws.write_number_with_format(row, 2, f64::from(l.people), &st.int)?;
        ws.write_number_with_format(row, 3, money_f64(l.household_share), &st.money)?;
        ws.write_number_with_format(row, 4, money_f64(l.people_share), &st.money)?;
        row += 1;
    }
    let total = |f: fn(&super::stats::CauseLine) -> u32| lines.iter().map(f).sum::<u32>();
    ws.write_string_with_format(row, 0, "合计", &st.label)?;
    ws.write_number_with_format(row, 1, f64::from(total(|l| l.households)), &st.int)?;
    ws.write_number_with_format(row, 2, f64::from(total(|l| l.people)), &st.int)?;
    let hundred = if rows.is_empty() { 0.0 } else { 100.0 };
    ws.write_number_with_format(row, 3, hundred, &st.money)?;
    ws.write_number_with_format(row, 4, hundred, &st.money)?;
    Ok(row + 2)
}

/// 脱贫户 by 脱贫年度, and those whose income grew less than the county.
fn year_table(
    ws: &mut Worksheet,
    ctx: &ReportCtx,
    years: &[super::stats::YearLine],
    mut row: u32,
    st: &Styles,
) -> Result<u32, XlsxError> {
    let growth = ctx.rs.statistics.county_income_growth;
    let avg = growth.map_or_else(
        || "（规则文件未设全县平均增幅，不比较）".to_string(),
        |g| {
            format!(
                "（全县平均增幅 {}%）",
                (g * Decimal::ONE_HUNDRED).normalize()
            )
        },
    );
    ws.merge_range(
        row,
        0,
        row,
        5,
        &format!("脱贫户按脱贫年度统计{avg}"),
        &st.subtitle,
    )?;
    row += 1;
    let heads = [
        "脱贫年度",
        "脱贫户(户)",
        "其中监测户(户)",
        "两年收入齐全(户)",
        "增幅低于全县平均(户)",
    ];
    for (c, h) in heads.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *h, &st.header)?;
    }
    row += 1;
    if years.is_empty() {
        ws.merge_range(row, 0, row, 4, "本月花名册中没有脱贫户", &st.center)?;
        return Ok(row + 2);
    }
    for y in years {
        ws.write_string_with_format(row, 0, &y.year, &st.center)?;
        for (c, v) in [y.households, y.monitored, y.with_both_incomes]
            .iter()
            .enumerate()
        {
            ws.write_number_with_format(row, c as u16 + 1, f64::from(*v), &st.int)?;
        }
        if growth.is_some() {
            ws.write_number_with_format(row, 4, f64::from(y.slower_than_county), &st.int)?;
        } else {
            ws.write_string_with_format(row, 4, "—", &st.center)?;
        }
        row += 1;
    }
    Ok(row + 1)
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
        crate::history::Status::Pending,
        crate::history::Status::ReturnedPending,
        crate::history::Status::NewlyIncluded,
        crate::history::Status::Continuing,
        crate::history::Status::SuggestElimination,
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
    ws.set_row_height(
        2,
        header_height(&heads, |c| if c == 0 { 14.0 } else { 10.0 }),
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
        // Each household's causes once (not once per cause column).
        let mut met = vec![0usize; causes.len()];
        for r in v {
            for cause in r.a.causes() {
                if let Some(k) = causes.iter().position(|(c, _)| *c == cause) {
                    met[k] += 1;
                }
            }
        }
        for n in met {
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

    row = measures_table(ws, ctx, &rows, row, st)?;
    row = primary_cause_table(ws, ctx, &rows, row, st)?;
    row = year_table(ws, ctx, d.years, row, st)?;

    // Every cause met (one household with several counts under each).
    ws.merge_range(
        row,
        0,
        row,
        5,
        "风险类型统计（多项计：一户多种风险的分别计入，占比以监测户总数为分母，合计可超过100%）",
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
        "逐月趋势（监测户 / 新纳入 / 风险消除 / 预警户）",
        &st.subtitle,
    )?;
    row += 1;
    let head_row = row;
    let trend_heads = [
        "月份",
        "监测户(户)",
        "新纳入(户)",
        "风险消除(户)",
        "预警户(户)",
    ];
    ws.set_row_height(
        row,
        header_height(&trend_heads, |c| if c == 0 { 14.0 } else { 10.0 }),
    )?;
    for (c, h) in trend_heads.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *h, &st.header)?;
    }
    row += 1;
    let first = row;
    for p in d.trend {
        ws.write_string_with_format(row, 0, &p.month, &st.center)?;
        ws.write_number_with_format(row, 1, p.monitored as f64, &st.int)?;
        ws.write_number_with_format(row, 2, p.new as f64, &st.int)?;
        ws.write_number_with_format(row, 3, p.eliminated as f64, &st.int)?;
        ws.write_number_with_format(row, 4, p.warned as f64, &st.int)?;
        row += 1;
    }
    if !d.trend.is_empty() {
        let last_row = row - 1;
        // One month is one point: columns show it, a line would not.
        let kind = if d.trend.len() == 1 {
            ChartType::Column
        } else {
            ChartType::Line
        };
        let mut chart = Chart::new(kind);
        for c in 1..=4u16 {
            let series = chart
                .add_series()
                .set_name((SHEET_SUMMARY, head_row, c))
                .set_categories((SHEET_SUMMARY, first, 0, last_row, 0))
                .set_values((SHEET_SUMMARY, first, c, last_row, c));
            if kind == ChartType::Line {
                series.set_marker(ChartMarker::new().set_type(ChartMarkerType::Circle));
            }
        }
        chart.title().set_name("监测户逐月变化");
        chart.y_axis().set_name("户数");
        chart.set_width(560).set_height(300);
        ws.insert_chart(row + 1, 0, &chart)?;
    }
    page_setup(ws, true, None)?;
    Ok(())
}

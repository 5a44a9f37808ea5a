//! The annex forms of the 弥勒 2020 办法 (附件3-1, 3-2, 4, 5, 6) for this
//! month's risk households. Per-household forms (3-1, 3-2, 4) put one
//! household per printed page (manual page breaks), one sheet per 乡镇;
//! the 研判表 (5, 6) list households per 乡镇.

use super::*;
use crate::normalize::{fmt_money, id_birth_sex, month_end};
use rust_xlsxwriter::{DataValidation, Formula};

pub const FILE_SURVEY: &str = "附件3-1 返贫致贫风险户调查表.xlsx";
pub const FILE_BUDGET: &str = "附件3-2 致贫返贫风险户收支测算表.xlsx";
pub const FILE_MEASURES: &str = "附件4 致贫返贫风险户帮扶措施表.xlsx";

pub fn review_file_returning(rs: &RuleSet) -> String {
    format!("附件5 {}动态监测分析研判表.xlsx", rs.labels.returning)
}
pub fn review_file_new(rs: &RuleSet) -> String {
    format!("附件6 {}动态监测分析研判表.xlsx", rs.labels.new)
}

/// Excel allows 1023 manual page breaks per sheet.
const PER_SHEET: usize = 1000;

fn put(
    ws: &mut Worksheet,
    r: u32,
    c1: u16,
    c2: u16,
    text: &str,
    f: &Format,
) -> Result<(), XlsxError> {
    if c1 == c2 {
        ws.write_string_with_format(r, c1, text, f)?;
    } else {
        ws.merge_range(r, c1, r, c2, text, f)?;
    }
    Ok(())
}

fn place(h: &Household) -> String {
    let mut s = h.township.clone();
    if !h.village.is_empty() {
        s.push_str(&h.village);
    }
    if !h.group.is_empty() {
        s.push_str(&h.group);
    }
    s
}

fn spending_text(ctx: &ReportCtx, a: &Assessment) -> String {
    let from = ctx.rs.spending_window(ctx.month);
    if a.spending.is_empty() {
        return format!(
            "{}至{}无刚性支出记录",
            from.format("%Y-%m-%d"),
            month_end(ctx.month).format("%Y-%m-%d")
        );
    }
    let parts: Vec<String> = a
        .spending
        .iter()
        .map(|(c, v)| format!("{c} {} 元", fmt_money(*v)))
        .collect();
    let total: Decimal = a.spending.values().fold(Decimal::ZERO, |s, v| {
        s.checked_add(*v).unwrap_or(Decimal::MAX)
    });
    format!(
        "{}至{}：{}；合计 {} 元",
        from.format("%Y-%m-%d"),
        month_end(ctx.month).format("%Y-%m-%d"),
        parts.join("；"),
        fmt_money(total)
    )
}

/// Write a workbook of per-household blocks, one 乡镇 per sheet, a page
/// break before every household after the first.
fn per_household(
    ctx: &ReportCtx,
    rows: &[RiskRow],
    path: &Path,
    title: &str,
    landscape: bool,
    widths: &[f64],
    mut block: impl FnMut(&mut Worksheet, u32, &RiskRow, &Styles) -> Result<u32, XlsxError>,
) -> Result<()> {
    let e = xerr(path);
    let st = Styles::new();
    let mut wb = new_workbook(ctx.month, title);
    let mut used = Vec::new();
    let groups = by_township(rows.iter(), PER_SHEET);
    if groups.is_empty() {
        let ws = wb.add_worksheet();
        ws.set_name("本月无风险户").map_err(&e)?;
        put(ws, 0, 0, widths.len() as u16 - 1, title, &st.title).map_err(&e)?;
        put(
            ws,
            1,
            0,
            widths.len() as u16 - 1,
            &format!("{} 未发现返贫致贫风险户", ctx.month_cn()),
            &st.subtitle,
        )
        .map_err(&e)?;
        page_setup(ws, landscape, None).map_err(&e)?;
    }
    for (town, list) in groups {
        let ws = wb.add_worksheet_with_constant_memory().map_err(&e)?;
        ws.set_name(sheet_name(&town, &mut used)).map_err(&e)?;
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, *w).map_err(&e)?;
        }
        let mut row = 0u32;
        let mut breaks = Vec::new();
        for r in list {
            if row > 0 {
                breaks.push(row);
            }
            row = block(ws, row, r, &st).map_err(&e)?;
        }
        if !breaks.is_empty() {
            ws.set_page_breaks(&breaks).map_err(&e)?;
        }
        page_setup(ws, landscape, None).map_err(&e)?;
    }
    save(&mut wb, path)
}

pub fn application_file(rs: &RuleSet, returning: bool) -> String {
    if returning {
        format!("附件1 {}申请书.xlsx", rs.labels.returning)
    } else {
        format!("附件2 {}申请书.xlsx", rs.labels.new)
    }
}

/// 附件1 / 附件2 申请书: a pre-filled letter for each newly identified
/// household, to be checked, signed (or thumb-printed) by the household and
/// kept in the 一户一档.
pub fn write_application(
    ctx: &ReportCtx,
    rows: &[RiskRow],
    returning: bool,
    path: &Path,
) -> Result<()> {
    let (no, label, risk) = if returning {
        (
            "附件1",
            &ctx.rs.labels.returning,
            &ctx.rs.labels.returning_risk,
        )
    } else {
        ("附件2", &ctx.rs.labels.new, &ctx.rs.labels.new_risk)
    };
    let title = format!("{label}申请书");
    let from = crate::normalize::months_back(ctx.month, 11);
    let to = month_end(ctx.month);
    per_household(
        ctx,
        rows,
        path,
        &title,
        false,
        &[14.0; 6],
        |ws, r0, r, st| {
            let h = r.h;
            let mut row = r0;
            put(ws, row, 0, 5, no, &st.subtitle)?;
            row += 1;
            put(ws, row, 0, 5, &title, &st.title)?;
            ws.set_row_height(row, 40)?;
            row += 2;
            let addressee = match h.village.as_str() {
                "" => "________村（居）委会".to_string(),
                v if v.ends_with('村') => format!("{v}委会"),
                v if v.ends_with("社区") => format!("{v}居委会"),
                v => format!("{v}村（居）委会"),
            };
            put(ws, row, 0, 5, &format!("{addressee}："), &st.letter)?;
            ws.set_row_height(row, 24)?;
            row += 1;
            let labour = h.labor.map_or("___".to_string(), |n| n.to_string());
            let pc = r.a.per_capita.map_or("________".to_string(), fmt_money);
            let causes = because(&r.a.causes());
            let standing = if returning {
                let year = if h.tuopin_year.is_empty() {
                    "____"
                } else {
                    &h.tuopin_year
                };
                format!("我家为{year}年脱贫户，")
            } else {
                "我家为非建档立卡户，".to_string()
            };
            let body = format!(
            "　　本人{}（证件号码 {}，户编号 {}），家住{}{}{}，家庭人口{}人，其中有劳动力{}人。{}{}至{}家庭人均纯收入{}元。{}，家庭存在{}，特申请纳入{}，请予核查批准。\n　　本人承诺以上情况属实，同意有关部门查询、核实家庭收入和财产情况。",
            h.head_name,
            if h.id_no.is_empty() { "__________________" } else { &h.id_no },
            h.id,
            h.township,
            h.village,
            h.group,
            h.size,
            labour,
            standing,
            from.format("%Y年%-m月"),
            to.format("%Y年%-m月"),
            pc,
            causes,
            risk,
            label
        );
            put(ws, row, 0, 5, &body, &st.letter)?;
            ws.set_row_height(row, wrapped_height(&body, 70.0, 60.0) * 1.4)?;
            row += 2;
            for line in [
                "申请人（签字/手印）：",
                "代填人（签字）：",
                "年　　月　　日",
            ] {
                put(ws, row, 3, 5, line, &st.sign)?;
                ws.set_row_height(row, 28)?;
                row += 1;
            }
            Ok(row + 1)
        },
    )
}

/// 附件3-1 返贫致贫风险户调查表 (8 columns, portrait).
pub fn write_survey(ctx: &ReportCtx, rows: &[RiskRow], path: &Path) -> Result<()> {
    let widths = [7.0, 16.0, 10.0, 12.0, 12.0, 8.0, 12.0, 12.0];
    per_household(
        ctx,
        rows,
        path,
        "返贫致贫风险户调查表",
        false,
        &widths,
        |ws, r0, r, st| {
            let h = r.h;
            let mut row = r0;
            put(ws, row, 0, 7, "附件3-1    返贫致贫风险户调查表", &st.title)?;
            ws.set_row_height(row, 32)?;
            row += 1;
            put(
                ws,
                row,
                0,
                7,
                &format!(
                "{}   {} 乡(镇)   {} 村(居)委会   {} 村民小组        调查日期：     年   月   日",
                ctx.rs.meta.locality, h.township, h.village, h.group
            ),
                &st.subtitle,
            )?;
            row += 1;
            let line =
                |ws: &mut Worksheet, row: u32, cells: &[(&str, &str)]| -> Result<(), XlsxError> {
                    for (i, (l, v)) in cells.iter().enumerate() {
                        let c = (i * 2) as u16;
                        ws.write_string_with_format(row, c, *l, &st.label)?;
                        ws.write_string_with_format(row, c + 1, *v, &st.text)?;
                    }
                    Ok(())
                };
            ws.write_string_with_format(row, 0, "户主姓名", &st.label)?;
            ws.write_string_with_format(row, 1, &h.head_name, &st.text)?;
            ws.write_string_with_format(row, 2, "身份证号", &st.label)?;
            put(ws, row, 3, 4, &h.id_no, &st.text)?;
            ws.write_string_with_format(row, 5, "联系电话", &st.label)?;
            put(ws, row, 6, 7, &h.phone, &st.text)?;
            row += 1;
            line(
                ws,
                row,
                &[
                    ("户编号", &h.id),
                    ("户类型", h.hh_type.label()),
                    ("监测类型", r.class),
                    ("脱贫年度", &h.tuopin_year),
                ],
            )?;
            row += 1;
            let size = h.size.to_string();
            let labor = h.labor.map(|n| n.to_string()).unwrap_or_default();
            line(
                ws,
                row,
                &[
                    ("户籍人口", &size),
                    ("常住人口", ""),
                    ("劳动力人数", &labor),
                    ("风险属性", r.risk),
                ],
            )?;
            row += 1;
            put(ws, row, 0, 7, "家庭成员情况", &st.header)?;
            row += 1;
            for (c, t) in [
                "序号",
                "姓名",
                "与户主关系",
                "身份证号",
                "",
                "性别",
                "出生日期",
                "健康状况/劳动技能",
            ]
            .iter()
            .enumerate()
            {
                if c == 4 {
                    continue;
                }
                if c == 3 {
                    put(ws, row, 3, 4, t, &st.header)?;
                } else {
                    ws.write_string_with_format(row, c as u16, *t, &st.header)?;
                }
            }
            row += 1;
            let mut mem: Vec<(String, String, String)> = ctx
                .members_of(&h.id)
                .iter()
                .map(|m| (m.name.clone(), m.relation.clone(), m.id_no.clone()))
                .collect();
            if mem.is_empty() {
                mem.push((h.head_name.clone(), "户主".into(), h.id_no.clone()));
            }
            for (i, (name, rel, id)) in mem.iter().enumerate() {
                let (birth, sex) = id_birth_sex(id)
                    .map(|(d, s)| (d.format("%Y-%m-%d").to_string(), s))
                    .unwrap_or_default();
                ws.write_number_with_format(row, 0, (i + 1) as f64, &st.int)?;
                ws.write_string_with_format(row, 1, name, &st.text)?;
                ws.write_string_with_format(row, 2, rel, &st.center)?;
                put(ws, row, 3, 4, id, &st.text)?;
                ws.write_string_with_format(row, 5, sex, &st.center)?;
                ws.write_string_with_format(row, 6, &birth, &st.center)?;
                ws.write_string_with_format(row, 7, "", &st.text)?;
                row += 1;
            }
            put(ws, row, 0, 7, "“两不愁三保障”及饮水安全情况", &st.header)?;
            row += 1;
            let g = &h.guarantees;
            line(
                ws,
                row,
                &[
                    ("义务教育有保障", yes_no(g.get("义务教育"))),
                    ("基本医疗有保障", yes_no(g.get("基本医疗"))),
                    ("住房安全有保障", yes_no(g.get("住房安全"))),
                    ("饮水安全有保障", yes_no(g.get("饮水安全"))),
                ],
            )?;
            ws.set_row_height(row, 28)?;
            row += 1;
            let labeled = |ws: &mut Worksheet,
                           row: &mut u32,
                           label: &str,
                           text: &str,
                           height: f64|
             -> Result<(), XlsxError> {
                ws.write_string_with_format(*row, 0, label, &st.label)?;
                put(ws, *row, 1, 7, text, &st.wrap)?;
                ws.set_row_height(*row, height)?;
                *row += 1;
                Ok(())
            };
            labeled(ws, &mut row, "风险类型", &r.a.causes().join("、"), 20.0)?;
            let basis = r.a.basis_text();
            let lines = basis.lines().count().max(1) as f64;
            labeled(ws, &mut row, "风险描述", &basis, (lines * 28.0).max(40.0))?;
            labeled(ws, &mut row, "刚性支出", &spending_text(ctx, r.a), 32.0)?;
            labeled(ws, &mut row, "帮扶需求", "", 48.0)?;
            row += 1;
            put(
            ws,
            row,
            0,
            7,
            "调查人（签字）：                户主（签字/手印）：                村委会/驻村工作队（盖章）：",
            &st.sign,
        )?;
            ws.set_row_height(row, 30)?;
            Ok(row + 2)
        },
    )
}

/// The amount column of a 收支测算表 line.
enum Val {
    Count(u32),
    Money(Option<Decimal>),
    /// A formula with the value it computes to (shown if not recalculated).
    Calc(String, Option<Decimal>),
    Text(String),
}

/// One line of the 收支测算表: 项目 | 代码 | 规模/数量 | 金额(元) | 计算式/备注.
#[allow(clippy::too_many_arguments)]
fn budget_line(
    ws: &mut Worksheet,
    st: &Styles,
    row: u32,
    name: &str,
    code: &str,
    val: Val,
    note: &str,
    bold: bool,
) -> Result<(), XlsxError> {
    ws.write_string_with_format(row, 0, name, if bold { &st.label } else { &st.text })?;
    ws.write_string_with_format(row, 1, code, &st.center)?;
    match val {
        Val::Count(n) => {
            ws.write_number_with_format(row, 2, n as f64, &st.int)?;
            ws.write_number_with_format(row, 3, n as f64, &st.int)?;
        }
        other => {
            ws.write_string_with_format(row, 2, "", &st.text)?;
            match other {
                Val::Money(v) => put_money(ws, row, 3, v, st)?,
                Val::Calc(f, Some(v)) => {
                    let f = Formula::new(f).set_result(money_f64(v).to_string());
                    ws.write_formula_with_format(row, 3, f, &st.money)?;
                }
                Val::Calc(_, None) => {
                    ws.write_string_with_format(row, 3, "未测算", &st.center)?;
                }
                Val::Text(t) => {
                    ws.write_string_with_format(row, 3, t, &st.center)?;
                }
                Val::Count(_) => unreachable!("handled above"),
            }
        }
    }
    ws.write_string_with_format(row, 4, note, &st.text)?;
    Ok(())
}

fn yes_no_below(a: Decimal, b: Decimal) -> &'static str {
    if a < b {
        "是"
    } else {
        "否"
    }
}

/// 附件3-2 致贫返贫风险户收支测算表 (5 columns, portrait), with formulas
/// K = L+M+N+P, S = K−R, T = S÷A carrying their computed values.
pub fn write_budget(ctx: &ReportCtx, rows: &[RiskRow], path: &Path) -> Result<()> {
    let widths = [30.0, 7.0, 12.0, 16.0, 34.0];
    let line = ctx.rs.income_line(ctx.month);
    let from = crate::normalize::months_back(ctx.month, 11);
    let to = month_end(ctx.month);
    let spend_from = ctx.rs.spending_window(ctx.month);
    per_household(
        ctx,
        rows,
        path,
        "致贫返贫风险户收支测算表",
        false,
        &widths,
        |ws, r0, r, st| {
            let h = r.h;
            let mut row = r0;
            put(
                ws,
                row,
                0,
                4,
                "附件3-2    致贫返贫风险户收支测算表",
                &st.title,
            )?;
            ws.set_row_height(row, 32)?;
            row += 1;
            let who = format!(
                "户主：{}    户编号：{}    {}    {}：{}",
                h.head_name,
                h.id,
                place(h),
                r.class,
                r.risk
            );
            put(ws, row, 0, 4, &who, &st.subtitle)?;
            row += 1;
            let period = format!(
                "测算期：{}至{}（年度收入测算）",
                from.format("%Y-%m-%d"),
                to.format("%Y-%m-%d")
            );
            put(ws, row, 0, 4, &period, &st.subtitle)?;
            row += 1;
            for (c, t) in ["项目", "代码", "规模/数量", "金额(元)", "计算式/备注"]
                .iter()
                .enumerate()
            {
                ws.write_string_with_format(row, c as u16, *t, &st.header)?;
            }
            row += 1;
            // Row numbers are fixed up front so every row is written in order
            // (the sheet streams to disk in constant-memory mode).
            let inc = h.income.as_ref();
            let cell = |r: u32| format!("D{}", r + 1);
            let a_row = row;
            let k_row = a_row + 1;
            let (l_row, p_row) = (k_row + 1, k_row + 4);
            let (r_row, s_row) = (k_row + 5, k_row + 6);
            let total: Decimal = r.a.spending.values().copied().sum();
            let lines: Vec<(String, &str, Val, String, bool)> = vec![
                (
                    "家庭人口".into(),
                    "A",
                    Val::Count(h.size),
                    "人".into(),
                    false,
                ),
                (
                    "家庭收入合计".into(),
                    "K",
                    Val::Calc(
                        format!("=SUM({}:{})", cell(l_row), cell(p_row)),
                        inc.and_then(|i| i.total()),
                    ),
                    "K=L+M+N+P".into(),
                    true,
                ),
                (
                    "其中：工资性收入".into(),
                    "L",
                    Val::Money(inc.map(|i| i.wage)),
                    String::new(),
                    false,
                ),
                (
                    "　　　生产经营性收入".into(),
                    "M",
                    Val::Money(inc.map(|i| i.business)),
                    String::new(),
                    false,
                ),
                (
                    "　　　财产性收入".into(),
                    "N",
                    Val::Money(inc.map(|i| i.property)),
                    String::new(),
                    false,
                ),
                (
                    "　　　转移性收入".into(),
                    "P",
                    Val::Money(inc.map(|i| i.transfer)),
                    String::new(),
                    false,
                ),
                (
                    "生产经营性支出".into(),
                    "R",
                    Val::Money(inc.map(|i| i.cost)),
                    String::new(),
                    false,
                ),
                (
                    "家庭纯收入".into(),
                    "S",
                    Val::Calc(
                        format!("={}-{}", cell(k_row), cell(r_row)),
                        inc.and_then(|i| i.net()),
                    ),
                    "S=K−R".into(),
                    true,
                ),
                (
                    "人均纯收入".into(),
                    "T",
                    Val::Calc(
                        format!("=ROUND({}/{},2)", cell(s_row), cell(a_row)),
                        r.a.per_capita,
                    ),
                    "T=S÷A，保留两位小数".into(),
                    true,
                ),
                (
                    "监测标准（人均纯收入）".into(),
                    "",
                    line.map_or(Val::Text("本地规则未设收入线".into()), |l| {
                        Val::Money(Some(l))
                    }),
                    ctx.rs.meta.locality.clone(),
                    false,
                ),
                (
                    "人均纯收入是否低于监测标准".into(),
                    "",
                    Val::Text(match (r.a.per_capita, line) {
                        (Some(t), Some(l)) => yes_no_below(t, l).into(),
                        _ => String::new(),
                    }),
                    String::new(),
                    false,
                ),
            ];
            for (name, code, val, note, bold) in lines {
                budget_line(ws, st, row, &name, code, val, &note, bold)?;
                row += 1;
            }
            let window = format!(
                "刚性支出（{}至{}）",
                spend_from.format("%Y-%m-%d"),
                to.format("%Y-%m-%d")
            );
            put(ws, row, 0, 4, &window, &st.header)?;
            row += 1;
            for (c, v) in &r.a.spending {
                let mut units: Vec<&str> = ctx
                    .expenses_of(&h.id)
                    .iter()
                    .filter(|e| &e.cause == c && !e.source_unit.is_empty())
                    .map(|e| e.source_unit.as_str())
                    .collect();
                units.sort();
                units.dedup();
                // Records a count-once rule used in an earlier month's run.
                let mut counted: Vec<&str> = ctx
                    .expenses_of(&h.id)
                    .iter()
                    .filter(|e| &e.cause == c)
                    .filter_map(|e| e.counted_in.as_deref())
                    .collect();
                counted.sort();
                counted.dedup();
                let mut note = units.join("、");
                if !counted.is_empty() {
                    note.push_str(&format!("（含已于 {} 计入预警的记录）", counted.join("、")));
                }
                budget_line(
                    ws,
                    st,
                    row,
                    &format!("{c}自付支出"),
                    "",
                    Val::Money(Some(*v)),
                    &note,
                    false,
                )?;
                row += 1;
            }
            let over = match h.last_year_net {
                Some(l) if total > Decimal::ZERO => yes_no_below(l, total),
                Some(_) => "否",
                None => "",
            };
            for (name, val, bold) in [
                ("家庭自费支出合计", Val::Money(Some(total)), true),
                ("上年家庭纯收入", Val::Money(h.last_year_net), true),
                (
                    "刚性支出是否超过上年家庭纯收入",
                    Val::Text(over.into()),
                    false,
                ),
            ] {
                budget_line(ws, st, row, name, "", val, "", bold)?;
                row += 1;
            }
            row += 1;
            put(ws, row, 0, 4, "村委会书记（签字）：          第一书记（签字）：          帮扶干部（签字）：          户主（签字/手印）：", &st.sign)?;
            ws.set_row_height(row, 30)?;
            Ok(row + 2)
        },
    )
}

/// 附件4 致贫返贫风险户帮扶措施表 (9 columns, landscape): suggested
/// measure categories per cause from the rule file, blanks for the
/// responsible unit, person and deadline.
pub fn write_measures(ctx: &ReportCtx, rows: &[RiskRow], path: &Path) -> Result<()> {
    let widths = [10.0, 14.0, 12.0, 46.0, 14.0, 10.0, 11.0, 10.0, 16.0];
    per_household(
        ctx,
        rows,
        path,
        "致贫返贫风险户帮扶措施表",
        true,
        &widths,
        |ws, r0, r, st| {
            let h = r.h;
            let mut row = r0;
            put(
                ws,
                row,
                0,
                8,
                "附件4    致贫返贫风险户帮扶措施表",
                &st.title,
            )?;
            ws.set_row_height(row, 32)?;
            row += 1;
            put(
                ws,
                row,
                0,
                8,
                &format!("{}    {}", ctx.rs.meta.locality, place(h)),
                &st.subtitle,
            )?;
            row += 1;
            let pairs: [(&str, String); 4] = [
                ("户主", h.head_name.clone()),
                ("身份证号", h.id_no.clone()),
                ("家庭人口", format!("{} 人", h.size)),
                ("监测类型", format!("{}（{}）", r.class, r.risk)),
            ];
            let spans = [
                (0u16, 1u16, 2u16, 2u16),
                (3, 3, 4, 5),
                (6, 6, 7, 7),
                (8, 8, 8, 8),
            ];
            let _ = spans;
            // 户编号 first: the page is read back by `monitor decide`.
            let support = ctx.support_of(&h.id).cloned().unwrap_or_default();
            ws.write_string_with_format(row, 0, "户编号", &st.label)?;
            put(ws, row, 1, 2, &h.id, &st.text)?;
            ws.write_string_with_format(
                row,
                3,
                format!("{}：{}", pairs[0].0, pairs[0].1),
                &st.text,
            )?;
            ws.write_string_with_format(row, 4, pairs[2].0, &st.label)?;
            ws.write_string_with_format(row, 5, &pairs[2].1, &st.center)?;
            ws.write_string_with_format(row, 6, pairs[3].0, &st.label)?;
            put(ws, row, 7, 8, &pairs[3].1, &st.text)?;
            row += 1;
            ws.write_string_with_format(row, 0, "风险类型", &st.label)?;
            put(ws, row, 1, 3, &r.a.causes().join("、"), &st.wrap)?;
            ws.write_string_with_format(row, 4, "识别时间", &st.label)?;
            ws.write_string_with_format(row, 5, r.since(), &st.center)?;
            put(
                ws,
                row,
                6,
                8,
                &format!("{}：{}", pairs[1].0, pairs[1].1),
                &st.text,
            )?;
            row += 1;
            ws.write_string_with_format(row, 0, "帮扶责任人", &st.label)?;
            put(ws, row, 1, 2, &support.helper, &st.text)?;
            ws.write_string_with_format(row, 3, "联系电话", &st.label)?;
            put(ws, row, 4, 5, &support.phone, &st.text)?;
            put(ws, row, 6, 8, &support.summary(), &st.text)?;
            row += 1;
            for (c, t) in crate::measures::COLUMNS.iter().enumerate() {
                ws.write_string_with_format(row, c as u16, *t, &st.header)?;
            }
            row += 1;
            let mut n = 0;
            // Measures on record first, then suggestions, then blank rows.
            for m in &support.measures {
                n += 1;
                ws.write_number_with_format(row, 0, n as f64, &st.int)?;
                let cells: [&str; 8] = [
                    &m.cause,
                    &m.category,
                    &m.detail,
                    &m.unit,
                    &m.person,
                    m.done.as_deref().unwrap_or(""),
                    m.amount.as_deref().unwrap_or(""),
                    &m.effect,
                ];
                for (c, v) in cells.iter().enumerate() {
                    ws.write_string_with_format(row, c as u16 + 1, *v, &st.wrap)?;
                }
                ws.set_row_height(row, wrapped_height(&m.detail, 50.0, 30.0))?;
                row += 1;
            }
            let recorded: Vec<&str> = support
                .measures
                .iter()
                .map(|m| m.category.as_str())
                .collect();
            for cause in r.a.causes() {
                let mut found: Vec<&crate::rules::Measure> = ctx
                    .rs
                    .measures
                    .iter()
                    .filter(|m| m.cause == cause)
                    .collect();
                if found.is_empty() {
                    found = ctx.rs.measures.iter().filter(|m| m.cause == "*").collect();
                }
                for m in found
                    .iter()
                    .filter(|m| !recorded.contains(&m.category.as_str()))
                {
                    let text = format!("{}（依据：{}）", m.suggestion, m.citation.clause);
                    n += 1;
                    ws.write_number_with_format(row, 0, n as f64, &st.int)?;
                    ws.write_string_with_format(row, 1, &cause, &st.wrap)?;
                    ws.write_string_with_format(row, 2, &m.category, &st.center)?;
                    ws.write_string_with_format(row, 3, &text, &st.wrap)?;
                    for c in 4..=8 {
                        ws.write_string_with_format(row, c, "", &st.text)?;
                    }
                    ws.set_row_height(row, wrapped_height(&text, 50.0, 30.0))?;
                    row += 1;
                }
            }
            for _ in 0..3 {
                n += 1;
                ws.write_number_with_format(row, 0, n as f64, &st.int)?;
                for c in 1..=8 {
                    ws.write_string_with_format(row, c, "", &st.text)?;
                }
                ws.set_row_height(row, 24.0)?;
                row += 1;
            }
            row += 1;
            put(ws, row, 0, 8, "帮扶责任人签字：                    村委会（盖章）：                    乡镇审核（盖章）：                    日期：     年   月   日", &st.sign)?;
            ws.set_row_height(row, 30)?;
            Ok(row + 2)
        },
    )
}

pub const REVIEW_HEADERS: &[&str] = &[
    "序号",
    "户编号",
    "乡镇",
    "村",
    "组",
    "户主姓名",
    "身份证号",
    "家庭人口",
    "", // 脱贫年度 (附件5) / 户属性 (附件6)
    "纳入监测时间",
    "监测状态",
    "风险类型",
    "本期人均纯收入(元)",
    "监测标准(元)",
    "低于标准",
    "刚性支出(元)",
    "义务教育",
    "基本医疗",
    "住房安全",
    "饮水安全",
    "已落实措施",
    "研判结论",
    "消除方式",
    "村级评议结果",
    "村级评议日期",
    "公示开始日期",
    "公示结束日期",
    "乡镇审核意见",
    "乡镇审核人",
    "乡镇审核日期",
    "备注",
];

/// The causes as a letter says them: “因病、因学” → “因病、因学”, other
/// causes (收入偏低, 义务教育无保障) get one 因 in front, never two.
pub fn because(causes: &[String]) -> String {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| {
            if c.starts_with('因') {
                c.clone()
            } else {
                format!("因{c}")
            }
        })
        .collect();
    if parts.is_empty() {
        "因________".to_string()
    } else {
        parts.join("、")
    }
}

/// Column of 研判结论 in the 研判表 (0-based).
pub const REVIEW_DECISION_COL: u16 = 21;
/// Column of 消除方式 (0-based).
pub const REVIEW_METHOD_COL: u16 = 22;
/// Header row of the 研判表 (0-based).
pub const REVIEW_HEADER_ROW: u32 = 2;

/// 附件5 / 附件6 动态监测分析研判表: one sheet per 乡镇, a row per household
/// under monitoring, dropdowns for 研判结论 and 消除方式. Filled in, the file
/// is read back by `monitor decide`.
pub fn write_review(
    ctx: &ReportCtx,
    rows: &[&RiskRow],
    returning: bool,
    path: &Path,
) -> Result<()> {
    let e = xerr(path);
    let st = Styles::new();
    let (no, label) = if returning {
        ("附件5", ctx.rs.labels.returning.as_str())
    } else {
        ("附件6", ctx.rs.labels.new.as_str())
    };
    let title = format!("{no}    {label}动态监测分析研判表");
    let mut wb = new_workbook(ctx.month, &title);
    let line = ctx.rs.income_line(ctx.month);
    let last = REVIEW_HEADERS.len() as u16 - 1;
    let widths = [
        5.0, 16.0, 9.0, 9.0, 6.0, 8.0, 19.0, 5.0, 8.0, 8.0, 11.0, 13.0, 10.0, 9.0, 5.0, 10.0, 5.0,
        5.0, 5.0, 5.0, 10.0, 10.0, 9.0, 8.0, 9.0, 9.0, 9.0, 9.0, 8.0, 9.0, 8.0,
    ];
    let mut used = Vec::new();
    let mut groups = by_township(rows.iter().copied(), 60_000);
    if groups.is_empty() {
        groups.push((String::from("本月无"), Vec::new()));
    }
    let dv = |list: &[&str], title: &str| -> Result<DataValidation> {
        DataValidation::new()
            .allow_list_strings(list)
            .and_then(|v| v.set_input_title(title))
            .and_then(|v| v.set_input_message(list.join(" / ")))
            .map_err(&e)
    };
    let decision_list = dv(&crate::history::DECISIONS, "研判结论")?;
    let method_list = dv(&crate::history::METHODS, "消除方式（选“风险消除”时必填）")?;
    for (town, list) in groups {
        let ws = wb.add_worksheet_with_constant_memory().map_err(&e)?;
        ws.set_name(sheet_name(&town, &mut used)).map_err(&e)?;
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, *w).map_err(&e)?;
        }
        put(ws, 0, 0, last, &title, &st.title).map_err(&e)?;
        ws.set_row_height(0, 30).map_err(&e)?;
        put(
            ws,
            1,
            0,
            last,
            &format!(
                "{}  {} 乡(镇)        {}        监测标准：人均纯收入 {} 元        建议消除：连续 {} 个月未触发预警（期限：{}；消除依据：{}）",
                ctx.rs.meta.locality,
                town,
                ctx.month_cn(),
                line.map(fmt_money).unwrap_or_else(|| "—".into()),
                ctx.rs.elimination.stable_months,
                ctx.rs.elimination.period_basis,
                ctx.rs.elimination.citation.clause
            ),
            &st.subtitle,
        )
        .map_err(&e)?;
        for (c, h) in REVIEW_HEADERS.iter().enumerate() {
            let h = match c {
                8 if returning => "脱贫年度",
                8 => "户属性",
                _ => h,
            };
            ws.write_string_with_format(REVIEW_HEADER_ROW, c as u16, h, &st.header)
                .map_err(&e)?;
        }
        ws.set_row_height(REVIEW_HEADER_ROW, 30).map_err(&e)?;
        let mut row = REVIEW_HEADER_ROW + 1;
        let mut sorted = list.clone();
        sorted.sort_by(|a, b| {
            (&a.h.village, &a.h.group, &a.h.id).cmp(&(&b.h.village, &b.h.group, &b.h.id))
        });
        for (i, r) in sorted.iter().enumerate() {
            let h = r.h;
            let g = &h.guarantees;
            let spend: Decimal = r.a.spending.values().copied().sum();
            let below = match (r.a.per_capita, line) {
                (Some(t), Some(l)) if t < l => "是",
                (Some(_), Some(_)) => "否",
                _ => "",
            };
            let attr = if returning {
                h.tuopin_year.clone()
            } else {
                h.hh_type.label().to_string()
            };
            let causes = r.a.causes().join("、");
            let status = match (&r.st.first_warned, r.st.pending_months) {
                (Some(f), n) if r.st.status.pending() && n > 1 => {
                    format!("{}（{f}起第{n}个月）", r.status())
                }
                _ => r.status().to_string(),
            };
            let texts: [(u16, &str); 10] = [
                (1, &h.id),
                (2, &h.township),
                (3, &h.village),
                (4, &h.group),
                (5, &h.head_name),
                (6, &h.id_no),
                (8, &attr),
                (9, r.since()),
                (10, &status),
                (11, &causes),
            ];
            ws.write_number_with_format(row, 0, (i + 1) as f64, &st.int)
                .map_err(&e)?;
            for (c, t) in texts {
                ws.write_string_with_format(row, c, t, if c == 11 { &st.wrap } else { &st.text })
                    .map_err(&e)?;
            }
            ws.write_number_with_format(row, 7, h.size as f64, &st.int)
                .map_err(&e)?;
            put_money(ws, row, 12, r.a.per_capita, &st).map_err(&e)?;
            match line {
                Some(l) => ws.write_number_with_format(row, 13, money_f64(l), &st.money),
                None => ws.write_string_with_format(row, 13, "—", &st.center),
            }
            .map_err(&e)?;
            ws.write_string_with_format(row, 14, below, &st.center)
                .map_err(&e)?;
            ws.write_number_with_format(row, 15, money_f64(spend), &st.money)
                .map_err(&e)?;
            for (c, v) in [
                (16, g.get("义务教育")),
                (17, g.get("基本医疗")),
                (18, g.get("住房安全")),
                (19, g.get("饮水安全")),
            ] {
                ws.write_string_with_format(row, c, yes_no(v), &st.center)
                    .map_err(&e)?;
            }
            let mut done = ctx
                .support_of(&h.id)
                .map(|s| s.summary())
                .unwrap_or_default();
            if r.st.status.monitored()
                && r.a.at_risk()
                && ctx.support_of(&h.id).is_some_and(|s| s.any_done())
            {
                done.push_str("；措施落实后本月仍触发预警");
            }
            ws.write_string_with_format(row, 20, &done, &st.wrap)
                .map_err(&e)?;
            for c in 21..=last {
                ws.write_string_with_format(row, c, "", &st.text)
                    .map_err(&e)?;
            }
            row += 1;
        }
        if sorted.is_empty() {
            put(
                ws,
                row,
                0,
                last,
                &format!("本月无{label}监测户"),
                &st.center,
            )
            .map_err(&e)?;
            row += 1;
        } else {
            let first = REVIEW_HEADER_ROW + 1;
            ws.add_data_validation(
                first,
                REVIEW_DECISION_COL,
                row - 1,
                REVIEW_DECISION_COL,
                &decision_list,
            )
            .map_err(&e)?;
            ws.add_data_validation(
                first,
                REVIEW_METHOD_COL,
                row - 1,
                REVIEW_METHOD_COL,
                &method_list,
            )
            .map_err(&e)?;
        }
        row += 1;
        put(
            ws,
            row,
            0,
            last,
            "填表人：                    村支书/主任：                    第一书记：                    乡镇审核（盖章）：                    日期：     年   月   日",
            &st.sign,
        )
        .map_err(&e)?;
        ws.set_row_height(row, 30).map_err(&e)?;
        ws.set_freeze_panes(REVIEW_HEADER_ROW + 1, 0).map_err(&e)?;
        page_setup(ws, true, Some((0, REVIEW_HEADER_ROW))).map_err(&e)?;
        // 31 columns do not fit one A4 width legibly: two pages wide, the
        // 序号…户主姓名 columns repeated so each half can be read alone.
        ws.set_print_fit_to_pages(2, 0);
        ws.set_repeat_columns(0, 5).map_err(&e)?;
    }
    save(&mut wb, path)
}

#[cfg(test)]
mod tests {
    use super::because;

    #[test]
    fn one_yin_in_front_of_each_cause() {
        let c = |v: &[&str]| because(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(c(&["因学", "收入偏低"]), "因学、因收入偏低");
        assert_eq!(c(&["因意外事故"]), "因意外事故");
        assert_eq!(c(&[]), "因________");
    }
}

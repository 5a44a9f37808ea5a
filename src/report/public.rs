//! What leaves the county office: the 公告 list posted in each village
//! (000 三（二）5 “一定范围内及时公示公告动态帮扶对象及帮扶措施”; 002 一（四）
//! 公示公告) and the 乡镇月报 (002 一（三）: last month's 风险户 and 风险消除户
//! by the 3rd). The 公告 shows no full ID number, phone, income or health
//! detail: IDs are masked, and only name, 组, size, type, cause or method
//! and measure categories are printed.

use super::*;
use crate::history::{Decision, Status};

pub const FILE_NOTICE: &str = "公示名单.xlsx";
pub const FILE_TOWN_REPORT: &str = "乡镇月报.xlsx";

/// An ID number as a public list may show it: the first `head` and last
/// `tail` characters, the rest as `*` (532504********0854).
pub fn mask_id(id: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Text a public file must never contain: an 18-character ID number or an
/// 11-digit mobile number (used by the tests on every public output).
pub fn leaks(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let digit = |c: &char| c.is_ascii_digit();
    let mut i = 0;
    while i < chars.len() {
        if digit(&chars[i]) {
            let start = i;
            while i < chars.len() && digit(&chars[i]) {
                i += 1;
            }
            let run = i - start;
            let x_end = i < chars.len() && matches!(chars[i], 'X' | 'x') && run == 17;
            if run == 18 || x_end || (run == 11 && chars[start] == '1') {
                found.push(chars[start..i + usize::from(x_end)].iter().collect());
            }
        } else {
            i += 1;
        }
    }
    found
}

/// Measure categories the rule file suggests for these causes.
fn measure_categories(rs: &crate::rules::RuleSet, causes: &[String]) -> String {
    let mut cats: Vec<&str> = Vec::new();
    for c in causes {
        for m in rs.measures.iter().filter(|m| &m.cause == c) {
            if !cats.contains(&m.category.as_str()) {
                cats.push(&m.category);
            }
        }
    }
    cats.join("、")
}

/// One row of text cells from column A.
fn write_row(
    ws: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    cells: &[String],
    f: &rust_xlsxwriter::Format,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    for (c, v) in cells.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, v, f)?;
    }
    Ok(())
}

/// Settings of the public files (monitor.toml `[public]`).
#[derive(Debug, Clone, Default)]
pub struct PublicSettings {
    /// Who takes objections (shown under the 公告).
    pub contact: Option<String>,
}

/// The 公示/公告 of the month, one sheet per 村: households a village
/// reviewed and proposes (拟纳入/拟消除, 公示 with its dates), then those
/// confirmed 纳入监测 (新纳入) or decided 风险消除 (公告).
pub fn write_notice(
    ctx: &ReportCtx,
    rows: &[RiskRow],
    own: &std::collections::HashMap<String, Decision>,
    proposals: &std::collections::HashMap<String, crate::decide::Levels>,
    settings: &PublicSettings,
    path: &Path,
) -> Result<()> {
    let e = xerr(path);
    let st = Styles::new();
    let mut wb = new_workbook(ctx.month, "防止返贫监测对象公告");
    let mut by_village: std::collections::BTreeMap<
        (String, String),
        Vec<(&RiskRow, &'static str)>,
    > = Default::default();
    for r in rows {
        let proposed = proposals
            .get(r.h.id.as_str())
            .filter(|_| !own.contains_key(r.h.id.as_str()));
        let kind = match (
            r.st.status,
            own.get(r.h.id.as_str()).map(|d| d.decision.as_str()),
            proposed,
        ) {
            (Status::NewlyIncluded, _, _) => "公告：纳入监测",
            (_, Some("风险消除"), _) => "公告：风险消除",
            (s, None, Some(_)) if s.pending() => "公示：拟纳入监测",
            (s, None, Some(_)) if s.monitored() => "公示：拟风险消除",
            _ => continue,
        };
        by_village
            .entry((r.h.township.to_string(), r.h.village.to_string()))
            .or_default()
            .push((r, kind));
    }
    let heads = [
        "序号",
        "户主姓名",
        "证件号码",
        "组",
        "家庭人口",
        "监测类型",
        "风险类型/消除方式",
        "帮扶措施类别",
        "类别",
        "公示期",
    ];
    let widths = [5.0, 9.0, 21.0, 8.0, 6.0, 11.0, 18.0, 20.0, 15.0, 12.0];
    let [head, tail] = ctx.rs.review.id_mask;
    let mut used = Vec::new();
    if by_village.is_empty() {
        by_village.insert(("本月".into(), "无公告".into()), Vec::new());
    }
    for ((town, village), list) in &by_village {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&format!("{town}{village}"), &mut used))
            .map_err(&e)?;
        let last = heads.len() as u16 - 1;
        let title = format!(
            "{} {town}{village} 防止返贫监测对象公告（{}）",
            ctx.rs.meta.locality,
            ctx.month_cn()
        );
        ws.merge_range(0, 0, 0, last, &title, &st.title)
            .map_err(&e)?;
        ws.set_row_height(0, 30).map_err(&e)?;
        for (c, (h, w)) in heads.iter().zip(widths).enumerate() {
            ws.write_string_with_format(1, c as u16, *h, &st.header)
                .map_err(&e)?;
            ws.set_column_width(c as u16, w).map_err(&e)?;
        }
        let mut row = 2u32;
        for (i, (r, kind)) in list.iter().enumerate() {
            let causes = r.a.causes();
            let notice = proposals
                .get(r.h.id.as_str())
                .and_then(|l| l.notice.as_ref())
                .map(|(a, b)| format!("{a}至{b}"))
                .unwrap_or_default();
            let cause_or_method = if *kind == "公告：风险消除" {
                own.get(r.h.id.as_str())
                    .and_then(|d| d.method.clone())
                    .unwrap_or_default()
            } else {
                causes.join("、")
            };
            let cells = [
                (i + 1).to_string(),
                r.h.head_name.to_string(),
                mask_id(&r.h.id_no, head, tail),
                r.h.group.to_string(),
                r.h.size.to_string(),
                r.class.to_string(),
                cause_or_method,
                measure_categories(ctx.rs, &causes),
                kind.to_string(),
                notice,
            ];
            write_row(ws, row, &cells, &st.center).map_err(&e)?;
            row += 1;
        }
        if list.is_empty() {
            ws.merge_range(row, 0, row, last, "本月没有需要公告的户", &st.center)
                .map_err(&e)?;
            row += 1;
        }
        let contact = settings
            .contact
            .as_deref()
            .map(|c| format!("如有异议，请联系：{c}。"))
            .unwrap_or_else(|| "如有异议，请向村委会或乡镇反映。".to_string());
        ws.merge_range(
            row + 1,
            0,
            row + 1,
            last,
            &format!(
                "“公示”为经村级评议、待审定的户；“公告”为已经乡镇审核、县级审定的户。{contact}"
            ),
            &st.note,
        )
        .map_err(&e)?;
        ws.set_row_height(row + 1, 30).map_err(&e)?;
        ws.merge_range(
            row + 2,
            0,
            row + 2,
            last,
            &format!("{}乡（镇）人民政府（盖章）        年    月    日", town),
            &st.sign,
        )
        .map_err(&e)?;
        page_setup(ws, false, Some((0, 1))).map_err(&e)?;
    }
    save(&mut wb, path)
}

/// The township's monthly report (002 一（三）): this month's 风险户 (new
/// and continuing warnings and 监测户) and this month's 风险消除户 (not
/// cumulative), with counts and room for 需解决事项.
pub fn write_town_report(
    ctx: &ReportCtx,
    rows: &[RiskRow],
    own: &std::collections::HashMap<String, Decision>,
    path: &Path,
) -> Result<()> {
    let e = xerr(path);
    let st = Styles::new();
    let mut wb = new_workbook(ctx.month, "乡镇防止返贫监测月报");
    let mut towns: std::collections::BTreeMap<&str, Vec<&RiskRow>> = Default::default();
    for r in rows.iter().filter(|r| r.st.status.under_review()) {
        towns.entry(r.h.township.as_str()).or_default().push(r);
    }
    if towns.is_empty() {
        towns.insert("本月无", Vec::new());
    }
    let heads = [
        "序号",
        "户编号",
        "户主姓名",
        "村",
        "监测类型",
        "监测状态",
        "风险类型",
        "本月结论",
    ];
    let widths = [5.0, 16.0, 9.0, 10.0, 11.0, 12.0, 18.0, 12.0];
    let mut used = Vec::new();
    for (town, list) in &towns {
        // Written row by row: a 乡镇 of thousands of risk households does
        // not stay in memory until the file is saved.
        let ws = wb.add_worksheet_with_constant_memory().map_err(&e)?;
        ws.set_name(sheet_name(town, &mut used)).map_err(&e)?;
        let last = heads.len() as u16 - 1;
        let title = format!(
            "{} {town} {} 防止返贫监测月报",
            ctx.rs.meta.locality,
            ctx.month_cn()
        );
        ws.merge_range(0, 0, 0, last, &title, &st.title)
            .map_err(&e)?;
        ws.set_row_height(0, 30).map_err(&e)?;
        let eliminated: Vec<&&RiskRow> = list
            .iter()
            .filter(|r| {
                own.get(r.h.id.as_str())
                    .is_some_and(|d| d.decision == "风险消除")
            })
            .collect();
        let count = |f: &dyn Fn(&RiskRow) -> bool| list.iter().filter(|r| f(r)).count();
        let counts = format!(
            "风险户 {} 户（监测户 {} 户，其中新纳入 {} 户；预警待研判 {} 户）；本月风险消除户 {} 户",
            list.len(),
            count(&|r| r.st.status.monitored()),
            count(&|r| r.st.status == Status::NewlyIncluded),
            count(&|r| r.st.status.pending()),
            eliminated.len()
        );
        ws.merge_range(1, 0, 1, last, &counts, &st.subtitle)
            .map_err(&e)?;
        let mut row = 2u32;
        for (section, items) in [
            ("一、本月风险户", list.iter().collect::<Vec<_>>()),
            ("二、本月风险消除户", eliminated),
        ] {
            ws.merge_range(row, 0, row, last, section, &st.label)
                .map_err(&e)?;
            row += 1;
            for (c, (h, w)) in heads.iter().zip(widths).enumerate() {
                ws.write_string_with_format(row, c as u16, *h, &st.header)
                    .map_err(&e)?;
                ws.set_column_width(c as u16, w).map_err(&e)?;
            }
            row += 1;
            for (i, r) in items.iter().enumerate() {
                let decided = own
                    .get(r.h.id.as_str())
                    .map(|d| d.decision.clone())
                    .unwrap_or_default();
                let cells = [
                    (i + 1).to_string(),
                    r.h.id.to_string(),
                    r.h.head_name.to_string(),
                    r.h.village.to_string(),
                    r.class.to_string(),
                    r.status().to_string(),
                    r.a.causes().join("、"),
                    decided,
                ];
                write_row(ws, row, &cells, &st.text).map_err(&e)?;
                row += 1;
            }
            if items.is_empty() {
                ws.merge_range(row, 0, row, last, "无", &st.center)
                    .map_err(&e)?;
                row += 1;
            }
            row += 1;
        }
        ws.merge_range(
            row,
            0,
            row,
            last,
            "三、需县扶贫开发领导小组解决事项：",
            &st.label,
        )
        .map_err(&e)?;
        for r in row + 1..row + 5 {
            ws.merge_range(r, 0, r, last, "", &st.text).map_err(&e)?;
        }
        ws.merge_range(
            row + 6,
            0,
            row + 6,
            last,
            "填报人：            审核人：            乡（镇）盖章：            年    月    日",
            &st.sign,
        )
        .map_err(&e)?;
        page_setup(ws, false, None).map_err(&e)?;
    }
    save(&mut wb, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_masked_and_leaks_are_found() {
        assert_eq!(mask_id("532504199806236864", 6, 4), "532504********6864");
        assert_eq!(mask_id("53250419980623686X", 6, 4), "532504********686X");
        assert_eq!(mask_id("123", 6, 4), "***");
        assert!(leaks("532504********6864 张三 13912345678").contains(&"13912345678".to_string()));
        assert_eq!(leaks("证件 53250419980623686X"), ["53250419980623686X"]);
        assert!(leaks("532504********6864 2020-03 4428.00").is_empty());
    }
}

//! The printed forms, read back from the written xlsx: one page per
//! household with its 户编号, widths and heights from the text they hold,
//! formulas for every derived amount, the letters' wording, the 研判表's
//! print scale, and the county's own form files.

mod common;
#[path = "common/sheetxml.rs"]
mod sheetxml;

use common::*;
use monitor::forms::render::{column_points, lines_height, text_points, wrapped_lines};
use sheetxml::{sheets, Sheet};

const PER_HOUSEHOLD: [&str; 5] = [
    "附件1 脱贫监测户申请书.xlsx",
    "附件2 边缘户申请书.xlsx",
    "附件3-1 返贫致贫风险户调查表.xlsx",
    "附件3-2 致贫返贫风险户收支测算表.xlsx",
    "附件4 致贫返贫风险户帮扶措施表.xlsx",
];
const MARK: &str = "本户第1页，共1页";

/// Rows where each household's page starts (the page mark).
fn blocks(sh: &Sheet) -> Vec<u32> {
    sh.rows_with(MARK)
}

#[test]
fn per_household_forms_are_one_page_each_with_their_own_id() {
    let ws = Ws::new();
    let out = example_run(&ws);
    let js = summary(&out);
    let forms = monitor::forms::bundled();
    for (file, spec) in PER_HOUSEHOLD.iter().zip([
        &forms.application.spec,
        &forms.application.spec,
        &forms.survey.spec,
        &forms.budget.spec,
        &forms.measures.spec,
    ]) {
        let mut pages = 0;
        for sh in sheets(&out.join(file)) {
            let starts = blocks(&sh);
            pages += starts.len();
            // A page break before every household after the first.
            assert_eq!(sh.row_breaks.len() + 1, starts.len(), "{file} {}", sh.name);
            for (i, r) in starts.iter().enumerate() {
                assert!(i == 0 || sh.row_breaks.contains(r), "{file}: break at {r}");
                // The mark names the household; the page fits one sheet of A4.
                let id = sh
                    .text_with(*r, MARK)
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("");
                assert!(id.len() >= 15, "{file}: mark “{}”", sh.text_with(*r, MARK));
                let end = starts.get(i + 1).copied().unwrap_or(u32::MAX);
                let tall: f64 = sh.heights.range(*r..end).map(|(_, h)| h).sum();
                let room = monitor::forms::render::page_points(spec);
                assert!(tall <= room, "{file} {id}: {tall} pt > {room} pt");
            }
            // No workbook-wide page numbers on a household's own page.
            assert!(
                !sh.xml.contains("&amp;P") && !sh.xml.contains("&amp;N"),
                "{file}"
            );
            assert!(sh.xml.contains("paperSize=\"9\""), "{file}: A4");
        }
        if file.starts_with("附件3") {
            let warned = js["counts"]["risk_households"].as_u64().unwrap() as usize;
            assert_eq!(pages, warned, "{file}");
        }
        assert!(pages > 20, "{file}: {pages}");
    }
}

/// Every cell's text fits its row: wrapped lines × line height ≤ height.
fn assert_rows_fit(sh: &Sheet, what: &str) {
    for ((r, c), cell) in &sh.cells {
        if cell.text.is_empty() || cell.formula.is_some() || cell.text.parse::<f64>().is_ok() {
            continue;
        }
        let width = sh.span_points(*r, *c);
        let font = if cell.text.contains(MARK) { 9.0 } else { 10.5 };
        let lines = wrapped_lines(&cell.text, width, font);
        // One line fits Excel's default 15 pt row (made for 11 pt text).
        if lines == 1 && sh.height(*r) >= 15.0 {
            continue;
        }
        let need = lines_height(lines, font);
        // Titles (16 pt) and letters (14 pt) are checked at their own size below.
        if sh.height(*r) + 0.01 < need && font < 14.0 && need < 409.0 {
            let big = sh.height(*r) >= lines_height(1, 16.0);
            assert!(
                big && cell.text.chars().count() < 40,
                "{what} {} row {}: “{}” needs {need} pt, has {}",
                sh.name,
                r + 1,
                cell.text,
                sh.height(*r)
            );
        }
    }
}

#[test]
fn rows_are_as_tall_as_their_text_and_ids_fit_their_columns() {
    let ws = Ws::new();
    let out = example_run(&ws);
    let mut files: Vec<String> = PER_HOUSEHOLD.iter().map(|s| s.to_string()).collect();
    files.push("风险户台账.xlsx".into());
    files.push("附件5 脱贫监测户动态监测分析研判表.xlsx".into());
    files.push("附件6 边缘户动态监测分析研判表.xlsx".into());
    let mut ids = 0;
    for f in &files {
        for sh in sheets(&out.join(f)) {
            if sh.name == "汇总" {
                continue;
            }
            assert_rows_fit(&sh, f);
            // 户编号 (15 digits) and 证件号码 (18) on one line in their cell.
            for ((r, c), cell) in &sh.cells {
                let t = cell.text.trim();
                if t.len() >= 15 && t.chars().all(|c| c.is_ascii_digit() || c == 'X') {
                    ids += 1;
                    let need = text_points(t, 10.5) + 4.0;
                    assert!(
                        sh.span_points(*r, *c) >= need,
                        "{f} {} {}: {t} needs {need} pt, has {}",
                        sh.name,
                        sheetxml::cell_ref("A1").0 + r + 1,
                        sh.span_points(*r, *c)
                    );
                }
            }
        }
    }
    assert!(ids > 500, "checked {ids} ID cells");
}

#[test]
fn budget_derives_every_amount_by_formula_and_shows_the_decline() {
    let ws = Ws::new();
    let out = example_run(&ws);
    let js = summary(&out);
    let dropped: Vec<String> = js["households"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| {
            h["triggers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["rule_id"] == "mile.income_drop")
        })
        .map(|h| h["household_id"].as_str().unwrap().to_string())
        .collect();
    assert!(!dropped.is_empty(), "the example has 收入骤减 households");
    let mut seen_drop = 0;
    for sh in sheets(&out.join(PER_HOUSEHOLD[3])) {
        let starts = blocks(&sh);
        for (i, r0) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(u32::MAX);
            let row_of = |label: &str| {
                sh.cells
                    .iter()
                    .find(|((r, c), x)| *r >= *r0 && *r < end && *c == 0 && x.text == label)
                    .map(|((r, _), _)| *r)
                    .unwrap_or_else(|| panic!("{label} missing"))
            };
            for label in [
                "家庭收入合计",
                "家庭纯收入",
                "人均纯收入",
                "人均纯收入是否低于监测标准",
                "家庭自费支出合计",
                "支出是否超过上年家庭纯收入",
                "家庭纯收入较上年下降比例",
                "是否收入骤减",
            ] {
                let r = row_of(label);
                let f = sh.cells.get(&(r, 3)).and_then(|c| c.formula.clone());
                assert!(f.is_some(), "{label}: not a formula");
            }
            // 家庭人口 is a count, in 规模/数量, not under 金额(元).
            assert!(sh.text(row_of("家庭人口"), 3).is_empty());
            let id = sh
                .text_with(*r0, MARK)
                .split_whitespace()
                .nth(1)
                .unwrap()
                .to_string();
            let verdict = sh.text(row_of("是否收入骤减"), 3).to_string();
            if dropped.contains(&id) {
                assert_eq!(verdict, "是", "{id}");
                seen_drop += 1;
            }
            // The rule that fired is on the page, and 测算日期 and a seal line.
            let page: String = sh
                .cells
                .range((*r0, 0)..(end, 0))
                .map(|(_, c)| c.text.as_str())
                .collect();
            assert!(
                page.contains("测算日期") && page.contains("（盖章）"),
                "{id}"
            );
            assert!(page.contains("本月触发的预警"), "{id}");
        }
    }
    assert_eq!(seen_drop, dropped.len());
}

#[test]
fn letters_name_the_applicant_once_per_cause() {
    let ws = Ws::new();
    let out = example_run(&ws);
    let mut letters = 0;
    for f in &PER_HOUSEHOLD[..2] {
        for sh in sheets(&out.join(f)) {
            for r in sh.rows_with("特申请纳入") {
                let t = sh.text(r, 0);
                letters += 1;
                assert!(!t.contains("因因"), "{t}");
                assert!(t.contains("证件号码 ") && t.contains("户编号 "), "{t}");
                let mark = sh.text_with(blocks(&sh).into_iter().rfind(|b| *b < r).unwrap(), MARK);
                let id = mark.split_whitespace().nth(1).unwrap();
                assert!(t.contains(id), "{t}");
                // Room to sign, and the village group's and committee's say.
                let after: String = sh
                    .cells
                    .range((r, 0)..(r + 12, 0))
                    .map(|(_, c)| c.text.as_str())
                    .collect();
                assert!(after.contains("村民小组评议意见") && after.contains("村（居）委会意见"));
            }
        }
    }
    assert!(letters > 20, "{letters}");
}

#[test]
fn an_empty_application_says_no_new_household_not_no_risk() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster("2020-03", &[hh("B", "一般农户", 2, 2, 6000.0)]);
    ws.month("2020-03");
    let sh = &sheets(&ws.path("out/2020-03/附件1 脱贫监测户申请书.xlsx"))[0];
    let all: String = sh.cells.values().map(|c| c.text.as_str()).collect();
    assert!(all.contains("没有首次预警的脱贫监测户"), "{all}");
    assert!(!all.contains("未发现返贫致贫风险户"), "{all}");
}

#[test]
fn review_tables_print_legibly_one_sheet_per_village() {
    let ws = Ws::new();
    let out = example_run(&ws);
    for f in [
        "附件5 脱贫监测户动态监测分析研判表.xlsx",
        "附件6 边缘户动态监测分析研判表.xlsx",
    ] {
        let all = sheets(&out.join(f));
        assert!(all.len() > 5, "{f}: one sheet per 村");
        for sh in &all {
            let scale: f64 = sh.attr_of("<pageSetup", "scale").unwrap().parse().unwrap();
            assert!(scale / 100.0 * 10.5 >= 9.0, "{f}: {scale}%");
            // Each printed page of a row fits the A4 width at that scale.
            let usable = (842.0 - 72.0) / (scale / 100.0);
            let breaks = &sh.col_breaks;
            assert_eq!(breaks.len(), 1, "{f}");
            let width = |a: u32, b: u32| -> f64 { (a..b).map(|c| sh.span_points(2, c)).sum() };
            assert!(width(0, breaks[0]) <= usable);
            assert!(width(0, 3) + width(breaks[0], 29) <= usable);
            assert!(sh.xml.contains("<autoFilter"), "{f}");
            assert_eq!(sh.attr_of("<pane", "xSplit").as_deref(), Some("3"));
            assert!(sh.xml.contains("<dataValidation"), "{f}");
            // The 村's own signatures.
            assert!(!sh.rows_with("村支书/主任（签字）").is_empty());
            let village = sh.text(1, 0).to_string();
            assert!(sh.name.len() > 3 && village.contains("乡(镇)"));
        }
    }
}

#[test]
fn continuing_households_show_why_they_are_monitored() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster("2020-03", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    ws.month("2020-03");
    let filled = ws.fill_review(
        &ws.path("out/2020-03/附件5 脱贫监测户动态监测分析研判表.xlsx"),
        "r.xlsx",
        &[("A", "纳入监测", "")],
    );
    let o = ws.run(&["decide", "--month", "2020-03", filled.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    ws.roster("2020-04", &[hh("A", "脱贫户", 2, 2, 30000.0)]);
    let js = ws.month("2020-04");
    assert_eq!(statuses(&js)["A"], "持续监测");
    let sh = &sheets(&ws.path("out/2020-04/附件5 脱贫监测户动态监测分析研判表.xlsx"))[0];
    let head = |name: &str| {
        (0..40)
            .find(|c| sh.text(2, *c) == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let row = sh.rows_with("A").into_iter().find(|r| *r > 2).unwrap();
    assert_eq!(sh.text(row, head("风险类型（本月）")), "本月未触发");
    assert!(
        sh.text(row, head("纳入时风险类型")).contains("收入"),
        "{}",
        sh.text(row, head("纳入时风险类型"))
    );
}

#[test]
fn ledger_totals_signs_and_freezes_every_list() {
    let ws = Ws::new();
    let out = example_run(&ws);
    let all = sheets(&out.join("风险户台账.xlsx"));
    let ledger = all.iter().find(|s| s.name == "风险户台账").unwrap();
    assert!(
        !ledger.text(0, 0).contains("只标注"),
        "{}",
        ledger.text(0, 0)
    );
    let total = ledger.rows_with("合计")[0];
    let size_col = (0..30).find(|c| ledger.text(1, *c) == "家庭人口").unwrap();
    let sum: f64 = (2..total)
        .filter_map(|r| ledger.text(r, size_col).parse::<f64>().ok())
        .sum();
    assert_eq!(ledger.text(total, size_col).parse::<f64>().unwrap(), sum);
    assert!(ledger
        .text(total, 0)
        .contains(&format!("合计 {} 户", total - 2)));
    assert!(!ledger.rows_with("填报单位").is_empty());
    for name in ["风险户台账", "预警待研判", "已研判不纳入", "数据问题"] {
        let sh = all.iter().find(|s| s.name == name).unwrap();
        assert!(sh.xml.contains("state=\"frozen\""), "{name}");
        assert!(sh.xml.contains("<autoFilter"), "{name}");
        // Header texts fit their row.
        for c in 0..20u32 {
            let t = sh.text(1, c);
            if !t.is_empty() {
                let need = lines_height(wrapped_lines(t, sh.span_points(1, c), 10.5), 10.5);
                assert!(sh.height(1) >= need, "{name}: {t}");
            }
        }
    }
    // A one-month trend is drawn as columns (a line needs two points).
    let f = std::fs::File::open(out.join("风险户台账.xlsx")).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    let mut chart = String::new();
    std::io::Read::read_to_string(&mut z.by_name("xl/charts/chart1.xml").unwrap(), &mut chart)
        .unwrap();
    assert!(chart.contains("<c:barChart>"), "first month: columns");
}

#[test]
fn a_member_listed_twice_is_counted_once() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster("2020-03", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    let mut rows = vec![vec![s("户编号"), s("姓名"), s("证件号码"), s("与户主关系")]];
    for name in ["甲", "乙", "甲（重复）"] {
        let id = if name == "乙" { "P-A-1" } else { "P-A-0" };
        rows.push(vec![s("A"), s(name), s(id), s("家人")]);
    }
    ws.xlsx("data/2020-03/m.xlsx", "成员", &rows, &[]);
    ws.month("2020-03");
    let sh = &sheets(&ws.path("out/2020-03/附件3-1 返贫致贫风险户调查表.xlsx"))[0];
    let all: String = sh.cells.values().map(|c| c.text.as_str()).collect();
    assert!(all.contains("乙") && !all.contains("甲（重复）"), "{all}");
    let issues = &sheets(&ws.path("out/2020-03/风险户台账.xlsx"))
        .into_iter()
        .find(|s| s.name == "数据问题")
        .unwrap();
    assert!(!issues.rows_with("家庭成员重复").is_empty());
}

/// A 证件号码 first listed under a household not on the roster belongs to
/// the first member listed under a household that is; a later one is the
/// duplicate, named with that member's row.
#[test]
fn a_shared_id_number_is_kept_for_the_first_member_on_the_roster() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster("2020-03", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    let rows = vec![
        vec![s("户编号"), s("姓名"), s("证件号码"), s("与户主关系")],
        vec![s("Z"), s("丙"), s("P-A-2"), s("家人")],
        vec![s("A"), s("丁"), s("P-A-2"), s("家人")],
        vec![s("A"), s("戊"), s("P-A-3"), s("家人")],
        vec![s("A"), s("丁（重复）"), s("P-A-2"), s("家人")],
    ];
    ws.xlsx("data/2020-03/m.xlsx", "成员", &rows, &[]);
    ws.month("2020-03");
    let sh = &sheets(&ws.path("out/2020-03/附件3-1 返贫致贫风险户调查表.xlsx"))[0];
    let all: String = sh.cells.values().map(|c| c.text.as_str()).collect();
    assert!(
        all.contains("丁") && all.contains("戊") && !all.contains("丁（重复）"),
        "{all}"
    );
    let issues = &sheets(&ws.path("out/2020-03/风险户台账.xlsx"))
        .into_iter()
        .find(|s| s.name == "数据问题")
        .unwrap();
    let dup = issues.rows_with("家庭成员重复");
    assert_eq!(dup.len(), 1, "{dup:?}");
    let line: Vec<&str> = (0..8).map(|c| issues.text(dup[0], c)).collect();
    assert!(line.contains(&"5.0") && line.contains(&"P-A-2"), "{line:?}");
    assert!(
        line.iter().any(|t| t.contains("第3行已有该证件号码")),
        "{line:?}"
    );
    assert_eq!(issues.rows_with("不在农户信息中").len(), 1);
}

#[test]
fn a_county_adapts_a_form_without_code() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster("2020-03", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    // export writes the bundled forms and the field list, never overwriting.
    let o = ws.run(&["forms", "export"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (name, _) in monitor::forms::BUNDLED {
        assert!(ws.path(&format!("forms/{name}.toml")).is_file());
    }
    assert!(ws.path("forms/字段说明.txt").is_file());
    // The fixture: a county's 调查表 with its own title and an extra row.
    let own =
        std::fs::read_to_string(repo().join("tests/fixtures/forms/附件3-1 调查表.toml")).unwrap();
    ws.write("forms/附件3-1 调查表.toml", &own);
    let o = ws.run(&["forms", "export"]);
    assert!(stdout(&o).contains("已存在，未覆盖"));
    assert_eq!(
        std::fs::read_to_string(ws.path("forms/附件3-1 调查表.toml")).unwrap(),
        own
    );
    let o = ws.run(&["forms", "list"]);
    assert!(
        stdout(&o).contains("forms/附件3-1 调查表.toml"),
        "{}",
        stdout(&o)
    );
    ws.month("2020-03");
    let sh = &sheets(&ws.path("out/2020-03/附件3-1 返贫致贫风险户调查表.xlsx"))[0];
    let all: String = sh.cells.values().map(|c| c.text.as_str()).collect();
    assert!(
        all.contains("某县返贫致贫风险户入户调查表") && all.contains("家庭年人均纯收入"),
        "{all}"
    );
    // A field the program does not know stops the run, naming file and field.
    ws.write(
        "forms/附件3-1 调查表.toml",
        &own.replace("{户主姓名}", "{户主名}"),
    );
    let o = ws.run(&["run", "--month", "2020-03", "-q"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("附件3-1 调查表.toml") && err.contains("{户主名}"),
        "{err}"
    );
}

#[test]
fn every_bundled_form_and_fixture_is_valid() {
    for (name, text) in monitor::forms::BUNDLED {
        let key: &'static str = name;
        monitor::forms::parse(key, text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for e in std::fs::read_dir(repo().join("tests/fixtures/forms")).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_string_lossy().to_string();
        let key = monitor::forms::BUNDLED
            .iter()
            .find(|(n, _)| *n == stem)
            .map(|(n, _)| *n)
            .unwrap_or_else(|| panic!("{stem} overrides no form"));
        let text = std::fs::read_to_string(&p).unwrap();
        monitor::forms::parse(key, &text, &stem).unwrap_or_else(|e| panic!("{stem}: {e}"));
    }
    let _ = column_points(1.0);
}

#[test]
fn a_large_form_continues_in_more_files_each_whole() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster(
        "2020-03",
        &[
            hh("A", "脱贫户", 2, 2, 6000.0),
            hh("B", "一般农户", 2, 2, 6000.0),
            hh("C", "一般农户", 2, 2, 6000.0),
        ],
    );
    // Two households per file: the third goes to a second file.
    let o = ws.run_env(
        &["run", "--month", "2020-03", "-q"],
        &[("MONITOR_FORMS_PER_FILE", "2")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = ws.path("out/2020-03");
    let js = summary(&out);
    let outputs: Vec<String> = js["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    for base in [
        "附件3-1 返贫致贫风险户调查表",
        "附件3-2 致贫返贫风险户收支测算表",
    ] {
        let second = format!("{base}（2）.xlsx");
        assert!(outputs.contains(&second), "{outputs:?}");
        let pages: usize = [format!("{base}.xlsx"), second]
            .iter()
            .flat_map(|f| sheets(&out.join(f)))
            .map(|sh| blocks(&sh).len())
            .sum();
        assert_eq!(pages, 3, "{base}");
    }
    assert!(!outputs.iter().any(|f| f.contains("（3）")), "{outputs:?}");
}

/// Every worksheet of every output lists each row once, in order. A
/// constant-memory sheet wrote its last row a second time, empty, before
/// the vendored rust_xlsxwriter let a row's options go once the row was on
/// disk (vendor/rust_xlsxwriter/PATCHES.md); the heights set on rows
/// written early must still be there.
#[test]
fn every_sheet_writes_each_row_once_and_keeps_its_height() {
    let ws = Ws::new();
    let out = example_run(&ws);
    let mut sheets_checked = 0;
    let mut tall_rows = 0;
    for e in std::fs::read_dir(&out).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "xlsx") {
            continue;
        }
        for s in sheets(&p) {
            let rows: Vec<u32> = s
                .xml
                .match_indices("<row r=\"")
                .map(|(i, m)| {
                    let rest = &s.xml[i + m.len()..];
                    rest[..rest.find('"').unwrap()].parse().unwrap()
                })
                .collect();
            assert!(
                rows.windows(2).all(|w| w[0] < w[1]),
                "{} / {}: rows {rows:?}",
                p.display(),
                s.name
            );
            sheets_checked += 1;
            tall_rows += s.heights.values().filter(|h| **h > 15.0).count();
        }
    }
    assert!(sheets_checked >= 10, "{sheets_checked} sheets");
    assert!(tall_rows > 0, "no row kept the height set on it");
}

/// A members' sheet with a problem on every row but the first: no
/// 户编号, a household not on the roster, a wrong check digit, the same
/// number again in full-width digits, a 户编号 typed as a number.
fn members_with_problems() -> (Vec<Vec<V>>, String, String) {
    let bad = "110105194912310039".to_string();
    let wide: String = bad
        .chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
        .collect();
    let rows = vec![
        vec![s("户编号"), s("姓名"), s("证件号码"), s("与户主关系")],
        vec![s("A"), s("甲"), s("P-A-0"), s("户主")],
        vec![s(""), s("无户"), s("X"), s("家人")],
        vec![s("Z"), s("外人"), s(&bad), s("家人")],
        vec![s("A"), s("乙"), s(&bad), s("家人")],
        vec![s("A"), s("丙"), s(&wide), s("家人")],
        vec![n(12345.0), s("丁"), s("P-X"), s("家人")],
    ];
    (rows, bad, wide)
}

/// The 数据问题 of a month's ledger about the members: (row, value, reason)
/// of each row whose file is `file` and whose sheet is `sheet`.
fn member_issues(ws: &Ws, file: &str, sheet_name: &str) -> Vec<(String, String, String)> {
    let issues = sheet(&ws.path("out/2020-03/风险户台账.xlsx"), "数据问题");
    let header = (0..issues.len())
        .find(|&r| issues[r].iter().any(|c| text(c) == "问题说明"))
        .expect("数据问题 header");
    let (in_file, in_sheet, row, value, reason) = (
        col(&issues, header, "文件"),
        col(&issues, header, "工作表"),
        col(&issues, header, "行"),
        col(&issues, header, "原值"),
        col(&issues, header, "问题说明"),
    );
    issues[header + 1..]
        .iter()
        .filter(|r| text(&r[in_file]).contains(file) && text(&r[in_sheet]) == sheet_name)
        .map(|r| (text(&r[row]), text(&r[value]), text(&r[reason])))
        .collect()
}

#[test]
fn member_problems_are_listed_in_row_order_as_if_read_after_the_roster() {
    // The members' file is read while the roster is: each row's problems
    // still come in its order, and a member of a household not on the
    // roster is left out without its 证件号码 being checked.
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster("2020-03", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    let (rows, bad, wide) = members_with_problems();
    ws.xlsx("data/2020-03/m.xlsx", "成员", &rows, &[]);
    ws.month("2020-03");
    let members = member_issues(&ws, "m.xlsx", "成员");
    let expected = [
        ("3", "", "户编号为空"),
        ("4", "Z", "不在农户信息中"),
        ("5", bad.as_str(), "校验位"),
        ("6", wide.as_str(), "校验位"),
        ("6", wide.as_str(), "第5行已有该证件号码"),
        ("7", "12345", "不在农户信息中"),
    ];
    assert_eq!(members.len(), expected.len(), "{members:?}");
    for ((r, v, why), (er, ev, ewhy)) in members.iter().zip(expected) {
        assert_eq!((r.as_str(), v.as_str()), (er, ev), "{members:?}");
        assert!(why.contains(ewhy), "{why} / {ewhy}");
    }

    // The members on a sheet of the roster's own workbook (a file two
    // inputs read, opened once): the same problems.
    let one = Ws::new();
    one.history_workspace(6);
    one.roster("2020-03", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    let roster: Vec<Vec<V>> = sheet(&one.path("data/2020-03/h.xlsx"), "农户")
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    calamine::Data::Float(x) => n(*x),
                    other => s(&text(other)),
                })
                .collect()
        })
        .collect();
    one.xlsx_sheets(
        "data/2020-03/both.xlsx",
        &[("农户", &roster, &[]), ("成员", &rows, &[])],
    );
    let config = std::fs::read_to_string(one.path("monitor.toml"))
        .unwrap()
        .replace(
            "households = 'data/{month}/h.xlsx'\nmembers = 'data/{month}/m.xlsx'",
            "households = { path = 'data/{month}/both.xlsx', sheet = '农户' }\n\
             members = { path = 'data/{month}/both.xlsx', sheet = '成员' }",
        );
    assert!(config.contains("both.xlsx"), "{config}");
    one.write("monitor.toml", &config);
    one.month("2020-03");
    assert_eq!(member_issues(&one, "both.xlsx", "成员"), members);
}

//! A new county in one command: `monitor init` writes a workspace whose
//! templates, filled the way a township would, run cleanly.

mod common;
use common::*;

/// Fill a template: keep its header and example row, add `rows` under them
/// by header name (as a township clerk types into the sheet).
fn fill(template: &std::path::Path, dst: &std::path::Path, rows: &[Vec<(&str, &str)>]) {
    let name = sheet_names(template)[0].clone();
    let grid = sheet(template, &name);
    let head: Vec<String> = grid[0].iter().map(text).collect();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(&name).unwrap();
    for (r, row) in grid.iter().take(2).enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, text(v)).unwrap();
        }
    }
    for (i, row) in rows.iter().enumerate() {
        for (h, v) in row {
            let c = head
                .iter()
                .position(|x| x == h)
                .unwrap_or_else(|| panic!("{h} in {head:?}"));
            match v.parse::<f64>() {
                Ok(x) if !h.contains("编号") && !h.contains("证件") && !h.contains("电话") => {
                    ws.write_number(i as u32 + 2, c as u16, x).unwrap()
                }
                _ => ws.write_string(i as u32 + 2, c as u16, *v).unwrap(),
            };
        }
    }
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    wb.save(dst).unwrap();
}

#[test]
fn init_writes_a_workspace_whose_filled_templates_run_cleanly() {
    let ws = Ws::new();
    let o = ws.run(&["init", "县", "--rules", "menghai-2020"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let root = ws.path("县");
    let cfg = std::fs::read_to_string(root.join("monitor.toml")).unwrap();
    assert!(
        cfg.contains("# ") && cfg.contains("rules/menghai-2020.toml"),
        "{cfg}"
    );
    // Refuses to overwrite.
    let o = ws.run(&["init", "县", "--rules", "mile-2020"]);
    assert_eq!(o.status.code(), Some(9));
    assert!(stderr(&o).contains("不会覆盖"), "{}", stderr(&o));
    let unknown = ws.run(&["init", "新", "--rules", "nowhere"]);
    assert_eq!(unknown.status.code(), Some(3));

    let t = root.join("模板");
    let data = root.join("data/2020-03");
    let hh = |id: &'static str, kind: &'static str, wage: &'static str, id_no: &'static str| {
        vec![
            ("户编号", id),
            ("户主姓名", "某某"),
            ("证件号码", id_no),
            ("乡镇", "东乡"),
            ("村", "甲村"),
            ("户类型", kind),
            ("家庭人口", "2"),
            ("劳动力人数", "1"),
            ("工资性收入", wage),
            ("生产经营性收入", "0"),
            ("财产性收入", "0"),
            ("转移性收入", "0"),
            ("生产经营性支出", "0"),
            ("饮水安全", "是"),
        ]
    };
    fill(
        &t.join("农户信息.xlsx"),
        &data.join("农户信息.xlsx"),
        &[
            hh("H1", "脱贫户", "30000", "110105194912310038"),
            hh("H2", "一般农户", "30000", "110105195001010012"),
        ],
    );
    fill(
        &t.join("刚性支出.xlsx"),
        &data.join("刚性支出.xlsx"),
        &[vec![
            ("户编号", "H1"),
            ("支出类型", "因病"),
            ("自付金额", "6000"),
            ("发生日期", "2020-03-05"),
        ]],
    );
    fill(
        &t.join("家庭成员.xlsx"),
        &data.join("家庭成员.xlsx"),
        &[
            vec![
                ("户编号", "H1"),
                ("姓名", "某某"),
                ("证件号码", "110105194912310038"),
                ("与户主关系", "户主"),
            ],
            vec![
                ("户编号", "H2"),
                ("姓名", "某某"),
                ("证件号码", "110105195001010012"),
                ("与户主关系", "户主"),
            ],
        ],
    );
    let run_in = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_monitor"))
            .args(args)
            .current_dir(&root)
            .output()
            .unwrap()
    };
    let o = run_in(&["check", "--month", "2020-03", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("农户 2 户") && out.contains("未发现数据问题"),
        "the example rows are not data: {out}"
    );
    assert!(
        out.contains("支出记录 1 条") && out.contains("将有 1 户触发预警"),
        "{out}"
    );
    let o = run_in(&["run", "--month", "2020-03", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(root.join("out/2020-03/summary.json").exists());
}

#[test]
fn template_dropdowns_list_the_values_the_tool_accepts() {
    let ws = Ws::new();
    assert!(ws
        .run(&["init", "w", "--rules", "mile-2020"])
        .status
        .success());
    let xml = |file: &str| {
        let f = std::fs::File::open(ws.path("w/模板").join(file)).unwrap();
        let mut z = zip::ZipArchive::new(f).unwrap();
        let mut s = String::new();
        std::io::Read::read_to_string(&mut z.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut s)
            .unwrap();
        s
    };
    let list = |values: &[&str]| format!("\"{}\"", values.join(","));
    let roster = xml("农户信息.xlsx");
    assert!(
        roster.contains(&list(monitor::setup::HOUSEHOLD_TYPES)),
        "户类型"
    );
    assert!(roster.contains(&list(monitor::setup::YES_NO)), "是/否");
    let expenses = xml("刚性支出.xlsx");
    assert!(
        expenses.contains(&list(monitor::model::EXPENSE_CAUSES)),
        "支出类型"
    );
    let members = xml("家庭成员.xlsx");
    for l in [
        monitor::setup::RELATIONS,
        monitor::setup::HEALTH,
        monitor::setup::SKILLS,
    ] {
        assert!(members.contains(&list(l)), "{l:?}");
    }
    for t in monitor::setup::HOUSEHOLD_TYPES {
        assert!(monitor::model::HouseholdType::parse(t).is_some(), "{t}");
    }
    assert!(stdout(&ws.run(&["rules", "list"])).contains("巴彦淖尔市"));
}

#[test]
fn rollup_adds_up_the_counties_and_refuses_what_does_not_fit() {
    let city = Ws::new();
    let counties: Vec<Ws> = (0..3).map(|_| Ws::new()).collect();
    for (i, ws) in counties.iter().enumerate() {
        ws.history_workspace(6);
        let low = hh("A", "脱贫户", 2 + i as u32, 2, 4000.0);
        let edge = hh("B", "一般农户", 3, 2, 6000.0);
        ws.roster("2020-03", &[low, edge, hh("C", "一般农户", 2, 2, 30000.0)]);
        ws.month("2020-03");
    }
    let dirs: Vec<String> = counties
        .iter()
        .map(|w| w.dir.path().display().to_string())
        .collect();
    let mut args = vec!["rollup", "--month", "2020-03", "--out", "r"];
    args.extend(dirs.iter().map(String::as_str));
    let o = city.run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let js: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(city.path("r/rollup.json")).unwrap())
            .unwrap();
    let sums = counties.iter().fold((0u64, 0u64, 0u64), |acc, w| {
        let s = summary(&w.path("out/2020-03"));
        let hs = s["households"].as_array().unwrap();
        (
            acc.0 + hs.len() as u64,
            acc.1 + hs.iter().map(|h| h["size"].as_u64().unwrap()).sum::<u64>(),
            acc.2 + s["counts"]["warned"].as_u64().unwrap(),
        )
    });
    assert_eq!(js["total"]["listed"][0].as_u64().unwrap(), sums.0);
    assert_eq!(js["total"]["listed"][1].as_u64().unwrap(), sums.1);
    assert_eq!(js["total"]["warned"].as_u64().unwrap(), sums.2);
    assert_eq!(js["counties"].as_array().unwrap().len(), 3);
    let book = city.path("r/市级汇总.xlsx");
    let causes = sheet(&book, "风险类型");
    let total = causes.iter().find(|r| text(&r[0]) == "合计").unwrap();
    assert_eq!(num(&total[1]) as u64, sums.0);
    // A county without the month is refused by name; nothing is written.
    let late = Ws::new();
    late.history_workspace(6);
    late.roster("2020-04", &[hh("A", "脱贫户", 2, 2, 4000.0)]);
    late.month("2020-04");
    let late_dir = late.dir.path().display().to_string();
    let mut args = vec![
        "rollup",
        "--month",
        "2020-03",
        "--out",
        "r2",
        dirs[0].as_str(),
        late_dir.as_str(),
    ];
    let o = city.run(&args);
    assert_eq!(o.status.code(), Some(9), "{}", stderr(&o));
    assert!(stderr(&o).contains("没有 2020-03 的结果"), "{}", stderr(&o));
    assert!(!city.path("r2").exists());
    // Another rule file is not merged.
    let other = Ws::new();
    workspace_with(&other, "bayannur-2020.toml");
    other.roster("2020-03", &[hh("A", "脱贫户", 2, 2, 4000.0)]);
    other.month("2020-03");
    let other_dir = other.dir.path().display().to_string();
    args = vec![
        "rollup",
        "--month",
        "2020-03",
        "--out",
        "r3",
        dirs[0].as_str(),
        other_dir.as_str(),
    ];
    let o = city.run(&args);
    assert_eq!(o.status.code(), Some(9));
    assert!(
        stderr(&o).contains("bayannur-2020") && stderr(&o).contains("不能合并"),
        "{}",
        stderr(&o)
    );
}

fn workspace_with(ws: &Ws, rule_file: &str) {
    let r = rules_without(
        ws,
        rule_file,
        &[
            "生产经营性收入",
            "财产性收入",
            "转移性收入",
            "生产经营性支出",
        ],
    );
    ws.write(
        "monitor.toml",
        &format!("[run]\nrules = '{r}'\nout = 'out'\n[inputs]\nhouseholds = 'data/{{month}}/h.xlsx'\nmembers = 'data/{{month}}/m.xlsx'\n[history]\nstore = 'history.sqlite'\n"),
    );
}

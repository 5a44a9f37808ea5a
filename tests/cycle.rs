//! The monthly cycle of 000 三（二）/002 一（四）/003 四 through the binary:
//! run → fill 研判表 → decide (审定, re-renders the month) → next run.

mod common;
use common::*;
use std::collections::BTreeMap;

const R5: &str = "附件5 脱贫监测户动态监测分析研判表.xlsx";
const R6: &str = "附件6 边缘户动态监测分析研判表.xlsx";

fn decide(ws: &Ws, month: &str, file: &std::path::Path) -> std::process::Output {
    ws.run(&[
        "decide",
        "--month",
        month,
        file.to_str().unwrap(),
        "--by",
        "县审定",
        "-q",
    ])
}

fn status_of(js: &serde_json::Value, id: &str) -> Option<serde_json::Value> {
    js["households"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["household_id"] == id)
        .cloned()
}

/// A workspace whose roster also has 上年家庭纯收入 and an expense file.
fn with_expenses(ws: &Ws) {
    ws.history_workspace(6);
    let cfg = std::fs::read_to_string(ws.path("monitor.toml"))
        .unwrap()
        .replace("[history]", "expenses = 'data/{month}/e.csv'\n[history]");
    ws.write("monitor.toml", &cfg);
}

#[test]
fn an_undecided_warning_stays_pending_and_is_never_a_monitored_household() {
    let ws = Ws::new();
    ws.history_workspace(6);
    for m in ["2020-03", "2020-04", "2020-05"] {
        ws.roster(m, &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    }
    let mut pending = Vec::new();
    for m in ["2020-03", "2020-04", "2020-05"] {
        let js = ws.month(m);
        let a = status_of(&js, "A").unwrap();
        pending.push((
            a["monitoring_status"].as_str().unwrap().to_string(),
            a["first_warned_month"].as_str().unwrap().to_string(),
            a["months_pending"].as_u64().unwrap(),
        ));
        assert_eq!(js["counts"]["monitored"], 0, "{m}");
        assert_eq!(js["counts"]["warned"], 1, "{m}");
        let last = js["trend"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            (last["monitored"].clone(), last["warned"].clone()),
            (0.into(), 1.into())
        );
    }
    let first = "2020-03".to_string();
    assert_eq!(
        pending,
        [
            ("预警待研判".to_string(), first.clone(), 1),
            ("预警待研判".to_string(), first.clone(), 2),
            ("预警待研判".to_string(), first, 3)
        ]
    );
    // The 研判表 shows how long it has waited.
    let form = ws.path("out/2020-05").join(R5);
    let cells: Vec<String> = sheet(&form, &sheet_names(&form)[0])
        .iter()
        .flatten()
        .map(text)
        .collect();
    assert!(
        cells.iter().any(|c| c.contains("2020-03起第3个月")),
        "{cells:?}"
    );
}

#[test]
fn a_decline_holds_while_nothing_changes_and_a_new_expense_warns_again() {
    let ws = Ws::new();
    with_expenses(&ws);
    let b = [hh("B", "一般农户", 2, 2, 6000.0)];
    let head = "户编号,支出类型,自付金额,发生日期\n";
    for m in ["2020-03", "2020-04", "2020-05"] {
        ws.roster(m, &b);
    }
    ws.csv(
        "data/2020-03/e.csv",
        &format!("{head}B,因病,500,2020-02-01\n"),
        false,
    );
    ws.csv(
        "data/2020-04/e.csv",
        &format!("{head}B,因病,500,2020-02-01\n"),
        false,
    );
    ws.csv(
        "data/2020-05/e.csv",
        &format!("{head}B,因病,500,2020-02-01\nB,因病,900,2020-05-03\n"),
        false,
    );
    ws.month("2020-03");
    let f = ws.fill_review(
        &ws.path("out/2020-03").join(R6),
        "d.xlsx",
        &[("B", "不纳入", "")],
    );
    let o = decide(&ws, "2020-03", &f);
    assert!(o.status.success(), "{}", stderr(&o));
    let march = summary(&ws.path("out/2020-03"));
    assert!(
        status_of(&march, "B").is_none(),
        "held back, not listed as a warning"
    );
    assert_eq!(march["counts"]["declined"], 1);

    // April: same figures, same record → not warned again, listed apart.
    let april = ws.month("2020-04");
    assert!(status_of(&april, "B").is_none());
    assert_eq!(april["counts"]["declined"], 1);
    let held = sheet(&ws.path("out/2020-04/风险户台账.xlsx"), "已研判不纳入");
    let row = held
        .iter()
        .find(|r| r.len() > 6 && text(&r[1]) == "B")
        .expect("B listed");
    assert!(text(&row[6]).contains("县审定"), "who decided: {row:?}");

    // May: a new expense record → warned again, noting the earlier decision.
    let may = ws.month("2020-05");
    let b = status_of(&may, "B").expect("warned again");
    assert_eq!(b["monitoring_status"], "预警待研判");
    assert_eq!(b["declined_month"], "2020-03");
    assert!(b["note"].as_str().unwrap().contains("新的支出记录"), "{b}");
}

#[test]
fn a_decision_without_the_required_review_levels_is_refused() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster("2020-03", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    ws.month("2020-03");
    let src = ws.path("out/2020-03").join(R5);
    // 弥勒 一、（四）: 村组评议 and 乡镇审核 before 市级确定.
    let bare = ws.fill_review_cells(&src, "bare.xlsx", &[("A", "纳入监测", "")], &[]);
    let o = decide(&ws, "2020-03", &bare);
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(
        err.contains("第4行") && err.contains("村级评议结果"),
        "{err}"
    );
    assert!(err.contains("乡镇审核人"), "{err}");
    assert!(err.contains("未记录任何结论"), "{err}");
    let hist = stdout(&ws.run(&["history", "A"]));
    assert!(!hist.contains("研判结论"), "nothing recorded: {hist}");
    // A 公示 shorter than the rule file's minimum is refused too.
    let rules = std::fs::read_to_string(ws.path("rules.toml"))
        .unwrap()
        .replace(
            "include_requires = [\"村级评议\", \"乡镇审核\"]",
            "include_requires = [\"村级评议\", \"公示\", \"乡镇审核\"]\nmin_notice_days = 5",
        );
    ws.write("rules.toml", &rules);
    let short = ws.fill_review_cells(
        &src,
        "short.xlsx",
        &[("A", "纳入监测", "")],
        &[
            ("A", "村级评议结果", "同意"),
            ("A", "村级评议日期", "2020-03-10"),
            ("A", "公示开始日期", "2020-03-11"),
            ("A", "公示结束日期", "2020-03-13"),
            ("A", "乡镇审核意见", "同意"),
            ("A", "乡镇审核人", "王"),
            ("A", "乡镇审核日期", "2020-03-16"),
        ],
    );
    let o = decide(&ws, "2020-03", &short);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("公示只有 3 天"), "{}", stderr(&o));
}

#[test]
fn decide_re_renders_the_month_and_is_idempotent() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster(
        "2020-03",
        &[
            hh("A", "脱贫户", 2, 2, 6000.0),
            hh("B", "一般农户", 2, 2, 6000.0),
        ],
    );
    ws.month("2020-03");
    let out = ws.path("out/2020-03");
    let f = ws.fill_review(&out.join(R5), "d5.xlsx", &[("A", "纳入监测", "")]);
    let o = decide(&ws, "2020-03", &f);
    assert!(o.status.success(), "{}", stderr(&o));
    let js = summary(&out);
    let st: BTreeMap<String, String> = statuses(&js);
    assert_eq!(st["A"], "新纳入");
    assert_eq!(st["B"], "预警待研判");
    let (rows, by_id) = ledger_rows(&out.join("风险户台账.xlsx"));
    assert_eq!(text(&by_id["A"][col(&rows, 1, "监测状态")]), "新纳入");
    let once = snapshot(&out);
    let hist = stdout(&ws.run(&["history", "A"]));
    let o = decide(&ws, "2020-03", &f);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("未重复记录"), "{}", stdout(&o));
    assert_eq!(
        snapshot(&out),
        once,
        "recording the same file twice changes nothing"
    );
    assert_eq!(stdout(&ws.run(&["history", "A"])), hist);
    // The next month follows the confirmed list.
    ws.roster(
        "2020-04",
        &[
            hh("A", "脱贫户", 2, 2, 30000.0),
            hh("B", "一般农户", 2, 2, 6000.0),
        ],
    );
    let js = ws.month("2020-04");
    let st = statuses(&js);
    assert_eq!(
        (st["A"].as_str(), st["B"].as_str()),
        ("持续监测", "预警待研判")
    );
    assert_eq!(js["counts"]["monitored"], 1);
}

#[test]
fn a_version_1_store_is_upgraded_and_its_months_keep_their_statuses() {
    let ws = Ws::new();
    ws.history_workspace(6);
    // A store as version 1 wrote it: March with A 新识别, decided 纳入监测.
    let conn = rusqlite::Connection::open(ws.path("history.sqlite")).unwrap();
    conn.execute_batch(
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
         INSERT INTO meta VALUES ('app', 'monitor'), ('schema', '1');
         CREATE TABLE runs(month TEXT PRIMARY KEY, run_id TEXT NOT NULL, ruleset TEXT NOT NULL,
             households INTEGER NOT NULL, monitored INTEGER NOT NULL, new INTEGER NOT NULL,
             eliminated INTEGER NOT NULL, run_at TEXT NOT NULL);
         CREATE TABLE assessments(month TEXT NOT NULL, hh_id TEXT NOT NULL, status TEXT NOT NULL,
             at_risk INTEGER NOT NULL, quiet_months INTEGER NOT NULL, class TEXT, causes TEXT NOT NULL,
             per_capita TEXT, triggers TEXT NOT NULL, identified TEXT, eliminated TEXT, method TEXT,
             PRIMARY KEY(month, hh_id));
         CREATE TABLE households(hh_id TEXT PRIMARY KEY, head_name TEXT, id_no TEXT, township TEXT,
             village TEXT, hh_type TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL);
         CREATE TABLE roster(month TEXT NOT NULL, hh_id TEXT NOT NULL, head_name TEXT, township TEXT,
             village TEXT, size INTEGER, PRIMARY KEY(month, hh_id));
         CREATE TABLE roster_members(month TEXT NOT NULL, person_key TEXT NOT NULL, hh_id TEXT NOT NULL,
             name TEXT, id_no TEXT, relation TEXT, PRIMARY KEY(month, person_key));
         CREATE TABLE decisions(id INTEGER PRIMARY KEY AUTOINCREMENT, month TEXT NOT NULL,
             hh_id TEXT NOT NULL, decision TEXT NOT NULL, method TEXT, decided_by TEXT NOT NULL,
             decided_at TEXT NOT NULL, source TEXT NOT NULL);
         INSERT INTO runs VALUES ('2020-03', 'r1', 'mile-2020', 1, 1, 1, 0, '2020-03-25');
         INSERT INTO assessments VALUES ('2020-03', 'A', '新识别', 1, 0, '脱贫监测户', '[\"收入偏低\"]',
             '3000.00', '[]', '2020-03', NULL, NULL);
         INSERT INTO households VALUES ('A', 'A', '', '东乡', '甲村', '脱贫户', '2020-03', '2020-03');
         INSERT INTO roster VALUES ('2020-03', 'A', 'A', '东乡', '甲村', 2);
         INSERT INTO decisions(month, hh_id, decision, decided_by, decided_at, source)
             VALUES ('2020-03', 'A', '纳入监测', '旧版', '2020-03-26', 'x');",
    )
    .unwrap();
    drop(conn);
    ws.roster("2020-04", &[hh("A", "脱贫户", 2, 2, 30000.0)]);
    let js = ws.month("2020-04");
    let a = status_of(&js, "A").unwrap();
    assert_eq!(a["monitoring_status"], "持续监测");
    assert_eq!(a["identified_month"], "2020-03");
    let hist = stdout(&ws.run(&["history", "A"]));
    assert!(
        hist.contains("2020-03") && hist.contains("新识别"),
        "kept as recorded: {hist}"
    );
    let conn = rusqlite::Connection::open(ws.path("history.sqlite")).unwrap();
    let v: String = conn
        .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(v, "2");
}

#[test]
fn the_calendar_shows_what_waits_and_what_is_overdue() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster(
        "2020-03",
        &[
            hh("A", "脱贫户", 2, 2, 6000.0),
            hh("B", "脱贫户", 2, 2, 6000.0),
        ],
    );
    let js = ws.month("2020-03");
    // 弥勒 一、（三）: last month's lists go up by the 3rd of the next month.
    assert_eq!(js["calendar"]["due"][0]["date"], "2020-04-03");
    assert_eq!(js["calendar"]["waiting"]["东乡"]["awaiting_review"], 2);
    let on = |day: &str, extra: &[&str]| {
        let mut args = vec!["status", "--month", "2020-03", "--today", day];
        args.extend_from_slice(extra);
        ws.run(&args)
    };
    let o = on("2020-04-02", &["--fail-overdue"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("东乡：预警待研判 2 户"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("逾期 0 户"), "{}", stdout(&o));
    let o = on("2020-04-05", &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("逾期共 2 户"), "{}", stdout(&o));
    let o = on("2020-04-05", &["--fail-overdue"]);
    assert_eq!(o.status.code(), Some(13));
    // One decided: it no longer waits.
    let f = ws.fill_review(
        &ws.path("out/2020-03").join(R5),
        "d.xlsx",
        &[("A", "纳入监测", "")],
    );
    assert!(decide(&ws, "2020-03", &f).status.success());
    let o = on("2020-04-05", &[]);
    assert!(
        stdout(&o).contains("预警待研判 1 户") && stdout(&o).contains("本月已审定 1 户"),
        "{}",
        stdout(&o)
    );
}

/// Every text cell of every sheet of a workbook.
fn all_text(path: &std::path::Path) -> Vec<String> {
    sheet_names(path)
        .iter()
        .flat_map(|n| {
            sheet(path, n)
                .iter()
                .flatten()
                .map(text)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_public_notice_is_masked_and_the_township_report_is_this_months() {
    let ws = Ws::new();
    ws.history_workspace(1);
    let head = vec![
        s("户编号"),
        s("户主姓名"),
        s("证件号码"),
        s("联系电话"),
        s("户类型"),
        s("家庭人口"),
        s("劳动力人数"),
        s("乡镇"),
        s("村"),
        s("组"),
        s("工资性收入"),
    ];
    let roster = |wage_a: f64| {
        vec![
            head.clone(),
            vec![
                s("A"),
                s("张三"),
                s("11010519491231002X"),
                s("13912345678"),
                s("脱贫户"),
                n(2.0),
                n(2.0),
                s("东乡"),
                s("甲村"),
                s("一组"),
                n(wage_a),
            ],
            vec![
                s("B"),
                s("李四"),
                s("110105195001010012"),
                s("13800001111"),
                s("一般农户"),
                n(2.0),
                n(2.0),
                s("东乡"),
                s("乙村"),
                s("二组"),
                n(30000.0),
            ],
        ]
    };
    for (m, w) in [
        ("2020-03", 6000.0),
        ("2020-04", 30000.0),
        ("2020-05", 30000.0),
    ] {
        ws.xlsx(&format!("data/{m}/h.xlsx"), "农户", &roster(w), &[]);
        ws.xlsx(
            &format!("data/{m}/m.xlsx"),
            "成员",
            &[vec![s("户编号"), s("姓名"), s("证件号码"), s("与户主关系")]],
            &[],
        );
    }
    ws.month("2020-03");
    let f = ws.fill_review(
        &ws.path("out/2020-03").join(R5),
        "d3.xlsx",
        &[("A", "纳入监测", "")],
    );
    assert!(decide(&ws, "2020-03", &f).status.success());
    let notice = all_text(&ws.path("out/2020-03/公示名单.xlsx"));
    assert!(notice.contains(&"张三".to_string()), "{notice:?}");
    assert!(
        notice.contains(&"110105********002X".to_string()),
        "{notice:?}"
    );
    for cell in &notice {
        assert!(
            monitor::report::public::leaks(cell).is_empty(),
            "leaked: {cell}"
        );
        assert!(
            !cell.contains("3000.00") && !cell.contains("1391234"),
            "{cell}"
        );
    }
    ws.month("2020-04");
    let levels = [
        ("A", "村级评议结果", "同意"),
        ("A", "村级评议日期", "2020-04-18"),
        ("A", "乡镇审核意见", "同意"),
        ("A", "乡镇审核人", "王"),
        ("A", "乡镇审核日期", "2020-04-19"),
    ];
    let f = ws.fill_review_cells(
        &ws.path("out/2020-04").join(R5),
        "d4.xlsx",
        &[("A", "风险消除", "自然消除")],
        &levels,
    );
    let o = decide(&ws, "2020-04", &f);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = all_text(&ws.path("out/2020-04/乡镇月报.xlsx"));
    assert!(
        report.iter().any(|c| c.contains("本月风险消除户 1 户")),
        "{report:?}"
    );
    let notice = all_text(&ws.path("out/2020-04/公示名单.xlsx"));
    assert!(notice.contains(&"自然消除".to_string()), "{notice:?}");
    ws.month("2020-05");
    let report = all_text(&ws.path("out/2020-05/乡镇月报.xlsx"));
    assert!(
        !report.iter().any(|c| c.contains("本月风险消除户 1 户")),
        "not cumulative"
    );
}

#[test]
fn measures_are_read_back_checked_and_counted() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster(
        "2020-03",
        &[
            hh("A", "脱贫户", 2, 2, 6000.0),
            hh("B", "脱贫户", 2, 2, 6000.0),
        ],
    );
    ws.month("2020-03");
    let out = ws.path("out/2020-03");
    let m4 = out.join("附件4 致贫返贫风险户帮扶措施表.xlsx");
    let bad = ws.fill_measures(
        &m4,
        "bad.xlsx",
        "A",
        ("李", "13700001111"),
        ["就业促进", "公益性岗位", "镇人社所", "王", "下个月"],
    );
    let o = decide(&ws, "2020-03", &bad);
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(
        err.contains("bad.xlsx")
            && err.contains("行")
            && err.contains("列")
            && err.contains("下个月"),
        "{err}"
    );
    assert!(err.contains("未记录任何内容"), "{err}");
    let good = ws.fill_measures(
        &m4,
        "good.xlsx",
        "A",
        ("李", "13700001111"),
        ["就业促进", "公益性岗位", "镇人社所", "王", "2020-03-20"],
    );
    let review = ws.fill_review(
        &out.join(R5),
        "r.xlsx",
        &[("A", "纳入监测", ""), ("B", "纳入监测", "")],
    );
    let o = ws.run(&[
        "decide",
        "--month",
        "2020-03",
        good.to_str().unwrap(),
        review.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The next month's 附件4 carries the measure; the 汇总 counts it.
    ws.roster(
        "2020-04",
        &[
            hh("A", "脱贫户", 2, 2, 6000.0),
            hh("B", "脱贫户", 2, 2, 30000.0),
        ],
    );
    ws.month("2020-04");
    let april = ws.path("out/2020-04/附件4 致贫返贫风险户帮扶措施表.xlsx");
    let cells: Vec<String> = sheet_names(&april)
        .iter()
        .flat_map(|n| {
            sheet(&april, n)
                .iter()
                .flatten()
                .map(text)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        cells.contains(&"公益性岗位".to_string()) && cells.contains(&"2020-03-20".to_string()),
        "{cells:?}"
    );
    let sum = sheet(&ws.path("out/2020-04/风险户台账.xlsx"), "汇总");
    let start = sum
        .iter()
        .position(|r| text(&r[0]).starts_with("帮扶措施落实情况"))
        .expect("measures table");
    let town = sum[start..].iter().find(|r| text(&r[0]) == "东乡").unwrap();
    // Two 监测户, one with a measure carried out (50%), and A still triggers.
    assert_eq!(
        (num(&town[1]), num(&town[2]), num(&town[3]), num(&town[5])),
        (2.0, 1.0, 50.0, 1.0)
    );
    let (rows, by_id) = ledger_rows(&ws.path("out/2020-04/风险户台账.xlsx"));
    assert_eq!(text(&by_id["A"][col(&rows, 1, "帮扶责任人")]), "李");
}

#[test]
fn the_bundled_example_shows_the_cycle() {
    let ws = Ws::new();
    let cfg = repo().join("examples/monitor.toml").display().to_string();
    let base = [
        "--config",
        cfg.as_str(),
        "--out",
        "out",
        "--store",
        "h.sqlite",
        "-q",
    ];
    let with = |first: &[&str]| {
        let mut a: Vec<&str> = first.to_vec();
        a.extend_from_slice(&base);
        ws.run(&a)
    };
    assert!(with(&["run", "--month", "2020-03"]).status.success());
    let form = repo()
        .join("examples/data/2020-03/研判结论.xlsx")
        .display()
        .to_string();
    let o = with(&[
        "decide",
        "--month",
        "2020-03",
        form.as_str(),
        "--by",
        "示例",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = with(&["run", "--month", "2020-04"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let js = summary(&ws.path("out/2020-04"));
    let st = statuses(&js);
    assert_eq!(st["532504000100040"], "持续监测", "confirmed in March");
    assert!(!st.contains_key("532504000100011"), "不纳入 holds");
    assert_eq!(js["counts"]["declined"], 1);
    assert!(
        st.values().any(|s| s == "预警待研判"),
        "undecided warnings wait"
    );
}

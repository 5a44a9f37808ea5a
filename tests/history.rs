//! Month-to-month monitoring driven through the binary: statuses across
//! five months, a decision file read back, an elimination that is marked
//! and never deleted, re-runs, ordering, and the store's guarantees.

mod common;
use common::*;
use std::collections::BTreeMap;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const R5: &str = "附件5 脱贫监测户动态监测分析研判表.xlsx";
const R6: &str = "附件6 边缘户动态监测分析研判表.xlsx";

#[test]
fn five_months_with_decisions_elimination_and_return() {
    let ws = Ws::new();
    ws.history_workspace(2);
    // A, B, C below the line in March; D and F never; C has no one able to work.
    let low = 6000.0; // 2 people → 3000 < 4428
    let ok = 30000.0;
    let a = |w| hh("A", "脱贫户", 2, 2, w);
    let b = |w| hh("B", "一般农户", 2, 2, w);
    let c = |w| hh("C", "一般农户", 2, 0, w);
    let d = hh("D", "脱贫户", 2, 2, ok);
    let e = hh("E", "一般农户", 3, 2, ok);
    let f = hh("F", "一般农户", 1, 1, ok);

    ws.roster("2020-03", &[a(low), b(low), c(low), d.clone(), f.clone()]);
    let js = ws.month("2020-03");
    assert_eq!(
        statuses(&js),
        map(&[
            ("A", "预警待研判"),
            ("B", "预警待研判"),
            ("C", "预警待研判")
        ])
    );
    assert_eq!(js["counts"]["monitored"], 0, "a warning is not a 监测户");
    assert_eq!(js["counts"]["warned"], 3);
    // The 研判表 lists them with a 研判结论 column; the clerk fills it in.
    let out3 = ws.path("out/2020-03");
    let f5 = ws.fill_review(&out3.join(R5), "d5.xlsx", &[("A", "纳入监测", "")]);
    let f6 = ws.fill_review(
        &out3.join(R6),
        "d6.xlsx",
        &[("B", "不纳入", ""), ("C", "纳入监测", "")],
    );
    for f in [&f5, &f6] {
        let o = ws.run(&[
            "decide",
            "--month",
            "2020-03",
            f.to_str().unwrap(),
            "--by",
            "王研判",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("王研判"));
    }
    // The month is re-rendered as confirmed: 新纳入 for A and C; B held back.
    let js = summary(&out3);
    assert_eq!(statuses(&js), map(&[("A", "新纳入"), ("C", "新纳入")]));
    assert_eq!(js["counts"]["monitored"], 2);
    assert_eq!(js["counts"]["declined"], 1);
    assert_eq!(js["households"][0]["identified_month"], "2020-03");

    // April: A and C recover; B is still low with the same figures, so the
    // 不纳入 holds; E is a new household and F has gone.
    ws.roster("2020-04", &[a(ok), b(low), c(ok), d.clone(), e.clone()]);
    let js = ws.month("2020-04");
    assert_eq!(statuses(&js), map(&[("A", "持续监测"), ("C", "持续监测")]));
    let held = sheet(&ws.path("out/2020-04/风险户台账.xlsx"), "已研判不纳入");
    assert!(held
        .iter()
        .any(|r| r.len() > 5 && text(&r[1]) == "B" && text(&r[5]) == "2020-03"));
    let changes = sheet(&ws.path("out/2020-04/风险户台账.xlsx"), "自然增减");
    let kinds: Vec<(String, String)> = changes
        .iter()
        .skip(2)
        .map(|r| (text(&r[1]), text(&r[2])))
        .collect();
    assert!(kinds.contains(&("户增加".into(), "E".into())), "{kinds:?}");
    assert!(kinds.contains(&("户减少".into(), "F".into())), "{kinds:?}");

    // May: two quiet months → A is suggested for elimination; C never is
    // (整户无劳动能力); a suggestion is not a decision.
    ws.roster("2020-05", &[a(ok), b(ok), c(ok), d.clone(), e.clone()]);
    let js = ws.month("2020-05");
    assert_eq!(statuses(&js), map(&[("A", "建议消除"), ("C", "持续监测")]));
    let out5 = ws.path("out/2020-05");
    let f5 = ws.fill_review(
        &out5.join(R5),
        "d5-may.xlsx",
        &[("A", "风险消除", "帮扶消除")],
    );
    // 帮扶消除 needs a measure carried out: refused without one…
    let o = ws.run(&["decide", "--month", "2020-05", f5.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4));
    assert!(
        stderr(&o).contains("没有已落实的帮扶措施"),
        "{}",
        stderr(&o)
    );
    // …so the township returns its 附件4 with the measure and the helper.
    let m5 = ws.fill_measures(
        &out5.join("附件4 致贫返贫风险户帮扶措施表.xlsx"),
        "m5.xlsx",
        "A",
        ("李帮扶", "13700001111"),
        [
            "就业促进",
            "安排公益性岗位",
            "镇劳动保障所",
            "王所长",
            "2020-05-10",
        ],
    );
    let o = ws.run(&["decide", "--month", "2020-04", f5.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4), "the May form given as April's");
    assert!(stderr(&o).contains("2020-05 的研判表"), "{}", stderr(&o));
    let o = ws.run(&[
        "decide",
        "--month",
        "2020-05",
        m5.to_str().unwrap(),
        f5.to_str().unwrap(),
        "--by",
        "李审定",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("1 户的帮扶措施"), "{}", stdout(&o));
    // The re-rendered 研判表 shows the measure carried out.
    let r5 = ws.path("out/2020-05").join(R5);
    let cells: Vec<String> = sheet(&r5, &sheet_names(&r5)[0])
        .iter()
        .flatten()
        .map(text)
        .collect();
    assert!(
        cells.iter().any(|c| c.contains("1 项已落实：就业促进")),
        "{cells:?}"
    );

    // June: A is eliminated, marked with date and method, and still in the ledger.
    ws.roster("2020-06", &[a(ok), b(ok), c(ok), d.clone(), e.clone()]);
    let js = ws.month("2020-06");
    // C (still monitored) gets a 附件4 page; A's measures stay on record.
    let st = statuses(&js);
    assert_eq!(st["A"], "已消除");
    let a6 = js["households"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["household_id"] == "A")
        .unwrap();
    assert_eq!(a6["eliminated_month"], "2020-05");
    assert_eq!(a6["elimination_method"], "帮扶消除");
    assert_eq!(a6["identified_month"], "2020-03");
    let ledger = ws.path("out/2020-06/风险户台账.xlsx");
    let (rows, by_id) = ledger_rows(&ledger);
    let row_a = &by_id["A"];
    assert_eq!(text(&row_a[col(&rows, 1, "监测状态")]), "已消除");
    assert_eq!(text(&row_a[col(&rows, 1, "消除时间")]), "2020-05");
    assert_eq!(text(&row_a[col(&rows, 1, "消除方式")]), "帮扶消除");
    let elim = sheet(&ledger, "风险消除");
    assert!(elim.iter().any(|r| r.len() > 7
        && text(&r[1]) == "A"
        && text(&r[6]) == "2020-05"
        && text(&r[8]) == "李审定"));
    // A is not in this month's 研判表 any more.
    let r5 = sheet(
        &ws.path("out/2020-06").join(R5),
        &sheet_names(&ws.path("out/2020-06").join(R5))[0],
    );
    assert!(!r5.iter().any(|r| r.len() > 1 && text(&r[1]) == "A"));
    // 汇总 carries the month-by-month trend and a native chart.
    let sum = sheet(&ledger, "汇总");
    let months: Vec<String> = sum
        .iter()
        .map(|r| text(&r[0]))
        .filter(|t| t.starts_with("2020-"))
        .collect();
    assert_eq!(months, ["2020-03", "2020-04", "2020-05", "2020-06"]);
    let june = sum.iter().find(|r| text(&r[0]) == "2020-06").unwrap();
    assert_eq!(num(&june[3]), 1.0, "one elimination took effect in June");
    let bytes = std::fs::read(&ledger).unwrap();
    assert!(
        bytes.windows(20).any(|w| w == b"xl/charts/chart1.xml"),
        "the trend chart is in the workbook"
    );

    // July: A falls below the line again → 返贫/再次预警, waiting for review.
    ws.roster("2020-07", &[a(low), b(ok), c(ok), d.clone(), e.clone()]);
    let js = ws.month("2020-07");
    assert_eq!(statuses(&js)["A"], "返贫/再次预警");
    // The earlier elimination is still on record.
    let elim = sheet(&ws.path("out/2020-07/风险户台账.xlsx"), "风险消除");
    assert!(elim
        .iter()
        .any(|r| r.len() > 6 && text(&r[1]) == "A" && text(&r[6]) == "2020-05"));

    // `monitor history A`: every month and every decision, nothing deleted.
    let o = ws.run(&["history", "A"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let h = stdout(&o);
    for m in ["2020-03", "2020-04", "2020-05", "2020-06", "2020-07"] {
        assert!(h.contains(m), "{h}");
    }
    for word in [
        "新纳入",
        "建议消除",
        "已消除",
        "返贫/再次预警",
        "纳入监测",
        "风险消除（帮扶消除）",
        "李审定",
        "3000.00",
        "安排公益性岗位",
        "李帮扶",
        "落实于 2020-05-10",
    ] {
        assert!(h.contains(word), "{word} in {h}");
    }
}

#[test]
fn rerun_is_identical_and_earlier_months_are_refused_without_force() {
    let ws = Ws::new();
    ws.history_workspace(6);
    let rows = [
        hh("A", "脱贫户", 2, 2, 6000.0),
        hh("B", "一般农户", 2, 2, 30000.0),
    ];
    ws.roster("2020-03", &rows);
    ws.roster("2020-04", &rows);
    ws.month("2020-03");
    ws.month("2020-04");
    let before = snapshot(&ws.path("out/2020-04"));
    let hist = stdout(&ws.run(&["history", "A"]));
    ws.month("2020-04");
    assert_eq!(
        snapshot(&ws.path("out/2020-04")),
        before,
        "same inputs, same bytes"
    );
    assert_eq!(
        stdout(&ws.run(&["history", "A"])),
        hist,
        "the month was replaced, not added"
    );

    let o = ws.run(&["run", "--month", "2020-03", "-q"]);
    assert_eq!(o.status.code(), Some(9));
    assert!(
        stderr(&o).contains("2020-04") && stderr(&o).contains("--force"),
        "{}",
        stderr(&o)
    );
    let o = ws.run(&["run", "--month", "2020-03", "--force", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("2020-04"),
        "warns that later months need a re-run"
    );
}

#[test]
fn decision_files_are_checked_row_by_row_and_recorded_all_or_nothing() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster(
        "2020-03",
        &[
            hh("A", "脱贫户", 2, 2, 6000.0),
            hh("B", "一般农户", 2, 2, 6000.0),
            hh("D", "一般农户", 2, 2, 30000.0),
        ],
    );
    ws.month("2020-03");
    let out = ws.path("out/2020-03");
    // B is 新识别: 风险消除 does not apply; A gets a value not in the list.
    let bad6 = ws.fill_review(&out.join(R6), "bad6.xlsx", &[("B", "风险消除", "帮扶消除")]);
    let o = ws.run(&["decide", "--month", "2020-03", bad6.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(
        err.contains("第4行") && err.contains("T列") // 研判结论 of the bundled 研判表
             && err.contains("纳入监测、不纳入"),
        "{err}"
    );

    let bad5 = ws.fill_review(&out.join(R5), "bad5.xlsx", &[("A", "同意", "")]);
    let o = ws.run(&["decide", "--month", "2020-03", bad5.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("“同意”不是"), "{}", stderr(&o));

    // A household not under review (D never flagged) and one unknown to the store.
    ws.xlsx(
        "hand.xlsx",
        "Sheet1",
        &[
            vec![s("户编号"), s("研判结论")],
            vec![s("D"), s("纳入监测")],
            vec![s("ZZZ"), s("纳入监测")],
            vec![s("A"), s("纳入监测")],
        ],
        &[],
    );
    let o = ws.run(&["decide", "--month", "2020-03", "hand.xlsx"]);
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(err.contains("第2行") && err.contains("“未监测”"), "{err}");
    assert!(err.contains("第3行") && err.contains("ZZZ"), "{err}");
    assert!(err.contains("未记录任何结论"), "{err}");
    assert!(
        !stdout(&ws.run(&["history", "A"])).contains("研判结论"),
        "nothing was recorded"
    );

    // A month never run has nothing to decide on.
    let o = ws.run(&["decide", "--month", "2020-04", "hand.xlsx"]);
    assert_eq!(o.status.code(), Some(9));
}

#[test]
fn the_store_is_never_silently_recreated() {
    let ws = Ws::new();
    ws.history_workspace(6);
    let rows = [hh("A", "脱贫户", 2, 2, 6000.0)];
    ws.roster("2020-03", &rows);
    ws.roster("2020-04", &rows);
    ws.month("2020-03");
    let store = ws.path("history.sqlite");
    let saved = std::fs::read(&store).unwrap();

    std::fs::remove_file(&store).unwrap();
    let o = ws.run(&["run", "--month", "2020-04", "-q"]);
    assert_eq!(o.status.code(), Some(8));
    assert!(
        stderr(&o).contains("history.sqlite") && stderr(&o).contains("2020-03"),
        "{}",
        stderr(&o)
    );
    assert!(!store.exists(), "not recreated");

    std::fs::write(
        &store,
        b"SQLite format 3\0 but then garbage garbage garbage",
    )
    .unwrap();
    let o = ws.run(&["run", "--month", "2020-04", "-q"]);
    assert_eq!(o.status.code(), Some(8));
    assert!(
        stderr(&o).contains("history.sqlite") && stderr(&o).contains("损坏"),
        "{}",
        stderr(&o)
    );

    std::fs::write(&store, saved).unwrap();
    ws.month("2020-04");
}

#[test]
fn a_quick_assisted_elimination_is_recorded_with_a_reminder() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster("2020-03", &[hh("A", "脱贫户", 2, 2, 6000.0)]);
    ws.roster("2020-04", &[hh("A", "脱贫户", 2, 2, 30000.0)]);
    ws.month("2020-03");
    let f = ws.fill_review(
        &ws.path("out/2020-03").join(R5),
        "i.xlsx",
        &[("A", "纳入监测", "")],
    );
    let o = ws.run(&["decide", "--month", "2020-03", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    ws.month("2020-04");
    let form = ws.path("out/2020-04").join(R5);
    // One month after 纳入: the gate (min_months_monitored) refuses…
    let f = ws.fill_review(&form, "d.xlsx", &[("A", "风险消除", "帮扶消除")]);
    let o = ws.run(&[
        "decide",
        "--month",
        "2020-04",
        f.to_str().unwrap(),
        "--by",
        "赵",
    ]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("未满 6 个月"), "{}", stderr(&o));
    // …unless 备注 gives a reason, recorded and listed as an exception.
    let reason = "大病医疗费用已由保险全额报销";
    let levels = [
        ("A", "村级评议结果", "同意"),
        ("A", "村级评议日期", "2020-04-18"),
        ("A", "乡镇审核意见", "同意"),
        ("A", "乡镇审核人", "王审核"),
        ("A", "乡镇审核日期", "2020-04-19"),
        ("A", "备注", reason),
    ];
    let f = ws.fill_review_cells(&form, "d2.xlsx", &[("A", "风险消除", "帮扶消除")], &levels);
    let o = ws.run(&[
        "decide",
        "--month",
        "2020-04",
        f.to_str().unwrap(),
        "--by",
        "赵",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("不足2个月"), "{}", stderr(&o));
    let audit = sheet(&ws.path("out/2020-04/风险户台账.xlsx"), "研判例外");
    let cells: Vec<String> = audit.iter().flatten().map(text).collect();
    assert!(cells.iter().any(|c| c.contains(reason)), "{cells:?}");
    assert!(cells.iter().any(|c| c.contains("未满 6 个月")), "{cells:?}");
    ws.roster("2020-05", &[hh("A", "脱贫户", 2, 2, 30000.0)]);
    assert_eq!(statuses(&ws.month("2020-05"))["A"], "已消除");
}

/// Every part of every workbook (but its creation time) and summary.json,
/// and the store's month rows: what a month leaves behind.
fn month_record(ws: &Ws, month: &str) -> BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut all = BTreeMap::new();
    for (name, bytes) in snapshot(&ws.path(&format!("out/{month}"))) {
        if !name.ends_with(".xlsx") {
            all.insert(name, bytes);
            continue;
        }
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        for k in 0..z.len() {
            let mut part = z.by_index(k).unwrap();
            let inner = part.name().unwrap().to_string();
            if inner.starts_with("docProps/") {
                continue;
            }
            let mut v = Vec::new();
            part.read_to_end(&mut v).unwrap();
            all.insert(format!("{name}/{inner}"), v);
        }
    }
    let db = rusqlite::Connection::open(ws.path("history.sqlite")).unwrap();
    for table in ["assessments", "roster", "roster_members", "households"] {
        let mut st = db
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
            .unwrap();
        let width = st.column_count();
        let rows: Vec<String> = st
            .query_map([], |r| {
                Ok((0..width)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        all.insert(format!("store/{table}"), rows.join("\n").into_bytes());
    }
    all
}

#[test]
fn storing_and_reporting_side_by_side_leaves_the_same_months() {
    // A county's month is stored while its reports are written. Each way is
    // forced in turn and the months compared, workbook part by part and row
    // by row in the store.
    let low = 6000.0;
    let ok = 30000.0;
    let others = ["C", "D", "E", "F", "G", "H", "I", "J", "K", "L"];
    let roster = |a: f64, c: f64| {
        let mut v = vec![hh("A", "脱贫户", 2, 2, a), hh("B", "一般农户", 2, 2, low)];
        v.extend(others.iter().map(|id| hh(id, "一般农户", 2, 2, ok)));
        v[2].wage = c;
        v
    };
    let months = |env: &[(&str, &str)]| {
        let ws = Ws::new();
        ws.history_workspace(2);
        let mut phases = String::new();
        let mut run = |args: &[&str]| {
            let mut env = env.to_vec();
            env.push(("MONITOR_PHASES", "1"));
            let o = ws.run_env(args, &env);
            assert!(o.status.success(), "{args:?}: {}", stderr(&o));
            phases.push_str(&stderr(&o));
        };
        ws.roster("2020-03", &roster(low, ok));
        run(&["run", "--month", "2020-03", "-q"]);
        // A is taken in by a decision (the month is written again); in April
        // it is monitored with March's causes, and C is newly warned.
        let f5 = ws.fill_review(
            &ws.path(&format!("out/2020-03/{R5}")),
            "d5.xlsx",
            &[("A", "纳入监测", "")],
        );
        run(&["decide", "--month", "2020-03", f5.to_str().unwrap()]);
        ws.roster("2020-04", &roster(ok, low));
        run(&["run", "--month", "2020-04", "-q"]);
        let js = summary(&ws.path("out/2020-04"));
        assert_eq!(
            statuses(&js),
            map(&[("A", "持续监测"), ("B", "预警待研判"), ("C", "预警待研判")])
        );
        let both = (month_record(&ws, "2020-03"), month_record(&ws, "2020-04"));
        (both, phases, ws)
    };
    let (side, side_phases, ws) = months(&[("MONITOR_SIDE_BY_SIDE", "1")]);
    let (turn, turn_phases, _) = months(&[("MONITOR_SIDE_BY_SIDE", "0")]);
    let (auto, auto_phases, _) = months(&[]);
    assert!(
        side_phases.contains("写入监测历史、生成报表"),
        "{side_phases}"
    );
    assert!(
        !turn_phases.contains("写入监测历史、生成报表"),
        "{turn_phases}"
    );
    assert!(
        auto_phases.contains("写入监测历史、生成报表"),
        "a county: side by side"
    );
    // March's causes as A's 纳入时风险类型 in April (read from the store).
    let r5 = ws.path(&format!("out/2020-04/{R5}"));
    let rows = sheet(&r5, &sheet_names(&r5)[0]);
    let head = col(&rows, 2, "纳入时风险类型");
    let a = rows.iter().find(|r| r.iter().any(|c| text(c) == "A"));
    let entry = text(&a.expect("A on the 研判表")[head]);
    assert!(entry.contains("收入"), "{entry}");
    for (a, b) in [(&side.0, &turn.0), (&side.1, &turn.1), (&side.0, &auto.0)] {
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (name, bytes) in a {
            assert!(b[name] == *bytes, "{name} differs");
        }
    }
    assert!(side == auto);
}

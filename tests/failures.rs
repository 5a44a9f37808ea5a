//! Bad input stops the run with a Chinese message naming file, sheet, row
//! and column and a documented exit code; nothing already written is lost;
//! re-running a month gives the same files.

mod common;
use common::*;

fn roster(ws: &Ws, with_size: bool) {
    let mut header = vec![
        s("户编号"),
        s("户主姓名"),
        s("户类型"),
        s("工资性收入"),
        s("乡镇"),
        s("生产经营性收入"),
        s("财产性收入"),
        s("转移性收入"),
        s("生产经营性支出"),
    ];
    if with_size {
        header.insert(3, s("家庭人口"));
    }
    let row = |id: &str, wage: f64| {
        let mut r = vec![
            s(id),
            s("某某"),
            s("脱贫户"),
            n(wage),
            s("甲镇"),
            n(0.0),
            n(0.0),
            n(0.0),
            n(0.0),
        ];
        if with_size {
            r.insert(3, n(2.0));
        }
        r
    };
    ws.xlsx(
        "h.xlsx",
        "农户",
        &[
            vec![s("标题行")],
            header,
            row("X1", 5000.0),
            row("X2", 50000.0),
        ],
        &[],
    );
}

fn run(ws: &Ws, rules_file: &str) -> std::process::Output {
    ws.run_on("2020-03", rules_file, "h.xlsx", &["--out", "out"])
}

#[test]
fn missing_required_column_stops_with_file_sheet_row_and_exit_4() {
    let ws = Ws::new();
    roster(&ws, false);
    let o = run(&ws, &rules("mile-2020.toml"));
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(
        err.contains("h.xlsx") && err.contains("工作表“农户”") && err.contains("第2行"),
        "{err}"
    );
    assert!(
        err.contains("家庭人口") && err.contains("家庭人口数"),
        "names the column and its aliases: {err}"
    );
    assert!(!ws.path("out/2020-03").exists(), "no partial outputs");
}

#[test]
fn unknown_rule_parameter_stops_with_exit_5() {
    let ws = Ws::new();
    roster(&ws, true);
    let text = std::fs::read_to_string(repo().join("rules/mile-2020.toml"))
        .unwrap()
        .replace("line = 4428", "line = 4428\nlien = 1");
    ws.write("bad.toml", &text);
    let o = run(&ws, "bad.toml");
    assert_eq!(o.status.code(), Some(5));
    let err = stderr(&o);
    assert!(
        err.contains("mile.income_below_line") && err.contains("lien"),
        "{err}"
    );
    assert!(!ws.path("out/2020-03").exists());
}

#[test]
fn month_without_parameters_in_force_is_refused() {
    let ws = Ws::new();
    roster(&ws, true);
    let o = ws.run_on("2020-03", &rules("panzhihua-2020.toml"), "h.xlsx", &[]);
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("2020-03"), "{}", stderr(&o));
    let o = ws.run_on("三月", &rules("mile-2020.toml"), "h.xlsx", &[]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("2020-03"),
        "explains the month format: {}",
        stderr(&o)
    );
}

#[test]
fn rerun_gives_identical_files_and_a_failed_run_keeps_the_previous_ones() {
    let ws = Ws::new();
    roster(&ws, true);
    let o = run(&ws, &rules("mile-2020.toml"));
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = ws.path("out/2020-03");
    let first = snapshot(&dir);
    assert_eq!(first.len(), 11, "{:?}", first.keys());
    let o = run(&ws, &rules("mile-2020.toml"));
    assert!(o.status.success());
    assert_eq!(
        snapshot(&dir),
        first,
        "re-running the month writes the same bytes"
    );

    // Now the roster is broken: the run fails and the month stays as it was.
    roster(&ws, false);
    let o = run(&ws, &rules("mile-2020.toml"));
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(snapshot(&dir), first);
    let leftovers: Vec<_> = std::fs::read_dir(ws.path("out"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        leftovers,
        vec!["2020-03"],
        "no temporary folders left behind"
    );
}

#[test]
fn unreadable_files_are_explained() {
    let ws = Ws::new();
    ws.write(
        "h.xls",
        "<html><table><tr><td>户编号</td></tr></table></html>",
    );
    let o = ws.run_on("2020-03", &rules("mile-2020.toml"), "h.xls", &[]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("HTML"), "{}", stderr(&o));

    let o = ws.run_on("2020-03", &rules("mile-2020.toml"), "nope.xlsx", &[]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("nope.xlsx") && stderr(&o).contains("不存在"));

    // A system export named .xls that is really tab-separated text is read.
    ws.write(
        "t.xls",
        "户编号\t户主姓名\t户类型\t家庭人口\t工资性收入\t生产经营性收入\t财产性收入\t转移性收入\t生产经营性支出\nT1\t某\t脱贫户\t2\t1000\t0\t0\t0\t0\n",
    );
    let o = ws.run_on(
        "2020-03",
        &rules("mile-2020.toml"),
        "t.xls",
        &["--out", "o"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        summary(&ws.path("o/2020-03"))["counts"]["risk_households"],
        1
    );
}

#[test]
fn no_income_anywhere_is_an_error_not_an_empty_ledger() {
    let ws = Ws::new();
    ws.xlsx(
        "h.xlsx",
        "农户",
        &[
            vec![s("户编号"), s("户主姓名"), s("户类型"), s("家庭人口")],
            vec![s("X1"), s("某"), s("脱贫户"), n(2.0)],
        ],
        &[],
    );
    let o = ws.run_on("2020-03", &rules("mile-2020.toml"), "h.xlsx", &[]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("--income"), "{}", stderr(&o));
}

#[test]
fn rules_test_passes_for_all_rule_files_and_fails_on_a_wrong_expectation() {
    let ws = Ws::new();
    let o = ws.run(&["rules", "test", &repo().join("rules").display().to_string()]);
    assert!(o.status.success(), "{}", stdout(&o));
    let out = stdout(&o);
    for f in [
        "mile-2020",
        "menghai-2020",
        "bayannur-2020",
        "panzhihua-2020",
    ] {
        assert!(out.contains(f), "{out}");
    }
    assert!(out.contains(" 0 failed"), "{out}");

    std::fs::copy(repo().join("rules/mile-2020.toml"), ws.path("m.toml")).unwrap();
    let cases = std::fs::read_to_string(repo().join("rules/mile-2020.cases.toml"))
        .unwrap()
        .replacen(
            "expect_status = \"脱贫监测户\"",
            "expect_status = \"边缘户\"",
            1,
        );
    ws.write("m.cases.toml", &cases);
    let o = ws.run(&["rules", "test", "m.toml"]);
    assert_eq!(o.status.code(), Some(10));
    assert!(stdout(&o).contains("失败"), "{}", stdout(&o));
}

#[test]
fn bundled_example_runs_and_its_outputs_agree_with_each_other() {
    let ws = Ws::new();
    let cfg = repo().join("examples/monitor.toml");
    let o = ws.run(&[
        "run",
        "--month",
        "2020-03",
        "--config",
        &cfg.display().to_string(),
        "--out",
        "out",
        "--store",
        "h.sqlite",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = ws.path("out/2020-03");
    let js = summary(&out);
    let (rows, ledger) = ledger_rows(&out.join("风险户台账.xlsx"));
    assert!(js["counts"]["households_read"].as_u64().unwrap() >= 250);
    // The ledger lists every household under monitoring and every warning
    // waiting for review; those that triggered a rule this month are the
    // risk households.
    let c = &js["counts"];
    assert_eq!(
        (c["monitored"].as_u64().unwrap() + c["warned"].as_u64().unwrap()) as usize,
        ledger.len()
    );
    let triggered = js["households"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| !h["triggers"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(
        js["counts"]["risk_households"].as_u64().unwrap() as usize,
        triggered
    );
    let c_pc = col(&rows, 1, "人均纯收入(元)");
    for h in js["households"].as_array().unwrap() {
        let id = h["household_id"].as_str().unwrap();
        if let Some(v) = h["per_capita_net_income"].as_str() {
            assert_eq!(num(&ledger[id][c_pc]), v.parse::<f64>().unwrap(), "{id}");
        }
    }
    // Members come from the legacy .xls: every survey page lists them.
    let survey = out.join("附件3-1 返贫致贫风险户调查表.xlsx");
    let rels: usize = sheet_names(&survey)
        .iter()
        .map(|n| {
            sheet(&survey, n)
                .iter()
                .flatten()
                .filter(|c| text(c) == "配偶")
                .count()
        })
        .sum();
    assert!(rels > 0, "spouses from 家庭成员.xls appear on 附件3-1");
    // The planted problems are all reported.
    let issues = sheet(&out.join("风险户台账.xlsx"), "数据问题");
    let all: String = issues.iter().flatten().map(text).collect();
    for needle in [
        "户编号重复",
        "约三千",
        "五保户",
        "15位有效数字",
        "找不到该证件号码",
    ] {
        assert!(all.contains(needle), "{needle}");
    }
}

#[test]
fn check_lists_data_problems_and_writes_nothing() {
    let ws = Ws::new();
    let cfg = repo().join("examples/monitor.toml");
    // The example workspace's own store and outputs (if a developer ran the
    // README command) must not be touched.
    let stamp = |p: std::path::PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let store = repo().join("examples/monitor-history.sqlite");
    let before = (stamp(store.clone()), stamp(repo().join("examples/out")));
    let o = ws.run(&[
        "check",
        "--month",
        "2020-03",
        "--config",
        cfg.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(11), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("第10行 A列") && out.contains("户编号重复"),
        "{out}"
    );
    assert!(out.contains("约三千"), "{out}");
    assert_eq!((stamp(store), stamp(repo().join("examples/out"))), before);

    // A rule that no household can be assessed on is one problem, not one per household.
    roster(&ws, true);
    let check = |ws: &Ws| {
        ws.run(&[
            "check",
            "--month",
            "2020-03",
            "--rules",
            &rules("mile-2020.toml"),
            "--households",
            "h.xlsx",
        ])
    };
    let o = check(&ws);
    assert_eq!(o.status.code(), Some(11), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("数据问题 1 条") && stdout(&o).contains("全部 2 户都未能测算"),
        "{}",
        stdout(&o)
    );

    ws.xlsx(
        "h.xlsx",
        "农户",
        &[
            vec![
                s("户编号"),
                s("户主姓名"),
                s("户类型"),
                s("家庭人口"),
                s("工资性收入"),
                s("上年家庭纯收入"),
                s("生产经营性收入"),
                s("财产性收入"),
                s("转移性收入"),
                s("生产经营性支出"),
            ],
            vec![
                s("X1"),
                s("某"),
                s("脱贫户"),
                n(2.0),
                n(30000.0),
                n(29000.0),
                n(0.0),
                n(0.0),
                n(0.0),
                n(0.0),
            ],
        ],
        &[],
    );
    let o = check(&ws);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("未发现数据问题"));
    assert!(!ws.path("out").exists() && !ws.path("monitor-history.sqlite").exists());
}

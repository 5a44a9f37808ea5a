//! Hostile and broken input (issue: "Hostile input never crashes, hangs or
//! silently changes the lists"): every case ends in a Chinese message or a
//! 数据问题 row with a documented exit code, never a panic, an abort or a
//! hang, and never a list changed without saying so.

mod common;
use common::*;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const HEADER: [&str; 11] = [
    "户编号",
    "户主姓名",
    "户类型",
    "家庭人口",
    "劳动力人数",
    "乡镇",
    "工资性收入",
    "生产经营性收入",
    "财产性收入",
    "转移性收入",
    "生产经营性支出",
];

/// A roster row: id, name, type, size, labour, town, then the five amounts.
fn row(id: &str, town: &str, size: V, amounts: [V; 5]) -> Vec<V> {
    let mut r = vec![s(id), s("某某"), s("一般农户"), size, n(2.0), s(town)];
    r.extend(amounts);
    r
}

fn plain(id: &str, wage: f64) -> Vec<V> {
    row(
        id,
        "东乡",
        n(2.0),
        [n(wage), n(0.0), n(0.0), n(0.0), n(0.0)],
    )
}

fn header() -> Vec<V> {
    HEADER.iter().map(|h| s(h)).collect()
}

fn roster(ws: &Ws, rows: Vec<Vec<V>>) {
    let mut all = vec![header()];
    all.extend(rows);
    ws.xlsx("h.xlsx", "农户", &all, &[]);
}

/// `check --month 2020-03` on the 弥勒 rules with `households`, then `extra`.
fn check_args(households: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["check", "--month", "2020-03", "--rules"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(rules("mile-2020.toml"));
    args.extend(
        ["--households", households, "-q"]
            .iter()
            .map(|s| s.to_string()),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn check(ws: &Ws, extra: &[&str]) -> Output {
    let args = check_args("h.xlsx", extra);
    ws.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn run(ws: &Ws, extra: &[&str]) -> Output {
    let mut args = vec!["--out", "out"];
    args.extend_from_slice(extra);
    ws.run_on("2020-03", &rules("mile-2020.toml"), "h.xlsx", &args)
}

/// Exit codes the README documents.
const DOCUMENTED: [i32; 12] = [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

fn documented(o: &Output) {
    let code = o.status.code();
    assert!(
        code.is_some_and(|c| DOCUMENTED.contains(&c) && c != 12),
        "exit {code:?}: {}",
        stderr(o)
    );
    assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
}

#[test]
fn amounts_beyond_any_household_figure_are_data_problems() {
    let ws = Ws::new();
    let max = "79228162514264337593543950335";
    roster(
        &ws,
        vec![
            row(
                "H1",
                "东乡",
                n(2.0),
                [s(max), n(0.0), n(0.0), n(0.0), n(0.0)],
            ),
            row(
                "H2",
                "东乡",
                n(2.0),
                [n(1.0), n(0.0), n(0.0), n(0.0), s(&format!("-{max}"))],
            ),
            plain("H3", 50000.0),
        ],
    );
    ws.csv(
        "e.csv",
        &format!("户编号,支出类型,自付金额,发生日期\nH3,因病,{max},2020-03-01\nH3,因病,{max},2020-03-02\nH3,因学,1e28,2020-03-03\n"),
        false,
    );
    let o = check(&ws, &["--expenses", "e.csv"]);
    documented(&o);
    assert_eq!(o.status.code(), Some(11), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.matches("超出合理范围").count() >= 4, "{out}");
    let o = run(&ws, &["--expenses", "e.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_truncated_legacy_xls_is_reported_as_damaged() {
    let ws = Ws::new();
    roster(&ws, vec![plain("H1", 50000.0)]);
    let xls = std::fs::read(repo().join("examples/data/2020-03/家庭成员.xls")).unwrap();
    for cut in [525, 1024, 4096, xls.len() / 2] {
        std::fs::write(ws.path("m.xls"), &xls[..cut]).unwrap();
        let o = check(&ws, &["--members", "m.xls"]);
        documented(&o);
        assert_eq!(o.status.code(), Some(4), "cut {cut}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("m.xls") && err.contains("损坏"), "{err}");
    }
}

/// Run with the address space capped: a reader that sizes its grid by the
/// farthest cell instead of the cells present dies here.
fn run_capped(ws: &Ws, args: &[String], kib: u64) -> Output {
    let script = format!("ulimit -v {kib}; exec \"$0\" \"$@\"");
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_monitor"))
        .args(args)
        .current_dir(ws.dir.path())
        .env_remove("MONITOR_FAULT")
        .output()
        .unwrap()
}

#[test]
fn a_stray_cell_far_away_costs_one_cell() {
    let ws = Ws::new();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sh = wb.add_worksheet();
    sh.set_name("农户").unwrap();
    for (c, h) in HEADER.iter().enumerate() {
        sh.write_string(0, c as u16, *h).unwrap();
    }
    for (c, v) in ["H1", "某某", "一般农户"].iter().enumerate() {
        sh.write_string(1, c as u16, *v).unwrap();
    }
    for (c, v) in [2.0, 2.0].iter().enumerate() {
        sh.write_number(1, 3 + c as u16, *v).unwrap();
    }
    sh.write_string(1, 5, "东乡").unwrap();
    for c in 6..11 {
        sh.write_number(1, c, 1000.0).unwrap();
    }
    sh.write_string(1_048_575, 16_383, "x").unwrap(); // XFD1048576
    sh.write_string(499_999, 702, "y").unwrap(); // AAA500000
    wb.save(ws.path("h.xlsx")).unwrap();
    let args = check_args("h.xlsx", &[]);
    let o = run_capped(&ws, &args, 1_500_000);
    documented(&o);
    assert_eq!(o.status.code(), Some(11), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("第1048576行 XFD列"), "{out}");
    assert!(out.contains("第500000行 AAA列"), "{out}");
    assert!(out.contains("农户 1 户"), "{out}");
}

#[test]
fn a_legacy_xls_with_cells_far_apart_is_refused_before_it_is_read() {
    // Found by `cargo fuzz run read_tables`: 109 KB that made the xls
    // reader take 3.9 GB.
    let ws = Ws::new();
    roster(&ws, vec![plain("H1", 50000.0)]);
    let far = repo().join("tests/fixtures/far-cells.xls");
    let args = check_args("h.xlsx", &["--members", far.to_str().unwrap()]);
    let o = run_capped(&ws, &args, 1_500_000);
    documented(&o);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("远离表格数据"), "{}", stderr(&o));
}

#[test]
fn an_ods_with_a_cell_far_away_is_refused_before_it_is_read() {
    // 10 KB written by LibreOffice, one cell at AO1000003: the ODS reader
    // would build a grid of 41 million cells (2.6 GB).
    let ws = Ws::new();
    let far = repo().join("tests/fixtures/far-cells.ods");
    let args = check_args(far.to_str().unwrap(), &[]);
    let o = run_capped(&ws, &args, 1_500_000);
    documented(&o);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("远离表格数据") && stderr(&o).contains("AO列"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_fifo_is_refused_not_waited_on() {
    let ws = Ws::new();
    roster(&ws, vec![plain("H1", 50000.0)]);
    let st = Command::new("mkfifo")
        .arg(ws.path("pipe.csv"))
        .status()
        .unwrap();
    assert!(st.success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_monitor"))
        .args(["check", "--month", "2020-03", "--rules"])
        .arg(rules("mile-2020.toml"))
        .args(["--households", "h.xlsx", "--expenses", "pipe.csv", "-q"])
        .current_dir(ws.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("monitor waited on a FIFO");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(4));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        err.contains("pipe.csv") && err.contains("不是普通文件"),
        "{err}"
    );
}

#[test]
fn a_lost_income_sub_header_stops_the_run() {
    let ws = Ws::new();
    // A two-row merged header whose 工资性收入 sub-header was blanked.
    let mut top: Vec<V> = HEADER[..6].iter().map(|h| s(h)).collect();
    top.extend([s("收入情况"), V::E, V::E, V::E, V::E]);
    let mut sub: Vec<V> = vec![V::E; 6];
    sub.extend([
        V::E,
        s("生产经营性收入"),
        s("财产性收入"),
        s("转移性收入"),
        s("生产经营性支出"),
    ]);
    let mut merges: Vec<(u32, u16, u32, u16)> = (0..6).map(|c| (0, c, 1, c)).collect();
    merges.push((0, 6, 0, 10));
    ws.xlsx(
        "h.xlsx",
        "农户",
        &[top, sub, plain("H1", 50000.0), plain("H2", 6000.0)],
        &merges,
    );
    let o = run(&ws, &[]);
    documented(&o);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("h.xlsx") && err.contains("工作表“农户”") && err.contains("工资性收入"),
        "{err}"
    );
    assert!(
        err.contains("生产经营性收入"),
        "names the columns found: {err}"
    );
    assert!(!ws.path("out/2020-03").exists());
}

#[test]
fn a_jump_in_the_share_warned_is_pointed_out() {
    let ws = Ws::new();
    ws.history_workspace(6);
    let ok = |id: &'static str| hh(id, "一般农户", 2, 2, 30000.0);
    let all: Vec<Hh> = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]
        .into_iter()
        .map(ok)
        .collect();
    ws.roster("2020-03", &all);
    let js = ws.month("2020-03");
    assert_eq!(js["warnings"].as_array().unwrap().len(), 0);
    // April: the wage column read in 万元 — every household looks poor.
    let poor: Vec<Hh> = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]
        .into_iter()
        .map(|id| hh(id, "一般农户", 2, 2, 3.0))
        .collect();
    ws.roster("2020-04", &poor);
    let o = ws.run(&["run", "--month", "2020-04", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("比例突然大幅升高"), "{}", stderr(&o));
    let js = summary(&ws.path("out/2020-04"));
    assert!(js["warnings"][0].as_str().unwrap().contains("2020-03"));
    let issues = sheet(&ws.path("out/2020-04/风险户台账.xlsx"), "数据问题");
    let flat: Vec<String> = issues.iter().flatten().map(text).collect();
    assert!(flat.iter().any(|t| t.contains("比例突然大幅升高")));
}

#[test]
fn blank_income_is_not_zero() {
    let ws = Ws::new();
    roster(
        &ws,
        vec![
            row("BLANK", "东乡", n(2.0), [V::E, V::E, V::E, V::E, V::E]),
            row(
                "ZERO",
                "东乡",
                n(2.0),
                [n(0.0), n(0.0), n(0.0), n(0.0), n(0.0)],
            ),
            plain("OK", 50000.0),
        ],
    );
    let o = check(&ws, &[]);
    assert!(stdout(&o).contains("收入未填报"), "{}", stdout(&o));
    let o = run(&ws, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let js = summary(&ws.path("out/2020-03"));
    let ids: Vec<&str> = js["households"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["household_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ZERO"], "an explicit 0 is 0; a blank is not");
}

/// Remove the cached values of formula cells, as files saved by tools that
/// do not calculate (openpyxl, scripts) have them.
fn strip_cached_values(path: &std::path::Path) {
    let src = std::fs::read(path).unwrap();
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(src)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut data).unwrap();
        if name.starts_with("xl/worksheets/") {
            let xml = String::from_utf8(data).unwrap();
            data = xml.replace("</f><v>0</v>", "</f>").into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut out, &data).unwrap();
    }
    std::fs::write(path, out.finish().unwrap().into_inner()).unwrap();
}

#[test]
fn values_that_would_silently_change_the_lists_are_reported() {
    let ws = Ws::new();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sh = wb.add_worksheet();
    sh.set_name("农户").unwrap();
    for (c, h) in HEADER.iter().enumerate() {
        sh.write_string(0, c as u16, *h).unwrap();
    }
    let rows: [(&str, &str, &str); 4] = [
        ("F1", "2", "2"),           // wage is a formula without a result
        ("BIG", "4294967297", "2"), // 家庭人口 that wraps to 1 in 32 bits
        ("NEG", "2", "-1"),         // 劳动力人数 negative
        ("TXT", "2", "很多"),       // 劳动力人数 unreadable
    ];
    for (r, (id, size, labour)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sh.write_string(r, 0, *id).unwrap();
        sh.write_string(r, 1, "某某").unwrap();
        sh.write_string(r, 2, "一般农户").unwrap();
        sh.write_string(r, 3, *size).unwrap();
        sh.write_string(r, 4, *labour).unwrap();
        sh.write_string(r, 5, "东乡").unwrap();
        if *id == "F1" {
            sh.write_formula(r, 6, "=SUM(L2:M2)").unwrap();
        } else {
            sh.write_number(r, 6, 50000.0).unwrap();
        }
        for c in 7..11 {
            sh.write_number(r, c, 0.0).unwrap();
        }
    }
    wb.save(ws.path("h.xlsx")).unwrap();
    strip_cached_values(&ws.path("h.xlsx"));
    let o = check(&ws, &[]);
    documented(&o);
    let out = stdout(&o);
    assert!(
        out.contains("没有计算结果") && out.contains("SUM(L2:M2)"),
        "{out}{}",
        stderr(&o)
    );
    assert!(out.contains("家庭人口 4294967297 不合理"), "{out}");
    assert_eq!(out.matches("不会当作整户无劳动力").count(), 2, "{out}");
    assert!(out.contains("农户 3 户"), "BIG is skipped: {out}");
    assert!(
        out.contains("将有 0 户触发预警"),
        "F1 is not read as 0: {out}"
    );
}

#[test]
fn repeated_expenses_count_once() {
    let ws = Ws::new();
    let mut h = header();
    h.push(s("上年家庭纯收入"));
    let mut r = plain("H1", 50000.0);
    r.push(n(10000.0));
    ws.xlsx("h.xlsx", "农户", &[h, r], &[]);
    let rec = "H1,张三,因病,6000,2019-10-05,县医保局\n";
    ws.csv(
        "e.csv",
        &format!("户编号,姓名,支出类型,自付金额,发生日期,来源单位\n{rec}{rec}"),
        false,
    );
    // The same file configured twice is refused…
    let o = check(&ws, &["--expenses", "e.csv", "--expenses", "./e.csv"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("两次"), "{}", stderr(&o));
    // …and the same record twice in a file counts once: 6000 ≤ 10000.
    let o = check(&ws, &["--expenses", "e.csv"]);
    assert!(stdout(&o).contains("只计一次"), "{}", stdout(&o));
    assert!(stdout(&o).contains("支出记录 1 条"), "{}", stdout(&o));
    assert!(stdout(&o).contains("将有 0 户触发预警"), "{}", stdout(&o));
}

#[test]
fn impossible_rule_values_are_refused() {
    let ws = Ws::new();
    roster(&ws, vec![plain("H1", 50000.0)]);
    for bad in ["line = -4428", "line = 0"] {
        let text = std::fs::read_to_string(repo().join("rules/mile-2020.toml"))
            .unwrap()
            .replace("line = 4428", bad);
        ws.write("bad.toml", &text);
        let o = ws.run_on("2020-03", "bad.toml", "h.xlsx", &["--out", "out"]);
        assert_eq!(o.status.code(), Some(5), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("不合理"), "{}", stderr(&o));
    }
}

#[test]
fn a_roster_with_no_usable_row_keeps_the_month() {
    let ws = Ws::new();
    roster(&ws, vec![plain("H1", 6000.0)]);
    let o = run(&ws, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = snapshot(&ws.path("out/2020-03"));
    roster(
        &ws,
        vec![row(
            "",
            "东乡",
            n(2.0),
            [n(1.0), n(0.0), n(0.0), n(0.0), n(0.0)],
        )],
    );
    let o = run(&ws, &[]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("没有可用的农户行"), "{}", stderr(&o));
    assert_eq!(snapshot(&ws.path("out/2020-03")), before);
}

#[test]
fn text_that_no_sheet_can_hold_is_one_data_problem() {
    let ws = Ws::new();
    // Longer than an xlsx cell can hold (32,767): only a CSV can carry it.
    let long = "长".repeat(40_000);
    let rest = "2,2,6000,0,0,0,0";
    ws.csv(
        "h.csv",
        &format!(
            "{}\nL1,{long},一般农户,{rest}\nL2,某,一般农户,{rest}\nL3,某,一般农户,{rest}\n",
            "户编号,户主姓名,户类型,家庭人口,劳动力人数,工资性收入,生产经营性收入,财产性收入,转移性收入,生产经营性支出,乡镇"
        )
        .replace("0,0,0,0\nL2", "0,0,0,0,'东乡'\nL2")
        .replace("0,0,0,0\nL3", "0,0,0,0,Ä镇\nL3")
        .replace("0,0,0,0\n", "0,0,0,0,ä镇\n"),
        false,
    );
    let o = ws.run_on(
        "2020-03",
        &rules("mile-2020.toml"),
        "h.csv",
        &["--out", "out"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir = ws.path("out/2020-03");
    let issues = sheet(&dir.join("风险户台账.xlsx"), "数据问题");
    let flat: Vec<String> = issues.iter().flatten().map(text).collect();
    assert!(flat.iter().any(|t| t.contains("内容过长")), "{flat:?}");
    assert!(
        flat.iter().all(|t| t.chars().count() < 200),
        "values shortened"
    );
    let names = sheet_names(&dir.join("附件3-1 返贫致贫风险户调查表.xlsx"));
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn a_month_is_exactly_yyyy_mm() {
    let ws = Ws::new();
    roster(&ws, vec![plain("H1", 6000.0)]);
    ws.write(
        "monitor.toml",
        &format!(
            "[run]\nrules = '{}'\nout = 'results/{{month}}'\n[inputs]\nhouseholds = 'h.xlsx'\n[history]\nstore = 'h.sqlite'\n",
            rules("mile-2020.toml")
        ),
    );
    for bad in [
        "2020-03/../../x",
        "2020-3",
        "２０２０-０３",
        "2020-03;rm -rf /",
        "2020-13",
    ] {
        let o = ws.run(&["run", "--month", bad, "-q"]);
        assert_eq!(o.status.code(), Some(3), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("2020-03"), "{}", stderr(&o));
    }
    let o = ws.run(&["run", "--month", "-2020-03", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("不认识的参数"), "{}", stderr(&o));
    let written: Vec<String> = std::fs::read_dir(ws.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !written.iter().any(|n| n == "x" || n == "results"),
        "{written:?}"
    );
    let o = ws.run(&["run", "--month", "2020-03", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(ws.path("results/2020-03/2020-03/summary.json").exists());
}

#[test]
fn library_errors_come_with_a_chinese_explanation() {
    let ws = Ws::new();
    ws.write("monitor.toml", "[run]\nrules = 'r.toml'\nout = \n");
    let o = ws.run(&["run", "--month", "2020-03", "-q"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("第3行"), "{}", stderr(&o));
    std::fs::remove_file(ws.path("monitor.toml")).unwrap();
    ws.write("h.xlsx", "PK\u{3}\u{4} not really a zip");
    let o = check(&ws, &[]);
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(
        err.starts_with("错误：") && err.contains("h.xlsx") && err.contains("损坏"),
        "{err}"
    );
}

/// A CSV roster long enough to be read past its first rows and past the
/// 64 KB its encoding is judged from.
fn long_csv_roster(n: usize) -> String {
    let mut text = String::from(
        "某某县农户信息\n户编号,户主姓名,户类型,家庭人口,劳动力人数,工资性收入,生产经营性收入,财产性收入,转移性收入,生产经营性支出,乡镇\n",
    );
    for i in 0..n {
        text.push_str(&format!("L{i:05},某某某,一般农户,3,2,30000,0,0,0,0,东乡\n"));
        if i == n / 2 {
            text.push_str(",,,,,,,,,,\n");
        }
    }
    text
}

#[test]
fn a_long_csv_is_read_row_by_row_with_every_check() {
    let ws = Ws::new();
    let n = 3000;
    let mut csv = long_csv_roster(n);
    // A repeated household far below the header, then a total row.
    csv.push_str("L00007,重复,一般农户,3,2,1,0,0,0,0,东乡\n");
    csv.push_str("合计,,,9000,6000,90000000,0,0,0,0,\n");
    assert!(csv.len() > 64 * 1024);
    ws.csv("h.csv", &csv, true);
    let o = ws.run_on(
        "2020-03",
        &rules("mile-2020.toml"),
        "h.csv",
        &["--out", "out"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let js = summary(&ws.path("out/2020-03"));
    assert_eq!(js["counts"]["households_read"], n, "{}", js["counts"]);
    // Title row 1, header row 2, n rows with a blank one after the middle:
    // the repeat sits on row n + 4 and names the first on row 10.
    let issues = sheet(&ws.path("out/2020-03/风险户台账.xlsx"), "数据问题");
    let flat: Vec<String> = issues.iter().flatten().map(text).collect();
    let repeat = flat
        .iter()
        .find(|t| t.contains("户编号重复"))
        .unwrap_or_else(|| panic!("{flat:?}"));
    assert!(repeat.contains("第10行"), "{repeat}");
    let at = issues
        .iter()
        .find(|r| r.iter().any(|c| text(c).contains("户编号重复")))
        .map(|r| r.iter().map(text).collect::<Vec<_>>())
        .unwrap_or_default();
    assert!(at.contains(&(n + 4).to_string()), "{at:?}");
}

#[test]
fn a_byte_outside_the_encoding_after_the_first_64_kb_stops_the_run() {
    let ws = Ws::new();
    let mut bytes = encoding_rs::GBK
        .encode(&long_csv_roster(3000))
        .0
        .into_owned();
    assert!(bytes.len() > 80 * 1024);
    // 0xFF starts no GBK/GB18030 character.
    bytes.extend_from_slice(b"L99999,\xFF\xFF,\xd2\xbb\xb0\xe3\xc5\xa9\xbb\xa7,3,2,1,0,0,0,0,x\n");
    std::fs::write(ws.path("h.csv"), bytes).unwrap();
    let o = ws.run_on(
        "2020-03",
        &rules("mile-2020.toml"),
        "h.csv",
        &["--out", "out"],
    );
    documented(&o);
    assert_ne!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(
        err.contains("文件编码无法识别") && err.contains("h.csv"),
        "{err}"
    );
    assert!(!ws.path("out/2020-03").exists(), "nothing written");
}

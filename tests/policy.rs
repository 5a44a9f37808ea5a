//! The rules as the documents word them, through the binary: 勐海's
//! department warnings count in one month only, 未脱贫户 are listed apart,
//! 自然增减 has one 转户 line and totals, households that leave the roster
//! stay in the ledger, and the 汇总 counts one primary cause per household.

mod common;
use common::*;

/// A workspace on a bundled rule file whose roster has 工资性收入 only.
fn workspace(ws: &Ws, rules_file: &str, expenses: bool) {
    let r = rules_without(
        ws,
        rules_file,
        &[
            "生产经营性收入",
            "财产性收入",
            "转移性收入",
            "生产经营性支出",
        ],
    );
    ws.write(
        "monitor.toml",
        &format!(
            "[run]\nrules = '{r}'\nout = 'out'\n[inputs]\nhouseholds = 'data/{{month}}/h.xlsx'\nmembers = 'data/{{month}}/m.xlsx'\n{}[history]\nstore = 'history.sqlite'\n",
            if expenses { "expenses = 'data/{month}/e.csv'\n" } else { "" }
        ),
    );
}

fn flat(path: &std::path::Path, sheet_name: &str) -> Vec<String> {
    sheet(path, sheet_name).iter().flatten().map(text).collect()
}

fn ids(js: &serde_json::Value, key: &str) -> Vec<String> {
    js[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["household_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn menghai_counts_a_department_warning_in_one_month_only() {
    let ws = Ws::new();
    workspace(&ws, "menghai-2020.toml", true);
    let both = [
        hh("A", "一般农户", 4, 2, 40000.0),
        hh("B", "一般农户", 4, 2, 40000.0),
    ];
    let march =
        "户编号,支出类型,自付金额,发生日期\nA,因学,6514,2020-03-12\nB,因学,6514,2020-03-12\n";
    ws.roster("2020-03", &both);
    ws.csv("data/2020-03/e.csv", march, false);
    let js = ws.month("2020-03");
    assert_eq!(ids(&js, "households"), ["A", "B"]);
    // April: the department sends everything “since last month” again; B
    // also has a new record of its own.
    ws.roster("2020-04", &both);
    ws.csv(
        "data/2020-04/e.csv",
        &format!("{march}B,因病,5001,2020-04-02\n"),
        false,
    );
    let js = ws.month("2020-04");
    let warned: Vec<&str> = js["households"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| !h["triggers"].as_array().unwrap().is_empty())
        .map(|h| h["household_id"].as_str().unwrap())
        .collect();
    assert_eq!(warned, ["B"], "A's March record is not counted again");
    let b = &js["households"][1];
    assert_eq!(
        b["triggers"][0]["measured"], "5001.00",
        "only the new record"
    );
    let budget = ws.path("out/2020-04/附件3-2 致贫返贫风险户收支测算表.xlsx");
    let cells: Vec<String> = sheet_names(&budget)
        .iter()
        .flat_map(|n| flat(&budget, n))
        .collect();
    assert!(
        cells.iter().any(|c| c.contains("已于 2020-03 计入预警")),
        "the earlier record stays visible as already counted"
    );
    // Re-running April gives the same result.
    let again = ws.month("2020-04");
    assert_eq!(again["households"], js["households"]);
}

#[test]
fn households_not_yet_out_of_poverty_are_listed_apart() {
    let ws = Ws::new();
    workspace(&ws, "mile-2020.toml", false);
    ws.roster(
        "2020-03",
        &[
            hh("P", "贫困户", 2, 2, 4000.0),
            hh("T", "脱贫户", 2, 2, 4000.0),
            hh("G", "一般农户", 2, 2, 40000.0),
        ],
    );
    let js = ws.month("2020-03");
    assert_eq!(ids(&js, "households"), ["T"]);
    assert_eq!(ids(&js, "poor_households"), ["P"]);
    assert_eq!(js["counts"]["poor_warned"], 1);
    assert_eq!(js["households"][0]["status"], "脱贫监测户");
    assert!(js["counts"]["by_status"].get("未脱贫户").is_none());
    let out = ws.path("out/2020-03");
    let poor = flat(&out.join("风险户台账.xlsx"), "未脱贫户预警");
    assert!(poor.contains(&"P".to_string()), "{poor:?}");
    let letters = out.join("附件1 脱贫监测户申请书.xlsx");
    let all: Vec<String> = sheet_names(&letters)
        .iter()
        .flat_map(|n| flat(&letters, n))
        .collect();
    let letters_written = all.iter().filter(|c| c.ends_with("申请书")).count();
    assert_eq!(
        letters_written, 1,
        "one 申请书, for T and not for P: {all:?}"
    );
}

#[test]
fn transfers_totals_and_households_that_leave_the_roster() {
    let ws = Ws::new();
    ws.history_workspace(6);
    ws.roster(
        "2020-03",
        &[
            hh("A", "脱贫户", 2, 2, 6000.0), // warned → monitored
            hh("B", "一般农户", 2, 2, 30000.0),
            hh("C", "一般农户", 1, 1, 30000.0),
        ],
    );
    ws.month("2020-03");
    // April: A has gone; B's second member moved to C.
    let head = vec![
        s("户编号"),
        s("户主姓名"),
        s("户类型"),
        s("家庭人口"),
        s("劳动力人数"),
        s("乡镇"),
        s("村"),
        s("工资性收入"),
    ];
    let row = |id: &str, size: f64| {
        vec![
            s(id),
            s(id),
            s("一般农户"),
            n(size),
            n(1.0),
            s("东乡"),
            s("甲村"),
            n(30000.0),
        ]
    };
    ws.xlsx(
        "data/2020-04/h.xlsx",
        "农户",
        &[head, row("B", 1.0), row("C", 2.0)],
        &[],
    );
    let m = |hh: &str, name: &str, id: &str, rel: &str| vec![s(hh), s(name), s(id), s(rel)];
    ws.xlsx(
        "data/2020-04/m.xlsx",
        "成员",
        &[
            vec![s("户编号"), s("姓名"), s("证件号码"), s("与户主关系")],
            m("B", "B-0", "P-B-0", "户主"),
            m("C", "C-0", "P-C-0", "户主"),
            m("C", "B-1", "P-B-1", "配偶"),
        ],
        &[],
    );
    let js = ws.month("2020-04");
    let a = js["households"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["household_id"] == "A")
        .expect("A stays in the list");
    assert_eq!(a["on_roster"], false);
    assert_eq!(
        a["monitoring_status"], "预警待研判",
        "still waiting, as last month"
    );
    let ledger = ws.path("out/2020-04/风险户台账.xlsx");
    let rows = flat(&ledger, "风险户台账");
    assert!(rows.iter().any(|c| c.contains("户减少")), "{rows:?}");
    let changes = sheet(&ledger, "自然增减");
    let kinds: Vec<String> = changes.iter().skip(2).map(|r| text(&r[1])).collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "转户").count(),
        1,
        "one line for the move: {kinds:?}"
    );
    assert!(!kinds.contains(&"人增加".to_string()) && !kinds.contains(&"人减少".to_string()));
    let totals = sheet(&ledger, "自然增减汇总");
    let total = totals.iter().find(|r| text(&r[0]) == "合计").unwrap();
    let head: Vec<String> = totals[1].iter().map(text).collect();
    let at = |k: &str| num(&total[head.iter().position(|h| h == k).unwrap()]);
    assert_eq!((at("户减少"), at("转户"), at("人增加")), (1.0, 1.0, 0.0));
    // May: still absent, still listed.
    ws.xlsx(
        "data/2020-05/h.xlsx",
        "农户",
        &[
            vec![
                s("户编号"),
                s("户主姓名"),
                s("户类型"),
                s("家庭人口"),
                s("劳动力人数"),
                s("乡镇"),
                s("村"),
                s("工资性收入"),
            ],
            row("B", 1.0),
            row("C", 2.0),
        ],
        &[],
    );
    std::fs::copy(
        ws.path("data/2020-04/m.xlsx"),
        ws.path("data/2020-05/m.xlsx"),
    )
    .unwrap();
    let js = ws.month("2020-05");
    assert!(ids(&js, "households").contains(&"A".to_string()));
}

#[test]
fn the_summary_counts_one_primary_cause_per_household() {
    let ws = Ws::new();
    let r = rules_without(
        &ws,
        "menghai-2020.toml",
        &[
            "生产经营性收入",
            "财产性收入",
            "转移性收入",
            "生产经营性支出",
        ],
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
                s("主要致贫原因"),
                s("饮水安全"),
            ],
            vec![
                s("X"),
                s("甲"),
                s("脱贫户"),
                n(3.0),
                n(30000.0),
                s("缺劳动力"),
                s("否"),
            ],
            vec![
                s("Y"),
                s("乙"),
                s("一般农户"),
                n(2.0),
                n(30000.0),
                V::E,
                s("否"),
            ],
            vec![
                s("Z"),
                s("丙"),
                s("一般农户"),
                n(2.0),
                n(30000.0),
                V::E,
                s("是"),
            ],
        ],
        &[],
    );
    let o = ws.run_on("2020-03", &r, "h.xlsx", &["--out", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sum = sheet(&ws.path("out/2020-03/风险户台账.xlsx"), "汇总");
    let start = sum
        .iter()
        .position(|r| text(&r[0]).starts_with("主要风险类型统计"))
        .expect("the primary-cause table");
    let line = |name: &str| {
        sum[start..]
            .iter()
            .find(|r| text(&r[0]) == name)
            .map(|r| (num(&r[1]), num(&r[2]), num(&r[3])))
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(line("缺劳力"), (1.0, 3.0, 50.0));
    assert_eq!(line("饮水安全无保障"), (1.0, 2.0, 50.0));
    assert_eq!(
        line("缺技术"),
        (0.0, 0.0, 0.0),
        "the 2018 categories are always shown"
    );
    assert_eq!(line("合计"), (2.0, 5.0, 100.0));
    let year = sum
        .iter()
        .position(|r| text(&r[0]).starts_with("脱贫户按脱贫年度统计"))
        .expect("the 脱贫年度 table");
    assert!(text(&sum[year][0]).contains("10%"));
}

#[test]
fn the_review_form_cites_the_elimination_period_as_national_practice() {
    let ws = Ws::new();
    workspace(&ws, "mile-2020.toml", false);
    ws.roster("2020-03", &[hh("T", "脱贫户", 2, 2, 4000.0)]);
    ws.month("2020-03");
    let form = ws.path("out/2020-03/附件5 脱贫监测户动态监测分析研判表.xlsx");
    let name = sheet_names(&form)[0].clone();
    let cells = flat(&form, &name);
    let sub = cells
        .iter()
        .find(|c| c.contains("建议消除"))
        .expect("the subtitle");
    assert!(sub.contains("国家防止返贫监测帮扶做法"), "{sub}");
    assert!(sub.contains("三、风险消除"), "{sub}");
}

#[test]
fn an_application_names_the_applicant_and_says_yin_once() {
    let ws = Ws::new();
    workspace(&ws, "mile-2020.toml", false);
    ws.roster("2020-03", &[hh("T", "脱贫户", 2, 2, 4000.0)]);
    ws.month("2020-03");
    let letters = ws.path("out/2020-03/附件1 脱贫监测户申请书.xlsx");
    let body = sheet_names(&letters)
        .iter()
        .flat_map(|n| flat(&letters, n))
        .find(|c| c.contains("特申请纳入"))
        .expect("the letter");
    assert!(
        body.contains("本人T") && body.contains("户编号 T"),
        "{body}"
    );
    assert!(
        body.contains("因收入偏低") && !body.contains("因因"),
        "{body}"
    );
}

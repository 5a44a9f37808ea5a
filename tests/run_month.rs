//! End-to-end runs of the binary on small county files built here, one
//! per rule file, reading the xlsx outputs back with calamine.

mod common;
use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::str::FromStr;

/// Per-capita net income as the forms compute it (2 dp, half away from 0).
fn pc(net: Decimal, size: u32) -> f64 {
    let v = (net / Decimal::from(size))
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    f64::from_str(&v.to_string()).unwrap()
}

/// A messy 弥勒 roster: two title rows, a two-row header with merged group
/// titles, amounts typed as text in several styles, planted errors.
/// The income columns of a roster that has 工资性收入 only.
const OTHER_THAN_WAGE: [&str; 4] = [
    "生产经营性收入",
    "财产性收入",
    "转移性收入",
    "生产经营性支出",
];

fn mile_workspace() -> Ws {
    let ws = Ws::new();
    let e = V::E;
    let header_top = vec![
        s("户码"),
        s("户主"),
        s("身份证号"),
        s("乡镇"),
        s("村"),
        s("组"),
        s("户类型"),
        s("家庭人口数"),
        s("上年家庭纯收入（元）"),
        s("本年收入情况（元）"),
        e.clone(),
        e.clone(),
        e.clone(),
        e.clone(),
        s("农户申报"),
    ];
    let header_sub = vec![
        e.clone(),
        e.clone(),
        e.clone(),
        e.clone(),
        e.clone(),
        e.clone(),
        e.clone(),
        e.clone(),
        e.clone(),
        s("工资性收入"),
        s("生产经营性收入"),
        s("财产性收入"),
        s("转移性收入"),
        s("生产经营性支出"),
        e.clone(),
    ];
    let row = |id: &str,
               name: &str,
               idno: &str,
               town: &str,
               vil: &str,
               t: &str,
               size: V,
               ly: V,
               inc: [V; 5]| {
        let mut v = vec![
            s(id),
            s(name),
            s(idno),
            s(town),
            s(vil),
            s("1组"),
            s(t),
            size,
            ly,
        ];
        v.extend(inc);
        v.push(s("否"));
        v
    };
    let rows = vec![
        vec![s("测试县2020年3月农户信息表")],
        vec![s("填报单位：测试乡")],
        header_top,
        header_sub,
        // H001: net 12000+3000+0+2000−1500 = 15500, 4 people → 3875 < 4428
        row(
            "H001",
            "张一",
            "11010519491231002X",
            "东乡",
            "甲村",
            "脱贫户",
            n(4.0),
            n(16000.0),
            [
                s("12,000.00"),
                n(3000.0),
                s("—"),
                s("２０００"),
                s("1,500元"),
            ],
        ),
        // H002: 8856 / 2 = 4428, exactly the line: not below
        row(
            "H002",
            "李二",
            "110105194912310038",
            "东乡",
            "乙村",
            "一般农户",
            n(2.0),
            n(9000.0),
            [s("8856元"), e.clone(), e.clone(), e.clone(), s("-")],
        ),
        // H003: rigid spending 15000 + 6000 = 21000 > last year 20000
        row(
            "H003",
            "王三",
            "110105195001010012",
            "西乡",
            "丙村",
            "一般农户",
            n(3.0),
            n(20000.0),
            [n(30000.0), n(0.0), n(0.0), n(0.0), n(0.0)],
        ),
        // H004: 14000 against 20000 last year: −30%
        row(
            "H004",
            "赵四",
            "110105195101010015",
            "西乡",
            "丙村",
            "脱贫户",
            n(2.0),
            n(20000.0),
            [n(14000.0), n(0.0), n(0.0), n(0.0), n(0.0)],
        ),
        // duplicate of H001 (row 9)
        row(
            "H001",
            "张一重复",
            "",
            "东乡",
            "甲村",
            "脱贫户",
            n(4.0),
            n(1.0),
            [n(1.0), n(0.0), n(0.0), n(0.0), n(0.0)],
        ),
        // 家庭人口 0 and no members (row 10)
        row(
            "H006",
            "孙六",
            "",
            "东乡",
            "甲村",
            "一般农户",
            n(0.0),
            n(1.0),
            [n(1.0), n(0.0), n(0.0), n(0.0), n(0.0)],
        ),
        // unreadable wage (row 11, column J)
        row(
            "H007",
            "周七",
            "",
            "东乡",
            "甲村",
            "一般农户",
            n(3.0),
            n(30000.0),
            [s("约三千"), n(0.0), n(0.0), n(0.0), n(0.0)],
        ),
        vec![
            s("合计"),
            e.clone(),
            e.clone(),
            e.clone(),
            e.clone(),
            e.clone(),
            e.clone(),
            n(18.0),
        ],
    ];
    let mut merges = vec![(0u32, 0u16, 0u32, 14u16), (2, 9, 2, 13)];
    for c in (0..9).chain(std::iter::once(14)) {
        merges.push((2, c, 3, c));
    }
    ws.xlsx("data/农户.xlsx", "农户信息", &rows, &merges);
    ws.xlsx(
        "data/成员.xlsx",
        "Sheet1",
        &[
            vec![s("户编号"), s("姓名"), s("证件号码"), s("与户主关系")],
            vec![s("H003"), s("王三"), s("110105195001010012"), s("户主")],
            vec![s("H003"), s("王小三"), s("110105201001010017"), s("之子")],
        ],
        &[],
    );
    // GBK CSV from a department: one record keyed only by a member's ID.
    ws.csv(
        "data/支出.csv",
        "户编号,姓名,证件号码,支出类型,自付金额,发生日期,来源单位\n\
         ,王小三,110105201001010017,医疗,\"15,000.00\",2019/6/10,县医保局\n\
         H003,王三,,因病,6000元,2020年2月1日,县医保局\n\
         ,查无此人,110105199901010000,因病,100,2020-03-01,县医保局\n",
        true,
    );
    ws.write(
        "monitor.toml",
        &format!(
            "[run]\nrules = '{}'\nout = 'out'\n[inputs]\nhouseholds = 'data/农户.xlsx'\nexpenses = 'data/支出.csv'\nmembers = 'data/成员.xlsx'\n",
            rules("mile-2020.toml")
        ),
    );
    ws
}

#[test]
fn mile_messy_roster_gives_ledger_annexes_and_data_problems() {
    let ws = mile_workspace();
    let o = ws.run(&["run", "--month", "2020-03", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("Ignoring"),
        "every cell written in row order: {}",
        stderr(&o)
    );
    let out = ws.path("out/2020-03");

    let (rows, ledger) = ledger_rows(&out.join("风险户台账.xlsx"));
    assert_eq!(
        ledger.keys().cloned().collect::<Vec<_>>(),
        vec!["H001", "H003", "H004"]
    );
    let c_pc = col(&rows, 1, "人均纯收入(元)");
    let c_net = col(&rows, 1, "家庭纯收入(元)");
    let c_cause = col(&rows, 1, "风险类型");
    let c_class = col(&rows, 1, "监测类型");
    let c_basis = col(&rows, 1, "预警依据");
    let h1 = &ledger["H001"];
    let net1 = dec!(12000.00) + dec!(3000) + dec!(2000) - dec!(1500);
    assert_eq!(num(&h1[c_net]), f64::from_str(&net1.to_string()).unwrap());
    assert_eq!(num(&h1[c_pc]), pc(net1, 4));
    assert_eq!(text(&h1[c_cause]), "收入偏低");
    assert_eq!(text(&h1[c_class]), "脱贫监测户");
    assert!(
        text(&h1[c_basis]).contains("4,428.00"),
        "{}",
        text(&h1[c_basis])
    );
    assert!(text(&h1[c_basis]).contains("一、（二）监测范围"));
    let h3 = &ledger["H003"];
    assert_eq!(text(&h3[c_class]), "边缘户");
    assert_eq!(text(&h3[c_cause]), "因病");
    assert!(
        text(&h3[c_basis]).contains("21,000.00"),
        "{}",
        text(&h3[c_basis])
    );
    assert_eq!(text(&ledger["H004"][c_cause]), "收入骤减");
    // The ID stays text, check digit X included.
    assert_eq!(text(&h1[col(&rows, 1, "证件号码")]), "11010519491231002X");

    // 数据问题 names file, sheet, row and column.
    let issues = sheet(&out.join("风险户台账.xlsx"), "数据问题");
    let find = |needle: &str| {
        issues
            .iter()
            .find(|r| r.iter().any(|c| text(c).contains(needle)))
            .unwrap_or_else(|| panic!("no issue with {needle}: {issues:?}"))
            .clone()
    };
    let dup = find("户编号重复");
    assert!(text(&dup[1]).ends_with("农户.xlsx"));
    assert_eq!(text(&dup[2]), "农户信息");
    assert_eq!(num(&dup[3]), 9.0);
    assert_eq!(text(&dup[4]), "A");
    let bad = find("约三千");
    assert_eq!(num(&bad[3]), 11.0);
    assert_eq!(text(&bad[4]), "J");
    let size0 = find("没有家庭成员可数");
    assert_eq!((num(&size0[3]), text(&size0[4])), (10.0, "H".to_string()));
    let unknown = find("找不到该证件号码");
    assert!(text(&unknown[1]).ends_with("支出.csv"));
    assert_eq!(num(&unknown[3]), 4.0);

    // 汇总: totals agree with the ledger.
    let sum = sheet(&out.join("风险户台账.xlsx"), "汇总");
    let total = sum
        .iter()
        .find(|r| text(&r[0]) == "合计")
        .expect("合计 row");
    assert_eq!(num(&total[1]) as usize, ledger.len());
    assert_eq!(num(&total[2]), (4 + 3 + 2) as f64);

    // summary.json for scripts.
    let js = summary(&out);
    assert_eq!(js["month"], "2020-03");
    assert_eq!(js["ruleset"]["id"], "mile-2020");
    assert_eq!(js["counts"]["risk_households"], 3);
    // First month: warnings waiting for review, not yet 监测户.
    assert_eq!(js["counts"]["warned_by_class"]["脱贫监测户"], 2);
    assert_eq!(js["counts"]["warned_by_class"]["边缘户"], 1);
    assert_eq!(js["counts"]["monitored"], 0);
    let h1j = js["households"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["household_id"] == "H001")
        .unwrap();
    assert_eq!(h1j["per_capita_net_income"], "3875.00");
    assert_eq!(h1j["triggers"][0]["rule_id"], "mile.income_below_line");
    assert_eq!(h1j["triggers"][0]["threshold"], "4428.00");

    // 附件1 / 附件2: a pre-filled application letter for each new household.
    let app = out.join("附件1 脱贫监测户申请书.xlsx");
    let letter: String = sheet(&app, "东乡").iter().flatten().map(text).collect();
    assert!(
        letter.contains("甲村") && letter.contains("3,875.00") && letter.contains("收入偏低"),
        "{letter}"
    );
    let app2: String = sheet(&out.join("附件2 边缘户申请书.xlsx"), "西乡")
        .iter()
        .flatten()
        .map(text)
        .collect();
    assert!(
        app2.contains("非建档立卡户") && app2.contains("因病"),
        "{app2}"
    );

    // 附件3-1: one sheet per 乡镇, members from the member file.
    let survey = out.join("附件3-1 返贫致贫风险户调查表.xlsx");
    assert_eq!(sheet_names(&survey), vec!["东乡", "西乡"]);
    let west = sheet(&survey, "西乡");
    let flat: Vec<String> = west.iter().flatten().map(text).collect();
    assert!(flat.contains(&"王小三".to_string()));
    assert!(flat.iter().any(|t| t.contains("21,000.00")));
    // 附件3-2: K, S, T carry their computed values.
    let budget = sheet(&out.join("附件3-2 致贫返贫风险户收支测算表.xlsx"), "东乡");
    let code = |c: &str| {
        budget
            .iter()
            .find(|r| r.len() > 3 && text(&r[1]) == c)
            .map(|r| num(&r[3]))
            .unwrap()
    };
    assert_eq!(code("K"), 17000.0);
    assert_eq!(code("S"), 15500.0);
    assert_eq!(code("T"), pc(net1, 4));
    // 附件4: a measure suggestion citing its clause.
    let m = sheet(&out.join("附件4 致贫返贫风险户帮扶措施表.xlsx"), "东乡");
    assert!(m
        .iter()
        .flatten()
        .any(|c| text(c).contains("二、（一）产业帮扶")));
    // 附件5 / 附件6 split by class, with the 研判结论 column.
    // One sheet per 村, named 乡镇+村.
    let f5 = out.join("附件5 脱贫监测户动态监测分析研判表.xlsx");
    let first5 = sheet_names(&f5)[0].clone();
    assert!(first5.starts_with("东乡"), "{first5}");
    let r5 = sheet(&f5, &first5);
    assert_eq!(text(&r5[2][col(&r5, 2, "研判结论")]), "研判结论");
    let ids5: Vec<String> = r5
        .iter()
        .skip(3)
        .map(|r| text(&r[1]))
        .filter(|t| t.starts_with('H'))
        .collect();
    assert_eq!(ids5, vec!["H001"]);
    let f6 = out.join("附件6 边缘户动态监测分析研判表.xlsx");
    let r6: Vec<Vec<calamine::Data>> = sheet_names(&f6)
        .iter()
        .filter(|n| n.starts_with("西乡"))
        .flat_map(|n| sheet(&f6, n))
        .collect();
    assert!(r6.iter().any(|r| text(&r[1]) == "H003"));
}

#[test]
fn menghai_department_warnings_since_last_month() {
    let ws = Ws::new();
    // UTF-8 CSV with BOM, 上年人均纯收入 instead of the household figure.
    ws.csv(
        "h.csv",
        "\u{feff}户编号,户主姓名,户类型,家庭人口,乡镇,上年人均纯收入,工资性收入,饮水安全\n\
         A,甲,脱贫户,4,勐遮镇,9000,40000,是\n\
         B,乙,一般农户,4,勐遮镇,9000,40000,是\n\
         C,丙,一般农户,4,勐混镇,9000,40000,是\n\
         D,丁,脱贫户,3,勐混镇,9000,40000,否\n",
        false,
    );
    ws.xlsx(
        "e.xlsx",
        "预警",
        &[
            vec![s("县卫健局2020年3月预警信息")],
            vec![s("户编号"), s("预警类型"), s("个人自付金额"), s("就诊日期")],
            vec![s("A"), s("因病"), n(3000.0), s("2020-02-03")],
            vec![s("A"), s("住院"), s("2,200"), s("2020-03-20")],
            vec![s("B"), s("因学"), n(5000.0), s("2020-03-01")],
            vec![s("C"), s("因病"), n(9000.0), s("2020-01-31")],
        ],
        &[],
    );
    let o = ws.run_on(
        "2020-03",
        &rules_without(&ws, "menghai-2020.toml", &OTHER_THAN_WAGE),
        "h.csv",
        &["--expenses", "e.xlsx", "--out", "out"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = ws.path("out/2020-03");
    let (_, ledger) = ledger_rows(&out.join("风险户台账.xlsx"));
    assert_eq!(ledger.keys().cloned().collect::<Vec<_>>(), vec!["A", "D"]);
    let js = summary(&out);
    let a = js["households"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["household_id"] == "A")
        .unwrap()
        .clone();
    assert_eq!(a["triggers"][0]["measured"], "5200.00");
    assert_eq!(a["triggers"][0]["threshold"], "5000.00");
    assert_eq!(a["causes"][0], "因病");
    let d = js["households"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["household_id"] == "D")
        .unwrap()
        .clone();
    assert_eq!(d["causes"][0], "饮水安全无保障");
    // 汇总 has the 勐海 2018 style cause table.
    let sum = sheet(&out.join("风险户台账.xlsx"), "汇总");
    let head = sum
        .iter()
        .position(|r| r.first().map(text) == Some("风险类型".into()))
        .unwrap();
    assert_eq!(
        sum[head].iter().map(text).collect::<Vec<_>>()[..5],
        ["风险类型", "户数", "人数", "户占%", "人占%"]
    );
    let ill = sum.iter().find(|r| text(&r[0]) == "因病").unwrap();
    assert_eq!((num(&ill[1]), num(&ill[2]), num(&ill[3])), (1.0, 4.0, 50.0));
}

#[test]
fn bayannur_subsidy_heavy_with_income_in_its_own_file_keyed_by_id_number() {
    let ws = Ws::new();
    ws.xlsx(
        "h.xlsx",
        "户",
        &[
            vec![
                s("户编号"),
                s("户主姓名"),
                s("证件号码"),
                s("户类型"),
                s("人口数"),
                s("苏木乡镇"),
            ],
            vec![
                s("B1"),
                s("巴一"),
                s("110105194912310038"),
                s("脱贫户"),
                n(2.0),
                s("乌镇"),
            ],
            vec![
                s("B2"),
                s("巴二"),
                s("110105195001010012"),
                s("一般农户"),
                n(2.0),
                s("乌镇"),
            ],
            vec![
                s("B3"),
                s("巴三"),
                s("110105195101010015"),
                s("一般农户"),
                n(1.0),
                s("乌镇"),
            ],
        ],
        &[],
    );
    ws.xlsx(
        "i.xlsx",
        "收入",
        &[
            vec![s("身份证号"), s("工资性收入"), s("转移性收入")],
            // B1: 20000 total, 60% transfers, 4000 per head without them
            vec![s("110105194912310038"), n(8000.0), n(12000.0)],
            // B2: 7998 / 2 = 3999: under 5000 and under the poverty line
            // (4000), which is itself the 二类 “致贫风险”
            vec![s("110105195001010012"), n(7998.0), n(0.0)],
            // B3: transfers 7000 of 13000, but 6000 left per head
            vec![s("110105195101010015"), n(6000.0), n(7000.0)],
        ],
        &[],
    );
    let o = ws.run_on(
        "2020-03",
        &rules_without(
            &ws,
            "bayannur-2020.toml",
            &["生产经营性收入", "财产性收入", "生产经营性支出"],
        ),
        "h.xlsx",
        &["--income", "i.xlsx", "--out", "out"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let js = summary(&ws.path("out/2020-03"));
    let hs = js["households"].as_array().unwrap();
    let ids: Vec<&str> = hs
        .iter()
        .map(|h| h["household_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["B1", "B2"]);
    assert_eq!(hs[0]["triggers"][0]["rule_id"], "bayannur.subsidy_heavy");
    assert_eq!(hs[0]["triggers"][0]["measured"], "60.00");
    assert_eq!(hs[1]["per_capita_net_income"], "3999.00");
    assert_eq!(hs[1]["status"], "边缘户");
}

#[test]
fn panzhihua_person_level_export_with_guarantee_columns() {
    let ws = Ws::new();
    // National-system style person list: title rows, header on row 3, one
    // row per person; `size` is the header of column H and its values.
    let person_list = |size: (&str, [f64; 3])| {
        let people = [
            (
                "P1",
                "攀一",
                "110105194912310038",
                "户主",
                "脱贫户",
                "否",
                "是",
            ),
            (
                "P1",
                "攀一妻",
                "110105195001010012",
                "配偶",
                "脱贫户",
                "",
                "",
            ),
            (
                "P2",
                "攀二",
                "110105195101010015",
                "户主",
                "一般农户",
                "是",
                "是",
            ),
        ];
        let mut rows = vec![
            vec![s("已脱贫人口名单")],
            vec![s("数据日期：2020-08-31")],
            vec![
                s("户编号"),
                s("姓名"),
                s("证件号码"),
                s("与户主关系"),
                s("户类型"),
                s("乡(镇)"),
                s("行政村"),
                s(size.0),
                s("是否解决安全饮用水"),
                s("住房安全有保障"),
            ],
        ];
        for (i, (id, name, no, rel, kind, water, house)) in people.iter().enumerate() {
            rows.push(vec![
                s(id),
                s(name),
                s(no),
                s(rel),
                s(kind),
                s("仁和镇"),
                s("A村"),
                n(size.1[i]),
                s(water),
                s(house),
            ]);
        }
        ws.xlsx("名单.xlsx", "Sheet1", &rows, &[]);
        ws.run_on(
            "2020-08",
            &rules("panzhihua-2020.toml"),
            "名单.xlsx",
            &["--out", "out"],
        )
    };
    // Without a 家庭人口/人数 column the list is refused, naming the column.
    let o = person_list(("工资性收入", [50000.0, 0.0, 50000.0]));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("家庭人口"));

    let o = person_list(("人数", [2.0, 2.0, 1.0]));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = ws.path("out/2020-08");
    let (rows, ledger) = ledger_rows(&out.join("风险户台账.xlsx"));
    assert_eq!(ledger.keys().cloned().collect::<Vec<_>>(), vec!["P1"]);
    assert_eq!(
        text(&ledger["P1"][col(&rows, 1, "风险类型")]),
        "饮水安全无保障"
    );
    assert_eq!(num(&ledger["P1"][col(&rows, 1, "家庭人口")]), 2.0);
    // Both members of P1 are on the survey form.
    let survey = sheet(&out.join("附件3-1 返贫致贫风险户调查表.xlsx"), "仁和镇");
    let flat: Vec<String> = survey.iter().flatten().map(text).collect();
    assert!(flat.contains(&"攀一妻".to_string()));
}

#[test]
fn ods_roster_with_merged_two_row_header() {
    // tests/fixtures/households.ods: written by LibreOffice (ODS keeps no merge
    // information for calamine, so the two-row header is read from the gaps).
    // O1: 9,000.00 + １２００ − “—” = 10200 for 3 people → 3400 < 4428.
    let ws = Ws::new();
    let ods = repo().join("tests/fixtures/households.ods");
    let unused = ["生产经营性收入", "财产性收入"];
    let o = ws.run_on(
        "2020-03",
        &rules_without(&ws, "mile-2020.toml", &unused),
        ods.to_str().unwrap(),
        &["--out", "out"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let js = summary(&ws.path("out/2020-03"));
    let hs = js["households"].as_array().unwrap();
    assert_eq!(hs.len(), 1);
    assert_eq!(hs[0]["household_id"], "O1");
    assert_eq!(hs[0]["per_capita_net_income"], "3400.00");
    assert_eq!(hs[0]["township"], "石镇");
}

/// A household left out for want of a 家庭人口 moves the ones after it up:
/// an expense record found by 户编号 still lands on its own household.
#[test]
fn an_expense_after_a_household_left_out_finds_its_own_household() {
    let ws = Ws::new();
    ws.csv(
        "h.csv",
        "户编号,户主姓名,户类型,家庭人口,劳动力人数,工资性收入,生产经营性收入,财产性收入,转移性收入,生产经营性支出,乡镇\n\
         A1,甲,一般农户,2,2,30000,0,0,0,0,东乡\n\
         B2,乙,一般农户,,2,30000,0,0,0,0,东乡\n\
         C3,丙,一般农户,2,2,12000,0,0,0,0,东乡\n\
         D4,丁,一般农户,2,2,30000,0,0,0,0,东乡\n",
        false,
    );
    ws.csv(
        "e.csv",
        "户编号,姓名,证件号码,支出类型,自付金额,发生日期,来源单位\n\
         C3,丙,,医疗,15000,2020-02-01,县医保局\n",
        false,
    );
    let o = ws.run_on(
        "2020-03",
        &rules("mile-2020.toml"),
        "h.csv",
        &["--expenses", "e.csv", "--out", "out"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = ws.path("out/2020-03");
    let issues: Vec<String> = sheet(&out.join("风险户台账.xlsx"), "数据问题")
        .iter()
        .flatten()
        .map(text)
        .collect();
    assert!(
        issues.iter().any(|t| t.contains("没有家庭成员可数")),
        "B2 is left out: {issues:?}"
    );
    assert!(
        !issues.iter().any(|t| t.contains("不在农户信息中")),
        "{issues:?}"
    );
    let (rows, ledger) = ledger_rows(&out.join("风险户台账.xlsx"));
    assert_eq!(ledger.keys().cloned().collect::<Vec<_>>(), vec!["C3"]);
    assert_eq!(text(&ledger["C3"][col(&rows, 1, "风险类型")]), "因病");
}

/// A roster of several thousand rows is read on every core: its problems
/// (a 户编号 seen rows and chunks earlier, sizes, counts and types that
/// cannot be read) come out the same and in the same order as when the
/// same rows are streamed from a CSV one by one.
#[test]
fn a_long_roster_read_on_every_core_says_what_a_streamed_one_says() {
    let ws = Ws::new();
    let head = [
        "户编号",
        "户主姓名",
        "户类型",
        "家庭人口",
        "劳动力人数",
        "工资性收入",
        "生产经营性收入",
        "财产性收入",
        "转移性收入",
        "生产经营性支出",
        "乡镇",
        "上年人均纯收入",
    ];
    // Rows 2102, 4202 and 6001 repeat the 户编号 of rows 7, 2052 and 4102
    // (other chunks), with a problem of their own that must stay unsaid.
    let repeats = [(2100, 5), (4200, 2050), (5999, 4100)];
    let rows: Vec<Vec<String>> = (0..6000usize)
        .map(|i| {
            let id = match repeats.iter().find(|(at, _)| *at == i) {
                Some((_, of)) => format!("H{of:05}"),
                None if i % 1000 == 500 => String::new(),
                None => format!("H{i:05}"),
            };
            let size = if i % 97 == 0 {
                "约三千".into()
            } else {
                format!("{}", 1 + i % 5)
            };
            let labour = if i % 89 == 0 || repeats.iter().any(|(at, _)| *at == i) {
                "很多".to_string()
            } else {
                "1".to_string()
            };
            let kind = if i % 211 == 0 {
                "不明户"
            } else {
                "一般农户"
            };
            let wage = if i % 13 == 0 { "3000" } else { "30000" };
            let last = if i % 7 == 0 { "5000" } else { "" };
            [
                &id, "户主", kind, &size, &labour, wage, "0", "0", "0", "0", "东乡", last,
            ]
            .iter()
            .map(|t| t.to_string())
            .collect()
        })
        .collect();
    let cells: Vec<Vec<V>> = std::iter::once(head.iter().map(|h| s(h)).collect())
        .chain(rows.iter().map(|r| {
            r.iter()
                .map(|t| if t.is_empty() { V::E } else { s(t) })
                .collect()
        }))
        .collect();
    ws.xlsx("h.xlsx", "农户", &cells, &[]);
    let csv: String = std::iter::once(head.join(","))
        .chain(rows.iter().map(|r| r.join(",")))
        .map(|l| l + "\n")
        .collect();
    ws.csv("h.csv", &csv, false);

    let problems = |households: &str, out: &str| {
        let o = ws.run_on(
            "2020-03",
            &rules("mile-2020.toml"),
            households,
            &["--out", out],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let book = ws.path(out).join("2020-03/风险户台账.xlsx");
        let (_, ledger) = ledger_rows(&book);
        // File and sheet name told apart; row, column, value and reason.
        let said: Vec<Vec<String>> = sheet(&book, "数据问题")
            .iter()
            .skip(1)
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(k, _)| ![1, 2].contains(k))
                    .map(|(_, c)| text(c))
                    .collect()
            })
            .collect();
        (said, ledger.into_keys().collect::<Vec<_>>())
    };
    let (grid, grid_ledger) = problems("h.xlsx", "out-x");
    let (streamed, streamed_ledger) = problems("h.csv", "out-c");
    assert_eq!(grid, streamed);
    assert_eq!(grid_ledger, streamed_ledger);
    assert!(!grid_ledger.is_empty());

    let about = |row: u32| -> Vec<&Vec<String>> {
        // Columns: 序号, 行, 列, 内容, 处理, 原因.
        grid.iter().filter(|r| r[1] == row.to_string()).collect()
    };
    for (at, of) in repeats {
        let said = about(at as u32 + 2);
        assert_eq!(said.len(), 1, "row {}: {said:?}", at + 2);
        assert!(
            said[0]
                .iter()
                .any(|t| t.contains(&format!("户编号重复（第{}行已有该户）", of + 2))),
            "{said:?}"
        );
    }
    assert!(about(97 * 30 + 2)
        .iter()
        .any(|r| r.iter().any(|t| t.contains("约三千"))));
    assert!(about(1502)
        .iter()
        .any(|r| r.iter().any(|t| t.contains("户编号为空"))));
    assert!(about(211 * 20 + 2)
        .iter()
        .any(|r| r.iter().any(|t| t.contains("户类型无法识别"))));
}

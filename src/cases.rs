//! `monitor rules test`: the test households shipped beside each rule file
//! (`<name>.cases.toml`), each with the rules it must trigger and the
//! monitoring class it must be reported as.

use crate::assess::{assess, class_label, Subject};
use crate::error::{MonitorError, Result};
use crate::model::{guarantee_item, Expense, Guarantees, Household, HouseholdType, Income, Member};
use crate::normalize::{parse_date_str, parse_month};
use crate::rules::{cases_path, RuleSet};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(rename = "case")]
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    month: String,
    household: CaseHousehold,
    #[serde(default)]
    expenses: Vec<CaseExpense>,
    /// Rule ids that must fire (and no others).
    expect_rules: Vec<String>,
    /// 监测类型 expected, or "无风险".
    expect_status: String,
    #[serde(default)]
    expect_causes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseHousehold {
    #[serde(rename = "type")]
    hh_type: String,
    size: u32,
    #[serde(default)]
    wage: Option<Decimal>,
    #[serde(default)]
    business: Option<Decimal>,
    #[serde(default)]
    property: Option<Decimal>,
    #[serde(default)]
    transfer: Option<Decimal>,
    #[serde(default)]
    cost: Option<Decimal>,
    #[serde(default)]
    last_year_net: Option<Decimal>,
    #[serde(default)]
    education: Option<bool>,
    #[serde(default)]
    medical: Option<bool>,
    #[serde(default)]
    housing: Option<bool>,
    #[serde(default)]
    water: Option<bool>,
    #[serde(default)]
    applied: Option<bool>,
    #[serde(default)]
    applied_cause: Option<String>,
    /// Any 两不愁三保障/饮水 item by name: true = met.
    #[serde(default)]
    guarantees: std::collections::BTreeMap<String, bool>,
    #[serde(default)]
    labor: Option<u32>,
    /// 健康状况 of members (one member each).
    #[serde(default)]
    health: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseExpense {
    cause: String,
    amount: Decimal,
    date: toml::value::Datetime,
    /// Already counted by a `count_once` rule in this month's run.
    #[serde(default)]
    counted_in: Option<String>,
}

/// The case's guarantee answers: the four named fields and any item by name.
fn case_guarantees(x: &CaseHousehold) -> std::result::Result<Guarantees, String> {
    let mut g = Guarantees::default();
    let named = [
        ("义务教育", x.education),
        ("基本医疗", x.medical),
        ("住房安全", x.housing),
        ("饮水安全", x.water),
    ];
    for (item, v) in named {
        if let Some(v) = v {
            g.set(
                guarantee_item(item).map(|i| i.name).unwrap_or("义务教育"),
                v,
            );
        }
    }
    for (k, v) in &x.guarantees {
        let item = guarantee_item(k).ok_or_else(|| format!("保障项目“{k}”不认识"))?;
        g.set(item.name, *v);
    }
    Ok(g)
}

#[derive(Debug)]
pub struct CaseResult {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug)]
pub struct FileResult {
    pub rule_file: String,
    pub results: Vec<CaseResult>,
}

impl FileResult {
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| !r.ok).count()
    }
}

/// Run the cases beside one rule file.
pub fn run_file(rule_file: &Path) -> Result<FileResult> {
    let rs = RuleSet::load(rule_file)?;
    let cp = cases_path(rule_file);
    let err = |msg: String| MonitorError::Rules {
        path: cp.clone(),
        msg,
    };
    let text = std::fs::read_to_string(&cp).map_err(|e| {
        err(format!(
            "找不到或无法读取测试用例文件：{}",
            crate::error::io_detail(&e)
        ))
    })?;
    let file: CaseFile =
        toml::from_str(&text).map_err(|e| err(crate::error::toml_error(&text, &e)))?;
    let mut results = Vec::new();
    let mut fired_any: std::collections::HashSet<String> = Default::default();
    for c in &file.cases {
        let (month, _) =
            parse_month(&c.month).map_err(|m| err(format!("用例“{}”：{m}", c.name)))?;
        let hh_type = HouseholdType::parse(&c.household.hh_type).ok_or_else(|| {
            err(format!(
                "用例“{}”：户类型“{}”无法识别",
                c.name, c.household.hh_type
            ))
        })?;
        let x = &c.household;
        let any_income = [x.wage, x.business, x.property, x.transfer]
            .iter()
            .any(Option::is_some);
        let z = |v: Option<Decimal>| v.unwrap_or(Decimal::ZERO);
        let h = Household {
            id: "CASE".into(),
            head_name: c.name.clone().into(),
            id_no: Default::default(),
            phone: Default::default(),
            township: Default::default(),
            village: Default::default(),
            group: Default::default(),
            hh_type,
            size: x.size,
            labor: x.labor,
            resident: None,
            tuopin_year: Default::default(),
            main_cause: Default::default(),
            income: any_income.then(|| Income {
                wage: z(x.wage),
                business: z(x.business),
                property: z(x.property),
                transfer: z(x.transfer),
                cost: z(x.cost),
            }),
            last_year_net: x.last_year_net,
            guarantees: case_guarantees(x).map_err(|m| err(format!("用例“{}”：{m}", c.name)))?,
            applied: x.applied,
            applied_cause: x.applied_cause.clone().unwrap_or_default().into(),
            row: 0,
        };
        let mut exps = Vec::new();
        for e in &c.expenses {
            let date = parse_date_str(&e.date.to_string())
                .map_err(|m| err(format!("用例“{}”：{m}", c.name)))?;
            exps.push(Expense {
                hh_id: "CASE".into(),
                cause: e.cause.clone(),
                amount: e.amount,
                date,
                source_unit: String::new(),
                person: String::new(),
                counted_in: e.counted_in.clone(),
                source: Default::default(),
            });
        }
        let members: Vec<Member> = x
            .health
            .iter()
            .enumerate()
            .map(|(i, health)| Member {
                hh_id: "CASE".into(),
                name: format!("成员{i}").into(),
                id_no: Default::default(),
                relation: Default::default(),
                health: health.clone().into(),
            })
            .collect();
        let refs: Vec<&Expense> = exps.iter().collect();
        let people: Vec<&Member> = members.iter().collect();
        let a = assess(
            &rs,
            month,
            &Subject {
                h: &h,
                exps: &refs,
                members: &people,
            },
        );
        let mut got: Vec<String> = a.triggers.iter().map(|t| t.rule_id.to_string()).collect();
        fired_any.extend(got.iter().cloned());
        got.sort();
        let mut want = c.expect_rules.clone();
        want.sort();
        let status = if a.at_risk() {
            class_label(&rs, h.hh_type).0.to_string()
        } else {
            "无风险".to_string()
        };
        let mut problems = Vec::new();
        if got != want {
            problems.push(format!("触发规则应为 {want:?}，实际为 {got:?}"));
        }
        if status != c.expect_status {
            problems.push(format!(
                "监测类型应为“{}”，实际为“{status}”",
                c.expect_status
            ));
        }
        if let Some(ec) = &c.expect_causes {
            if &a.causes() != ec {
                problems.push(format!("风险类型应为 {ec:?}，实际为 {:?}", a.causes()));
            }
        }
        results.push(CaseResult {
            name: c.name.clone(),
            ok: problems.is_empty(),
            detail: if problems.is_empty() {
                if a.at_risk() {
                    a.basis_text().replace('\n', " ")
                } else {
                    "未触发任何规则".to_string()
                }
            } else {
                problems.join("；")
            },
        });
    }
    for r in &rs.rules {
        if !fired_any.contains(&r.id) {
            results.push(CaseResult {
                name: format!("规则“{}”的覆盖", r.id),
                ok: false,
                detail: "没有任何测试用例触发这条规则，请补充用例".into(),
            });
        }
    }
    Ok(FileResult {
        rule_file: rule_file.display().to_string(),
        results,
    })
}

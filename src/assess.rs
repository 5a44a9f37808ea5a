//! Applying a rule set to one month's households.

use crate::model::{Expense, Household, HouseholdType};
use crate::normalize::{fmt_money, month_end, months_back, round2};
use crate::rules::{Params, Rule, RuleSet};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One rule that fired, with what was measured against what.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trigger {
    pub rule_id: String,
    pub rule_name: String,
    pub causes: Vec<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub measured: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub threshold: Option<Decimal>,
    /// 预警依据: Chinese sentence with values and the clause.
    pub basis: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub hh_id: String,
    pub triggers: Vec<Trigger>,
    /// Rules that could not be evaluated for lack of data.
    pub not_assessed: Vec<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub net_income: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub per_capita: Option<Decimal>,
    /// Rigid spending by cause within the forms' window.
    pub spending: BTreeMap<String, Decimal>,
}

impl Assessment {
    pub fn at_risk(&self) -> bool {
        !self.triggers.is_empty()
    }

    /// Distinct causes in the order the rules reported them.
    pub fn causes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in &self.triggers {
            for c in &t.causes {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        out
    }

    pub fn basis_text(&self) -> String {
        self.triggers
            .iter()
            .map(|t| t.basis.as_str())
            .collect::<Vec<_>>()
            .join("；\n")
    }
}

/// Monitoring class a household at risk is reported as.
pub fn class_label(rs: &RuleSet, t: HouseholdType) -> (&str, &str) {
    let l = &rs.labels;
    match t {
        HouseholdType::Tuopin | HouseholdType::TuopinMonitor => (&l.returning, &l.returning_risk),
        HouseholdType::Sudden => (l.sudden.as_deref().unwrap_or(&l.new), &l.new_risk),
        HouseholdType::Edge | HouseholdType::General => (&l.new, &l.new_risk),
    }
}

fn pct(d: Decimal) -> String {
    format!("{}%", round2(d * Decimal::ONE_HUNDRED).normalize())
}

fn sum_window<'a>(
    exps: &'a [&'a Expense],
    causes: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> (Decimal, Vec<String>) {
    let mut by: BTreeMap<&str, Decimal> = BTreeMap::new();
    for e in exps {
        if e.date >= from && e.date <= to && causes.contains(&e.cause) {
            let v = by.entry(e.cause.as_str()).or_default();
            *v = add(*v, e.amount);
        }
    }
    let total = by.values().fold(Decimal::ZERO, |a, b| add(a, *b));
    let mut named: Vec<(&str, Decimal)> = by.into_iter().collect();
    named.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    (
        total,
        named.into_iter().map(|(c, _)| c.to_string()).collect(),
    )
}

/// Money addition, checked. Amounts read are bounded (`MAX_AMOUNT`), so a
/// sum of them cannot reach `Decimal`'s limit; should it ever, the sum
/// stays at the limit instead of wrapping or aborting the run.
fn add(a: Decimal, b: Decimal) -> Decimal {
    a.checked_add(b).unwrap_or(Decimal::MAX)
}

fn cite(rule: &Rule) -> String {
    format!("（{}）", rule.citation.clause)
}

/// Assess one household for the month beginning `month`.
pub fn assess(rs: &RuleSet, month: NaiveDate, h: &Household, exps: &[&Expense]) -> Assessment {
    let end = month_end(month);
    let mut triggers = Vec::new();
    let mut not_assessed = Vec::new();
    let per_capita = h.per_capita_net();
    let net = h.income.as_ref().and_then(|i| i.net());
    for rule in &rs.rules {
        if !rule.applies(h.hh_type) {
            continue;
        }
        let Some(params) = rule.params_for(month) else {
            continue;
        };
        let fixed = || rule.cause.clone().into_iter().collect::<Vec<_>>();
        let mut fire =
            |causes: Vec<String>, m: Option<Decimal>, t: Option<Decimal>, text: String| {
                triggers.push(Trigger {
                    rule_id: rule.id.clone(),
                    rule_name: rule.name.clone(),
                    causes,
                    measured: m,
                    threshold: t,
                    basis: format!("{}：{text}{}", rule.name, cite(rule)),
                })
            };
        match params {
            Params::IncomeBelowLine { line } => match per_capita {
                None => not_assessed.push(format!("{}：缺少收入数据", rule.name)),
                Some(pc) if pc < *line => fire(
                    fixed(),
                    Some(pc),
                    Some(*line),
                    format!(
                        "人均纯收入 {} 元，低于 {} 元",
                        fmt_money(pc),
                        fmt_money(*line)
                    ),
                ),
                Some(_) => {}
            },
            Params::SpendingOverAmount {
                amount,
                causes,
                window_months,
            } => {
                let from = months_back(month, window_months - 1);
                let (total, named) = sum_window(exps, causes, from, end);
                if total > *amount {
                    let c = if named.is_empty() {
                        fixed()
                    } else {
                        named.clone()
                    };
                    fire(
                        c,
                        Some(total),
                        Some(*amount),
                        format!(
                            "{}至{} {}自付支出合计 {} 元，超过 {} 元",
                            from.format("%Y-%m-%d"),
                            end.format("%Y-%m-%d"),
                            named.join("、"),
                            fmt_money(total),
                            fmt_money(*amount)
                        ),
                    );
                }
            }
            Params::SpendingOverLastYearIncome {
                causes,
                window_months,
                ratio,
            } => {
                let from = months_back(month, window_months - 1);
                let (total, named) = sum_window(exps, causes, from, end);
                match h.last_year_net {
                    None if total > Decimal::ZERO => {
                        not_assessed.push(format!("{}：缺少上年家庭纯收入", rule.name))
                    }
                    Some(last)
                        if total > Decimal::ZERO
                            && last.checked_mul(*ratio).is_some_and(|l| total > l) =>
                    {
                        let limit = round2(last.checked_mul(*ratio).unwrap_or(Decimal::MAX));
                        let c = if named.is_empty() {
                            fixed()
                        } else {
                            named.clone()
                        };
                        fire(
                            c,
                            Some(total),
                            Some(limit),
                            format!(
                                "{}至{} {}刚性支出 {} 元，超过上年家庭纯收入 {} 元{}",
                                from.format("%Y-%m-%d"),
                                end.format("%Y-%m-%d"),
                                named.join("、"),
                                fmt_money(total),
                                fmt_money(last),
                                if *ratio == Decimal::ONE {
                                    String::new()
                                } else {
                                    format!("的 {}", pct(*ratio))
                                }
                            ),
                        );
                    }
                    _ => {}
                }
            }
            Params::IncomeDrop { ratio } => match (net, h.last_year_net) {
                (Some(cur), Some(last)) if last > Decimal::ZERO => {
                    let drop = last.checked_sub(cur).and_then(|d| d.checked_div(last));
                    if let Some(drop) = drop.filter(|d| d >= ratio) {
                        fire(
                            fixed(),
                            Some(round2(drop * Decimal::ONE_HUNDRED)),
                            Some(round2(*ratio * Decimal::ONE_HUNDRED)),
                            format!(
                                "家庭纯收入 {} 元，较上年 {} 元下降 {}，达到 {}",
                                fmt_money(cur),
                                fmt_money(last),
                                pct(drop),
                                pct(*ratio)
                            ),
                        );
                    }
                }
                (None, _) => not_assessed.push(format!("{}：缺少收入数据", rule.name)),
                (_, None) => not_assessed.push(format!("{}：缺少上年家庭纯收入", rule.name)),
                _ => {}
            },
            Params::SubsidyHeavy {
                transfer_share,
                line,
            } => match &h.income {
                None => not_assessed.push(format!("{}：缺少收入数据", rule.name)),
                Some(inc) if inc.total().is_some_and(|t| t > Decimal::ZERO) && h.size > 0 => {
                    let share = inc.total().and_then(|t| inc.transfer.checked_div(t));
                    let without = inc
                        .net()
                        .and_then(|n| n.checked_sub(inc.transfer))
                        .and_then(|n| n.checked_div(Decimal::from(h.size)))
                        .map(round2);
                    let (Some(share), Some(without)) = (share, without) else {
                        continue;
                    };
                    if share >= *transfer_share && without < *line {
                        fire(
                            fixed(),
                            Some(round2(share * Decimal::ONE_HUNDRED)),
                            Some(round2(*transfer_share * Decimal::ONE_HUNDRED)),
                            format!(
                                "转移性收入占家庭收入 {}（不低于 {}），扣除转移性收入后人均纯收入 {} 元，低于 {} 元",
                                pct(share),
                                pct(*transfer_share),
                                fmt_money(without),
                                fmt_money(*line)
                            ),
                        );
                    }
                }
                Some(_) => {}
            },
            Params::GuaranteeNotMet { items } => {
                let g = &h.guarantees;
                let failed: Vec<&String> = items
                    .iter()
                    .filter(|i| {
                        let v = match i.as_str() {
                            "义务教育" => g.education,
                            "基本医疗" => g.medical,
                            "住房安全" => g.housing,
                            _ => g.water,
                        };
                        v == Some(false)
                    })
                    .collect();
                if !failed.is_empty() {
                    let names: Vec<String> = failed.iter().map(|i| format!("{i}无保障")).collect();
                    fire(
                        names.clone(),
                        Some(Decimal::from(failed.len())),
                        Some(Decimal::ZERO),
                        format!("{}（“两不愁三保障”及饮水安全未达标）", names.join("、")),
                    );
                }
            }
            Params::SelfApplication => {
                if h.applied == Some(true) {
                    let c = crate::model::canonical_cause(&h.applied_cause)
                        .map(|c| vec![c.to_string()])
                        .unwrap_or_else(fixed);
                    let why = if h.applied_cause.is_empty() {
                        String::new()
                    } else {
                        format!("，申报原因：{}", h.applied_cause)
                    };
                    fire(c, None, None, format!("农户本人申报存在风险{why}"));
                }
            }
        }
    }
    let from = rs.spending_window(month);
    let mut spending: BTreeMap<String, Decimal> = BTreeMap::new();
    for e in exps.iter().filter(|e| e.date >= from && e.date <= end) {
        let v = spending.entry(e.cause.clone()).or_default();
        *v = add(*v, e.amount);
    }
    Assessment {
        hh_id: h.id.clone(),
        triggers,
        not_assessed,
        net_income: net,
        per_capita,
        spending,
    }
}

/// Assess all households; expenses are grouped by household once.
pub fn assess_all(
    rs: &RuleSet,
    month: NaiveDate,
    households: &[Household],
    expenses: &[Expense],
    mut tick: impl FnMut(),
) -> Vec<Assessment> {
    let mut by_hh: HashMap<&str, Vec<&Expense>> = HashMap::new();
    for e in expenses {
        by_hh.entry(e.hh_id.as_str()).or_default().push(e);
    }
    households
        .iter()
        .map(|h| {
            tick();
            let exps = by_hh.get(h.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            assess(rs, month, h, exps)
        })
        .collect()
}

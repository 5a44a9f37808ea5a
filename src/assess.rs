//! Applying a rule set to one month's households.

use crate::model::{serious_health, Expense, Household, HouseholdType, Member};
use crate::normalize::{fmt_money, month_end, months_back, round2};
use crate::rules::{Cmp, Params, RiskFactor, RiskRequirement, Rule, RuleSet};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// One rule that fired, with what was measured against what.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Trigger {
    /// The rule's id and name, and the causes: the same few words for
    /// every household a rule warns (interned, not copied each time).
    pub rule_id: crate::model::Ustr,
    pub rule_name: crate::model::Ustr,
    pub causes: Vec<crate::model::Ustr>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub measured: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub threshold: Option<Decimal>,
    /// 预警依据: Chinese sentence with values and the clause.
    pub basis: String,
}

/// One household's assessment; a run's list of them is in the order of its
/// households (no 户编号 of its own: two million copies of it in a province).
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub triggers: Vec<Trigger>,
    /// Rules that could not be evaluated for lack of data.
    pub not_assessed: Vec<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub net_income: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub per_capita: Option<Decimal>,
    /// Rigid spending by cause within the forms' window.
    pub spending: Spending,
}

/// Rigid spending by cause, in the order of the causes' names: a short
/// list (a household has a cause or two), not a map whose smallest node
/// takes ~500 bytes for each of a province's households with spending.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spending(Vec<(crate::model::Ustr, Decimal)>);

impl Spending {
    /// Add `amount` to `cause` (checked: amounts read are bounded).
    pub fn add(&mut self, cause: &str, amount: Decimal) {
        match self.0.binary_search_by(|(c, _)| c.as_str().cmp(cause)) {
            Ok(i) => self.0[i].1 = add(self.0[i].1, amount),
            Err(i) => self.0.insert(i, (cause.into(), amount)),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// (cause, amount), causes in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Decimal)> + '_ {
        self.0.iter().map(|(c, v)| (c.as_str(), *v))
    }
    pub fn values(&self) -> impl Iterator<Item = Decimal> + '_ {
        self.0.iter().map(|(_, v)| *v)
    }
}

impl Serialize for Spending {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl Assessment {
    /// Nothing assessed (a household not on this month's roster).
    pub fn empty() -> Self {
        Assessment {
            triggers: Vec::new(),
            not_assessed: Vec::new(),
            net_income: None,
            per_capita: None,
            spending: Spending::default(),
        }
    }

    pub fn at_risk(&self) -> bool {
        !self.triggers.is_empty()
    }

    /// Distinct causes in the order the rules reported them.
    pub fn causes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in &self.triggers {
            for c in &t.causes {
                if !out.iter().any(|o| o == c.as_str()) {
                    out.push(c.to_string());
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
        HouseholdType::Poor => (&l.poor, &l.poor_risk),
        HouseholdType::Sudden => (l.sudden.as_deref().unwrap_or(&l.new), &l.new_risk),
        HouseholdType::Edge | HouseholdType::General => (&l.new, &l.new_risk),
    }
}

fn pct(d: Decimal) -> String {
    format!("{}%", round2(d * Decimal::ONE_HUNDRED).normalize())
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

/// What one household brings to the rules this month.
pub struct Subject<'a> {
    pub h: &'a Household,
    pub exps: &'a [&'a Expense],
    pub members: &'a [&'a Member],
}

/// The month being assessed and the household's derived figures.
struct Ctx<'a> {
    month: NaiveDate,
    end: NaiveDate,
    s: &'a Subject<'a>,
    net: Option<Decimal>,
    per_capita: Option<Decimal>,
}

/// Rigid spending for `causes` between two dates, by cause (largest
/// first). With `fresh_only`, records a `count_once` rule counted in an
/// earlier month are left out.
struct Window {
    from: NaiveDate,
    to: NaiveDate,
    total: Decimal,
    named: Vec<String>,
}

impl Ctx<'_> {
    fn window(&self, causes: &[String], months: u32, fresh_only: bool) -> Window {
        self.window_at(
            causes,
            months_back(self.month, months - 1),
            self.end,
            fresh_only,
        )
    }

    fn window_at(
        &self,
        causes: &[String],
        from: NaiveDate,
        to: NaiveDate,
        fresh_only: bool,
    ) -> Window {
        let mut by: BTreeMap<&str, Decimal> = BTreeMap::new();
        for e in self.s.exps {
            let fresh = !fresh_only || e.counted_in.is_none();
            if e.date >= from && e.date <= to && causes.contains(&e.cause) && fresh {
                let v = by.entry(e.cause.as_str()).or_default();
                *v = add(*v, e.amount);
            }
        }
        let total = by.values().fold(Decimal::ZERO, |a, b| add(a, *b));
        let mut named: Vec<(&str, Decimal)> = by.into_iter().collect();
        named.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        Window {
            from,
            to,
            total,
            named: named.into_iter().map(|(c, _)| c.to_string()).collect(),
        }
    }
}

impl Window {
    fn span(&self) -> String {
        format!(
            "{}至{}",
            self.from.format("%Y-%m-%d"),
            self.to.format("%Y-%m-%d")
        )
    }
}

/// What a rule found for one household.
enum Outcome {
    Quiet,
    /// The rule could not be evaluated: what was missing.
    Missing(&'static str),
    Fired {
        /// Causes named by the data (spending by cause); the rule's own
        /// cause when empty.
        causes: Vec<String>,
        measured: Option<Decimal>,
        threshold: Option<Decimal>,
        text: String,
    },
}

fn fired(causes: Vec<String>, m: Option<Decimal>, t: Option<Decimal>, text: String) -> Outcome {
    Outcome::Fired {
        causes,
        measured: m,
        threshold: t,
        text,
    }
}

/// 人均纯收入 against the line; for the types named, also a risk factor.
fn income_below_line(c: &Ctx, line: Decimal, cmp: Cmp, risk: Option<&RiskRequirement>) -> Outcome {
    let Some(pc) = c.per_capita else {
        return Outcome::Missing("缺少收入数据");
    };
    if !cmp.holds(pc, line) {
        return Outcome::Quiet;
    }
    let mut text = format!(
        "人均纯收入 {} 元，{} {} 元",
        fmt_money(pc),
        cmp.word(),
        fmt_money(line)
    );
    if let Some(r) = risk.filter(|r| r.for_types.contains(&c.s.h.hh_type)) {
        let found = risk_factors(c, r, pc);
        if found.is_empty() {
            return Outcome::Quiet;
        }
        let names: Vec<&str> = found.iter().map(|f| f.label()).collect();
        text.push_str(&format!("，且有致贫风险：{}", names.join("、")));
    }
    fired(Vec::new(), Some(pc), Some(line), text)
}

/// The risk factors a household shows (巴彦淖尔 二类 “且有致贫风险”).
fn risk_factors(c: &Ctx, r: &RiskRequirement, pc: Decimal) -> Vec<RiskFactor> {
    let h = c.s.h;
    r.factors
        .iter()
        .copied()
        .filter(|f| match f {
            RiskFactor::BelowPovertyLine => r.poverty_line.is_some_and(|l| pc < l),
            RiskFactor::RigidExpense => {
                let from = months_back(c.month, r.window_months - 1);
                c.s.exps
                    .iter()
                    .any(|e| e.date >= from && e.date <= c.end && e.amount > Decimal::ZERO)
            }
            RiskFactor::IllnessOrDisability => {
                c.s.members.iter().any(|m| serious_health(&m.health))
            }
            RiskFactor::GuaranteeShortfall => h.guarantees.any_not_met(),
            RiskFactor::NoLabour => h.labor == Some(0),
        })
        .collect()
}

fn spending_over_amount(
    c: &Ctx,
    amount: Decimal,
    causes: &[String],
    months: u32,
    cmp: Cmp,
    once: bool,
) -> Outcome {
    let w = c.window(causes, months, once);
    if !cmp.holds(w.total, amount) || w.total.is_zero() {
        return Outcome::Quiet;
    }
    let text = format!(
        "{} {}自付支出合计 {} 元，{} {} 元",
        w.span(),
        w.named.join("、"),
        fmt_money(w.total),
        cmp.word(),
        fmt_money(amount)
    );
    fired(w.named, Some(w.total), Some(amount), text)
}

fn spending_over_last_year_income(
    c: &Ctx,
    causes: &[String],
    months: u32,
    ratio: Decimal,
    cmp: Cmp,
) -> Outcome {
    let w = c.window(causes, months, false);
    if w.total.is_zero() {
        return Outcome::Quiet;
    }
    let Some(last) = c.s.h.last_year_net else {
        return Outcome::Missing("缺少上年家庭纯收入");
    };
    let limit = round2(last.checked_mul(ratio).unwrap_or(Decimal::MAX));
    if !cmp.holds(w.total, limit) {
        return Outcome::Quiet;
    }
    let share = if ratio == Decimal::ONE {
        String::new()
    } else {
        format!("的 {}", pct(ratio))
    };
    let text = format!(
        "{} {}刚性支出 {} 元，{}上年家庭纯收入 {} 元{share}",
        w.span(),
        w.named.join("、"),
        fmt_money(w.total),
        cmp.word(),
        fmt_money(last)
    );
    fired(w.named, Some(w.total), Some(limit), text)
}

fn income_drop(c: &Ctx, ratio: Decimal, cmp: Cmp) -> Outcome {
    let (cur, last) = match (c.net, c.s.h.last_year_net) {
        (None, _) => return Outcome::Missing("缺少收入数据"),
        (_, None) => return Outcome::Missing("缺少上年家庭纯收入"),
        (Some(cur), Some(last)) => (cur, last),
    };
    if last <= Decimal::ZERO {
        return Outcome::Quiet;
    }
    let Some(drop) = last.checked_sub(cur).and_then(|d| d.checked_div(last)) else {
        return Outcome::Quiet;
    };
    if !cmp.holds(drop, ratio) {
        return Outcome::Quiet;
    }
    let text = format!(
        "家庭纯收入 {} 元，较上年 {} 元下降 {}，{} {}",
        fmt_money(cur),
        fmt_money(last),
        pct(drop),
        cmp.word(),
        pct(ratio)
    );
    let hundred = |d: Decimal| Some(round2(d * Decimal::ONE_HUNDRED));
    fired(Vec::new(), hundred(drop), hundred(ratio), text)
}

fn subsidy_heavy(c: &Ctx, share_min: Decimal, line: Decimal, cmp: Cmp) -> Outcome {
    let h = c.s.h;
    let Some(inc) = &h.income else {
        return Outcome::Missing("缺少收入数据");
    };
    let Some(total) = inc.total().filter(|t| *t > Decimal::ZERO) else {
        return Outcome::Quiet;
    };
    let share = inc.transfer.checked_div(total);
    let without = c
        .net
        .and_then(|n| n.checked_sub(inc.transfer))
        .and_then(|n| n.checked_div(Decimal::from(h.size)))
        .map(round2);
    let (Some(share), Some(without)) = (share, without) else {
        return Outcome::Quiet;
    };
    if share < share_min || !cmp.holds(without, line) {
        return Outcome::Quiet;
    }
    let text = format!(
        "转移性收入占家庭收入 {}（不低于 {}），扣除转移性收入后人均纯收入 {} 元，{} {} 元",
        pct(share),
        pct(share_min),
        fmt_money(without),
        cmp.word(),
        fmt_money(line)
    );
    let hundred = |d: Decimal| Some(round2(d * Decimal::ONE_HUNDRED));
    fired(Vec::new(), hundred(share), hundred(share_min), text)
}

/// 支出骤增: the last months against the same months a year earlier.
fn spending_surge(
    c: &Ctx,
    causes: &[String],
    months: u32,
    ratio: Decimal,
    min: Decimal,
    cmp: Cmp,
) -> Outcome {
    let now = c.window(causes, months, false);
    let year_ago = c.window_at(
        causes,
        months_back(now.from, 12),
        month_end(months_back(c.month, 12)),
        false,
    );
    let limit = round2(year_ago.total.checked_mul(ratio).unwrap_or(Decimal::MAX));
    if now.total < min || !cmp.holds(now.total, limit) {
        return Outcome::Quiet;
    }
    let text = format!(
        "{} {}刚性支出 {} 元，上年同期（{}）{} 元，{}其 {} 倍，且不低于 {} 元",
        now.span(),
        now.named.join("、"),
        fmt_money(now.total),
        year_ago.span(),
        fmt_money(year_ago.total),
        cmp.word(),
        ratio.normalize(),
        fmt_money(min)
    );
    fired(now.named, Some(now.total), Some(limit), text)
}

/// (家庭纯收入 − 刚性支出) ÷ 家庭人口 against the poverty line.
fn net_after_spending(c: &Ctx, causes: &[String], months: u32, line: Decimal, cmp: Cmp) -> Outcome {
    let w = c.window(causes, months, false);
    if w.total.is_zero() {
        return Outcome::Quiet;
    }
    let Some(net) = c.net else {
        return Outcome::Missing("缺少收入数据");
    };
    let Some(after) = net
        .checked_sub(w.total)
        .and_then(|v| v.checked_div(Decimal::from(c.s.h.size)))
        .map(round2)
    else {
        return Outcome::Quiet;
    };
    if !cmp.holds(after, line) {
        return Outcome::Quiet;
    }
    let text = format!(
        "家庭纯收入 {} 元扣除{} {}刚性支出 {} 元后人均 {} 元，{}扶贫标准 {} 元",
        fmt_money(net),
        w.span(),
        w.named.join("、"),
        fmt_money(w.total),
        fmt_money(after),
        cmp.word(),
        fmt_money(line)
    );
    fired(w.named, Some(after), Some(line), text)
}

fn guarantee_not_met(c: &Ctx, items: &[String]) -> Outcome {
    let failed: Vec<String> = items
        .iter()
        .filter(|i| c.s.h.guarantees.get(i) == Some(false))
        .map(|i| {
            if i == "危房" {
                "住房为危房".to_string()
            } else {
                format!("{i}无保障")
            }
        })
        .collect();
    if failed.is_empty() {
        return Outcome::Quiet;
    }
    let text = format!("{}（“两不愁三保障”及饮水安全未达标）", failed.join("、"));
    fired(
        failed.clone(),
        Some(Decimal::from(failed.len())),
        Some(Decimal::ZERO),
        text,
    )
}

fn self_application(c: &Ctx) -> Outcome {
    let h = c.s.h;
    if h.applied != Some(true) {
        return Outcome::Quiet;
    }
    let causes = crate::model::canonical_cause(&h.applied_cause)
        .map(|c| vec![c.to_string()])
        .unwrap_or_default();
    let why = if h.applied_cause.is_empty() {
        String::new()
    } else {
        format!("，申报原因：{}", h.applied_cause)
    };
    fired(causes, None, None, format!("农户本人申报存在风险{why}"))
}

fn evaluate(c: &Ctx, p: &Params) -> Outcome {
    match p {
        Params::IncomeBelowLine {
            line,
            compare,
            risk,
        } => income_below_line(c, *line, *compare, risk.as_ref()),
        Params::SpendingOverAmount {
            amount,
            causes,
            window_months,
            compare,
            count_once,
        } => spending_over_amount(c, *amount, causes, *window_months, *compare, *count_once),
        Params::SpendingOverLastYearIncome {
            causes,
            window_months,
            ratio,
            compare,
        } => spending_over_last_year_income(c, causes, *window_months, *ratio, *compare),
        Params::IncomeDrop { ratio, compare } => income_drop(c, *ratio, *compare),
        Params::SubsidyHeavy {
            transfer_share,
            line,
            compare,
        } => subsidy_heavy(c, *transfer_share, *line, *compare),
        Params::SpendingSurge {
            causes,
            window_months,
            ratio,
            min_amount,
            compare,
        } => spending_surge(c, causes, *window_months, *ratio, *min_amount, *compare),
        Params::NetAfterSpendingBelowLine {
            causes,
            window_months,
            poverty_line,
            compare,
        } => net_after_spending(c, causes, *window_months, *poverty_line, *compare),
        Params::GuaranteeNotMet { items } => guarantee_not_met(c, items),
        Params::SelfApplication => self_application(c),
    }
}

/// `s` without the spare room `format!` leaves.
fn compact(mut s: String) -> String {
    s.shrink_to_fit();
    s
}

/// Assess one household for the month beginning `month`.
pub fn assess(rs: &RuleSet, month: NaiveDate, s: &Subject) -> Assessment {
    let h = s.h;
    let c = Ctx {
        month,
        end: month_end(month),
        s,
        net: h.income.as_ref().and_then(|i| i.net()),
        per_capita: h.per_capita_net(),
    };
    let mut triggers = Vec::new();
    let mut not_assessed = Vec::new();
    for rule in rs.rules.iter().filter(|r| r.applies(h.hh_type)) {
        let Some(params) = rule.params_for(month) else {
            continue;
        };
        match evaluate(&c, params) {
            Outcome::Quiet => {}
            Outcome::Missing(what) => not_assessed.push(format!("{}：{what}", rule.name)),
            Outcome::Fired {
                causes,
                measured,
                threshold,
                text,
            } => triggers.push(Trigger {
                rule_id: rule.id.as_str().into(),
                rule_name: rule.name.as_str().into(),
                causes: if causes.is_empty() {
                    rule.cause.iter().map(|c| c.as_str().into()).collect()
                } else {
                    causes.iter().map(|c| c.as_str().into()).collect()
                },
                measured,
                threshold,
                basis: compact(format!("{}：{text}{}", rule.name, cite(rule))),
            }),
        }
    }
    let from = rs.spending_window(month);
    let mut spending = Spending::default();
    for e in s.exps.iter().filter(|e| e.date >= from && e.date <= c.end) {
        spending.add(&e.cause, e.amount);
    }
    // Held for every household of the month: no room for four triggers
    // (Vec's first growth) where one fired, nor for a longer sentence.
    triggers.shrink_to_fit();
    not_assessed.shrink_to_fit();
    spending.0.shrink_to_fit();
    Assessment {
        triggers,
        not_assessed,
        net_income: c.net,
        per_capita: c.per_capita,
        spending,
    }
}

/// Assess all households; expenses and members are grouped by household once.
/// The households are assessed in one slice per core (each household's
/// assessment reads only its own records), and come back in their order.
pub fn assess_all(
    rs: &RuleSet,
    month: NaiveDate,
    households: &[Household],
    expenses: &[Expense],
    members: &[Member],
    tick: impl Fn() + Sync,
) -> Vec<Assessment> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Below a few thousand households a thread costs more than it saves.
    let slice = households.len().div_ceil(cores).max(4096);
    let subjects = (households, expenses, members);
    assess_in_slices(rs, month, subjects, slice, &tick)
}

/// [`assess_all`] with `slice` households a thread.
fn assess_in_slices(
    rs: &RuleSet,
    month: NaiveDate,
    (households, expenses, members): (&[Household], &[Expense], &[Member]),
    slice: usize,
    tick: &(dyn Fn() + Sync),
) -> Vec<Assessment> {
    let by_hh = crate::model::ByHousehold::expenses(expenses);
    let people = crate::model::ByHousehold::members(members);
    let one = |h: &Household| {
        tick();
        let s = Subject {
            h,
            exps: by_hh.get(&h.id),
            members: people.get(&h.id),
        };
        assess(rs, month, &s)
    };
    if slice >= households.len() {
        return households.iter().map(one).collect();
    }
    // Filled in place, slice by slice: no second list of a province's
    // assessments while the slices are joined.
    let mut out: Vec<Assessment> = (0..households.len()).map(|_| Assessment::empty()).collect();
    std::thread::scope(|scope| {
        let one = &one;
        for (part, dest) in households.chunks(slice).zip(out.chunks_mut(slice)) {
            scope.spawn(move || {
                for (h, d) in part.iter().zip(dest) {
                    *d = one(h);
                }
            });
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Income;

    #[test]
    fn spending_sums_each_cause_in_the_order_a_map_would_give() {
        let mut s = Spending::default();
        for (c, v) in [("因学", 300), ("因病", 1000), ("因学", 200), ("因残", 5)] {
            s.add(c, Decimal::from(v));
        }
        let mut map = std::collections::BTreeMap::new();
        for (c, v) in [("因学", 500), ("因病", 1000), ("因残", 5)] {
            map.insert(c.to_string(), Decimal::from(v));
        }
        let got: Vec<(String, Decimal)> = s.iter().map(|(c, v)| (c.to_string(), v)).collect();
        assert_eq!(got, map.clone().into_iter().collect::<Vec<_>>());
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
    }

    #[test]
    fn slices_on_several_threads_give_each_household_its_own_assessment_in_order() {
        let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/mile-2020.toml");
        let rs = RuleSet::load(&rules).unwrap();
        let month = NaiveDate::from_ymd_opt(2020, 3, 1).unwrap();
        // Incomes from far below the line to far above it, sizes 1–5.
        let households: Vec<Household> = (0..103u32)
            .map(|i| Household {
                id: format!("H{i:04}").into(),
                size: 1 + i % 5,
                income: Some(Income {
                    wage: Decimal::from(i * 173),
                    business: Decimal::ZERO,
                    property: Decimal::ZERO,
                    transfer: Decimal::from(i % 7 * 100),
                    cost: Decimal::ZERO,
                }),
                ..Default::default()
            })
            .collect();
        let ticks = std::sync::atomic::AtomicUsize::new(0);
        let tick = || {
            ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        };
        let subjects = (households.as_slice(), &[][..], &[][..]);
        let whole = assess_in_slices(&rs, month, subjects, usize::MAX, &tick);
        let sliced = assess_in_slices(&rs, month, subjects, 7, &tick);
        assert_eq!(ticks.into_inner(), 2 * households.len());
        let warned = whole.iter().filter(|a| a.at_risk()).count();
        assert!(warned > 0 && warned < households.len(), "{warned} warned");
        assert_eq!(sliced.len(), households.len());
        for ((h, a), b) in households.iter().zip(&whole).zip(&sliced) {
            // Each household's own figure, in the households' order.
            assert_eq!(a.per_capita, h.per_capita_net(), "{}", h.id);
            assert_eq!(a.triggers, b.triggers, "{}", h.id);
            assert_eq!(a.per_capita, b.per_capita, "{}", h.id);
        }
    }
}

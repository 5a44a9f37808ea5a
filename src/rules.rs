//! Policy as data: one TOML file per locality under `rules/`, each rule with
//! an id, the risk cause it reports, dated parameter values and a citation
//! of the clause in the policy document. Test households live beside each
//! rule file in `<name>.cases.toml` and are run by `monitor rules test`.

use crate::error::{MonitorError, Result};
use crate::model::HouseholdType;
use crate::normalize::{months_back, parse_date_str};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub id: String,
    /// 地方 (shown on forms as 县(市)).
    pub locality: String,
    /// Title and number of the policy document.
    pub document: String,
    /// Issue date of the document.
    pub issued: String,
    /// File name of the seed text under shared/seeds.
    pub seed: String,
    #[serde(default)]
    pub notes: String,
}

/// How households at risk are reported.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    /// 脱贫户 at risk, e.g. 脱贫监测户 (2020) / 脱贫不稳定户 (2021+).
    pub returning: String,
    pub returning_risk: String,
    /// 一般农户 at risk, e.g. 边缘户 / 边缘易致贫户.
    pub new: String,
    pub new_risk: String,
    /// 突发严重困难户, where the locality has the category.
    #[serde(default)]
    pub sudden: Option<String>,
    /// 未脱贫户 (建档立卡贫困户 not yet out of poverty): warned and counted
    /// on their own, never as 脱贫监测户 or 边缘户.
    #[serde(default = "default_poor")]
    pub poor: String,
    #[serde(default = "default_poor_risk")]
    pub poor_risk: String,
    pub citation: Citation,
}

fn default_poor() -> String {
    "未脱贫户".into()
}
fn default_poor_risk() -> String {
    "未稳定脱贫".into()
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Citation {
    /// Clause number as printed, e.g. "一、（二）监测范围".
    pub clause: String,
    /// The words of the clause the rule rests on.
    pub text: String,
    /// The seed file of the document quoted, when not the rule file's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    name: String,
    kind: String,
    #[serde(default)]
    cause: Option<String>,
    #[serde(default)]
    applies_to: Option<Vec<String>>,
    citation: Citation,
    params: Vec<toml::Table>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// Risk cause this measure answers ("*" for any).
    pub cause: String,
    /// 措施类别 (national-system measure columns).
    pub category: String,
    pub suggestion: String,
    pub citation: Citation,
}

/// When a monitored household is suggested for elimination.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Elimination {
    /// Consecutive months without any rule firing.
    pub stable_months: u32,
    /// Where the number of months comes from when the document gives none
    /// (printed on the forms as such, never as a quote of the document).
    #[serde(default = "default_period_basis")]
    pub period_basis: String,
    /// 风险消除 is refused before this many months under monitoring,
    /// unless the row's 备注 gives a reason (national practice: normally
    /// not before half a year; the documents set no number).
    #[serde(default = "default_min_months")]
    pub min_months_monitored: u32,
    /// The document's clause on elimination (its own words).
    pub citation: Citation,
}

fn default_min_months() -> u32 {
    6
}

fn default_period_basis() -> String {
    "文件未规定期限，取国家防止返贫监测帮扶做法：收入持续稳定原则上不少于半年".into()
}

impl Default for Elimination {
    fn default() -> Self {
        Elimination {
            stable_months: 6,
            period_basis: default_period_basis(),
            min_months_monitored: default_min_months(),
            citation: Citation {
                clause: "国家防止返贫监测帮扶做法".into(),
                text: "收入持续稳定，原则上不少于半年".into(),
                seed: None,
            },
        }
    }
}

/// The review levels a returned 研判表 can carry, in procedure order.
pub const LEVELS: [&str; 3] = ["村级评议", "公示", "乡镇审核"];

/// The monthly procedure: which review levels a conclusion needs, how a
/// 不纳入 is held, and the due days of each step.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// Levels required before `monitor decide` records 纳入监测.
    #[serde(default)]
    pub include_requires: Vec<String>,
    /// Levels required before it records 风险消除.
    #[serde(default)]
    pub eliminate_requires: Vec<String>,
    /// Shortest 公示 (days, both ends counted) where 公示 is required.
    #[serde(default)]
    pub min_notice_days: Option<u32>,
    /// A household decided 不纳入 is warned again when a measured value is
    /// worse by more than this share (0.10 = 10%).
    #[serde(default = "default_margin")]
    pub decline_margin: Decimal,
    /// Days after 纳入 within which a 监测户 should have a measure (the
    /// 汇总 lists those past it); documents set none, 30 by default.
    #[serde(default = "default_measure_days")]
    pub measure_days: u32,
    /// Characters of an ID number a public list shows: first and last
    /// (532504********0854 for [6, 4]); the rest is masked.
    #[serde(default = "default_id_mask")]
    pub id_mask: [usize; 2],
    #[serde(default)]
    pub calendar: Calendar,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub citation: Option<Citation>,
}

fn default_margin() -> Decimal {
    Decimal::new(10, 2)
}

fn default_measure_days() -> u32 {
    30
}

fn default_id_mask() -> [usize; 2] {
    [6, 4]
}

impl Default for Review {
    fn default() -> Self {
        Review {
            include_requires: Vec::new(),
            eliminate_requires: Vec::new(),
            min_notice_days: None,
            decline_margin: default_margin(),
            measure_days: default_measure_days(),
            id_mask: default_id_mask(),
            calendar: Calendar::default(),
            notes: String::new(),
            citation: None,
        }
    }
}

/// Due days of the monthly steps (day of the month; `report_next_month`
/// is a day of the following month).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    #[serde(default)]
    pub warn: Option<u32>,
    #[serde(default)]
    pub review: Option<u32>,
    #[serde(default)]
    pub report: Option<u32>,
    #[serde(default)]
    pub confirm: Option<u32>,
    #[serde(default)]
    pub report_next_month: Option<u32>,
    #[serde(default)]
    pub citation: Option<Citation>,
}

/// How the 汇总 sheet counts (勐海 海发〔2018〕18号 layout).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Statistics {
    /// 主要风险类型/致贫原因 categories always shown, in order (each
    /// household is counted under one; shares add up to 100%).
    #[serde(default)]
    pub primary_causes: Vec<String>,
    /// 全县农村居民人均纯收入增幅 to compare 脱贫户 against (0.10 = 10%).
    #[serde(default)]
    pub county_income_growth: Option<Decimal>,
    #[serde(default)]
    pub citation: Option<Citation>,
}

/// What the locality's exports hold.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputsDef {
    /// Income columns (工资性收入, 生产经营性收入, 财产性收入, 转移性收入,
    /// 生产经营性支出) the locality does not collect: a roster without them
    /// is read with 0 for them. Any other missing one stops the run.
    #[serde(default)]
    pub unused_income: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFileDef {
    ruleset: Meta,
    labels: Labels,
    #[serde(default)]
    inputs: InputsDef,
    #[serde(default)]
    statistics: Statistics,
    #[serde(default)]
    review: Review,
    #[serde(default)]
    elimination: Elimination,
    #[serde(rename = "rule")]
    rules: Vec<RuleDef>,
    #[serde(default, rename = "measure")]
    measures: Vec<Measure>,
}

/// How a measured value is compared with a threshold, chosen from the
/// document's word (《民法典》第一千二百五十九条: “以上”“以下”包括本数，
/// “不满”“超过”不包括本数).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cmp {
    /// 低于 / 不满: strictly below.
    Below,
    /// 以下: at or below.
    AtOrBelow,
    /// 超过: strictly above.
    Above,
    /// 以上 / 达到: at or above.
    AtOrAbove,
}

impl Cmp {
    pub fn holds(self, value: Decimal, threshold: Decimal) -> bool {
        match self {
            Cmp::Below => value < threshold,
            Cmp::AtOrBelow => value <= threshold,
            Cmp::Above => value > threshold,
            Cmp::AtOrAbove => value >= threshold,
        }
    }
    /// The spreadsheet operator (for the forms' formulas).
    pub fn op(self) -> &'static str {
        match self {
            Cmp::Below => "<",
            Cmp::AtOrBelow => "<=",
            Cmp::Above => ">",
            Cmp::AtOrAbove => ">=",
        }
    }
    /// The word the forms print.
    pub fn word(self) -> &'static str {
        match self {
            Cmp::Below => "低于",
            Cmp::AtOrBelow => "不高于",
            Cmp::Above => "超过",
            Cmp::AtOrAbove => "达到",
        }
    }
    fn is_low(self) -> bool {
        matches!(self, Cmp::Below | Cmp::AtOrBelow)
    }
}

/// What counts as a risk of falling into poverty besides low income
/// (巴彦淖尔 四、第二类 “且有致贫风险”).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskFactor {
    /// 人均纯收入 below the poverty line (`poverty_line`).
    BelowPovertyLine,
    /// A rigid expense record in the last `risk_window_months` months.
    RigidExpense,
    /// A member with serious illness or disability (健康状况).
    IllnessOrDisability,
    /// A 两不愁三保障/饮水 item explicitly not met.
    GuaranteeShortfall,
    /// 劳动力人数 = 0.
    NoLabour,
}

impl RiskFactor {
    pub fn label(self) -> &'static str {
        match self {
            RiskFactor::BelowPovertyLine => "人均纯收入低于扶贫标准",
            RiskFactor::RigidExpense => "有刚性支出",
            RiskFactor::IllnessOrDisability => "家庭成员患大病、慢性病或残疾",
            RiskFactor::GuaranteeShortfall => "“两不愁三保障”或饮水未达标",
            RiskFactor::NoLabour => "无劳动力",
        }
    }
}

/// For some household types a low income alone is not enough.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskRequirement {
    pub for_types: Vec<HouseholdType>,
    pub factors: Vec<RiskFactor>,
    pub poverty_line: Option<Decimal>,
    pub window_months: u32,
}

/// Parameters of each rule kind. Unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Params {
    /// 人均纯收入 compared with `line`; for `risk.for_types` also one of
    /// the risk factors.
    IncomeBelowLine {
        line: Decimal,
        compare: Cmp,
        risk: Option<RiskRequirement>,
    },
    /// Out-of-pocket spending for `causes` within the last `window_months`
    /// months (the run month included) compared with `amount`. With
    /// `count_once`, a record counted in an earlier month's run is not
    /// counted again.
    SpendingOverAmount {
        amount: Decimal,
        causes: Vec<String>,
        window_months: u32,
        compare: Cmp,
        count_once: bool,
    },
    /// Rigid spending for `causes` within `window_months` compared with
    /// `ratio` × last year's household net income.
    SpendingOverLastYearIncome {
        causes: Vec<String>,
        window_months: u32,
        ratio: Decimal,
        compare: Cmp,
    },
    /// 家庭纯收入 fell against last year by `ratio` (compared).
    IncomeDrop { ratio: Decimal, compare: Cmp },
    /// 转移性收入 share of income at least `transfer_share` and per-capita
    /// net income without transfers compared with `line`.
    SubsidyHeavy {
        transfer_share: Decimal,
        line: Decimal,
        compare: Cmp,
    },
    /// 支出骤增: rigid spending of the last `window_months` months against
    /// the same months a year earlier, compared with `ratio` × that, and at
    /// least `min_amount`.
    SpendingSurge {
        causes: Vec<String>,
        window_months: u32,
        ratio: Decimal,
        min_amount: Decimal,
        compare: Cmp,
    },
    /// (家庭纯收入 − rigid spending of the last `window_months` months) ÷
    /// 家庭人口 compared with `poverty_line`.
    NetAfterSpendingBelowLine {
        causes: Vec<String>,
        window_months: u32,
        poverty_line: Decimal,
        compare: Cmp,
    },
    /// Any of `items` (see `model::GUARANTEE_ITEMS`) explicitly not met.
    GuaranteeNotMet { items: Vec<String> },
    /// The household applied itself (农户申报 = 是).
    SelfApplication,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct P1 {
    line: Decimal,
    compare: Cmp,
    #[serde(default)]
    require_risk_for: Vec<String>,
    #[serde(default)]
    risk_factors: Vec<RiskFactor>,
    #[serde(default)]
    poverty_line: Option<Decimal>,
    #[serde(default)]
    risk_window_months: Option<u32>,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct P2 {
    amount: Decimal,
    causes: Vec<String>,
    window_months: u32,
    compare: Cmp,
    #[serde(default)]
    count_once: bool,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct P3 {
    causes: Vec<String>,
    window_months: u32,
    ratio: Decimal,
    compare: Cmp,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct P4 {
    ratio: Decimal,
    compare: Cmp,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct P5 {
    transfer_share: Decimal,
    line: Decimal,
    compare: Cmp,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct P6 {
    items: Vec<String>,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct P7 {}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct P8 {
    causes: Vec<String>,
    window_months: u32,
    ratio: Decimal,
    min_amount: Decimal,
    compare: Cmp,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct P9 {
    causes: Vec<String>,
    window_months: u32,
    poverty_line: Decimal,
    compare: Cmp,
}

pub const KINDS: &[&str] = &[
    "income_below_line",
    "spending_over_amount",
    "spending_over_last_year_income",
    "income_drop",
    "subsidy_heavy",
    "spending_surge",
    "net_after_spending_below_line",
    "guarantee_not_met",
    "self_application",
];

/// A comparison that fits the kind: incomes fall below, spending rises above.
fn check_cmp(c: Cmp, low: bool) -> std::result::Result<Cmp, String> {
    if c.is_low() == low {
        Ok(c)
    } else if low {
        Err("compare 应为 below（低于）或 at_or_below（以下）".into())
    } else {
        Err("compare 应为 above（超过）或 at_or_above（以上）".into())
    }
}

/// Parse one `[[rule.params]]` table of a rule of `kind`.
fn parse_params(kind: &str, v: toml::Value, ctx: &str) -> std::result::Result<Params, String> {
    let bad = |e: toml::de::Error| format!("{ctx}有误：{}", e.message().trim());
    let at = |m: String| format!("{ctx}：{m}");
    Ok(match kind {
        "income_below_line" => {
            let p: P1 = v.try_into().map_err(bad)?;
            let risk = if p.require_risk_for.is_empty() {
                None
            } else {
                let for_types = p
                    .require_risk_for
                    .iter()
                    .map(|t| {
                        HouseholdType::parse(t)
                            .ok_or_else(|| at(format!("require_risk_for 中的户类型“{t}”无法识别")))
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                if p.risk_factors.is_empty() {
                    return Err(at("写了 require_risk_for 就要写 risk_factors".into()));
                }
                let poverty_line = p
                    .poverty_line
                    .map(|l| positive_money(ctx, "poverty_line", l))
                    .transpose()?;
                if p.risk_factors.contains(&RiskFactor::BelowPovertyLine) && poverty_line.is_none()
                {
                    return Err(at(
                        "risk_factors 含 below_poverty_line 时须给出 poverty_line".into(),
                    ));
                }
                let window_months = p.risk_window_months.unwrap_or(12);
                check_window(window_months).map_err(at)?;
                Some(RiskRequirement {
                    for_types,
                    factors: p.risk_factors,
                    poverty_line,
                    window_months,
                })
            };
            Params::IncomeBelowLine {
                line: positive_money(ctx, "line", p.line)?,
                compare: check_cmp(p.compare, true).map_err(at)?,
                risk,
            }
        }
        "spending_over_amount" => {
            let p: P2 = v.try_into().map_err(bad)?;
            check_causes(&p.causes).map_err(at)?;
            check_window(p.window_months).map_err(at)?;
            Params::SpendingOverAmount {
                amount: positive_money(ctx, "amount", p.amount)?,
                causes: p.causes,
                window_months: p.window_months,
                compare: check_cmp(p.compare, false).map_err(at)?,
                count_once: p.count_once,
            }
        }
        "spending_over_last_year_income" => {
            let p: P3 = v.try_into().map_err(bad)?;
            check_causes(&p.causes).map_err(at)?;
            check_window(p.window_months).map_err(at)?;
            Params::SpendingOverLastYearIncome {
                causes: p.causes,
                window_months: p.window_months,
                ratio: ratio_in(ctx, "ratio", p.ratio, Decimal::TEN)?,
                compare: check_cmp(p.compare, false).map_err(at)?,
            }
        }
        "income_drop" => {
            let p: P4 = v.try_into().map_err(bad)?;
            if p.ratio <= Decimal::ZERO || p.ratio >= Decimal::ONE {
                return Err(at("ratio 应在 0 与 1 之间".into()));
            }
            Params::IncomeDrop {
                ratio: p.ratio,
                compare: check_cmp(p.compare, false).map_err(at)?,
            }
        }
        "subsidy_heavy" => {
            let p: P5 = v.try_into().map_err(bad)?;
            Params::SubsidyHeavy {
                transfer_share: ratio_in(ctx, "transfer_share", p.transfer_share, Decimal::ONE)?,
                line: positive_money(ctx, "line", p.line)?,
                compare: check_cmp(p.compare, true).map_err(at)?,
            }
        }
        "spending_surge" => {
            let p: P8 = v.try_into().map_err(bad)?;
            check_causes(&p.causes).map_err(at)?;
            check_window(p.window_months).map_err(at)?;
            Params::SpendingSurge {
                causes: p.causes,
                window_months: p.window_months,
                ratio: ratio_in(ctx, "ratio", p.ratio, Decimal::ONE_HUNDRED)?,
                min_amount: positive_money(ctx, "min_amount", p.min_amount)?,
                compare: check_cmp(p.compare, false).map_err(at)?,
            }
        }
        "net_after_spending_below_line" => {
            let p: P9 = v.try_into().map_err(bad)?;
            check_causes(&p.causes).map_err(at)?;
            check_window(p.window_months).map_err(at)?;
            Params::NetAfterSpendingBelowLine {
                causes: p.causes,
                window_months: p.window_months,
                poverty_line: positive_money(ctx, "poverty_line", p.poverty_line)?,
                compare: check_cmp(p.compare, true).map_err(at)?,
            }
        }
        "guarantee_not_met" => {
            let p: P6 = v.try_into().map_err(bad)?;
            if let Some(x) = p
                .items
                .iter()
                .find(|i| crate::model::guarantee_item(i).is_none())
            {
                let names: Vec<&str> = crate::model::GUARANTEE_ITEMS
                    .iter()
                    .map(|i| i.name)
                    .collect();
                return Err(at(format!("items 中的“{x}”不是 {}", names.join("、"))));
            }
            if p.items.is_empty() {
                return Err(at("items 不能为空".into()));
            }
            Params::GuaranteeNotMet { items: p.items }
        }
        "self_application" => {
            let _: P7 = v.try_into().map_err(bad)?;
            Params::SelfApplication
        }
        other => {
            return Err(format!(
                "{ctx}：规则类型“{other}”不受支持；可用类型：{}",
                KINDS.join("、")
            ))
        }
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Dated {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
    pub params: Params,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub cause: Option<String>,
    pub applies_to: Option<Vec<HouseholdType>>,
    pub citation: Citation,
    pub values: Vec<Dated>,
}

impl Rule {
    /// The parameter set in force for the month starting `month_start`: a
    /// value takes effect for the month in which it is issued (the run
    /// happens after the month closes).
    pub fn params_for(&self, month_start: NaiveDate) -> Option<&Params> {
        let end = crate::normalize::month_end(month_start);
        self.values
            .iter()
            .filter(|d| d.from <= end && d.to.is_none_or(|t| t >= month_start))
            .max_by_key(|d| d.from)
            .map(|d| &d.params)
    }

    pub fn applies(&self, t: HouseholdType) -> bool {
        self.applies_to.as_ref().is_none_or(|v| v.contains(&t))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleSet {
    pub path: PathBuf,
    pub meta: Meta,
    pub labels: Labels,
    pub elimination: Elimination,
    pub inputs: InputsDef,
    pub statistics: Statistics,
    pub review: Review,
    pub rules: Vec<Rule>,
    pub measures: Vec<Measure>,
}

/// A money parameter must be a positive amount no household figure exceeds.
fn positive_money(ctx: &str, key: &str, v: Decimal) -> std::result::Result<Decimal, String> {
    if v <= Decimal::ZERO || v > crate::normalize::MAX_AMOUNT {
        Err(format!("{ctx}：{key} = {v} 不合理，应为大于0的金额（元）"))
    } else {
        Ok(v)
    }
}

/// A share or ratio must be above 0 and at most `max`.
fn ratio_in(
    ctx: &str,
    key: &str,
    v: Decimal,
    max: Decimal,
) -> std::result::Result<Decimal, String> {
    if v <= Decimal::ZERO || v > max {
        Err(format!("{ctx}：{key} = {v} 不合理，应大于0且不超过{max}"))
    } else {
        Ok(v)
    }
}

impl RuleSet {
    pub fn load(path: &Path) -> Result<RuleSet> {
        let err = |msg: String| MonitorError::Rules {
            path: path.to_path_buf(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            err(if e.kind() == std::io::ErrorKind::NotFound {
                "规则文件不存在".into()
            } else {
                format!("无法读取：{}", crate::error::io_detail(&e))
            })
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<RuleSet> {
        let err = |msg: String| MonitorError::Rules {
            path: path.to_path_buf(),
            msg,
        };
        let def: RuleFileDef =
            toml::from_str(text).map_err(|e| err(crate::error::toml_error(text, &e)))?;
        let mut rules = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in def.rules {
            if !seen.insert(r.id.clone()) {
                return Err(err(format!("规则编号“{}”重复", r.id)));
            }
            if r.params.is_empty() {
                return Err(err(format!(
                    "规则“{}”没有任何参数值（[[rule.params]]）",
                    r.id
                )));
            }
            let applies_to = match &r.applies_to {
                None => None,
                Some(list) => Some(
                    list.iter()
                        .map(|s| {
                            HouseholdType::parse(s).ok_or_else(|| {
                                err(format!(
                                    "规则“{}”的 applies_to 中有无法识别的户类型“{s}”",
                                    r.id
                                ))
                            })
                        })
                        .collect::<Result<Vec<_>>>()?,
                ),
            };
            let mut values = Vec::new();
            for (i, table) in r.params.iter().enumerate() {
                let mut t = table.clone();
                let ctx = format!("规则“{}”第{}组参数", r.id, i + 1);
                let date = |v: Option<toml::Value>, key: &str| -> Result<Option<NaiveDate>> {
                    match v {
                        None => Ok(None),
                        Some(v) => {
                            let s = match &v {
                                toml::Value::Datetime(d) => d.to_string(),
                                toml::Value::String(s) => s.clone(),
                                _ => String::new(),
                            };
                            parse_date_str(&s)
                                .map(Some)
                                .map_err(|_| err(format!("{ctx}的 {key} 不是日期：{v}")))
                        }
                    }
                };
                let from = date(t.remove("effective_from"), "effective_from")?
                    .ok_or_else(|| err(format!("{ctx}缺少生效日期 effective_from")))?;
                let to = date(t.remove("effective_to"), "effective_to")?;
                let v = toml::Value::Table(t);
                let params = parse_params(&r.kind, v, &ctx).map_err(err)?;
                values.push(Dated { from, to, params });
            }
            rules.push(Rule {
                id: r.id,
                name: r.name,
                kind: r.kind,
                cause: r.cause,
                applies_to,
                citation: r.citation,
                values,
            });
        }
        if rules.is_empty() {
            return Err(err("没有任何规则（[[rule]]）".into()));
        }
        if let Some(x) = def
            .inputs
            .unused_income
            .iter()
            .find(|x| !crate::validate::INCOME_COLUMNS.contains(&x.as_str()))
        {
            return Err(err(format!(
                "[inputs] unused_income 中的“{x}”不是 {}",
                crate::validate::INCOME_COLUMNS.join("、")
            )));
        }
        let r = &def.review;
        if let Some(x) = r
            .include_requires
            .iter()
            .chain(&r.eliminate_requires)
            .find(|x| !LEVELS.contains(&x.as_str()))
        {
            return Err(err(format!("[review] 中的“{x}”不是 {}", LEVELS.join("、"))));
        }
        if r.id_mask[0] + r.id_mask[1] > 10 {
            return Err(err(
                "[review] id_mask 最多显示 10 位（如 [6, 4]），其余必须隐去".into(),
            ));
        }
        if r.decline_margin < Decimal::ZERO || r.decline_margin > Decimal::ONE {
            return Err(err("[review] decline_margin 应在 0 与 1 之间".into()));
        }
        let c = &r.calendar;
        if [c.warn, c.review, c.report, c.confirm, c.report_next_month]
            .iter()
            .flatten()
            .any(|d| !(1..=31).contains(d))
        {
            return Err(err("[review.calendar] 的日期应在 1 到 31 之间".into()));
        }
        if !(1..=36).contains(&def.elimination.stable_months) {
            return Err(err("[elimination] stable_months 应在 1 到 36 之间".into()));
        }
        Ok(RuleSet {
            path: path.to_path_buf(),
            meta: def.ruleset,
            labels: def.labels,
            elimination: def.elimination,
            inputs: def.inputs,
            statistics: def.statistics,
            review: def.review,
            rules,
            measures: def.measures,
        })
    }

    /// Check that every rule has parameters in force for the month.
    pub fn check_month(&self, month_start: NaiveDate) -> Result<()> {
        for r in &self.rules {
            if r.params_for(month_start).is_none() {
                return Err(MonitorError::Rules {
                    path: self.path.clone(),
                    msg: format!(
                        "规则“{}”在 {} 没有生效的参数值，请在 [[rule.params]] 中补充该月适用的参数",
                        r.id,
                        month_start.format("%Y-%m")
                    ),
                });
            }
        }
        Ok(())
    }

    /// What reading the inputs needs to know of this rule file.
    pub fn load_options(&self) -> crate::validate::LoadOptions {
        crate::validate::LoadOptions {
            unused_income: self.inputs.unused_income.clone(),
        }
    }

    /// For a 不纳入 compared month to month: is a lower measured value of
    /// this rule worse (income rules), or a higher one (spending rules)?
    pub fn lower_is_worse(&self, rule_id: &str) -> bool {
        self.rules
            .iter()
            .find(|r| r.id == rule_id)
            .is_some_and(|r| {
                matches!(
                    r.kind.as_str(),
                    "income_below_line" | "net_after_spending_below_line"
                )
            })
    }

    /// Whether any rule needs income figures.
    pub fn needs_income(&self) -> bool {
        self.rules.iter().any(|r| {
            matches!(
                r.kind.as_str(),
                "income_below_line" | "income_drop" | "subsidy_heavy"
            )
        })
    }

    /// The (first) per-capita income line in force, for the forms.
    pub fn income_line(&self, month_start: NaiveDate) -> Option<Decimal> {
        self.rules
            .iter()
            .find_map(|r| match r.params_for(month_start) {
                Some(Params::IncomeBelowLine { line, .. }) => Some(*line),
                _ => None,
            })
    }

    /// The 收入骤减 ratio in force (the first income-drop rule) and how it
    /// compares, for the forms.
    pub fn income_drop_ratio(&self, month_start: NaiveDate) -> Option<(Decimal, Cmp)> {
        self.rules
            .iter()
            .find_map(|r| match r.params_for(month_start) {
                Some(Params::IncomeDrop { ratio, compare }) => Some((*ratio, *compare)),
                _ => None,
            })
    }

    /// How the income line compares (低于 / 以下), for the forms.
    pub fn income_line_cmp(&self, month_start: NaiveDate) -> Cmp {
        self.rules
            .iter()
            .find_map(|r| match r.params_for(month_start) {
                Some(Params::IncomeBelowLine { compare, .. }) => Some(*compare),
                _ => None,
            })
            .unwrap_or(Cmp::Below)
    }

    /// The windows (from, to, causes) of the count-once spending rules in
    /// force for the month: records in them are counted this month only.
    pub fn count_once_windows(
        &self,
        month_start: NaiveDate,
    ) -> Vec<(NaiveDate, NaiveDate, Vec<String>)> {
        let end = crate::normalize::month_end(month_start);
        self.rules
            .iter()
            .filter_map(|r| match r.params_for(month_start) {
                Some(Params::SpendingOverAmount {
                    window_months,
                    causes,
                    count_once: true,
                    ..
                }) => Some((
                    months_back(month_start, window_months - 1),
                    end,
                    causes.clone(),
                )),
                _ => None,
            })
            .collect()
    }

    /// The longest spending window, for the forms' 刚性支出 block.
    pub fn spending_window(&self, month_start: NaiveDate) -> NaiveDate {
        let months = self
            .rules
            .iter()
            .filter_map(|r| match r.params_for(month_start) {
                Some(Params::SpendingOverAmount { window_months, .. })
                | Some(Params::SpendingOverLastYearIncome { window_months, .. })
                | Some(Params::SpendingSurge { window_months, .. })
                | Some(Params::NetAfterSpendingBelowLine { window_months, .. }) => {
                    Some(*window_months)
                }
                _ => None,
            })
            .max()
            .unwrap_or(12);
        months_back(month_start, months - 1)
    }
}

fn check_causes(causes: &[String]) -> std::result::Result<(), String> {
    match causes
        .iter()
        .find(|c| !crate::model::EXPENSE_CAUSES.contains(&c.as_str()))
    {
        Some(c) => Err(format!(
            "causes 中的“{c}”不是支出类型；可用：{}",
            crate::model::EXPENSE_CAUSES.join("、")
        )),
        None if causes.is_empty() => Err("causes 不能为空".into()),
        None => Ok(()),
    }
}

fn check_window(m: u32) -> std::result::Result<(), String> {
    if (1..=36).contains(&m) {
        Ok(())
    } else {
        Err("window_months 应在 1 到 36 之间".into())
    }
}

/// All rule files in a directory (`*.toml` that are not `*.cases.toml`).
pub fn rule_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| MonitorError::Rules {
        path: dir.to_path_buf(),
        msg: format!("无法读取规则目录：{e}"),
    })?;
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "toml")
                && !p.to_string_lossy().ends_with(".cases.toml")
        })
        .collect();
    v.sort();
    Ok(v)
}

/// `<dir>/<name>.cases.toml` beside `<dir>/<name>.toml`.
pub fn cases_path(rule_file: &Path) -> PathBuf {
    let stem = rule_file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    rule_file.with_file_name(format!("{stem}.cases.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[ruleset]
id = "t"
locality = "测试县"
document = "测试文件"
issued = "2020-01-01"
seed = "x.txt"
[labels]
returning = "脱贫监测户"
returning_risk = "返贫风险"
new = "边缘户"
new_risk = "致贫风险"
citation = { clause = "一", text = "两类" }
"#;

    fn parse(rules: &str) -> Result<RuleSet> {
        RuleSet::parse(&format!("{BASE}{rules}"), Path::new("t.toml"))
    }

    #[test]
    fn dated_parameters_pick_the_value_in_force() {
        let rs = parse(
            r#"
[[rule]]
id = "line"
name = "收入线"
kind = "income_below_line"
cause = "收入偏低"
citation = { clause = "一", text = "x" }
[[rule.params]]
effective_from = 2020-01-01
line = 4428
compare = "below"
[[rule.params]]
effective_from = 2021-01-01
line = "6000"
compare = "at_or_below"
"#,
        )
        .unwrap();
        let r = &rs.rules[0];
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        assert_eq!(
            r.params_for(d(2020, 3)),
            Some(&Params::IncomeBelowLine {
                line: Decimal::from(4428),
                compare: Cmp::Below,
                risk: None,
            })
        );
        assert_eq!(
            r.params_for(d(2021, 3)),
            Some(&Params::IncomeBelowLine {
                line: Decimal::from(6000),
                compare: Cmp::AtOrBelow,
                risk: None,
            })
        );
        assert_eq!(r.params_for(d(2019, 12)), None);
        assert!(rs
            .check_month(d(2019, 12))
            .unwrap_err()
            .to_string()
            .contains("2019-12"));
    }

    #[test]
    fn unknown_parameter_is_refused_with_rule_id() {
        let e = parse(
            r#"
[[rule]]
id = "line"
name = "收入线"
kind = "income_below_line"
citation = { clause = "一", text = "x" }
[[rule.params]]
effective_from = 2020-01-01
line = 4428
treshold = 1
"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line") && e.contains("treshold"), "{e}");
    }

    #[test]
    fn unknown_kind_and_cause_are_refused() {
        let e = parse(
            r#"
[[rule]]
id = "x"
name = "x"
kind = "magic"
citation = { clause = "一", text = "x" }
[[rule.params]]
effective_from = 2020-01-01
"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("magic"), "{e}");
        let e = parse(
            r#"
[[rule]]
id = "x"
name = "x"
kind = "spending_over_amount"
citation = { clause = "一", text = "x" }
[[rule.params]]
effective_from = 2020-01-01
amount = 5000
causes = ["因穷"]
window_months = 2
compare = "above"
"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("因穷"), "{e}");
    }

    #[test]
    fn a_comparison_must_fit_the_rule() {
        let rule = |cmp: &str| {
            parse(&format!(
                r#"
[[rule]]
id = "x"
name = "x"
kind = "income_below_line"
citation = {{ clause = "一", text = "x" }}
[[rule.params]]
effective_from = 2020-01-01
line = 5000
compare = "{cmp}"
"#
            ))
        };
        assert!(rule("at_or_below").is_ok());
        let e = rule("above").unwrap_err().to_string();
        assert!(e.contains("below"), "{e}");
        assert!(rule("less").is_err());
        assert!(Cmp::AtOrBelow.holds(Decimal::from(5000), Decimal::from(5000)));
        assert!(!Cmp::Below.holds(Decimal::from(5000), Decimal::from(5000)));
        assert!(!Cmp::Above.holds(Decimal::from(5000), Decimal::from(5000)));
        assert!(Cmp::AtOrAbove.holds(Decimal::from(5000), Decimal::from(5000)));
    }

    #[test]
    fn missing_citation_is_refused() {
        let e = parse(
            r#"
[[rule]]
id = "x"
name = "x"
kind = "self_application"
[[rule.params]]
effective_from = 2020-01-01
"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("citation"), "{e}");
    }
}

/// Citation checks against the seed documents (`../shared/seeds`, beside
/// the repository in every checkout and in CI).
#[cfg(test)]
mod citations {
    use super::*;

    fn fold(s: &str) -> String {
        crate::normalize::fold_width(s)
            .chars()
            .filter(|c| {
                !c.is_whitespace() && !matches!(c, '“' | '”' | '"' | '、' | '，' | ',' | '。')
            })
            .collect()
    }

    /// Every fragment of `text` between "……" or "；" must be words of the
    /// document: a citation quotes, it does not paraphrase.
    fn missing<'a>(text: &'a str, seed: &str) -> Vec<&'a str> {
        let seed = fold(seed);
        text.split(['；', ';'])
            .flat_map(|p| p.split("……"))
            .map(str::trim)
            .filter(|f| f.chars().count() >= 2 && !seed.contains(&fold(f)))
            .collect()
    }

    #[test]
    fn every_citation_quotes_its_document() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let seeds = repo.join("../shared/seeds");
        if !seeds.exists() {
            eprintln!("skipped: {} not found", seeds.display());
            return;
        }
        let mut bad = Vec::new();
        for f in rule_files(&repo.join("rules")).unwrap() {
            let rs = RuleSet::load(&f).unwrap();
            let seed = std::fs::read_to_string(seeds.join(&rs.meta.seed)).unwrap();
            let mut cites: Vec<(String, &Citation)> = vec![
                ("labels".into(), &rs.labels.citation),
                ("elimination".into(), &rs.elimination.citation),
            ];
            cites.extend(rs.rules.iter().map(|r| (r.id.clone(), &r.citation)));
            cites.extend(
                rs.measures
                    .iter()
                    .map(|m| (format!("measure {}", m.category), &m.citation)),
            );
            for (what, c) in cites {
                for m in missing(&c.text, &seed) {
                    bad.push(format!("{} {what}: “{m}”", rs.meta.id));
                }
            }
        }
        assert!(bad.is_empty(), "not in the documents:\n{}", bad.join("\n"));
    }
}

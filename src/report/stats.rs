//! Statistics of the 汇总 sheet beyond plain counts: one 主要风险类型 per
//! household in the layout of 勐海 海发〔2018〕18号 二、（一）1 (户, 人,
//! 户占%, 人占%, adding up to the total), and the 脱贫户 by 脱贫年度 with
//! the income growth the 2018 plan asks for (一、…“使脱贫户人均纯收入增幅
//! 高于全县平均水平”).

use super::RiskRow;
use crate::assess::Assessment;
use crate::model::{canonical_cause, Household, HouseholdType};
use rust_decimal::Decimal;

/// One line of the primary-cause table.
#[derive(Debug, Clone, PartialEq)]
pub struct CauseLine {
    pub cause: String,
    pub households: u32,
    pub people: u32,
    /// 户占%, 人占% (2 decimals; each column adds up to 100.00).
    pub household_share: Decimal,
    pub people_share: Decimal,
}

/// Percentages of `counts` at 2 decimals that add up to exactly 100.00
/// (largest remainder); all zero when the total is zero.
pub fn shares(counts: &[u32]) -> Vec<Decimal> {
    let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    if total == 0 {
        return vec![Decimal::ZERO; counts.len()];
    }
    // In hundredths of a percent: 10,000 units to hand out.
    let exact: Vec<(u64, u64)> = counts
        .iter()
        .map(|&c| {
            let x = u64::from(c) * 10_000;
            (x / total, x % total)
        })
        .collect();
    let mut units: Vec<u64> = exact.iter().map(|e| e.0).collect();
    let left = 10_000 - units.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| exact[b].1.cmp(&exact[a].1).then(a.cmp(&b)));
    for &i in order.iter().take(left as usize) {
        units[i] += 1;
    }
    units
        .into_iter()
        .map(|u| Decimal::new(u as i64, 2))
        .collect()
}

/// A cause as written in a roster's 主要致贫原因 column, in the 2018
/// plan's words where it has one.
pub fn cause_2018(raw: &str) -> String {
    let t: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.trim_start_matches('因');
    let named = match t {
        "缺劳力" | "缺劳动力" | "缺乏劳动力" | "无劳动力" => "缺劳力",
        "缺技术" | "缺乏技术" => "缺技术",
        "缺资金" | "缺乏资金" => "缺资金",
        "自身发展动力不足" | "内生动力不足" | "发展动力不足" => {
            "自身发展动力不足"
        }
        "交通条件落后" | "交通落后" => "交通条件落后",
        "缺土地" | "缺耕地" => "缺土地",
        _ => return canonical_cause(raw).map_or_else(|| raw.trim().to_string(), str::to_string),
    };
    named.to_string()
}

/// The one cause a household is counted under: the roster's 主要致贫原因
/// when given, else the first cause of the first rule that fired (rules in
/// rule-file order).
pub fn primary_cause(r: &RiskRow) -> String {
    if !r.h.main_cause.trim().is_empty() {
        return cause_2018(&r.h.main_cause);
    }
    r.a.triggers
        .first()
        .and_then(|t| t.causes.first())
        .map_or_else(|| "本月未触发预警".to_string(), |c| c.to_string())
}

/// The primary-cause table: the rule file's categories first (shown even
/// when empty), then any other cause met, largest first.
pub fn primary_cause_table(rows: &[&RiskRow], categories: &[String]) -> Vec<CauseLine> {
    let mut counts: Vec<(String, u32, u32)> =
        categories.iter().map(|c| (c.clone(), 0, 0)).collect();
    let fixed = counts.len();
    for r in rows {
        let c = primary_cause(r);
        match counts.iter_mut().find(|x| x.0 == c) {
            Some(x) => {
                x.1 += 1;
                x.2 += r.h.size;
            }
            None => counts.push((c, 1, r.h.size)),
        }
    }
    counts[fixed..].sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let hs = shares(&counts.iter().map(|c| c.1).collect::<Vec<_>>());
    let ps = shares(&counts.iter().map(|c| c.2).collect::<Vec<_>>());
    counts
        .into_iter()
        .zip(hs.into_iter().zip(ps))
        .map(|((cause, households, people), (h, p))| CauseLine {
            cause,
            households,
            people,
            household_share: h,
            people_share: p,
        })
        .collect()
}

/// 脱贫户 of one 脱贫年度.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct YearLine {
    pub year: String,
    /// 脱贫户 on the roster.
    pub households: u32,
    /// Of them, under monitoring this month.
    pub monitored: u32,
    /// With this year's and last year's 家庭纯收入 both known.
    pub with_both_incomes: u32,
    /// Of those, income growth below the county average (when configured).
    pub slower_than_county: u32,
}

/// 脱贫户 by 脱贫年度 (blank as “（未填）”), oldest first.
pub fn by_tuopin_year(
    households: &[Household],
    assessments: &[Assessment],
    monitored: &std::collections::HashSet<&str>,
    county_growth: Option<Decimal>,
) -> Vec<YearLine> {
    let mut lines: std::collections::BTreeMap<String, YearLine> = Default::default();
    for (h, a) in households.iter().zip(assessments) {
        if !matches!(
            h.hh_type,
            HouseholdType::Tuopin | HouseholdType::TuopinMonitor
        ) {
            continue;
        }
        let year = match h.tuopin_year.trim() {
            "" => "（未填）".to_string(),
            y => y.trim_end_matches('年').to_string(),
        };
        let l = lines.entry(year.clone()).or_default();
        l.year = year;
        l.households += 1;
        l.monitored += u32::from(monitored.contains(h.id.as_str()));
        if let (Some(now), Some(last)) = (a.net_income, h.last_year_net) {
            if last > Decimal::ZERO {
                l.with_both_incomes += 1;
                let growth = now.checked_sub(last).and_then(|d| d.checked_div(last));
                if let (Some(g), Some(avg)) = (growth, county_growth) {
                    l.slower_than_county += u32::from(g < avg);
                }
            }
        }
    }
    lines.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn shares_add_up_to_a_hundred() {
        let s = shares(&[1, 1, 1]);
        assert_eq!(s, vec![dec!(33.34), dec!(33.33), dec!(33.33)]);
        assert_eq!(s.iter().sum::<Decimal>(), dec!(100.00));
        // The 2018 plan's own figures: 157 of 796 households is 19.72%.
        let plan = [157, 99, 174, 41, 7, 255, 20, 7, 36];
        let s = shares(&plan);
        assert_eq!(s[0], dec!(19.72));
        assert_eq!(s.iter().sum::<Decimal>(), dec!(100.00));
        assert_eq!(shares(&[0, 0]), vec![Decimal::ZERO, Decimal::ZERO]);
    }

    #[test]
    fn roster_causes_in_the_2018_words() {
        assert_eq!(cause_2018("缺劳动力"), "缺劳力");
        assert_eq!(cause_2018("因缺技术"), "缺技术");
        assert_eq!(cause_2018("内生动力不足"), "自身发展动力不足");
        assert_eq!(cause_2018("疾病"), "因病");
        assert_eq!(cause_2018("其它原因"), "其它原因");
    }
}

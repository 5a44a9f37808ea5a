//! Domain types shared along the data flow.

use crate::error::Location;
use chrono::NaiveDate;
use compact_str::CompactString;
use rust_decimal::Decimal;
use serde::Serialize;
/// Short texts that repeat across records (乡镇, 村, 组, 与户主关系, 健康状况…)
/// are interned for the run: a record holds an 8-byte handle instead of a
/// 24-byte string (two million households, seven million members).
pub use ustr::Ustr;

/// 户类型 as exported. 2020 names and their 2021+ equivalents are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord, Default)]
pub enum HouseholdType {
    /// 脱贫户 (已脱贫建档立卡户)
    Tuopin,
    /// 未脱贫户 (建档立卡贫困户, not yet out of poverty): a group of its
    /// own, never reported as 脱贫监测户 or 边缘户.
    Poor,
    /// 脱贫监测户 / 脱贫不稳定户 (already under monitoring)
    TuopinMonitor,
    /// 边缘户 / 边缘易致贫户 (already under monitoring)
    Edge,
    /// 一般农户 (非建档立卡)
    #[default]
    General,
    /// 突发严重困难户
    Sudden,
}

impl HouseholdType {
    pub fn parse(s: &str) -> Option<Self> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        Some(match s.as_str() {
            "脱贫户" | "已脱贫户" | "建档立卡脱贫户" | "已脱贫" | "脱贫人口" => {
                HouseholdType::Tuopin
            }
            "贫困户" | "建档立卡户" | "建档立卡贫困户" | "未脱贫户" | "未脱贫" | "贫困人口" => {
                HouseholdType::Poor
            }
            "脱贫监测户" | "脱贫不稳定户" | "监测户" => HouseholdType::TuopinMonitor,
            "边缘户" | "边缘易致贫户" | "边缘易致贫" => HouseholdType::Edge,
            "一般农户" | "一般户" | "农户" | "非建档立卡户" | "非贫困户" | "一般农牧户" => {
                HouseholdType::General
            }
            "突发严重困难户" | "突发困难户" => HouseholdType::Sudden,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            HouseholdType::Tuopin => "脱贫户",
            HouseholdType::Poor => "未脱贫户",
            HouseholdType::TuopinMonitor => "脱贫监测户",
            HouseholdType::Edge => "边缘户",
            HouseholdType::General => "一般农户",
            HouseholdType::Sudden => "突发严重困难户",
        }
    }

    /// The roster already lists the household as a monitoring object
    /// (monitored before the tool kept history).
    pub fn already_monitored(self) -> bool {
        matches!(
            self,
            HouseholdType::TuopinMonitor | HouseholdType::Edge | HouseholdType::Sudden
        )
    }
}

/// The four income components and production costs, annual, in 元.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Income {
    pub wage: Decimal,
    pub business: Decimal,
    pub property: Decimal,
    pub transfer: Decimal,
    pub cost: Decimal,
}

impl Income {
    /// 家庭收入合计 K = L + M + N + P (`None` only on overflow, which the
    /// bound on amounts read rules out).
    pub fn total(&self) -> Option<Decimal> {
        self.wage
            .checked_add(self.business)?
            .checked_add(self.property)?
            .checked_add(self.transfer)
    }
    /// 家庭纯收入 S = K − R
    pub fn net(&self) -> Option<Decimal> {
        self.total()?.checked_sub(self.cost)
    }
}

/// One 两不愁三保障 / 饮水 item a rule file may check, with the roster
/// columns it is read from.
#[derive(Debug, Clone, Copy)]
pub struct GuaranteeItem {
    pub name: &'static str,
    /// Header names accepted (the first is the canonical column name).
    pub columns: &'static [&'static str],
    /// The column answers the opposite question (是否危房户: 是 = not met).
    pub yes_is_shortfall: bool,
}

/// Every item the rule files can name (`guarantee_not_met` items).
pub const GUARANTEE_ITEMS: &[GuaranteeItem] = &[
    GuaranteeItem {
        name: "不愁吃",
        columns: &["不愁吃", "吃不愁", "是否不愁吃", "不愁吃达标"],
        yes_is_shortfall: false,
    },
    GuaranteeItem {
        name: "不愁穿",
        columns: &["不愁穿", "穿不愁", "是否不愁穿", "不愁穿达标"],
        yes_is_shortfall: false,
    },
    GuaranteeItem {
        name: "义务教育",
        columns: &[
            "义务教育保障",
            "义务教育有保障",
            "义务教育是否有保障",
            "义务教育",
        ],
        yes_is_shortfall: false,
    },
    GuaranteeItem {
        name: "基本医疗",
        columns: &[
            "基本医疗保障",
            "基本医疗有保障",
            "基本医疗是否有保障",
            "基本医疗",
        ],
        yes_is_shortfall: false,
    },
    GuaranteeItem {
        name: "住房安全",
        columns: &[
            "住房安全保障",
            "住房安全有保障",
            "住房安全是否有保障",
            "住房安全",
        ],
        yes_is_shortfall: false,
    },
    GuaranteeItem {
        name: "饮水安全",
        columns: &[
            "饮水安全保障",
            "饮水安全有保障",
            "饮水安全",
            "是否解决安全饮用水",
            "饮水是否安全",
        ],
        yes_is_shortfall: false,
    },
    GuaranteeItem {
        name: "饮水水量",
        columns: &["饮水水量达标", "水量达标", "水量", "饮水水量"],
        yes_is_shortfall: false,
    },
    GuaranteeItem {
        name: "饮水水质",
        columns: &["饮水水质达标", "水质达标", "水质", "饮水水质"],
        yes_is_shortfall: false,
    },
    GuaranteeItem {
        name: "用水方便程度",
        columns: &["用水方便程度达标", "用水方便程度", "用水方便", "取水方便"],
        yes_is_shortfall: false,
    },
    GuaranteeItem {
        name: "供水保证率",
        columns: &["供水保证率达标", "供水保证率", "供水保证"],
        yes_is_shortfall: false,
    },
    GuaranteeItem {
        name: "危房",
        columns: &[
            "是否危房户",
            "危房户",
            "危房等级",
            "住房危险等级",
            "房屋危险等级",
        ],
        yes_is_shortfall: true,
    },
];

pub fn guarantee_item(name: &str) -> Option<&'static GuaranteeItem> {
    GUARANTEE_ITEMS.iter().find(|i| i.name == name)
}

/// 两不愁三保障 and 饮水 as read: item → met (`false` = explicitly not
/// met); an item not set was not stated. Two bit sets over
/// [`GUARANTEE_ITEMS`] (a province holds millions of these).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Guarantees {
    stated: u32,
    met: u32,
}

const _: () = assert!(GUARANTEE_ITEMS.len() <= 32);

impl Guarantees {
    fn bit(item: &str) -> Option<u32> {
        GUARANTEE_ITEMS
            .iter()
            .position(|i| i.name == item)
            .map(|k| 1 << k)
    }

    pub fn get(&self, item: &str) -> Option<bool> {
        let b = Self::bit(item)?;
        (self.stated & b != 0).then_some(self.met & b != 0)
    }

    /// Record an item's answer; `item` is one of [`GUARANTEE_ITEMS`]
    /// (callers look it up with [`guarantee_item`]).
    pub fn set(&mut self, item: &str, met: bool) {
        let b = Self::bit(item).expect("a GUARANTEE_ITEMS name");
        self.stated |= b;
        if met {
            self.met |= b;
        } else {
            self.met &= !b;
        }
    }

    /// Any stated item not met.
    pub fn any_not_met(&self) -> bool {
        self.stated & !self.met != 0
    }

    /// The stated items and their answers, in the order of [`GUARANTEE_ITEMS`].
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, bool)> + '_ {
        GUARANTEE_ITEMS
            .iter()
            .enumerate()
            .filter(|(k, _)| self.stated & (1 << k) != 0)
            .map(|(k, i)| (i.name, self.met & (1 << k) != 0))
    }
}

impl Serialize for Guarantees {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // By name, as the map this replaced wrote them.
        let mut items: Vec<(&str, bool)> = self.iter().collect();
        items.sort_unstable();
        s.collect_map(items)
    }
}

/// A member's health as exported (健康状况), read as whether it is a
/// serious illness or a disability (a risk of falling into poverty).
pub fn serious_health(health: &str) -> bool {
    let h = health.trim();
    !h.is_empty()
        && !matches!(h, "健康" | "良好" | "一般" | "正常")
        && [
            "大病",
            "重病",
            "残疾",
            "慢性病",
            "长期慢性病",
            "患有",
            "癌",
            "瘫",
        ]
        .iter()
        .any(|k| h.contains(k))
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Household {
    pub id: CompactString,
    pub head_name: CompactString,
    pub id_no: CompactString,
    pub phone: CompactString,
    pub township: Ustr,
    pub village: Ustr,
    pub group: Ustr,
    pub hh_type: HouseholdType,
    pub size: u32,
    pub labor: Option<u32>,
    /// 常住人口 when the roster gives it.
    pub resident: Option<u32>,
    pub tuopin_year: Ustr,
    /// 主要致贫原因/主要风险类型 as the roster states it ("" when absent).
    pub main_cause: Ustr,
    pub income: Option<Income>,
    /// 上年家庭纯收入 (or 上年人均纯收入 × 家庭人口).
    pub last_year_net: Option<Decimal>,
    pub guarantees: Guarantees,
    pub applied: Option<bool>,
    pub applied_cause: Ustr,
    /// Its row in the roster (1-based; 0: not read from this month's
    /// roster). The file and sheet are the month's, in [`MonthData`]: not
    /// a copy of them for each of a province's households.
    #[serde(skip)]
    pub row: u32,
}

impl Household {
    /// 人均纯收入 T = S ÷ A, 2 decimals, half away from zero.
    pub fn per_capita_net(&self) -> Option<Decimal> {
        let inc = self.income.as_ref()?;
        if self.size == 0 {
            return None;
        }
        inc.net()?
            .checked_div(Decimal::from(self.size))
            .map(crate::normalize::round2)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub hh_id: CompactString,
    pub name: CompactString,
    pub id_no: CompactString,
    pub relation: Ustr,
    /// 健康状况 as exported ("" when not given).
    pub health: Ustr,
}

/// One out-of-pocket / department warning record.
#[derive(Debug, Clone, Serialize)]
pub struct Expense {
    pub hh_id: String,
    pub cause: String,
    pub amount: Decimal,
    pub date: NaiveDate,
    pub source_unit: String,
    pub person: String,
    /// The month whose run already counted this record for a `count_once`
    /// rule (勐海: a department warning counts in one monthly run only).
    pub counted_in: Option<String>,
    #[serde(skip)]
    pub source: Location,
}

impl Expense {
    /// What identifies the record across months and files.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}",
            self.hh_id,
            self.person,
            self.date,
            self.cause,
            self.amount.normalize(),
            self.source_unit
        )
    }
}

/// A row skipped or doubtful, for the 数据问题 sheet.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DataIssue {
    pub loc: Location,
    pub value: String,
    /// "已跳过" (row not used) or "存疑" (used, but check it).
    pub severity: &'static str,
    pub reason: String,
}

/// Everything read for one month, after normalization.
#[derive(Debug, Clone, Default)]
pub struct MonthData {
    /// The roster's file and sheet (no row): where the households were read.
    pub roster: Location,
    pub households: Vec<Household>,
    pub members: Vec<Member>,
    pub expenses: Vec<Expense>,
    pub issues: Vec<DataIssue>,
}

/// Risk-cause names used across rule files (national-system wording).
pub const EXPENSE_CAUSES: &[&str] = &[
    "因病",
    "因学",
    "因灾",
    "因残",
    "因意外事故",
    "因产业失败",
    "因就业不稳定",
    "因疫情",
    "其他",
];

/// Map the many spellings of an expense type to the canonical cause.
pub fn canonical_cause(s: &str) -> Option<&'static str> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t
        .trim_end_matches("支出")
        .trim_end_matches("致贫")
        .trim_end_matches("返贫");
    Some(match t {
        "因病" | "疾病" | "医疗" | "大病" | "慢性病" | "住院" | "合规自付医疗" | "医疗费用" => {
            "因病"
        }
        "因学" | "教育" | "上学" | "就学" | "学费" | "教育费用" => "因学",
        "因灾" | "因自然灾害" | "自然灾害" | "灾害" | "受灾" | "灾害损失" => {
            "因灾"
        }
        "因残" | "残疾" | "康复" | "护理" => "因残",
        "因意外事故" | "意外事故" | "意外" | "事故" => "因意外事故",
        "因产业失败" | "因产业项目失败" | "产业失败" => "因产业失败",
        "因就业不稳定" | "因务工就业不稳" | "务工就业不稳" | "就业不稳定" | "因就业不稳" => {
            "因就业不稳定"
        }
        "因疫情" | "疫情" | "因新冠肺炎疫情" | "新冠肺炎疫情" => "因疫情",
        "其他" | "其它" => "其他",
        _ => return None,
    })
}

/// Records (members, expenses) grouped by their household once, in their
/// order of reading: one sorted list of references and a range per
/// household, not a list per household (two million small allocations in
/// a province).
pub struct ByHousehold<'a, T> {
    sorted: Vec<&'a T>,
    key: fn(&T) -> &str,
    /// Each household's range in `sorted`.
    ranges: crate::keyindex::KeyIndex<(u32, u32)>,
}

impl<'a, T> ByHousehold<'a, T> {
    pub fn new(items: &'a [T], key: fn(&T) -> &str) -> Self {
        let mut sorted: Vec<&'a T> = items.iter().collect();
        // Usually each household's records come together (a member list
        // is written household by household): then they need no sorting
        // (a province's 7,000,000 members took 1.5 s to sort).
        let ranges = match runs(&sorted, key) {
            Some(ranges) => ranges,
            None => {
                // Stable: a household's records keep the order they were read in.
                sorted.sort_by(|a, b| key(a).cmp(key(b)));
                runs(&sorted, key).unwrap_or_else(|| unreachable!("sorted records form runs"))
            }
        };
        ByHousehold {
            sorted,
            key,
            ranges,
        }
    }

    /// The records of household `id` (none: empty).
    pub fn get(&self, id: &str) -> &[&'a T] {
        let of = |&(a, _): &(u32, u32)| (self.key)(self.sorted[a as usize]);
        match self.ranges.get(id, of) {
            Some((a, b)) => &self.sorted[a as usize..b as usize],
            None => &[],
        }
    }
}

/// The range of each run of records with one key, when no key has two
/// runs (`None`: the records are not grouped by their key).
fn runs<T>(records: &[&T], key: fn(&T) -> &str) -> Option<crate::keyindex::KeyIndex<(u32, u32)>> {
    let mut ranges = crate::keyindex::KeyIndex::with_capacity(0);
    let mut start = 0usize;
    while start < records.len() {
        let k = key(records[start]);
        let end = records[start..]
            .iter()
            .position(|x| key(x) != k)
            .map_or(records.len(), |n| start + n);
        let of = |&(a, _): &(u32, u32)| key(records[a as usize]);
        if ranges.insert(k, (start as u32, end as u32), of).is_some() {
            return None;
        }
        start = end;
    }
    Some(ranges)
}

impl<'a> ByHousehold<'a, Member> {
    pub fn members(items: &'a [Member]) -> Self {
        Self::new(items, |m| m.hh_id.as_str())
    }
}

impl<'a> ByHousehold<'a, Expense> {
    pub fn expenses(items: &'a [Expense]) -> Self {
        Self::new(items, |e| e.hh_id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn household_types_old_and_new_names() {
        assert_eq!(
            HouseholdType::parse("脱贫不稳定户"),
            Some(HouseholdType::TuopinMonitor)
        );
        assert_eq!(
            HouseholdType::parse("边缘易致贫户"),
            Some(HouseholdType::Edge)
        );
        assert_eq!(
            HouseholdType::parse(" 一般农户 "),
            Some(HouseholdType::General)
        );
        assert_eq!(HouseholdType::parse("五保户"), None);
        // 未脱贫户 are their own group, not 脱贫户.
        assert_eq!(HouseholdType::parse("贫困户"), Some(HouseholdType::Poor));
        assert_eq!(HouseholdType::parse("未脱贫户"), Some(HouseholdType::Poor));
        assert_eq!(
            HouseholdType::parse("已脱贫户"),
            Some(HouseholdType::Tuopin)
        );
    }

    #[test]
    fn serious_illness_or_disability() {
        assert!(serious_health("长期慢性病"));
        assert!(serious_health("残疾"));
        assert!(serious_health("患有大病"));
        assert!(!serious_health("健康"));
        assert!(!serious_health(""));
    }

    #[test]
    fn cause_spellings() {
        assert_eq!(canonical_cause("医疗支出"), Some("因病"));
        assert_eq!(canonical_cause("因自然灾害"), Some("因灾"));
        assert_eq!(canonical_cause("因务工就业不稳"), Some("因就业不稳定"));
        assert_eq!(canonical_cause("买车"), None);
    }

    #[test]
    fn by_household_keeps_each_households_records_in_reading_order() {
        let m = |hh: &str, name: &str| Member {
            hh_id: hh.into(),
            name: name.into(),
            id_no: "".into(),
            relation: "".into(),
            health: "".into(),
        };
        let all = [
            m("B", "b1"),
            m("A", "a1"),
            m("B", "b2"),
            m("C", "c1"),
            m("A", "a2"),
        ];
        // The names of household `id`'s members, as grouped from `all`.
        fn names(all: &[Member], id: &str) -> Vec<String> {
            let g = ByHousehold::members(all);
            g.get(id).iter().map(|x| x.name.to_string()).collect()
        }
        let names_in = |id: &str| names(&all, id);
        assert_eq!(names_in("A"), ["a1", "a2"]);
        assert_eq!(names_in("B"), ["b1", "b2"]);
        assert_eq!(names_in("C"), ["c1"]);
        assert!(names_in("D").is_empty());
        // Grouped as read, and grouped but for one record at the end.
        for (all, a) in [
            (
                vec![m("A", "a1"), m("A", "a2"), m("B", "b1")],
                vec!["a1", "a2"],
            ),
            (
                vec![m("A", "a1"), m("A", "a2"), m("B", "b1"), m("A", "a3")],
                vec!["a1", "a2", "a3"],
            ),
        ] {
            assert_eq!(names(&all, "A"), a);
            assert_eq!(names(&all, "B"), ["b1"]);
            assert!(names(&all, "C").is_empty());
        }
    }
}

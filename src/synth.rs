//! Synthetic counties for the bundled example and for the benchmarks.
//! Deterministic for a given seed, so the example files can be rebuilt.
//! Nothing here is real data: names, IDs and places are generated.

use crate::normalize::fold_width;
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};
use std::path::Path;

/// SplitMix64: a tiny fixed generator so the same seed always gives the
/// same county, whatever crate versions are in the lock file.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

const SURNAMES: &[&str] = &[
    "李", "王", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "普", "何", "罗", "施", "毕", "岩",
    "玉",
];
const GIVEN: &[&str] = &[
    "国华", "建明", "秀英", "玉兰", "志强", "桂芳", "德兴", "红梅", "文军", "丽萍", "小龙", "春梅",
    "海涛", "应福", "金花", "永贵",
];
pub const TOWNSHIPS: &[&str] = &["东山镇", "西岭乡", "南河镇", "北坡乡", "中和镇"];
const VILLAGE_SUFFIX: &[&str] = &["村", "社区"];
const UNITS: &[(&str, &str)] = &[
    ("因病", "县医疗保障局"),
    ("因学", "县教育体育局"),
    ("因灾", "县应急管理局"),
    ("因残", "县残疾人联合会"),
    ("因意外事故", "县民政局"),
];

#[derive(Debug, Clone)]
pub struct SynthMember {
    pub name: String,
    pub id_no: String,
    pub relation: &'static str,
}

#[derive(Debug, Clone)]
pub struct SynthHousehold {
    pub id: String,
    pub township: String,
    pub village: String,
    pub group: String,
    pub hh_type: &'static str,
    pub members: Vec<SynthMember>,
    pub labor: u32,
    /// 工资性, 生产经营性, 财产性, 转移性, 生产经营性支出 (元)
    pub income: [Decimal; 5],
    pub last_year_net: Decimal,
    pub guarantees: [bool; 4],
    pub applied: bool,
    pub phone: String,
    /// Cells written over the generated ones in the messy workbook
    /// (column, text; `#NUM:` writes a number), to plant bad input.
    pub overrides: Vec<(u16, String)>,
}

#[derive(Debug, Clone)]
pub struct SynthExpense {
    pub hh_id: String,
    pub id_no: String,
    pub person: String,
    pub cause: &'static str,
    pub amount: Decimal,
    pub date: NaiveDate,
    pub unit: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct County {
    pub households: Vec<SynthHousehold>,
    pub expenses: Vec<SynthExpense>,
}

/// An 18-digit resident ID with a valid check digit (its 3-digit
/// sequence drawn at random: two people may get the same number).
pub fn make_id(rng: &mut Rng, region: &str, birth: NaiveDate, male: bool) -> String {
    let seq = rng.below(100);
    let sex = rng.below(5) * 2 + u64::from(male);
    let body = format!("{region}{}{seq:02}{sex}", birth.format("%Y%m%d"));
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: &[u8; 11] = b"10X98765432";
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(d, w)| (d - b'0') as u32 * w)
        .sum();
    format!("{body}{}", C[(sum % 11) as usize] as char)
}

/// IDs handed out so far: a resident ID names one person, so a number
/// drawn twice is drawn again (at a county's 350,000 people, random
/// sequences gave ~2,000 people a number already taken, and at a province
/// slice's 7 million one in eight — read back as duplicate rows, not the
/// county the generator describes).
#[derive(Default)]
struct IssuedIds(std::collections::HashSet<u64>);

impl IssuedIds {
    fn issue(&mut self, rng: &mut Rng, region: &str, birth: NaiveDate, male: bool) -> String {
        loop {
            let id = make_id(rng, region, birth, male);
            // The 17 digits before the check digit fit a u64.
            let body: u64 = id[..17].parse().expect("17 digits");
            if self.0.insert(body) {
                return id;
            }
        }
    }
}

fn dec(v: u64) -> Decimal {
    Decimal::from(v)
}

/// Generate a county of `n` households whose month is `month`.
pub fn generate(n: usize, seed: u64, month: NaiveDate) -> County {
    generate_with(n, seed, month, Risk::STRESS)
}

/// How often the generated households show each risk (percent).
#[derive(Debug, Clone, Copy)]
pub struct Risk {
    pub low_income: u64,
    pub income_fall: u64,
    pub guarantee_gap: u64,
    pub expenses: u64,
}

impl Risk {
    /// The example county's mix: about 27–42% of households trigger a rule.
    pub const STRESS: Risk = Risk {
        low_income: 12,
        income_fall: 6,
        guarantee_gap: 1,
        expenses: 9,
    };
    /// A realistic county: about 5% trigger a rule.
    pub const REALISTIC: Risk = Risk {
        low_income: 2,
        income_fall: 1,
        guarantee_gap: 0,
        expenses: 2,
    };
}

pub fn generate_with(n: usize, seed: u64, month: NaiveDate, risk: Risk) -> County {
    let mut rng = Rng::new(seed);
    let mut county = County::default();
    let mut ids = IssuedIds::default();
    for i in 0..n {
        let t = TOWNSHIPS[i * TOWNSHIPS.len() / n.max(1)];
        let v = format!(
            "{}{}",
            &t[..t.len() - 3],
            rng.pick(&["家", "河", "坝", "山", "林"])
        ) + *rng.pick(VILLAGE_SUFFIX);
        let size = 1 + rng.below(6) as u32;
        let hh_type = match rng.below(100) {
            0..=44 => "脱贫户",
            45..=49 => "脱贫监测户",
            50..=53 => "边缘户",
            _ => "一般农户",
        };
        let surname = *rng.pick(SURNAMES);
        let mut members = Vec::new();
        for k in 0..size {
            let (rel, age) = match k {
                0 => ("户主", 30 + rng.below(45) as i32),
                1 => ("配偶", 28 + rng.below(45) as i32),
                2 | 3 => (
                    if rng.chance(50) { "之子" } else { "之女" },
                    1 + rng.below(25) as i32,
                ),
                _ => (
                    if rng.chance(50) { "之父" } else { "之母" },
                    60 + rng.below(25) as i32,
                ),
            };
            let birth = NaiveDate::from_ymd_opt(
                month.year() - age,
                1 + rng.below(12) as u32,
                1 + rng.below(28) as u32,
            )
            .expect("valid date");
            let male = match rel {
                "户主" | "之子" | "之父" => true,
                "配偶" | "之女" | "之母" => false,
                _ => rng.chance(50),
            };
            let name = if rel == "配偶" || rel == "之母" {
                format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
            } else {
                format!("{surname}{}", rng.pick(GIVEN))
            };
            members.push(SynthMember {
                name,
                id_no: ids.issue(&mut rng, "532504", birth, male),
                relation: rel,
            });
        }
        // Per-capita net income mostly 5,000–16,000; one in eight low.
        let pc = if rng.chance(risk.low_income) {
            2500 + rng.below(1900)
        } else {
            5000 + rng.below(11000)
        };
        let net = pc * size as u64;
        let transfer = if rng.chance(10) {
            net * 6 / 10
        } else {
            net * rng.below(25) / 100
        };
        let property = net * rng.below(5) / 100;
        let business_gross = net / 3;
        let cost = business_gross * 4 / 10;
        let wage = (net + cost).saturating_sub(transfer + property + business_gross);
        let income = [
            dec(wage),
            dec(business_gross),
            dec(property),
            dec(transfer),
            dec(cost),
        ];
        let last_year_net = if rng.chance(risk.income_fall) {
            dec(net * 16 / 10) // income fell by more than 35%
        } else {
            dec(net * (90 + rng.below(15)) / 100)
        };
        let g = risk.guarantee_gap;
        let guarantees = [
            !rng.chance(g),
            !rng.chance(g),
            !rng.chance(2 * g),
            !rng.chance(3 * g),
        ];
        let id = format!(
            "{}{:03}{:05}",
            "5325040",
            TOWNSHIPS.iter().position(|x| *x == t).unwrap_or(0) + 1,
            i + 1
        );
        if rng.chance(risk.expenses) {
            let (cause, unit) = *rng.pick(UNITS);
            let m = rng.pick(&members).clone();
            let count = 1 + rng.below(3);
            for _ in 0..count {
                let back = rng.below(12) as u32;
                let d = crate::normalize::months_back(month, back);
                let date = NaiveDate::from_ymd_opt(d.year(), d.month(), 1 + rng.below(28) as u32)
                    .expect("valid date");
                county.expenses.push(SynthExpense {
                    hh_id: id.clone(),
                    id_no: m.id_no.clone(),
                    person: m.name.clone(),
                    cause,
                    amount: dec(500 + rng.below(12000)),
                    date,
                    unit,
                });
            }
        }
        county.households.push(SynthHousehold {
            id,
            township: t.to_string(),
            village: v,
            group: format!("{}组", 1 + rng.below(8)),
            hh_type,
            labor: members
                .iter()
                .filter(|m| m.relation != "之父" && m.relation != "之母")
                .count()
                .min(2) as u32,
            members,
            income,
            last_year_net,
            guarantees,
            applied: rng.chance(1),
            phone: format!("13{:09}", rng.below(1_000_000_000)),
            overrides: Vec::new(),
        });
    }
    county
}

/// Amount text the way township staff type it, for the messy example.
fn messy_amount(rng: &mut Rng, v: Decimal) -> String {
    match rng.below(12) {
        0 => crate::normalize::fmt_money(v),
        1 => format!("{v}元"),
        2 => v
            .to_string()
            .chars()
            .map(|c| match c {
                '0'..='9' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                _ => c,
            })
            .collect(),
        3 if v.is_zero() => "—".to_string(),
        _ => v.to_string(),
    }
}

const HH_TOP: &[&str] = &[
    "户编号",
    "户主姓名",
    "证件号码",
    "乡镇",
    "村",
    "组",
    "户类型",
    "家庭人口（人）",
    "劳动力人数",
    "上年家庭纯收入（元）",
];
const INCOME_SUB: &[&str] = &[
    "工资性收入",
    "生产经营性收入",
    "财产性收入",
    "转移性收入",
    "生产经营性支出",
];
const GUAR_SUB: &[&str] = &["义务教育", "基本医疗", "住房安全", "饮水安全"];
const HH_TAIL: &[&str] = &["农户申报", "联系电话"];

/// The 农户信息 workbook as township staff send it: two title rows, a
/// two-row header with merged group titles, a column-number row, amounts
/// typed as text in several styles, 乡镇 merged down, a 合计 row and a
/// signature line. `messy = false` writes a plain one-row header.
pub fn write_households_xlsx(
    c: &County,
    path: &Path,
    month: NaiveDate,
    messy: bool,
    seed: u64,
) -> Result<(), XlsxError> {
    let mut rng = Rng::new(seed ^ 0xA5A5);
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("农户信息")?;
    let b = Format::new().set_border(FormatBorder::Thin);
    let h = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let ncols = HH_TOP.len() + INCOME_SUB.len() + GUAR_SUB.len() + HH_TAIL.len();
    let mut row: u32 = 0;
    if messy {
        ws.merge_range(
            0,
            0,
            0,
            ncols as u16 - 1,
            &format!(
                "{}年{}月 农户基本信息及收入测算表",
                month.year(),
                month.month()
            ),
            &h,
        )?;
        ws.write_string(1, 0, "填报单位：县乡村振兴局（示例数据，均为虚构）")?;
        row = 2;
        let mut col: u16 = 0;
        for t in HH_TOP {
            ws.merge_range(row, col, row + 1, col, t, &h)?;
            col += 1;
        }
        ws.merge_range(row, col, row, col + 4, "本年收入测算（元）", &h)?;
        for (k, s) in INCOME_SUB.iter().enumerate() {
            ws.write_string_with_format(row + 1, col + k as u16, *s, &h)?;
        }
        col += 5;
        ws.merge_range(
            row,
            col,
            row,
            col + 3,
            "“两不愁三保障”及饮水安全（是/否）",
            &h,
        )?;
        for (k, s) in GUAR_SUB.iter().enumerate() {
            ws.write_string_with_format(row + 1, col + k as u16, *s, &h)?;
        }
        col += 4;
        for t in HH_TAIL {
            ws.merge_range(row, col, row + 1, col, t, &h)?;
            col += 1;
        }
        row += 2;
        for k in 0..ncols {
            ws.write_number_with_format(row, k as u16, (k + 1) as f64, &b)?;
        }
        row += 1;
    } else {
        let all: Vec<&str> = HH_TOP
            .iter()
            .chain(INCOME_SUB)
            .chain(GUAR_SUB)
            .chain(HH_TAIL)
            .copied()
            .collect();
        for (k, t) in all.iter().enumerate() {
            ws.write_string_with_format(
                row,
                k as u16,
                fold_width(t).replace(['（', '）'], ""),
                &h,
            )?;
        }
        row += 1;
    }
    let first = row;
    let mut town_start = row;
    for (i, hh) in c.households.iter().enumerate() {
        let head = &hh.members[0];
        let texts = [&hh.id, &head.name, &head.id_no];
        for (k, t) in texts.iter().enumerate() {
            ws.write_string_with_format(row, k as u16, t.as_str(), &b)?;
        }
        ws.write_string_with_format(row, 3, &hh.township, &b)?;
        ws.write_string_with_format(row, 4, &hh.village, &b)?;
        ws.write_string_with_format(row, 5, &hh.group, &b)?;
        ws.write_string_with_format(row, 6, hh.hh_type, &b)?;
        ws.write_number_with_format(row, 7, hh.members.len() as f64, &b)?;
        ws.write_number_with_format(row, 8, hh.labor as f64, &b)?;
        let amounts = std::iter::once(hh.last_year_net).chain(hh.income.iter().copied());
        for (k, v) in amounts.enumerate() {
            let col = 9 + k as u16;
            if messy && rng.chance(15) {
                ws.write_string_with_format(row, col, messy_amount(&mut rng, v), &b)?;
            } else {
                ws.write_number_with_format(row, col, crate::report::money_f64(v), &b)?;
            }
        }
        for (k, g) in hh.guarantees.iter().enumerate() {
            ws.write_string_with_format(row, 15 + k as u16, if *g { "是" } else { "否" }, &b)?;
        }
        ws.write_string_with_format(row, 19, if hh.applied { "是" } else { "否" }, &b)?;
        ws.write_string_with_format(row, 20, &hh.phone, &b)?;
        for (col, text) in &hh.overrides {
            match text.strip_prefix("#NUM:") {
                Some(n) => ws.write_number_with_format(row, *col, n.parse().unwrap_or(0.0), &b)?,
                None => ws.write_string_with_format(row, *col, text, &b)?,
            };
        }
        let next_town = c.households.get(i + 1).map(|n| n.township.as_str());
        if messy && next_town != Some(hh.township.as_str()) {
            if row > town_start {
                ws.merge_range(town_start, 3, row, 3, &hh.township, &b)?;
            }
            town_start = row + 1;
        }
        row += 1;
    }
    if messy {
        ws.write_string_with_format(row, 0, "合计", &h)?;
        ws.write_string_with_format(
            row,
            7,
            format!(
                "{}",
                c.households.iter().map(|h| h.members.len()).sum::<usize>()
            ),
            &b,
        )?;
        ws.write_string(
            row + 2,
            0,
            "填表人：            审核人：            填报日期：",
        )?;
    }
    let _ = first;
    wb.save(path)
}

/// Department out-of-pocket records as GBK CSV (Excel "ANSI" on Chinese
/// Windows), some keyed by a member's ID number only.
pub fn write_expenses_csv(c: &County, path: &Path, gbk: bool, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng::new(seed ^ 0x5A5A);
    let mut text = String::from("户编号,姓名,证件号码,支出类型,自付金额,发生日期,来源单位\n");
    for e in &c.expenses {
        let hh = if rng.chance(30) { "" } else { e.hh_id.as_str() };
        let cause = match (e.cause, rng.below(4)) {
            ("因病", 0) => "医疗",
            ("因学", 0) => "教育",
            ("因灾", 0) => "自然灾害",
            (c, _) => c,
        };
        let amount = match rng.below(4) {
            0 => format!("\"{}\"", crate::normalize::fmt_money(e.amount)),
            1 => format!("{}元", e.amount),
            _ => e.amount.to_string(),
        };
        let date = match rng.below(3) {
            0 => e.date.format("%Y/%-m/%-d").to_string(),
            1 => e.date.format("%Y年%-m月%-d日").to_string(),
            _ => e.date.format("%Y-%m-%d").to_string(),
        };
        text.push_str(&format!(
            "{hh},{},{},{cause},{amount},{date},{}\n",
            e.person, e.id_no, e.unit
        ));
    }
    let bytes = if gbk {
        encoding_rs::GBK.encode(&text).0.into_owned()
    } else {
        text.into_bytes()
    };
    std::fs::write(path, bytes)
}

/// 家庭成员 as a plain workbook (one row per person).
pub fn write_members_xlsx(c: &County, path: &Path) -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("家庭成员")?;
    for (k, t) in ["户编号", "姓名", "证件号码", "与户主关系"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, k as u16, *t)?;
    }
    let mut row = 1;
    for h in &c.households {
        for m in &h.members {
            ws.write_string(row, 0, &h.id)?;
            ws.write_string(row, 1, &m.name)?;
            ws.write_string(row, 2, &m.id_no)?;
            ws.write_string(row, 3, m.relation)?;
            row += 1;
        }
    }
    wb.save(path)
}

/// The whole county as CSV files (households with income, expenses,
/// members), for sizes beyond one xlsx sheet.
pub fn write_csv_set(c: &County, dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("households.csv"))?);
    writeln!(f, "户编号,户主姓名,证件号码,乡镇,村,组,户类型,家庭人口,上年家庭纯收入,工资性收入,生产经营性收入,财产性收入,转移性收入,生产经营性支出,义务教育,基本医疗,住房安全,饮水安全,农户申报")?;
    for h in &c.households {
        let yn = |b: bool| if b { "是" } else { "否" };
        writeln!(
            f,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            h.id,
            h.members[0].name,
            h.members[0].id_no,
            h.township,
            h.village,
            h.group,
            h.hh_type,
            h.members.len(),
            h.last_year_net,
            h.income[0],
            h.income[1],
            h.income[2],
            h.income[3],
            h.income[4],
            yn(h.guarantees[0]),
            yn(h.guarantees[1]),
            yn(h.guarantees[2]),
            yn(h.guarantees[3]),
            yn(h.applied)
        )?;
    }
    f.flush()?;
    write_expenses_csv(c, &dir.join("expenses.csv"), false, 1)?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("members.csv"))?);
    writeln!(f, "户编号,姓名,证件号码,与户主关系")?;
    for h in &c.households {
        for m in &h.members {
            writeln!(f, "{},{},{},{}", h.id, m.name, m.id_no, m.relation)?;
        }
    }
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_pass_the_check_digit() {
        let c = generate(50, 7, NaiveDate::from_ymd_opt(2020, 3, 1).unwrap());
        assert_eq!(c.households.len(), 50);
        for h in &c.households {
            for m in &h.members {
                assert!(crate::normalize::id_checksum_ok(&m.id_no), "{}", m.id_no);
            }
        }
    }

    #[test]
    fn no_two_people_share_an_id() {
        // 20,000 households, ~70,000 people: random sequences alone gave
        // dozens of shared numbers here.
        let c = generate(20_000, 42, NaiveDate::from_ymd_opt(2020, 3, 1).unwrap());
        let mut seen = std::collections::HashSet::new();
        let people = c.households.iter().flat_map(|h| &h.members);
        let total = people.clone().count();
        assert!(total > 50_000);
        for m in people {
            assert!(seen.insert(m.id_no.as_str()), "{} twice", m.id_no);
        }
    }

    #[test]
    fn same_seed_same_county() {
        let m = NaiveDate::from_ymd_opt(2020, 3, 1).unwrap();
        let a = generate(30, 9, m);
        let b = generate(30, 9, m);
        assert_eq!(a.households.len(), b.households.len());
        assert_eq!(
            a.households[7].members[0].id_no,
            b.households[7].members[0].id_no
        );
        assert_eq!(a.expenses.len(), b.expenses.len());
    }
}

//! Turning messy cell values into typed values: amounts, ID numbers, dates,
//! yes/no answers and header names. Every parser returns a Chinese reason on
//! failure so the caller can report it with file, sheet, row and column.

use crate::ingest::Cell;
use chrono::{Datelike, NaiveDate};
use compact_str::CompactString;
use rust_decimal::prelude::*;
use rust_decimal::RoundingStrategy;

/// Round money to 2 decimals, half away from zero (as forms do by hand).
pub fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Map full-width ASCII variants (U+FF01..U+FF5E) to ASCII and the
/// ideographic space to a space.
pub fn fold_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// The largest amount taken as a household figure (100亿元); anything
/// beyond is a typing or export error, and keeps all sums far from the
/// limits of `Decimal`.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(1410065408, 2, 0, false, 0);

/// Parse an amount in 元. Blank and dash-only cells are zero.
/// Accepts `1,234.50`, `4428元`, `￥4,428.00`, full-width digits, `(12.5)`.
pub fn parse_amount(cell: &Cell) -> Result<Decimal, String> {
    let v = match cell {
        Cell::Empty => Ok(Decimal::ZERO),
        Cell::Int(i) => Ok(Decimal::from(*i)),
        Cell::Float(f) => {
            if !f.is_finite() {
                return Err("金额不是有效数字".into());
            }
            Decimal::try_from(*f).map_err(|_| format!("金额“{f}”超出合理范围"))
        }
        Cell::Bool(_) => Err("金额单元格是逻辑值".into()),
        Cell::Date(_) => Err("金额单元格是日期格式".into()),
        Cell::Uncomputed(f) => Err(uncomputed(f)),
        Cell::Text(s) => parse_amount_str(s),
    }?;
    if v.abs() > MAX_AMOUNT {
        return Err(format!(
            "金额“{}”超出合理范围（超过100亿元），可能是录入或导出错误",
            crate::error::shorten(&cell.text())
        ));
    }
    Ok(v)
}

/// Why a formula cell without a result cannot be read.
pub fn uncomputed(formula: &str) -> String {
    format!(
        "单元格是公式“={}”但没有计算结果；请在Excel或WPS中打开该文件、保存后再导出",
        crate::error::shorten(formula)
    )
}

pub fn parse_amount_str(raw: &str) -> Result<Decimal, String> {
    // Fast path: a plain number such as `12345` or `4428.50`.
    let plain = raw.trim();
    if !plain.is_empty()
        && plain
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        if let Ok(v) = Decimal::from_str(plain) {
            return Ok(v);
        }
    }
    let folded = fold_width(raw);
    let mut s: String = folded
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | '_' | ' ' | '\u{a0}' | '\t' | '\r' | '\n'))
        .map(|c| match c {
            '。' => '.',
            '−' => '-',
            _ => c,
        })
        .collect();
    for prefix in ["RMB", "CNY", "rmb", "cny"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_string();
        }
    }
    let s: String = s
        .chars()
        .filter(|c| !matches!(c, '¥' | '￥' | '元' | '圆' | '$'))
        .collect();
    if s.is_empty()
        || s.chars()
            .all(|c| matches!(c, '-' | '—' | '–' | '―' | '─' | '/'))
    {
        return Ok(Decimal::ZERO);
    }
    let (neg, body) = if s.starts_with('(') && s.ends_with(')') && s.len() > 2 {
        (true, &s[1..s.len() - 1])
    } else {
        (false, s.as_str())
    };
    if body.ends_with('%') {
        return Err(format!("金额“{}”是百分数", raw.trim()));
    }
    let v = Decimal::from_str(body)
        .or_else(|_| Decimal::from_scientific(body))
        .map_err(|_| format!("金额“{}”无法识别为数字", raw.trim()))?;
    Ok(if neg { -v } else { v })
}

/// Parse a whole number of people (家庭人口, 劳动力人数).
pub fn parse_count(cell: &Cell) -> Result<Option<i64>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Int(i) => Ok(Some(*i)),
        Cell::Float(f) if f.fract() == 0.0 && f.abs() < 1e9 => Ok(Some(*f as i64)),
        Cell::Float(f) => Err(format!("人数“{f}”不是整数")),
        Cell::Text(s) => {
            let t: String = fold_width(s)
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '人' && *c != '口')
                .collect();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse::<i64>()
                .map(Some)
                .map_err(|_| format!("人数“{}”不是整数", s.trim()))
        }
        _ => Err("人数单元格格式不对".into()),
    }
}

/// Identifiers (户编号, 证件号码) must be text. A number at or above 1e15
/// has already lost digits in Excel, so it is refused rather than guessed.
/// Held inline (an 18-character ID needs no allocation).
pub fn parse_ident(cell: &Cell) -> Result<Option<CompactString>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Text(s)
            if !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) =>
        {
            Ok(Some(s.clone()))
        }
        Cell::Text(s) => {
            let t: CompactString = fold_width(s)
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '\'' && *c != '`')
                .flat_map(char::to_uppercase)
                .collect();
            Ok(if t.is_empty() { None } else { Some(t) })
        }
        Cell::Int(i) => {
            if i.unsigned_abs() >= 1_000_000_000_000_000 {
                Err(lost_digits())
            } else {
                Ok(Some(compact_str::format_compact!("{i}")))
            }
        }
        Cell::Float(f) => {
            if f.abs() >= 1e15 {
                Err(lost_digits())
            } else if f.fract() == 0.0 {
                Ok(Some(compact_str::format_compact!("{}", *f as i64)))
            } else {
                Err(format!("编号“{f}”不是整数"))
            }
        }
        _ => Err("编号单元格格式不对".into()),
    }
}

fn lost_digits() -> String {
    "编号以数字格式保存，Excel只保留15位有效数字，末几位已丢失；请把该列设为“文本”后重新导出".into()
}

/// Check the GB 11643 check digit of an 18-digit resident ID.
pub fn id_checksum_ok(id: &str) -> bool {
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: &[u8; 11] = b"10X98765432";
    let sum: u32 = b[..17]
        .iter()
        .zip(W)
        .map(|(d, w)| (d - b'0') as u32 * w)
        .sum();
    C[(sum % 11) as usize] == b[17]
}

/// Birth date and sex ("男"/"女") from an 18-digit ID, when it holds them.
pub fn id_birth_sex(id: &str) -> Option<(NaiveDate, &'static str)> {
    if id.len() != 18 || !id.is_ascii() {
        return None;
    }
    let y = id[6..10].parse().ok()?;
    let m = id[10..12].parse().ok()?;
    let d = id[12..14].parse().ok()?;
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    let sex_digit = id[16..17].parse::<u32>().ok()?;
    Some((date, if sex_digit % 2 == 1 { "男" } else { "女" }))
}

/// Parse a date: a real date cell, an Excel serial number, or text such as
/// `2020-03-05`, `2020/3/5`, `2020.3.5`, `2020年3月5日`, `20200305`, `202003`
/// (a month alone means its first day).
pub fn parse_date(cell: &Cell) -> Result<Option<NaiveDate>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Date(d) => Ok(Some(*d)),
        Cell::Int(i) => parse_date_number(*i as f64),
        Cell::Float(f) => parse_date_number(*f),
        Cell::Text(s) => parse_date_str(s).map(Some),
        Cell::Bool(_) => Err("日期单元格是逻辑值".into()),
        Cell::Uncomputed(f) => Err(uncomputed(f)),
    }
}

fn parse_date_number(f: f64) -> Result<Option<NaiveDate>, String> {
    // 20200305 or 202003 typed as numbers.
    if (19_000_101.0..=21_001_231.0).contains(&f) || (190_001.0..=210_012.0).contains(&f) {
        return parse_date_str(&format!("{}", f as i64)).map(Some);
    }
    if (1.0..=80_000.0).contains(&f) {
        let base = NaiveDate::from_ymd_opt(1899, 12, 30).expect("valid base date");
        return Ok(base.checked_add_days(chrono::Days::new(f.trunc() as u64)));
    }
    Err(format!("日期“{f}”无法识别"))
}

pub fn parse_date_str(raw: &str) -> Result<NaiveDate, String> {
    let s = fold_width(raw.trim());
    let s = s.split([' ', 'T']).next().unwrap_or("");
    let err = || format!("日期“{}”无法识别，请写成 2020-03-05 的形式", raw.trim());
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == s.len() {
        return match s.len() {
            8 => NaiveDate::parse_from_str(s, "%Y%m%d").map_err(|_| err()),
            6 => NaiveDate::parse_from_str(&format!("{s}01"), "%Y%m%d").map_err(|_| err()),
            _ => Err(err()),
        };
    }
    let parts: Vec<&str> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect();
    let nums: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
    match nums.as_slice() {
        [y, m, d] if *y >= 1900 => NaiveDate::from_ymd_opt(*y as i32, *m, *d).ok_or_else(err),
        [y, m] if *y >= 1900 => NaiveDate::from_ymd_opt(*y as i32, *m, 1).ok_or_else(err),
        _ => Err(err()),
    }
}

/// Parse 是/否 answers. Blank is "not stated".
pub fn parse_yes_no(cell: &Cell) -> Result<Option<bool>, String> {
    let s = match cell {
        Cell::Empty => return Ok(None),
        Cell::Bool(b) => return Ok(Some(*b)),
        Cell::Int(1) => return Ok(Some(true)),
        Cell::Int(0) => return Ok(Some(false)),
        Cell::Float(f) if *f == 1.0 => return Ok(Some(true)),
        Cell::Float(f) if *f == 0.0 => return Ok(Some(false)),
        Cell::Text(s) => fold_width(s).trim().to_string(),
        _ => return Err("应填“是”或“否”".into()),
    };
    let yes = [
        "是",
        "有",
        "Y",
        "y",
        "YES",
        "yes",
        "√",
        "✓",
        "达标",
        "安全",
        "有保障",
        "已保障",
        "已解决",
        "已申报",
        "申报",
    ];
    let no = [
        "否",
        "无",
        "N",
        "n",
        "NO",
        "no",
        "×",
        "✗",
        "不达标",
        "不安全",
        "无保障",
        "未保障",
        "未解决",
        "未申报",
    ];
    if s.is_empty() || s == "-" || s == "—" {
        Ok(None)
    } else if yes.contains(&s.as_str()) {
        Ok(Some(true))
    } else if no.contains(&s.as_str()) {
        Ok(Some(false))
    } else {
        Err(format!("“{s}”不是“是/否”"))
    }
}

/// Normalize a header cell for alias matching: fold width, drop white space,
/// required-field stars and unit suffixes such as （元）/(人).
pub fn header_key(raw: &str) -> String {
    let s: String = fold_width(raw)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*' && *c != '★')
        .collect();
    let mut s = s.replace(['（', '['], "(").replace(['）', ']'], ")");
    for unit in [
        "(元)",
        "(人)",
        "(元/人)",
        "(户)",
        "(个)",
        "(月)",
        "(是/否)",
        "(是或否)",
    ] {
        if let Some(stripped) = s.strip_suffix(unit) {
            s = stripped.to_string();
        }
    }
    s.trim_end_matches(['：', ':']).to_string()
}

/// First and last day of a month given as `YYYY-MM`.
pub fn parse_month(s: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let t = fold_width(s.trim());
    let err = || format!("月份“{}”格式不对，应写成 2020-03", s.trim());
    let nums: Vec<&str> = t
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect();
    let (y, m) = match nums.as_slice() {
        [ym] if ym.len() == 6 => (&ym[..4], &ym[4..]),
        [y, m] if y.len() == 4 && m.len() <= 2 => (*y, *m),
        _ => return Err(err()),
    };
    let d = NaiveDate::from_ymd_opt(
        y.parse().map_err(|_| err())?,
        m.parse().map_err(|_| err())?,
        1,
    )
    .ok_or_else(err)?;
    Ok((d, month_end(d)))
}

/// A month given by the user (command line, folder names): exactly
/// `YYYY-MM` in ASCII digits, month 01–12. Only the value returned (the
/// first day) is ever put into paths, never the text given.
pub fn parse_month_arg(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    let shape =
        b.len() == 7 && b[4] == b'-' && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit);
    let err = || {
        format!(
            "月份“{}”格式不对：应写成“年-月”，四位年份和两位月份，例如 2020-03",
            crate::error::shorten(s)
        )
    };
    if !shape {
        return Err(err());
    }
    let y: i32 = s[..4].parse().map_err(|_| err())?;
    let m: u32 = s[5..].parse().map_err(|_| err())?;
    if !(1900..=2100).contains(&y) {
        return Err(err());
    }
    NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(err)
}

pub fn month_end(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("valid month") - chrono::Days::new(1)
}

/// The first day of the month `n` months before the month of `d`.
pub fn months_back(d: NaiveDate, n: u32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 - n as i32;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
        .expect("valid month")
}

/// Format money for messages: thousands separators, 2 decimals.
pub fn fmt_money(d: Decimal) -> String {
    let r = round2(d);
    let s = format!("{:.2}", r.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!(
        "{}{out}.{frac}",
        if r.is_sign_negative() && !r.is_zero() {
            "-"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn amounts_in_the_forms_clerks_type() {
        assert_eq!(parse_amount(&t("1,234.50")).unwrap(), dec!(1234.50));
        assert_eq!(parse_amount(&t("4428元")).unwrap(), dec!(4428));
        assert_eq!(parse_amount(&t("￥4,428.00")).unwrap(), dec!(4428.00));
        assert_eq!(parse_amount(&t("１２３４．５")).unwrap(), dec!(1234.5));
        assert_eq!(parse_amount(&t(" 12.5 ")).unwrap(), dec!(12.5));
        assert_eq!(parse_amount(&t("—")).unwrap(), Decimal::ZERO);
        assert_eq!(parse_amount(&t("－")).unwrap(), Decimal::ZERO);
        assert_eq!(parse_amount(&t("")).unwrap(), Decimal::ZERO);
        assert_eq!(parse_amount(&Cell::Empty).unwrap(), Decimal::ZERO);
        assert_eq!(parse_amount(&t("(1,234.50)")).unwrap(), dec!(-1234.50));
        assert_eq!(parse_amount(&t("RMB 300")).unwrap(), dec!(300));
        assert_eq!(parse_amount(&t("1，200")).unwrap(), dec!(1200));
        assert_eq!(parse_amount(&Cell::Float(0.1 + 0.2)).unwrap(), dec!(0.3));
        assert_eq!(parse_amount(&Cell::Int(5000)).unwrap(), dec!(5000));
        assert!(parse_amount(&t("约三千")).unwrap_err().contains("约三千"));
        assert!(parse_amount(&t("12%")).is_err());
    }

    #[test]
    fn amounts_beyond_any_household_figure_are_refused() {
        assert_eq!(MAX_AMOUNT, dec!(10000000000));
        assert!(parse_amount(&t("79228162514264337593543950335")).is_err());
        assert!(parse_amount(&t("-20000000000")).is_err());
        assert!(parse_amount(&Cell::Float(1e300)).is_err());
        assert_eq!(parse_amount(&t("10000000000")).unwrap(), MAX_AMOUNT);
        let e = parse_amount(&Cell::Uncomputed("SUM(A1:B1)".into())).unwrap_err();
        assert!(e.contains("没有计算结果"), "{e}");
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round2(dec!(4428.545)), dec!(4428.55));
        assert_eq!(round2(dec!(-1.005)), dec!(-1.01));
    }

    #[test]
    fn identifiers_stay_text_and_lost_digits_are_refused() {
        assert_eq!(
            parse_ident(&t(" 53252619800101001x ")).unwrap().unwrap(),
            "53252619800101001X"
        );
        assert_eq!(
            parse_ident(&Cell::Float(12345.0)).unwrap().unwrap(),
            "12345"
        );
        assert_eq!(parse_ident(&Cell::Int(987)).unwrap().unwrap(), "987");
        assert!(parse_ident(&Cell::Float(5.3252619800101e17)).is_err());
        assert_eq!(parse_ident(&t("")).unwrap(), None);
    }

    #[test]
    fn id_check_digit_and_birth() {
        assert!(id_checksum_ok("11010519491231002X"));
        assert!(!id_checksum_ok("110105194912310021"));
        let (d, sex) = id_birth_sex("11010519491231002X").unwrap();
        assert_eq!(d, NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(sex, "女");
    }

    #[test]
    fn dates_in_many_shapes() {
        let d = NaiveDate::from_ymd_opt(2020, 3, 5).unwrap();
        for s in [
            "2020-03-05",
            "2020/3/5",
            "2020.3.5",
            "2020年3月5日",
            "20200305",
            "２０２０-０３-０５",
        ] {
            assert_eq!(parse_date(&t(s)).unwrap(), Some(d), "{s}");
        }
        assert_eq!(
            parse_date(&t("202003")).unwrap(),
            NaiveDate::from_ymd_opt(2020, 3, 1)
        );
        assert_eq!(parse_date(&Cell::Float(43895.0)).unwrap(), Some(d));
        assert_eq!(parse_date(&Cell::Int(20200305)).unwrap(), Some(d));
        assert!(parse_date(&t("去年")).is_err());
    }

    #[test]
    fn yes_no_answers() {
        assert_eq!(parse_yes_no(&t("是")).unwrap(), Some(true));
        assert_eq!(parse_yes_no(&t("否")).unwrap(), Some(false));
        assert_eq!(parse_yes_no(&t(" ")).unwrap(), None);
        assert_eq!(parse_yes_no(&Cell::Int(0)).unwrap(), Some(false));
        assert!(parse_yes_no(&t("也许")).is_err());
    }

    #[test]
    fn header_keys_fold_noise() {
        assert_eq!(header_key("家庭人口（人）"), "家庭人口");
        assert_eq!(header_key(" 工资性\n收入(元) "), "工资性收入");
        assert_eq!(header_key("*户编号"), "户编号");
        assert_eq!(header_key("乡（镇）"), "乡(镇)");
    }

    #[test]
    fn months() {
        let (a, b) = parse_month("2020-03").unwrap();
        assert_eq!(a, NaiveDate::from_ymd_opt(2020, 3, 1).unwrap());
        assert_eq!(b, NaiveDate::from_ymd_opt(2020, 3, 31).unwrap());
        assert_eq!(
            months_back(a, 3),
            NaiveDate::from_ymd_opt(2019, 12, 1).unwrap()
        );
        assert_eq!(
            month_end(NaiveDate::from_ymd_opt(2020, 2, 1).unwrap()),
            NaiveDate::from_ymd_opt(2020, 2, 29).unwrap()
        );
        assert!(parse_month("March").is_err());
    }

    #[test]
    fn months_given_by_the_user_are_exactly_yyyy_mm() {
        assert_eq!(
            parse_month_arg("2020-03").unwrap(),
            NaiveDate::from_ymd_opt(2020, 3, 1).unwrap()
        );
        for bad in [
            "2020-3",
            "2020-03/../../x",
            "２０２０-０３",
            "2020-03;rm -rf /",
            "2020-13",
            "-2020-03",
            "202003",
            "2020-00",
            "",
        ] {
            assert!(parse_month_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money_formatting() {
        assert_eq!(fmt_money(dec!(1234567.5)), "1,234,567.50");
        assert_eq!(fmt_money(dec!(-4428)), "-4,428.00");
        assert_eq!(fmt_money(dec!(12.345)), "12.35");
    }
}

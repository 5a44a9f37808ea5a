//! `monitor init`: a new county's workspace in one command — monitor.toml
//! explained in Chinese, the chosen rule file (bundled in the program),
//! the data layout, and blank input templates the townships can fill:
//! the headers the tool reads, a note per column, dropdowns from the
//! values the tool accepts (one source: the lists below and in `model`),
//! IDs as text, number checks on money and counts, a marked example row
//! (never read as data) and a 填表说明 sheet. `monitor rules list` shows the
//! bundled rule files.

use crate::error::{MonitorError, Result};
use crate::ingest::EXAMPLE_MARK;
use rust_xlsxwriter::{DataValidation, DataValidationRule, Format, Note, Workbook};
use std::path::Path;

/// The rule files compiled into the program: (name, rule file, cases).
pub const BUNDLED: &[(&str, &str, &str)] = &[
    (
        "mile-2020",
        include_str!("../rules/mile-2020.toml"),
        include_str!("../rules/mile-2020.cases.toml"),
    ),
    (
        "menghai-2020",
        include_str!("../rules/menghai-2020.toml"),
        include_str!("../rules/menghai-2020.cases.toml"),
    ),
    (
        "bayannur-2020",
        include_str!("../rules/bayannur-2020.toml"),
        include_str!("../rules/bayannur-2020.cases.toml"),
    ),
    (
        "panzhihua-2020",
        include_str!("../rules/panzhihua-2020.toml"),
        include_str!("../rules/panzhihua-2020.cases.toml"),
    ),
];

/// 户类型 values a template offers (each read by `HouseholdType::parse`).
pub const HOUSEHOLD_TYPES: &[&str] = &[
    "脱贫户",
    "未脱贫户",
    "脱贫监测户",
    "边缘户",
    "一般农户",
    "突发严重困难户",
];
/// 与户主关系 values.
pub const RELATIONS: &[&str] = &[
    "户主",
    "配偶",
    "之子",
    "之女",
    "之儿媳",
    "之女婿",
    "之孙子",
    "之孙女",
    "之父",
    "之母",
    "兄弟姐妹",
    "其他",
];
/// 健康状况 values.
pub const HEALTH: &[&str] = &["健康", "长期慢性病", "患有大病", "残疾"];
/// 劳动技能 values.
pub const SKILLS: &[&str] = &[
    "普通劳动力",
    "技能劳动力",
    "弱劳动力或半劳动力",
    "丧失劳动力",
    "无劳动力",
];
pub const YES_NO: &[&str] = &["是", "否"];

/// What a template column accepts.
#[derive(Clone, Copy)]
pub enum Kind {
    /// Identifier, stored as text.
    Id,
    Text,
    /// Money in 元 (0 to 100亿).
    Money,
    /// Whole number of people.
    Count,
    Date,
    List(&'static [&'static str]),
}

/// One column of a template: header (a name the tool reads), what it
/// takes, a note for the township clerk, the example value.
pub struct Col {
    pub head: &'static str,
    pub kind: Kind,
    pub note: &'static str,
    pub example: &'static str,
}

const fn col(head: &'static str, kind: Kind, note: &'static str, example: &'static str) -> Col {
    Col {
        head,
        kind,
        note,
        example,
    }
}

/// The templates: file name, sheet, columns.
pub fn templates() -> Vec<(&'static str, &'static str, Vec<Col>)> {
    use Kind::*;
    let causes: &'static [&'static str] = crate::model::EXPENSE_CAUSES;
    vec![
        (
            "农户信息.xlsx",
            "农户信息",
            vec![
                col(
                    "户编号",
                    Id,
                    "必填。全国系统的户编号，按文本填写",
                    "5325040001000010",
                ),
                col("户主姓名", Text, "必填", "张三"),
                col(
                    "证件号码",
                    Id,
                    "户主身份证号，按文本填写（18位，末位可为X）",
                    "11010519491231002X",
                ),
                col("乡镇", Text, "乡（镇）名称", "东乡"),
                col("村", Text, "行政村名称", "甲村"),
                col("组", Text, "村民小组", "一组"),
                col(
                    "户类型",
                    List(HOUSEHOLD_TYPES),
                    "必填。从下拉列表选择",
                    "脱贫户",
                ),
                col("家庭人口", Count, "必填。人，1 到 99 的整数", "3"),
                col("劳动力人数", Count, "人，整数；0 表示整户无劳动力", "2"),
                col(
                    "联系电话",
                    Text,
                    "户联系电话（只在内部表格中使用，不公示）",
                    "13800000000",
                ),
                col("脱贫年度", Text, "脱贫户填写，如 2016", "2016"),
                col(
                    "工资性收入",
                    Money,
                    "元/年，数字。没有填 0，不要留空",
                    "12000",
                ),
                col("生产经营性收入", Money, "元/年", "3000"),
                col("财产性收入", Money, "元/年", "0"),
                col(
                    "转移性收入",
                    Money,
                    "元/年（低保金、养老金、补贴等）",
                    "2000",
                ),
                col("生产经营性支出", Money, "元/年", "1500"),
                col(
                    "上年家庭纯收入",
                    Money,
                    "元，用于刚性支出和收入骤减规则",
                    "16000",
                ),
                col(
                    "主要致贫原因",
                    Text,
                    "可不填；如 因病、缺劳力、缺技术",
                    "因病",
                ),
                col("义务教育保障", List(YES_NO), "是：有保障；否：无保障", "是"),
                col("基本医疗保障", List(YES_NO), "是/否", "是"),
                col("住房安全保障", List(YES_NO), "是/否", "是"),
                col("饮水安全", List(YES_NO), "是/否", "是"),
                col("不愁吃", List(YES_NO), "是/否", "是"),
                col("不愁穿", List(YES_NO), "是/否", "是"),
                col(
                    "是否危房户",
                    List(YES_NO),
                    "是：住房为 C 级或 D 级危房",
                    "否",
                ),
                col(
                    "农户申报",
                    List(YES_NO),
                    "农户本人申报存在风险时选“是”",
                    "否",
                ),
                col("申报原因", List(causes), "农户申报时选择", "因病"),
            ],
        ),
        (
            "刚性支出.xlsx",
            "刚性支出",
            vec![
                col(
                    "户编号",
                    Id,
                    "户编号或证件号码至少填一项，按文本填写",
                    "5325040001000010",
                ),
                col(
                    "证件号码",
                    Id,
                    "产生支出的家庭成员身份证号",
                    "11010519491231002X",
                ),
                col("姓名", Text, "产生支出的人", "张三"),
                col("支出类型", List(causes), "必填。从下拉列表选择", "因病"),
                col(
                    "自付金额",
                    Money,
                    "必填。元，个人自付（合规自付）部分",
                    "6000",
                ),
                col("发生日期", Date, "必填。如 2020-03-05", "2020-03-05"),
                col("来源单位", Text, "发布预警或提供数据的部门", "县医保局"),
            ],
        ),
        (
            "家庭成员.xlsx",
            "家庭成员",
            vec![
                col("户编号", Id, "必填，按文本填写", "5325040001000010"),
                col("姓名", Text, "必填", "张三"),
                col("证件号码", Id, "必填，按文本填写", "11010519491231002X"),
                col("与户主关系", List(RELATIONS), "从下拉列表选择", "户主"),
                col("健康状况", List(HEALTH), "从下拉列表选择", "健康"),
                col("劳动技能", List(SKILLS), "从下拉列表选择", "普通劳动力"),
            ],
        ),
    ]
}

fn validation(
    kind: Kind,
) -> Option<std::result::Result<DataValidation, rust_xlsxwriter::XlsxError>> {
    match kind {
        Kind::List(values) => Some(DataValidation::new().allow_list_strings(values)),
        Kind::Money => Some(Ok(DataValidation::new()
            .allow_decimal_number(DataValidationRule::Between(0.0, 10_000_000_000.0)))),
        Kind::Count => Some(Ok(
            DataValidation::new().allow_whole_number(DataValidationRule::Between(0, 99))
        )),
        _ => None,
    }
}

/// Write one template.
pub fn write_template(path: &Path, sheet: &str, cols: &[Col]) -> Result<()> {
    let e = crate::report::xerr(path);
    let mut wb = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color(0xEDEDED)
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let text = Format::new().set_num_format("@");
    let example = Format::new()
        .set_font_color(0x808080)
        .set_italic()
        .set_num_format("@");
    let ws = wb.add_worksheet();
    ws.set_name(sheet).map_err(&e)?;
    for (c, col) in cols.iter().enumerate() {
        let c = c as u16;
        ws.write_string_with_format(0, c, col.head, &header)
            .map_err(&e)?;
        ws.insert_note(0, c, &Note::new(col.note).set_author("monitor"))
            .map_err(&e)?;
        ws.set_column_width(c, (col.head.chars().count() as f64 * 2.2).max(10.0))
            .map_err(&e)?;
        let value = if c == 0 {
            format!("{EXAMPLE_MARK}{}", col.example)
        } else {
            col.example.to_string()
        };
        ws.write_string_with_format(1, c, &value, &example)
            .map_err(&e)?;
        if matches!(col.kind, Kind::Id | Kind::Text | Kind::Date) {
            ws.set_column_format(c, &text).map_err(&e)?;
        }
        if let Some(v) = validation(col.kind) {
            let v = v.and_then(|v| v.set_error_message(col.note)).map_err(&e)?;
            ws.add_data_validation(2, c, 10_001, c, &v).map_err(&e)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(&e)?;
    let help = wb.add_worksheet();
    help.set_name("填表说明").map_err(&e)?;
    help.write_string(0, 0, "填表说明：第 1 行是表头，不要改动；第 2 行是示例（第一格以“示例”开头，程序不会读入），请从第 3 行起每户（每人、每条记录）一行。证件号码和户编号按文本填写，金额填数字（元），没有的填 0，不要留空。").map_err(&e)?;
    help.set_column_width(0, 16).map_err(&e)?;
    help.set_column_width(1, 10).map_err(&e)?;
    help.set_column_width(2, 60).map_err(&e)?;
    for (c, h) in ["列名", "类型", "说明和可填的值"].iter().enumerate() {
        help.write_string_with_format(2, c as u16, *h, &header)
            .map_err(&e)?;
    }
    for (i, col) in cols.iter().enumerate() {
        let r = i as u32 + 3;
        let (kind, values) = match col.kind {
            Kind::Id => ("文本", String::new()),
            Kind::Text => ("文本", String::new()),
            Kind::Money => ("金额（元）", String::new()),
            Kind::Count => ("整数（人）", String::new()),
            Kind::Date => ("日期", String::new()),
            Kind::List(v) => ("下拉选择", format!("（可选：{}）", v.join("、"))),
        };
        help.write_string(r, 0, col.head).map_err(&e)?;
        help.write_string(r, 1, kind).map_err(&e)?;
        help.write_string(r, 2, format!("{}{values}", col.note))
            .map_err(&e)?;
    }
    wb.save(path).map_err(|err| MonitorError::Output {
        path: path.to_path_buf(),
        msg: crate::error::xlsx_detail(&err),
    })
}

fn config_text(rules: &str) -> String {
    format!(
        r#"# monitor 工作区配置。路径相对于本文件所在的文件夹；{{month}} 会替换为运行月份（如 2020-03）。

[run]
# 本地规则文件：监测标准、风险类型、研判程序和日程，每条都注明所依据的文件条款
rules = "rules/{rules}.toml"
# 结果写到 out/<月份>/ 下：台账、附件、公示名单、乡镇月报、summary.json
out = "out"

[inputs]
# 必需：农户信息（收入各列可以就在这张表上）。模板见 模板/农户信息.xlsx
households = "data/{{month}}/农户信息.xlsx"
# 可选：各部门的刚性支出/预警记录，可以写多个文件，如 ["data/{{month}}/医保.xlsx", "data/{{month}}/教育.xlsx"]
expenses = ["data/{{month}}/刚性支出.xlsx"]
# 可选：家庭成员（用于自然增减、健康状况等）
members = "data/{{month}}/家庭成员.xlsx"
# 可选：单独的收入表（按户编号或证件号码对应）
# income = "data/{{month}}/收入.xlsx"

[history]
# 监测历史库：逐月的状态、研判结论。请定期备份这个文件
store = "monitor-history.sqlite"

[public]
# 公示名单上的异议联系人，如 "县乡村振兴局 0873-0000000"
# contact = ""
"#
    )
}

/// Create a workspace in `dir` for the bundled rule file `rules`.
pub fn init(dir: &Path, rules: &str) -> Result<Vec<String>> {
    let Some((name, rule_text, cases)) = BUNDLED.iter().find(|(n, _, _)| *n == rules) else {
        let names: Vec<&str> = BUNDLED.iter().map(|b| b.0).collect();
        return Err(MonitorError::Config(format!(
            "没有名为“{rules}”的规则文件；可选：{}（monitor rules list 查看说明）",
            names.join("、")
        )));
    };
    let cfg = dir.join(crate::config::DEFAULT_CONFIG);
    for existing in [
        cfg.clone(),
        dir.join(crate::config::DEFAULT_STORE),
        dir.join("rules"),
        dir.join("模板"),
    ] {
        if existing.exists() {
            return Err(MonitorError::Refused(format!(
                "{} 已存在：这里已经是一个工作区，不会覆盖。请换一个空文件夹",
                existing.display()
            )));
        }
    }
    let io = |p: &Path, e: std::io::Error| MonitorError::Output {
        path: p.to_path_buf(),
        msg: crate::error::io_detail(&e),
    };
    let mut written = Vec::new();
    for sub in ["rules", "data", "模板", "out"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| io(&dir.join(sub), e))?;
    }
    let files = [
        (dir.join("rules").join(format!("{name}.toml")), rule_text.to_string()),
        (dir.join("rules").join(format!("{name}.cases.toml")), cases.to_string()),
        (
            dir.join("data").join("说明.txt"),
            "每个月一个文件夹，如 data/2020-03/，放入乡镇报来的 农户信息.xlsx、刚性支出.xlsx、家庭成员.xlsx（模板在“模板”文件夹）。\n".to_string(),
        ),
        (cfg, config_text(name)),
    ];
    for (p, text) in files {
        std::fs::write(&p, text).map_err(|e| io(&p, e))?;
        written.push(p.display().to_string());
    }
    for (file, sheet, cols) in templates() {
        let p = dir.join("模板").join(file);
        write_template(&p, sheet, &cols)?;
        written.push(p.display().to_string());
    }
    Ok(written)
}

/// One line per bundled rule file: name, locality, document, issue date,
/// the first month its parameters are in force.
pub fn rules_list() -> Result<Vec<String>> {
    BUNDLED
        .iter()
        .map(|(name, text, _)| {
            let rs = crate::rules::RuleSet::parse(text, Path::new(name))?;
            let from = rs
                .rules
                .iter()
                .flat_map(|r| r.values.iter().map(|v| v.from))
                .min()
                .map(|d| d.format("%Y-%m").to_string())
                .unwrap_or_default();
            Ok(format!(
                "{name}  {}  {}（{} 印发）  自 {from} 起适用，规则 {} 条",
                rs.meta.locality,
                rs.meta.document,
                rs.meta.issued,
                rs.rules.len()
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_lists_are_values_the_tool_accepts() {
        for t in HOUSEHOLD_TYPES {
            assert!(crate::model::HouseholdType::parse(t).is_some(), "{t}");
        }
        for c in crate::model::EXPENSE_CAUSES {
            assert_eq!(crate::model::canonical_cause(c), Some(*c));
        }
        for h in ["长期慢性病", "患有大病", "残疾"] {
            assert!(crate::model::serious_health(h));
        }
        assert!(!crate::model::serious_health("健康"));
        assert!(RELATIONS.contains(&"户主"));
    }

    #[test]
    fn the_bundled_rule_files_are_the_ones_in_rules() {
        for (name, text, _) in BUNDLED {
            let on_disk = std::fs::read_to_string(format!(
                "{}/rules/{name}.toml",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            assert_eq!(&on_disk, text);
        }
        assert_eq!(rules_list().unwrap().len(), 4);
    }
}

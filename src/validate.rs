//! From located tables to typed households, members and expense records.
//! Row-level problems become `DataIssue`s and the run goes on; structural
//! problems (a file that cannot be read, a missing required column) stop it.

use crate::error::{MonitorError, Result};
use crate::ingest::{locate, read_grids, Cell, FieldSpec, Grid, Table};
use crate::model::*;
use crate::normalize::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

macro_rules! field {
    ($key:literal, [$($a:literal),* $(,)?], $req:expr) => {
        FieldSpec { key: $key, aliases: &[$key, $($a),*], required: $req }
    };
}

const HH_ID: FieldSpec = field!(
    "户编号",
    ["户码", "户号", "家庭编号", "农户编号", "户编码"],
    true
);
const ID_NO: FieldSpec = field!(
    "证件号码",
    [
        "身份证号",
        "身份证号码",
        "户主身份证号",
        "户主证件号码",
        "户主身份证号码",
        "公民身份号码",
        "身份证"
    ],
    false
);
const WAGE: FieldSpec = field!("工资性收入", ["工资收入", "务工收入"], false);
const BUSINESS: FieldSpec = field!(
    "生产经营性收入",
    [
        "生产经营收入",
        "经营性收入",
        "家庭经营性收入",
        "家庭经营收入"
    ],
    false
);
const PROPERTY: FieldSpec = field!("财产性收入", ["财产收入"], false);
const TRANSFER: FieldSpec = field!("转移性收入", ["转移收入", "政策性收入"], false);
const COST: FieldSpec = field!(
    "生产经营性支出",
    [
        "生产经营支出",
        "家庭经营费用支出",
        "经营性支出",
        "生产经营性支出(合计)",
        "生产性支出"
    ],
    false
);
const INCOME_KEYS: [&str; 4] = ["工资性收入", "生产经营性收入", "财产性收入", "转移性收入"];

pub const HOUSEHOLD_SPECS: &[FieldSpec] = &[
    HH_ID,
    field!("户主姓名", ["户主", "户主名称", "姓名"], true),
    ID_NO,
    field!(
        "乡镇",
        ["乡(镇)", "乡镇(街道)", "苏木乡镇", "乡镇名称", "镇", "乡"],
        false
    ),
    field!(
        "村",
        [
            "行政村",
            "村委会",
            "村(居)委会",
            "村(社区)",
            "嘎查村",
            "村名称"
        ],
        false
    ),
    field!("组", ["村民小组", "自然村", "村组", "社", "小组"], false),
    field!("户类型", ["户属性", "农户类型", "农户属性", "户类别"], true),
    field!(
        "家庭人口",
        [
            "家庭人口数",
            "人口数",
            "家庭人数",
            "人数",
            "户籍人口",
            "当前家庭人口数",
            "年度家庭人口数"
        ],
        true
    ),
    field!("劳动力人数", ["劳动力", "劳动力数"], false),
    field!("联系电话", ["户联系电话", "电话", "手机号码"], false),
    field!("脱贫年度", ["脱贫年份", "脱贫时间"], false),
    field!("与户主关系", ["与户主的关系"], false),
    field!(
        "上年家庭纯收入",
        ["上年纯收入", "上年度家庭纯收入", "上年家庭年纯收入"],
        false
    ),
    field!("上年人均纯收入", ["上年度人均纯收入"], false),
    WAGE,
    BUSINESS,
    PROPERTY,
    TRANSFER,
    COST,
    field!(
        "义务教育保障",
        ["义务教育有保障", "义务教育是否有保障", "义务教育"],
        false
    ),
    field!(
        "基本医疗保障",
        ["基本医疗有保障", "基本医疗是否有保障", "基本医疗"],
        false
    ),
    field!(
        "住房安全保障",
        ["住房安全有保障", "住房安全是否有保障", "住房安全"],
        false
    ),
    field!(
        "饮水安全保障",
        [
            "饮水安全有保障",
            "饮水安全",
            "是否解决安全饮用水",
            "饮水是否安全"
        ],
        false
    ),
    field!(
        "农户申报",
        ["是否申报", "农户是否申报", "本人申报", "农户申请"],
        false
    ),
    field!("申报原因", ["申请原因", "申报风险类型"], false),
];

const INCOME_SPECS: &[FieldSpec] = &[
    FieldSpec {
        required: false,
        ..HH_ID
    },
    ID_NO,
    WAGE,
    BUSINESS,
    PROPERTY,
    TRANSFER,
    COST,
];

const EXPENSE_SPECS: &[FieldSpec] = &[
    FieldSpec {
        required: false,
        ..HH_ID
    },
    ID_NO,
    field!(
        "支出类型",
        ["类型", "风险类型", "预警类型", "支出类别", "预警原因"],
        true
    ),
    field!(
        "自付金额",
        [
            "自费金额",
            "个人自付",
            "个人自付金额",
            "自付费用",
            "家庭自费支出",
            "合规自付支出",
            "金额"
        ],
        true
    ),
    field!(
        "发生日期",
        ["日期", "发生时间", "就诊日期", "结算日期", "预警日期"],
        true
    ),
    field!(
        "来源单位",
        ["预警单位", "数据来源", "来源部门", "部门", "推送单位"],
        false
    ),
    field!("姓名", ["患者姓名", "学生姓名", "人员姓名"], false),
];

const MEMBER_SPECS: &[FieldSpec] = &[
    HH_ID,
    field!("姓名", ["成员姓名", "人员姓名"], true),
    field!(
        "证件号码",
        ["身份证号", "身份证号码", "公民身份号码", "身份证"],
        true
    ),
    field!("与户主关系", ["与户主的关系", "关系"], false),
];

/// One input: a file and, optionally, the sheet to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    pub path: PathBuf,
    pub sheet: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Inputs {
    pub households: InputSpec,
    pub income: Option<InputSpec>,
    pub expenses: Vec<InputSpec>,
    pub members: Option<InputSpec>,
}

/// Reads each file once even when several inputs point at it, and lets a
/// file's cells go as soon as the last input that uses it has been located.
struct GridCache {
    grids: HashMap<PathBuf, Vec<Arc<Grid>>>,
    uses: HashMap<PathBuf, usize>,
}

impl GridCache {
    fn new(inputs: &Inputs) -> Self {
        let mut uses: HashMap<PathBuf, usize> = HashMap::new();
        let all = std::iter::once(&inputs.households)
            .chain(&inputs.income)
            .chain(&inputs.expenses)
            .chain(&inputs.members);
        for spec in all {
            *uses.entry(spec.path.clone()).or_default() += 1;
        }
        GridCache {
            grids: HashMap::new(),
            uses,
        }
    }

    fn table(&mut self, spec: &InputSpec, fields: &[FieldSpec]) -> Result<Table> {
        if !self.grids.contains_key(&spec.path) {
            let g = read_grids(&spec.path)?.into_iter().map(Arc::new).collect();
            self.grids.insert(spec.path.clone(), g);
        }
        let t = locate(&self.grids[&spec.path], fields, spec.sheet.as_deref());
        let left = self.uses.get_mut(&spec.path).map(|n| {
            *n = n.saturating_sub(1);
            *n
        });
        if left.unwrap_or(0) == 0 {
            self.grids.remove(&spec.path);
        }
        t
    }
}

struct Issues(Vec<DataIssue>);

impl Issues {
    fn push(
        &mut self,
        t: &Table,
        row: u32,
        key: Option<&str>,
        value: &Cell,
        sev: &'static str,
        reason: impl Into<String>,
    ) {
        self.0.push(DataIssue {
            loc: t.loc(row, key),
            value: value.text(),
            severity: sev,
            reason: reason.into(),
        });
    }
}

const SKIP: &str = "已跳过";
const DOUBT: &str = "存疑";

fn is_head_relation(s: &str) -> bool {
    matches!(
        s.trim(),
        "户主" | "本人" | "本人(户主)" | "01" | "1" | "户主本人"
    )
}

/// Read and normalize all inputs of a month.
pub fn load_month(inputs: &Inputs, mut progress: impl FnMut(&str)) -> Result<MonthData> {
    let mut cache = GridCache::new(inputs);
    let mut issues = Issues(Vec::new());

    progress("读取农户信息");
    let mut ht = cache.table(&inputs.households, HOUSEHOLD_SPECS)?;
    let mut members: Vec<Member> = Vec::new();
    let person_level = ht.has("与户主关系");

    let mut households: Vec<Household> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut first_row: HashMap<String, u32> = HashMap::new();
    let has_income_cols = INCOME_KEYS.iter().any(|k| ht.has(k));
    // 上年人均纯收入 given instead of the household figure: × 家庭人口 once known.
    let mut last_year_pc: HashMap<String, Decimal> = HashMap::new();
    // 家庭人口 unusable: (row, cell, reason), settled once members are known.
    let mut bad_size: HashMap<String, (u32, Cell, String)> = HashMap::new();

    for (row_no, row) in ht.iter() {
        let id_cell = ht.cell(row, "户编号");
        let id = match parse_ident(id_cell) {
            Ok(Some(id)) => id,
            Ok(None) => {
                issues.push(&ht, row_no, Some("户编号"), id_cell, SKIP, "户编号为空");
                continue;
            }
            Err(e) => {
                issues.push(&ht, row_no, Some("户编号"), id_cell, SKIP, e);
                continue;
            }
        };
        let id_no = match parse_ident(ht.cell(row, "证件号码")) {
            Ok(v) => v.unwrap_or_default(),
            Err(e) => {
                issues.push(
                    &ht,
                    row_no,
                    Some("证件号码"),
                    ht.cell(row, "证件号码"),
                    DOUBT,
                    e,
                );
                String::new()
            }
        };
        if person_level {
            let rel = ht.cell(row, "与户主关系").text();
            members.push(Member {
                hh_id: id.clone(),
                name: ht.cell(row, "户主姓名").text(),
                id_no: id_no.clone(),
                relation: rel.clone(),
            });
            if !is_head_relation(&rel) {
                continue;
            }
        }
        if let Some(first) = first_row.get(&id) {
            issues.push(
                &ht,
                row_no,
                Some("户编号"),
                id_cell,
                SKIP,
                format!("户编号重复（第{first}行已有该户），本行未采用"),
            );
            continue;
        }
        first_row.insert(id.clone(), row_no);
        if id_no.len() == 18 && !id_checksum_ok(&id_no) {
            issues.push(
                &ht,
                row_no,
                Some("证件号码"),
                ht.cell(row, "证件号码"),
                DOUBT,
                "证件号码校验位不正确，请核对",
            );
        }
        let type_cell = ht.cell(row, "户类型");
        let hh_type = match HouseholdType::parse(&type_cell.text()) {
            Some(t) => t,
            None => {
                issues.push(
                    &ht,
                    row_no,
                    Some("户类型"),
                    type_cell,
                    DOUBT,
                    "户类型无法识别，按“一般农户”测算",
                );
                HouseholdType::General
            }
        };
        let size_cell = ht.cell(row, "家庭人口");
        let size = match parse_count(size_cell) {
            Ok(Some(n)) if n > 0 => n as u32,
            Ok(_) if person_level => 0, // counted from the member rows below
            Ok(_) => {
                bad_size.insert(
                    id.clone(),
                    (
                        row_no,
                        size_cell.clone(),
                        "家庭人口为空或不大于0".to_string(),
                    ),
                );
                0
            }
            Err(e) => {
                bad_size.insert(id.clone(), (row_no, size_cell.clone(), e));
                0
            }
        };
        let labor = parse_count(ht.cell(row, "劳动力人数"))
            .ok()
            .flatten()
            .map(|n| n.max(0) as u32);

        let income = if has_income_cols {
            read_income(&ht, row_no, row, &mut issues)
        } else {
            None
        };
        let last_year_net = amount_opt(&ht, row_no, row, "上年家庭纯收入", &mut issues);
        if last_year_net.is_none() {
            if let Some(pc) = amount_opt(&ht, row_no, row, "上年人均纯收入", &mut issues) {
                last_year_pc.insert(id.clone(), pc);
            }
        }
        let yn = |key: &str, issues: &mut Issues| {
            let c = ht.cell(row, key);
            parse_yes_no(c).unwrap_or_else(|e| {
                issues.push(&ht, row_no, Some(key), c, DOUBT, e);
                None
            })
        };
        let guarantees = Guarantees {
            education: yn("义务教育保障", &mut issues),
            medical: yn("基本医疗保障", &mut issues),
            housing: yn("住房安全保障", &mut issues),
            water: yn("饮水安全保障", &mut issues),
        };
        let applied = yn("农户申报", &mut issues);
        index.insert(id.clone(), households.len());
        households.push(Household {
            id,
            head_name: ht.cell(row, "户主姓名").text(),
            id_no,
            phone: ht.cell(row, "联系电话").text(),
            township: non_empty(ht.cell(row, "乡镇").text(), "（未填乡镇）"),
            village: ht.cell(row, "村").text(),
            group: ht.cell(row, "组").text(),
            hh_type,
            size,
            labor,
            tuopin_year: ht.cell(row, "脱贫年度").text(),
            income,
            last_year_net,
            guarantees,
            applied,
            applied_cause: ht.cell(row, "申报原因").text(),
            source: ht.loc(row_no, None),
        });
    }
    if person_level {
        // Person-level export: members whose household has no 户主 row.
        let orphans: Vec<&Member> = members
            .iter()
            .filter(|m| !index.contains_key(&m.hh_id))
            .collect();
        for m in orphans {
            issues.0.push(DataIssue {
                loc: crate::error::Location {
                    file: ht.file.clone(),
                    sheet: ht.sheet.clone(),
                    row: None,
                    col: None,
                },
                value: m.hh_id.clone(),
                severity: SKIP,
                reason: format!("户编号 {} 的成员“{}”所在户没有户主行", m.hh_id, m.name),
            });
        }
    }

    // The roster's cells are no longer needed; its column map stays for
    // locating problems found later.
    ht.release_rows();
    let member_table = match &inputs.members {
        Some(spec) => {
            progress("读取家庭成员");
            Some(cache.table(spec, MEMBER_SPECS)?)
        }
        None => None,
    };
    if let Some(mt) = &member_table {
        for (row_no, row) in mt.iter() {
            let id_cell = mt.cell(row, "户编号");
            let hh_id = match parse_ident(id_cell) {
                Ok(Some(v)) => v,
                Ok(None) => {
                    issues.push(mt, row_no, Some("户编号"), id_cell, SKIP, "户编号为空");
                    continue;
                }
                Err(e) => {
                    issues.push(mt, row_no, Some("户编号"), id_cell, SKIP, e);
                    continue;
                }
            };
            if !index.contains_key(&hh_id) {
                issues.push(
                    mt,
                    row_no,
                    Some("户编号"),
                    id_cell,
                    SKIP,
                    "该成员的户编号不在农户信息中",
                );
                continue;
            }
            let idc = mt.cell(row, "证件号码");
            let id_no = match parse_ident(idc) {
                Ok(v) => v.unwrap_or_default(),
                Err(e) => {
                    issues.push(mt, row_no, Some("证件号码"), idc, DOUBT, e);
                    String::new()
                }
            };
            if id_no.len() == 18 && !id_checksum_ok(&id_no) {
                issues.push(
                    mt,
                    row_no,
                    Some("证件号码"),
                    idc,
                    DOUBT,
                    "证件号码校验位不正确，请核对",
                );
            }
            members.push(Member {
                hh_id,
                name: mt.cell(row, "姓名").text(),
                id_no,
                relation: mt.cell(row, "与户主关系").text(),
            });
        }
    }
    drop(member_table);

    // 家庭人口 missing: fall back to the member count when there is one.
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for m in &members {
        *counts.entry(m.hh_id.as_str()).or_default() += 1;
    }
    let mut keep = Vec::with_capacity(households.len());
    for mut h in households {
        if h.size == 0 {
            let n = counts.get(h.id.as_str()).copied().unwrap_or(0);
            let (row_no, cell, why) = bad_size.remove(&h.id).unwrap_or((
                h.source.row.unwrap_or(0),
                Cell::Empty,
                "家庭人口未填".to_string(),
            ));
            if n == 0 {
                issues.push(
                    &ht,
                    row_no,
                    Some("家庭人口"),
                    &cell,
                    SKIP,
                    format!("{why}，且没有家庭成员可数，无法测算人均收入"),
                );
                continue;
            }
            h.size = n;
            issues.push(
                &ht,
                row_no,
                Some("家庭人口"),
                &cell,
                DOUBT,
                format!("{why}，按家庭成员数 {n} 人测算"),
            );
        }
        if let Some(pc) = last_year_pc.get(&h.id) {
            h.last_year_net = Some(*pc * Decimal::from(h.size));
        }
        keep.push(h);
    }
    let mut households = keep;
    let index: HashMap<String, usize> = households
        .iter()
        .enumerate()
        .map(|(i, h)| (h.id.clone(), i))
        .collect();

    // Any member's (or the head's) ID number → household.
    let mut by_id_no: HashMap<String, String> = HashMap::new();
    for h in &households {
        if !h.id_no.is_empty() {
            by_id_no.insert(h.id_no.clone(), h.id.clone());
        }
    }
    for m in &members {
        if !m.id_no.is_empty() && index.contains_key(&m.hh_id) {
            by_id_no
                .entry(m.id_no.clone())
                .or_insert_with(|| m.hh_id.clone());
        }
    }
    let resolve =
        |t: &Table, row: &[Cell]| -> std::result::Result<String, (Option<&'static str>, String)> {
            match parse_ident(t.cell(row, "户编号")) {
                Ok(Some(id)) if index.contains_key(&id) => return Ok(id),
                Ok(Some(id)) => {
                    if !t.has("证件号码") || t.cell(row, "证件号码").is_empty() {
                        return Err((Some("户编号"), format!("户编号 {id} 不在农户信息中")));
                    }
                }
                Err(e) => return Err((Some("户编号"), e)),
                Ok(None) => {}
            }
            match parse_ident(t.cell(row, "证件号码")) {
                Ok(Some(no)) => by_id_no.get(&no).cloned().ok_or((
                    Some("证件号码"),
                    "找不到该证件号码对应的农户（农户信息和家庭成员中都没有）".to_string(),
                )),
                Ok(None) => Err((Some("户编号"), "户编号和证件号码都为空".to_string())),
                Err(e) => Err((Some("证件号码"), e)),
            }
        };

    // The household a record belongs to, or a 数据问题 row saying why not.
    let resolve_or_report =
        |t: &Table, row_no: u32, row: &[Cell], issues: &mut Issues| match resolve(t, row) {
            Ok(id) => Some(id),
            Err((key, msg)) => {
                issues.push(
                    t,
                    row_no,
                    key,
                    key.map_or(&Cell::Empty, |k| t.cell(row, k)),
                    SKIP,
                    msg,
                );
                None
            }
        };

    if let Some(spec) = &inputs.income {
        progress("读取收入");
        let it = cache.table(spec, INCOME_SPECS)?;
        require_one_of(&it, &["户编号", "证件号码"])?;
        require_one_of(&it, &INCOME_KEYS)?;
        let mut seen: HashMap<String, u32> = HashMap::new();
        for (row_no, row) in it.iter() {
            let Some(id) = resolve_or_report(&it, row_no, row, &mut issues) else {
                continue;
            };
            if let Some(first) = seen.get(&id) {
                issues.push(
                    &it,
                    row_no,
                    Some("户编号"),
                    it.cell(row, "户编号"),
                    SKIP,
                    format!("该户收入重复（第{first}行已有），本行未采用"),
                );
                continue;
            }
            seen.insert(id.clone(), row_no);
            let inc = read_income(&it, row_no, row, &mut issues);
            households[index[&id]].income = inc;
        }
    }

    let mut expenses = Vec::new();
    for spec in &inputs.expenses {
        progress("读取刚性支出");
        let et = cache.table(spec, EXPENSE_SPECS)?;
        require_one_of(&et, &["户编号", "证件号码"])?;
        for (row_no, row) in et.iter() {
            let Some(hh_id) = resolve_or_report(&et, row_no, row, &mut issues) else {
                continue;
            };
            let amount_cell = et.cell(row, "自付金额");
            let amount = match parse_amount(amount_cell) {
                Ok(a) if a >= Decimal::ZERO => a,
                Ok(_) => {
                    issues.push(
                        &et,
                        row_no,
                        Some("自付金额"),
                        amount_cell,
                        SKIP,
                        "自付金额为负数",
                    );
                    continue;
                }
                Err(e) => {
                    issues.push(&et, row_no, Some("自付金额"), amount_cell, SKIP, e);
                    continue;
                }
            };
            let date_cell = et.cell(row, "发生日期");
            let date = parse_date(date_cell).and_then(|d| match d {
                Some(d) if (2000..=2100).contains(&chrono::Datelike::year(&d)) => Ok(d),
                Some(_) => Err("发生日期不在合理范围内（应在2000年以后）".to_string()),
                None => Err("发生日期为空，无法判断是否在测算期内".to_string()),
            });
            let date = match date {
                Ok(d) => d,
                Err(e) => {
                    issues.push(&et, row_no, Some("发生日期"), date_cell, SKIP, e);
                    continue;
                }
            };
            let cause_cell = et.cell(row, "支出类型");
            let cause = match canonical_cause(&cause_cell.text()) {
                Some(c) => c.to_string(),
                None => {
                    issues.push(
                        &et,
                        row_no,
                        Some("支出类型"),
                        cause_cell,
                        DOUBT,
                        "支出类型无法识别，按“其他”计",
                    );
                    "其他".to_string()
                }
            };
            expenses.push(Expense {
                hh_id,
                cause,
                amount,
                date,
                source_unit: et.cell(row, "来源单位").text(),
                person: et.cell(row, "姓名").text(),
                source: et.loc(row_no, None),
            });
        }
    }
    households.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(MonthData {
        households,
        members,
        expenses,
        issues: issues.0,
    })
}

fn non_empty(s: String, default: &str) -> String {
    if s.is_empty() {
        default.to_string()
    } else {
        s
    }
}

fn require_one_of(t: &Table, keys: &[&str]) -> Result<()> {
    if keys.iter().any(|k| t.has(k)) {
        return Ok(());
    }
    Err(MonitorError::input(
        crate::error::Location {
            file: t.file.clone(),
            sheet: t.sheet.clone(),
            row: Some(t.header_row),
            col: None,
        },
        format!("表头中至少要有以下一列：{}", keys.join("、")),
    ))
}

fn amount_opt(
    t: &Table,
    row_no: u32,
    row: &[Cell],
    key: &str,
    issues: &mut Issues,
) -> Option<Decimal> {
    let c = t.cell(row, key);
    if c.is_empty() {
        return None;
    }
    match parse_amount(c) {
        Ok(v) => Some(v),
        Err(e) => {
            issues.push(t, row_no, Some(key), c, DOUBT, e);
            None
        }
    }
}

/// The income block of one row; `None` when any amount is unreadable (the
/// household is then not assessed on income rules, and the cell is listed).
fn read_income(t: &Table, row_no: u32, row: &[Cell], issues: &mut Issues) -> Option<Income> {
    let mut vals: BTreeMap<&str, Decimal> = BTreeMap::new();
    let mut ok = true;
    for key in INCOME_KEYS.iter().chain(std::iter::once(&"生产经营性支出")) {
        let c = t.cell(row, key);
        match parse_amount(c) {
            Ok(v) => {
                vals.insert(key, v);
            }
            Err(e) => {
                issues.push(
                    t,
                    row_no,
                    Some(key),
                    c,
                    DOUBT,
                    format!("{e}；该户收入类指标未测算"),
                );
                ok = false;
            }
        }
    }
    ok.then(|| Income {
        wage: vals["工资性收入"],
        business: vals["生产经营性收入"],
        property: vals["财产性收入"],
        transfer: vals["转移性收入"],
        cost: vals["生产经营性支出"],
    })
}

//! From located tables to typed households, members and expense records.
//! Row-level problems become `DataIssue`s and the run goes on; structural
//! problems (a file that cannot be read, a missing required column) stop it.

use crate::error::{shorten, MonitorError, Result};
use crate::ingest::{locate_in, open_source, Cell, FieldSpec, Source, Table};
use crate::keyindex::{Chunked, KeyIndex};
use crate::model::*;
use crate::normalize::*;
use compact_str::CompactString;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

mod members;
mod records;
mod roster;

use members::{settle_members, settle_sizes, MembersJob};
use records::{read_expenses, read_income_file, ExpenseKey, Lookup};
use roster::read_roster;

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
/// The four income components and production costs: 家庭纯收入 needs all.
pub const INCOME_COLUMNS: [&str; 5] = [
    "工资性收入",
    "生产经营性收入",
    "财产性收入",
    "转移性收入",
    "生产经营性支出",
];

const ROSTER_BASE: &[FieldSpec] = &[
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
    field!("常住人口", ["常住人数", "家庭常住人口"], false),
    field!("联系电话", ["户联系电话", "电话", "手机号码"], false),
    field!("脱贫年度", ["脱贫年份", "脱贫时间"], false),
    field!(
        "主要致贫原因",
        [
            "致贫原因",
            "主要风险类型",
            "致贫原因1",
            "主要返贫致贫风险",
            "返贫致贫风险1",
            "致贫返贫风险1",
            "风险类型1"
        ],
        false
    ),
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
    field!("健康状况", ["健康情况", "身体状况"], false),
    field!(
        "农户申报",
        ["是否申报", "农户是否申报", "本人申报", "农户申请"],
        false
    ),
    field!("申报原因", ["申请原因", "申报风险类型"], false),
];

/// The roster's columns: the fixed ones and one per 两不愁三保障/饮水 item
/// a rule file can check (`model::GUARANTEE_ITEMS`).
pub static HOUSEHOLD_SPECS: std::sync::LazyLock<Vec<FieldSpec>> = std::sync::LazyLock::new(|| {
    let mut v = ROSTER_BASE.to_vec();
    v.extend(GUARANTEE_ITEMS.iter().map(|i| FieldSpec {
        key: i.name,
        aliases: i.columns,
        required: false,
    }));
    v
});

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
    field!("健康状况", ["健康情况", "身体状况"], false),
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

/// Opens each file once even when several inputs point at it, and lets a
/// workbook's cells go as soon as the last input that uses it has been
/// located (a CSV is streamed: only its first rows are held). All files
/// are opened at once, one thread each (an xlsx is parsed whole on
/// opening: the roster's and the members' parse side by side); a file that
/// cannot be opened reports its error when its input is reached, as if
/// read in turn.
struct GridCache {
    grids: HashMap<PathBuf, Result<Source>>,
    uses: HashMap<PathBuf, usize>,
}

/// The inputs' files, each with how many inputs read it.
fn input_uses(inputs: &Inputs) -> Vec<(&PathBuf, usize)> {
    let mut uses: Vec<(&PathBuf, usize)> = Vec::new();
    let all = std::iter::once(&inputs.households)
        .chain(&inputs.income)
        .chain(&inputs.expenses)
        .chain(&inputs.members);
    for spec in all {
        match uses.iter_mut().find(|(p, _)| **p == spec.path) {
            Some((_, n)) => *n += 1,
            None => uses.push((&spec.path, 1)),
        }
    }
    uses
}

/// A file's thread ended by a panic: an error naming the file.
fn thread_failed(path: &Path) -> MonitorError {
    MonitorError::input(
        crate::error::Location::file(path.display().to_string()),
        "读取该文件时程序出错，请检查文件是否完好",
    )
}

impl GridCache {
    /// Opens every input's file but `apart` (read by a thread of its own).
    fn new(inputs: &Inputs, apart: Option<&Path>) -> Self {
        let uses: HashMap<PathBuf, usize> = input_uses(inputs)
            .into_iter()
            .filter(|(p, _)| Some(p.as_path()) != apart)
            .map(|(p, n)| (p.clone(), n))
            .collect();
        let grids = std::thread::scope(|scope| {
            let jobs: Vec<_> = uses
                .keys()
                .map(|p| (p, scope.spawn(|| open_source(p))))
                .collect();
            jobs.into_iter()
                .map(|(p, job)| {
                    let opened = job.join().unwrap_or_else(|_| Err(thread_failed(p)));
                    (p.clone(), opened)
                })
                .collect()
        });
        GridCache { grids, uses }
    }

    fn table(&mut self, spec: &InputSpec, fields: &[FieldSpec]) -> Result<Table> {
        let path = &spec.path;
        if !self.grids.contains_key(path) {
            self.grids.insert(path.clone(), open_source(path));
        }
        if let Some(Err(_)) = self.grids.get(path) {
            if let Some(Err(e)) = self.grids.remove(path) {
                return Err(e);
            }
        }
        let Some(Ok(src)) = self.grids.get(path) else {
            unreachable!("opened above")
        };
        let t = locate_in(src, fields, spec.sheet.as_deref());
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
            value: shorten(&value.text()),
            severity: sev,
            reason: reason.into(),
        });
    }

    /// Cells the reader left out or shortened in the sheet of `t`.
    fn notes(&mut self, t: &Table) {
        self.read_notes(t, &t.notes);
    }

    /// Cells left out or shortened while streaming the rows of `t`.
    fn read_notes(&mut self, t: &Table, notes: &[crate::ingest::GridNote]) {
        for n in notes {
            self.0.push(DataIssue {
                loc: crate::error::Location {
                    file: t.file.clone(),
                    sheet: t.sheet.clone(),
                    row: Some(n.row),
                    col: Some(n.col),
                },
                value: n.value.clone(),
                severity: DOUBT,
                reason: n.reason.clone(),
            });
        }
    }
}

const SKIP: &str = "已跳过";
const DOUBT: &str = "存疑";

/// The largest 家庭人口 taken as real; more is a typing or export error.
pub const MAX_HOUSEHOLD_SIZE: i64 = 99;

fn is_head_relation(s: &str) -> bool {
    matches!(
        s.trim(),
        "户主" | "本人" | "本人(户主)" | "01" | "1" | "户主本人"
    )
}

/// What the rule file says about the inputs.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Income columns (of 工资性收入 … 生产经营性支出) the locality does not
    /// use: their absence is not an error.
    pub unused_income: Vec<String>,
}

/// Read and normalize all inputs of a month.
pub fn load_month(
    inputs: &Inputs,
    opts: &LoadOptions,
    mut progress: impl FnMut(&str),
) -> Result<MonthData> {
    progress("读取农户信息");
    // A members' file no other input reads is opened, located and its rows
    // read on a thread of its own from the start (the roster's sheet is
    // larger and still being parsed when it is done); its rows are settled
    // against the roster in row order: the same members and problems as if
    // read after it.
    let apart = inputs
        .members
        .as_ref()
        .filter(|m| input_uses(inputs).contains(&(&m.path, 1)));
    let mut members_job = apart.map(MembersJob::file);
    let mut cache = GridCache::new(inputs, apart.map(|m| m.path.as_path()));
    let mut issues = Issues(Vec::new());

    let mut ht = cache.table(&inputs.households, &HOUSEHOLD_SPECS)?;
    issues.notes(&ht);
    let has_income_cols = INCOME_COLUMNS.iter().any(|k| ht.has(k));
    if has_income_cols {
        require_income_columns(&ht, opts)?;
    }
    // A members' file shared with another input: its rows are read ahead
    // on another core while the roster's are read.
    if let (None, Some(spec)) = (&members_job, &inputs.members) {
        members_job = Some(MembersJob::table(cache.table(spec, MEMBER_SPECS)));
    }
    let mut roster = read_roster(&ht, has_income_cols, &mut issues)?;
    if roster.households.is_empty() && roster.members.is_empty() {
        return Err(MonitorError::input(
            crate::error::Location {
                file: ht.file.clone(),
                sheet: ht.sheet.clone(),
                row: Some(ht.header_row),
                col: None,
            },
            format!(
                "农户信息表中没有可用的农户行（数据问题 {} 条，例如：{}）；请检查文件是否选对、户编号列是否填写。本月结果未改动",
                issues.0.len(),
                issues.0.first().map_or("无".to_string(), |i| i.reason.clone())
            ),
        ));
    }
    // The roster's cells are no longer needed; its column map stays for
    // locating problems found later.
    ht.release_rows();
    // The roster's own members (a person-level export), then the member
    // file's, into one list of its final size: no copy of a province's
    // members to make it.
    let mut members = std::mem::take(&mut roster.members).into_vec();
    if let Some(job) = members_job {
        progress("读取家庭成员");
        let (mt, ahead) = job.join()?;
        issues.notes(&mt);
        settle_members(&mt, &roster, ahead, &mut members, &mut issues);
    }
    let households = settle_sizes(&ht, roster, members, &mut issues);
    if households.households.is_empty() {
        return Err(MonitorError::input(
            crate::error::Location::file(&ht.file),
            "农户信息表中没有一户能够测算（家庭人口都无法确定）；本月结果未改动",
        ));
    }
    let lookup = Lookup::new(
        &households.households,
        &households.members,
        households.index,
    );
    // Incomes from a separate file, applied once the lookup is done with
    // the households (none without such a file).
    let mut incomes: Vec<Option<Option<Income>>> = Vec::new();
    if let Some(spec) = &inputs.income {
        incomes.resize(households.households.len(), None);
        progress("读取收入");
        let it = cache.table(spec, INCOME_SPECS)?;
        issues.notes(&it);
        require_one_of(&it, &["户编号", "证件号码"])?;
        require_one_of(&it, &INCOME_KEYS)?;
        require_income_columns(&it, opts)?;
        read_income_file(&it, &lookup, &mut incomes, &mut issues)?;
    }

    let mut expenses = Vec::new();
    let mut seen_records: HashMap<ExpenseKey, crate::error::Location> = HashMap::new();
    for spec in &inputs.expenses {
        progress("读取刚性支出");
        let et = cache.table(spec, EXPENSE_SPECS)?;
        issues.notes(&et);
        require_one_of(&et, &["户编号", "证件号码"])?;
        read_expenses(&et, &lookup, &mut seen_records, &mut expenses, &mut issues)?;
    }
    drop(lookup);
    let mut households_out = households.households;
    for (h, income) in households_out.iter_mut().zip(incomes) {
        if let Some(income) = income {
            h.income = income;
        }
    }
    // Unstable (no buffer of half the households): the ids are unique.
    households_out.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    Ok(MonthData {
        roster: ht.place(),
        households: households_out,
        members: households.members,
        expenses,
        issues: issues.0,
    })
}

fn ident_or_report(
    t: &Table,
    row_no: u32,
    row: &[Cell],
    issues: &mut Issues,
) -> Option<CompactString> {
    let id_cell = t.cell(row, "户编号");
    match parse_ident(id_cell) {
        Ok(Some(id)) => Some(id),
        Ok(None) => {
            issues.push(t, row_no, Some("户编号"), id_cell, SKIP, "户编号为空");
            None
        }
        Err(e) => {
            issues.push(t, row_no, Some("户编号"), id_cell, SKIP, e);
            None
        }
    }
}

/// 证件号码 of a row ("" when blank or unreadable, with a note), its check
/// digit verified.
fn id_no_checked(t: &Table, row_no: u32, row: &[Cell], issues: &mut Issues) -> CompactString {
    let idc = t.cell(row, "证件号码");
    let id_no = match parse_ident(idc) {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => {
            issues.push(t, row_no, Some("证件号码"), idc, DOUBT, e);
            CompactString::default()
        }
    };
    if id_no.len() == 18 && !id_checksum_ok(&id_no) {
        issues.push(
            t,
            row_no,
            Some("证件号码"),
            idc,
            DOUBT,
            "证件号码校验位不正确，请核对",
        );
    }
    id_no
}

/// Income columns found only in part (a merged header whose sub-header was
/// lost, say) would read the missing ones as 0 for every household: stop.
fn require_income_columns(t: &Table, opts: &LoadOptions) -> Result<()> {
    let missing: Vec<&str> = INCOME_COLUMNS
        .iter()
        .copied()
        .filter(|k| !t.has(k) && !opts.unused_income.iter().any(|u| u == k))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let found: Vec<&str> = INCOME_COLUMNS
        .iter()
        .copied()
        .filter(|k| t.has(k))
        .collect();
    let aliases: Vec<String> = missing
        .iter()
        .map(|k| {
            let spec = INCOME_SPECS.iter().find(|s| s.key == *k);
            format!(
                "“{k}”（可用列名：{}）",
                spec.map_or(k.to_string(), |s| s.aliases.join("、"))
            )
        })
        .collect();
    Err(MonitorError::input(
        crate::error::Location {
            file: t.file.clone(),
            sheet: t.sheet.clone(),
            row: Some(t.header_row),
            col: None,
        },
        format!(
            "表中有收入列（{}），但找不到 {}；缺少的列会让每户的该项收入都按0计算，所以停止运行。请检查表头（两行合并表头的下一行是否完整）；若本地确实不用该项，请在规则文件 [inputs] unused_income 中写明",
            found.join("、"),
            aliases.join("；")
        ),
    ))
}

fn non_empty(s: crate::model::Ustr, default: &str) -> crate::model::Ustr {
    if s.is_empty() {
        crate::model::Ustr::from(default)
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

/// The income block of one row; `None` when any amount is unreadable or
/// negative, or when every income cell is blank (收入未填报: blank is not
/// 0 元). The household is then not assessed on income rules, and the
/// cell is listed. An explicit 0 stays 0; a blank beside filled cells is 0.
fn read_income(t: &Table, row_no: u32, row: &[Cell], issues: &mut Issues) -> Option<Income> {
    if INCOME_COLUMNS.iter().all(|k| t.cell(row, k).is_empty()) {
        let first = INCOME_COLUMNS.iter().copied().find(|k| t.has(k));
        issues.push(
            t,
            row_no,
            first,
            &Cell::Empty,
            DOUBT,
            "收入未填报（各项收入都是空白，空白不当作0元）；该户收入类指标未测算，支出和保障类规则照常测算",
        );
        return None;
    }
    let mut vals: BTreeMap<&str, Decimal> = BTreeMap::new();
    let mut ok = true;
    for key in INCOME_COLUMNS {
        let c = t.cell(row, key);
        let v = parse_amount(c).and_then(|v| {
            if v < Decimal::ZERO && key != "生产经营性收入" {
                Err(format!("{key}为负数"))
            } else {
                Ok(v)
            }
        });
        match v {
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
    let income = Income {
        wage: vals.get("工资性收入").copied()?,
        business: vals.get("生产经营性收入").copied()?,
        property: vals.get("财产性收入").copied()?,
        transfer: vals.get("转移性收入").copied()?,
        cost: vals.get("生产经营性支出").copied()?,
    };
    (ok && income.net().is_some()).then_some(income)
}

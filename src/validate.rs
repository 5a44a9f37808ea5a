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
        members.reserve_exact(ahead.members.len());
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

/// The roster as read, before 家庭人口 is settled against the members.
struct Roster {
    households: Chunked<Household>,
    members: Chunked<Member>,
    /// Households by 户编号.
    index: KeyIndex<u32>,
    /// 上年人均纯收入 given instead of the household figure.
    last_year_pc: FxHashMap<CompactString, Decimal>,
    /// 家庭人口 unusable: (row, cell, reason), settled once members are known.
    bad_size: FxHashMap<CompactString, (u32, Cell, String)>,
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

/// One roster row as read on any core, before it is checked against the
/// rows above it.
struct RosterRow {
    row_no: u32,
    /// The 户编号 cell as written (for a problem naming it).
    id_cell: Cell,
    /// A person-level export's member of this row.
    member: Option<Member>,
    /// The row's household (none without a 户编号, or for a person-level
    /// row other than the 户主's), and the problems that come with it.
    household: Option<(Household, RowExtras, Vec<DataIssue>)>,
    /// Problems kept whatever the rows above (no 户编号; a member's
    /// 证件号码).
    issues: Vec<DataIssue>,
}

/// What a household row gives besides the household.
#[derive(Default)]
struct RowExtras {
    /// 家庭人口 unusable: (row, cell, reason).
    bad_size: Option<(u32, Cell, String)>,
    /// 上年人均纯收入 given instead of the household figure.
    last_year_pc: Option<Decimal>,
}

fn read_roster_row(ht: &Table, row_no: u32, row: &[Cell], has_income_cols: bool) -> RosterRow {
    let mut kept = Issues(Vec::new());
    let mut read = RosterRow {
        row_no,
        id_cell: ht.cell(row, "户编号").clone(),
        member: None,
        household: None,
        issues: Vec::new(),
    };
    let Some(id) = ident_or_report(ht, row_no, row, &mut kept) else {
        read.issues = kept.0;
        return read;
    };
    let mut own = Issues(Vec::new());
    let id_no = if ht.has("与户主关系") {
        let id_no = id_no_checked(ht, row_no, row, &mut kept);
        let rel = ht.cell(row, "与户主关系").label();
        read.member = Some(Member {
            hh_id: id.clone(),
            name: ht.cell(row, "户主姓名").text_compact(),
            id_no: id_no.clone(),
            relation: rel,
            health: ht.cell(row, "健康状况").label(),
        });
        if !is_head_relation(&rel) {
            read.issues = kept.0;
            return read;
        }
        id_no
    } else {
        id_no_checked(ht, row_no, row, &mut own)
    };
    let mut extras = RowExtras::default();
    let h = read_household(
        ht,
        row_no,
        row,
        (id, id_no),
        has_income_cols,
        &mut extras,
        &mut own,
    );
    read.household = Some((h, extras, own.0));
    read.issues = kept.0;
    read
}

/// The roster's rows, read on every core and taken in row order: a 户编号
/// seen on an earlier row leaves the row out (its own problems unsaid).
fn read_roster(ht: &Table, has_income_cols: bool, issues: &mut Issues) -> Result<Roster> {
    let person_level = ht.has("与户主关系");
    let mut r = Roster {
        households: Chunked::default(),
        members: Chunked::default(),
        index: KeyIndex::with_capacity(0),
        last_year_pc: FxHashMap::default(),
        bad_size: FxHashMap::default(),
    };
    let read = |row_no: u32, row: &[Cell]| read_roster_row(ht, row_no, row, has_income_cols);
    let notes = ht.for_each_row_read(read, |row| {
        issues.0.extend(row.issues);
        if let Some(m) = row.member {
            r.members.push(m);
        }
        let Some((h, extras, own)) = row.household else {
            return;
        };
        if let Some(at) = r.index.get(&h.id, |&i| &r.households.get(i as usize).id) {
            let first = r.households.get(at as usize).row;
            issues.push(
                ht,
                row.row_no,
                Some("户编号"),
                &row.id_cell,
                SKIP,
                format!("户编号重复（第{first}行已有该户），本行未采用"),
            );
            return;
        }
        issues.0.extend(own);
        if let Some(bad) = extras.bad_size {
            r.bad_size.insert(h.id.clone(), bad);
        }
        if let Some(pc) = extras.last_year_pc {
            r.last_year_pc.insert(h.id.clone(), pc);
        }
        let at = u32::try_from(r.households.len()).unwrap_or(u32::MAX);
        r.index
            .insert(&h.id, at, |&i| &r.households.get(i as usize).id);
        r.households.push(h);
    })?;
    issues.read_notes(ht, &notes);
    if person_level {
        // Person-level export: members whose household has no 户主 row.
        for m in r.members.iter().filter(|m| {
            r.index
                .get(&m.hh_id, |&i| &r.households.get(i as usize).id)
                .is_none()
        }) {
            issues.0.push(DataIssue {
                loc: ht.place(),
                value: m.hh_id.to_string(),
                severity: SKIP,
                reason: format!("户编号 {} 的成员“{}”所在户没有户主行", m.hh_id, m.name),
            });
        }
    }
    Ok(r)
}

/// One household row of the roster.
#[allow(clippy::too_many_arguments)]
fn read_household(
    ht: &Table,
    row_no: u32,
    row: &[Cell],
    (id, id_no): (CompactString, CompactString),
    has_income_cols: bool,
    extras: &mut RowExtras,
    issues: &mut Issues,
) -> Household {
    let person_level = ht.has("与户主关系");
    let type_cell = ht.cell(row, "户类型");
    let hh_type = HouseholdType::parse(&type_cell.text()).unwrap_or_else(|| {
        issues.push(
            ht,
            row_no,
            Some("户类型"),
            type_cell,
            DOUBT,
            "户类型无法识别，按“一般农户”测算",
        );
        HouseholdType::General
    });
    let size_cell = ht.cell(row, "家庭人口");
    let size = match parse_count(size_cell) {
        Ok(Some(n)) if (1..=MAX_HOUSEHOLD_SIZE).contains(&n) => n as u32,
        Ok(Some(n)) if n > MAX_HOUSEHOLD_SIZE => {
            extras.bad_size = Some((
                row_no,
                size_cell.clone(),
                format!("家庭人口 {n} 不合理（超过 {MAX_HOUSEHOLD_SIZE} 人）"),
            ));
            0
        }
        Ok(_) if person_level => 0, // counted from the member rows
        Ok(_) => {
            extras.bad_size = Some((
                row_no,
                size_cell.clone(),
                "家庭人口为空或不大于0".to_string(),
            ));
            0
        }
        Err(e) => {
            extras.bad_size = Some((row_no, size_cell.clone(), e));
            0
        }
    };
    let labor = read_count(ht, row_no, row, "劳动力人数", issues);
    let resident = read_count(ht, row_no, row, "常住人口", issues);
    let income = if has_income_cols {
        read_income(ht, row_no, row, issues)
    } else {
        None
    };
    let last_year_net = amount_opt(ht, row_no, row, "上年家庭纯收入", issues);
    if last_year_net.is_none() {
        extras.last_year_pc = amount_opt(ht, row_no, row, "上年人均纯收入", issues);
    }
    let guarantees = read_guarantees(ht, row_no, row, issues);
    let mut yn = |key: &str| {
        let c = ht.cell(row, key);
        parse_yes_no(c).unwrap_or_else(|e| {
            issues.push(ht, row_no, Some(key), c, DOUBT, e);
            None
        })
    };
    let applied = yn("农户申报");
    Household {
        id,
        head_name: ht.cell(row, "户主姓名").text_compact(),
        id_no,
        phone: ht.cell(row, "联系电话").text_compact(),
        township: non_empty(ht.cell(row, "乡镇").label(), "（未填乡镇）"),
        village: ht.cell(row, "村").label(),
        group: ht.cell(row, "组").label(),
        hh_type,
        size,
        labor,
        resident,
        tuopin_year: ht.cell(row, "脱贫年度").label(),
        main_cause: ht.cell(row, "主要致贫原因").label(),
        income,
        last_year_net,
        guarantees,
        applied,
        applied_cause: ht.cell(row, "申报原因").label(),
        row: row_no,
    }
}

/// The 两不愁三保障/饮水 items the roster has columns for.
fn read_guarantees(ht: &Table, row_no: u32, row: &[Cell], issues: &mut Issues) -> Guarantees {
    let mut g = Guarantees::default();
    for item in GUARANTEE_ITEMS.iter().filter(|i| ht.has(i.name)) {
        let c = ht.cell(row, item.name);
        let answer = if item.name == "危房" {
            parse_danger_grade(c)
        } else {
            parse_yes_no(c)
        };
        match answer {
            Ok(Some(yes)) => {
                g.set(item.name, yes != item.yes_is_shortfall);
            }
            Ok(None) => {}
            Err(e) => issues.push(ht, row_no, Some(item.name), c, DOUBT, e),
        }
    }
    g
}

/// 危房: 是/否, or the appraisal grade (C级、D级 are 危房; A级、B级 are not).
fn parse_danger_grade(c: &Cell) -> std::result::Result<Option<bool>, String> {
    let t = fold_width(&c.text()).trim().to_uppercase();
    match t.trim_end_matches("级危房").trim_end_matches('级') {
        "C" | "D" => Ok(Some(true)),
        "A" | "B" => Ok(Some(false)),
        _ => parse_yes_no(c),
    }
}

/// 劳动力人数 / 常住人口: unknown (not 0) when blank, unreadable or
/// negative, since 劳动力 0 means 整户无劳动力 and keeps a household from
/// elimination.
fn read_count(
    ht: &Table,
    row_no: u32,
    row: &[Cell],
    key: &'static str,
    issues: &mut Issues,
) -> Option<u32> {
    let c = ht.cell(row, key);
    match parse_count(c) {
        Ok(None) => None,
        Ok(Some(n)) if (0..=MAX_HOUSEHOLD_SIZE).contains(&n) => Some(n as u32),
        Ok(Some(_)) => {
            issues.push(
                ht,
                row_no,
                Some(key),
                c,
                DOUBT,
                format!("{key}不合理，按“未填”处理（不会当作整户无劳动力）"),
            );
            None
        }
        Err(e) => {
            issues.push(
                ht,
                row_no,
                Some(key),
                c,
                DOUBT,
                format!("{e}；按“未填”处理（不会当作整户无劳动力）"),
            );
            None
        }
    }
}

/// A members' file read ahead of the roster (on another core): every
/// row's member and problems, in row order, for [`settle_members`].
struct MembersAhead {
    members: Chunked<Member>,
    /// The sheet row of each member.
    rows: Vec<u32>,
    /// A member's 户编号 / 证件号码 cell, when its text is not what was
    /// read from it (a number, spaces): the value its problem shows.
    raw_hh: Vec<(u32, Cell)>,
    raw_id: Vec<(u32, Cell)>,
    /// Problems by the member they come with: a row left out before it
    /// (false), or its own 证件号码 (true).
    found: Vec<(u32, bool, DataIssue)>,
    /// Cells of the sheet left out or shortened while reading.
    notes: Vec<crate::ingest::GridNote>,
}

/// A members' file being read ahead on a thread of its own.
struct MembersJob(std::thread::JoinHandle<Result<(Table, MembersAhead)>>);

impl MembersJob {
    /// Open, locate and read ahead a members' file no other input reads.
    fn file(spec: &InputSpec) -> Self {
        let spec = spec.clone();
        MembersJob(std::thread::spawn(move || {
            let src = open_source(&spec.path)?;
            Self::rows(locate_in(&src, MEMBER_SPECS, spec.sheet.as_deref()))
        }))
    }

    /// Read ahead the rows of a members' table already located.
    fn table(located: Result<Table>) -> Self {
        MembersJob(std::thread::spawn(move || Self::rows(located)))
    }

    fn rows(located: Result<Table>) -> Result<(Table, MembersAhead)> {
        let t = located?;
        let ahead = crate::error::catch_panic(|| read_members_ahead(&t))
            .map_err(MonitorError::Internal)??;
        Ok((t, ahead))
    }

    /// The table and its rows read, or what stopped them.
    fn join(self) -> Result<(Table, MembersAhead)> {
        self.0
            .join()
            .unwrap_or_else(|_| Err(MonitorError::Internal("读取家庭成员的线程意外中止".into())))
    }
}

fn read_members_ahead(mt: &Table) -> Result<MembersAhead> {
    let mut a = MembersAhead {
        members: Chunked::default(),
        rows: Vec::new(),
        raw_hh: Vec::new(),
        raw_id: Vec::new(),
        found: Vec::new(),
        notes: Vec::new(),
    };
    let mut local = Issues(Vec::new());
    a.notes = mt.for_each_row(|row_no, row| {
        let next = a.members.len() as u32;
        let Some(hh_id) = ident_or_report(mt, row_no, row, &mut local) else {
            a.found.extend(local.0.drain(..).map(|i| (next, false, i)));
            return;
        };
        let id_no = id_no_checked(mt, row_no, row, &mut local);
        a.found.extend(local.0.drain(..).map(|i| (next, true, i)));
        for (key, read, raw) in [
            ("户编号", &hh_id, &mut a.raw_hh),
            ("证件号码", &id_no, &mut a.raw_id),
        ] {
            let cell = mt.cell(row, key);
            if cell.text_compact() != *read {
                raw.push((next, cell.clone()));
            }
        }
        a.rows.push(row_no);
        a.members.push(Member {
            hh_id,
            name: mt.cell(row, "姓名").text_compact(),
            id_no,
            relation: mt.cell(row, "与户主关系").label(),
            health: mt.cell(row, "健康状况").label(),
        });
    })?;
    Ok(a)
}

/// The members read ahead, checked against the roster in row order: a
/// member of a household not on it is left out (its 证件号码 unchecked), a
/// 证件号码 seen before is counted once. Whether each member's household is
/// on the roster and which members share a 证件号码 are found on two cores
/// (a province's 7,000,000 members took 4.5 s on one).
fn settle_members(
    mt: &Table,
    roster: &Roster,
    ahead: MembersAhead,
    members: &mut Vec<Member>,
    issues: &mut Issues,
) {
    let raw_of = |raw: &[(u32, Cell)], k: u32, read: &CompactString| {
        raw.binary_search_by_key(&k, |(i, _)| *i)
            .map_or_else(|_| Cell::Text(read.clone()), |at| raw[at].1.clone())
    };
    let (known, shared) = std::thread::scope(|s| {
        let shared = s.spawn(|| same_id_no(&ahead.members));
        let known: Vec<bool> = ahead
            .members
            .iter()
            .map(|m| {
                let hh = &roster.households;
                roster
                    .index
                    .get(&m.hh_id, |&i| &hh.get(i as usize).id)
                    .is_some()
            })
            .collect();
        (known, shared.join())
    });
    let shared = shared.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    // The sheet row of the member kept for each shared 证件号码 (the first
    // whose household is on the roster).
    let mut kept: FxHashMap<u32, u32> = FxHashMap::default();
    let mut found = ahead.found.into_iter().peekable();
    let mut own = Vec::new();
    let people = ahead.members.into_iter().zip(ahead.rows);
    for (k, (m, row_no)) in (0u32..).zip(people) {
        while let Some((_, belongs, issue)) = found.next_if(|(at, _, _)| *at == k) {
            if belongs {
                own.push(issue);
            } else {
                issues.0.push(issue);
            }
        }
        if !known[k as usize] {
            own.clear();
            let cell = raw_of(&ahead.raw_hh, k, &m.hh_id);
            issues.push(
                mt,
                row_no,
                Some("户编号"),
                &cell,
                SKIP,
                "该成员的户编号不在农户信息中",
            );
            continue;
        }
        issues.0.append(&mut own);
        if let Some(&first_of) = shared.get(&k) {
            if let Some(&first) = kept.get(&first_of) {
                let cell = raw_of(&ahead.raw_id, k, &m.id_no);
                issues.push(
                    mt,
                    row_no,
                    Some("证件号码"),
                    &cell,
                    SKIP,
                    format!("家庭成员重复（第{first}行已有该证件号码），本行未采用"),
                );
                continue;
            }
            kept.insert(first_of, row_no);
        }
        members.push(m);
    }
    issues.0.extend(found.map(|(_, _, issue)| issue));
    issues.read_notes(mt, &ahead.notes);
}

/// Members whose (non-blank) 证件号码 another member of the file has too,
/// each with the first member that has it (itself for that one). Few in a
/// clean file: the map holds only them.
fn same_id_no(members: &Chunked<Member>) -> FxHashMap<u32, u32> {
    let mut first: KeyIndex<u32> = KeyIndex::with_capacity(members.len());
    let mut shared = FxHashMap::default();
    for (k, m) in (0u32..).zip(members.iter()) {
        if m.id_no.is_empty() {
            continue;
        }
        if let Some(f) = first.insert(&m.id_no, k, |&i| members.get(i as usize).id_no.as_str()) {
            shared.insert(k, f);
            shared.insert(f, f);
        }
    }
    shared
}

struct Settled {
    households: Vec<Household>,
    members: Vec<Member>,
    /// The roster's index of households by 户编号, when every household
    /// kept its place (none left out for want of a 家庭人口).
    index: Option<KeyIndex<u32>>,
}

/// 家庭人口 missing or unusable: fall back to the member count when there
/// is one; 上年人均纯收入 × 家庭人口 once the size is known.
fn settle_sizes(
    ht: &Table,
    mut roster: Roster,
    members: Vec<Member>,
    issues: &mut Issues,
) -> Settled {
    let mut households = roster.households.into_vec();
    let read = households.len();
    let (bad_size, last_year_pc) = (&mut roster.bad_size, &roster.last_year_pc);
    // Members per household, counted only when some 家庭人口 is missing.
    let mut counts: FxHashMap<&str, u32> = FxHashMap::default();
    if households.iter().any(|h| h.size == 0) {
        for m in members.iter() {
            *counts.entry(m.hh_id.as_str()).or_default() += 1;
        }
    }
    // In place: a province's households are not copied.
    households.retain_mut(|h| {
        if h.size == 0 {
            let n = counts.get(h.id.as_str()).copied().unwrap_or(0);
            let (row_no, cell, why) = bad_size.remove(h.id.as_str()).unwrap_or((
                h.row,
                Cell::Empty,
                "家庭人口未填".to_string(),
            ));
            if n == 0 {
                issues.push(
                    ht,
                    row_no,
                    Some("家庭人口"),
                    &cell,
                    SKIP,
                    format!("{why}，且没有家庭成员可数，无法测算人均收入"),
                );
                return false;
            }
            h.size = n;
            issues.push(
                ht,
                row_no,
                Some("家庭人口"),
                &cell,
                DOUBT,
                format!("{why}，按家庭成员数 {n} 人测算"),
            );
        }
        if let (Some(l), true) = (h.labor, h.labor.is_some_and(|l| l > h.size)) {
            issues.push(
                ht,
                h.row,
                Some("劳动力人数"),
                &Cell::Int(i64::from(l)),
                DOUBT,
                format!("劳动力人数 {l} 多于家庭人口 {} 人，请核对", h.size),
            );
        }
        if let Some(pc) = last_year_pc.get(h.id.as_str()) {
            h.last_year_net = pc.checked_mul(Decimal::from(h.size));
        }
        true
    });
    drop(counts);
    Settled {
        index: (households.len() == read).then_some(roster.index),
        households,
        members,
    }
}

/// Finding the household a record belongs to: by 户编号, else by any
/// member's (or the head's) 证件号码. The 证件号码 index (millions of
/// entries in a province) is built only when a record needs it.
struct Lookup<'a> {
    households: &'a [Household],
    members: &'a [Member],
    /// Households by 户编号.
    index: KeyIndex<u32>,
    /// Households (their heads) and members by 证件号码: a handle with
    /// [`MEMBER`] set is a member.
    by_id_no: std::cell::OnceCell<KeyIndex<u32>>,
}

const MEMBER: u32 = 1 << 31;

impl<'a> Lookup<'a> {
    /// `index`: the households by 户编号 when the roster's index still
    /// fits them (a province's 2,000,000 took 1.5 s to index again).
    fn new(
        households: &'a [Household],
        members: &'a [Member],
        index: Option<KeyIndex<u32>>,
    ) -> Self {
        let index = index.unwrap_or_else(|| {
            let mut index = KeyIndex::with_capacity(households.len());
            for (i, h) in households.iter().enumerate() {
                index.insert(&h.id, i as u32, |&k| &households[k as usize].id);
            }
            index
        });
        Lookup {
            households,
            members,
            index,
            by_id_no: std::cell::OnceCell::new(),
        }
    }

    fn household(&self, id: &str) -> Option<usize> {
        let hh = self.households;
        self.index
            .get(id, |&k| &hh[k as usize].id)
            .map(|k| k as usize)
    }

    fn id_no_of(&self, handle: u32) -> &'a str {
        if handle & MEMBER != 0 {
            &self.members[(handle & !MEMBER) as usize].id_no
        } else {
            &self.households[handle as usize].id_no
        }
    }

    fn by_id_no(&self) -> &KeyIndex<u32> {
        self.by_id_no.get_or_init(|| {
            let mut m = KeyIndex::with_capacity(0);
            // A head's number names its household (the last such row, as
            // before); a member's, the member's household unless a head
            // or an earlier member already has it.
            for (i, h) in self.households.iter().enumerate().rev() {
                if !h.id_no.is_empty() {
                    m.insert(&h.id_no, i as u32, |&k| self.id_no_of(k));
                }
            }
            for (i, p) in self.members.iter().enumerate() {
                let known = self.household(&p.hh_id).is_some();
                if !p.id_no.is_empty() && known && i < MEMBER as usize {
                    m.insert(&p.id_no, i as u32 | MEMBER, |&k| self.id_no_of(k));
                }
            }
            m
        })
    }

    /// The household of a 证件号码.
    fn by_number(&self, no: &str) -> Option<usize> {
        let k = self.by_id_no().get(no, |&k| self.id_no_of(k))?;
        if k & MEMBER != 0 {
            self.household(&self.members[(k & !MEMBER) as usize].hh_id)
        } else {
            Some(k as usize)
        }
    }

    /// The index of the household a record belongs to.
    fn resolve(
        &self,
        t: &Table,
        row: &[Cell],
    ) -> std::result::Result<usize, (Option<&'static str>, String)> {
        match parse_ident(t.cell(row, "户编号")) {
            Ok(Some(id)) => match self.household(&id) {
                Some(i) => return Ok(i),
                None if !t.has("证件号码") || t.cell(row, "证件号码").is_empty() => {
                    return Err((Some("户编号"), format!("户编号 {id} 不在农户信息中")));
                }
                None => {}
            },
            Err(e) => return Err((Some("户编号"), e)),
            Ok(None) => {}
        }
        match parse_ident(t.cell(row, "证件号码")) {
            Ok(Some(no)) => self.by_number(&no).ok_or((
                Some("证件号码"),
                "找不到该证件号码对应的农户（农户信息和家庭成员中都没有）".to_string(),
            )),
            Ok(None) => Err((Some("户编号"), "户编号和证件号码都为空".to_string())),
            Err(e) => Err((Some("证件号码"), e)),
        }
    }

    /// The household a record belongs to, or a 数据问题 row saying why not.
    fn resolve_or_report(
        &self,
        t: &Table,
        row_no: u32,
        row: &[Cell],
        issues: &mut Issues,
    ) -> Option<usize> {
        match self.resolve(t, row) {
            Ok(i) => Some(i),
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
        }
    }
}

/// Each household's income from the income file (`incomes[i]` for
/// household `i`; a household without a row keeps its roster income).
fn read_income_file(
    it: &Table,
    lookup: &Lookup,
    incomes: &mut [Option<Option<Income>>],
    issues: &mut Issues,
) -> Result<()> {
    let mut seen: FxHashMap<usize, u32> = FxHashMap::default();
    let notes = it.for_each_row(|row_no, row| {
        let Some(i) = lookup.resolve_or_report(it, row_no, row, issues) else {
            return;
        };
        if let Some(first) = seen.get(&i) {
            issues.push(
                it,
                row_no,
                Some("户编号"),
                it.cell(row, "户编号"),
                SKIP,
                format!("该户收入重复（第{first}行已有），本行未采用"),
            );
            return;
        }
        seen.insert(i, row_no);
        incomes[i] = Some(read_income(it, row_no, row, issues));
    })?;
    issues.read_notes(it, &notes);
    Ok(())
}

/// What makes two expense records the same record (sent twice, or in two
/// files): household, person, date, cause, amount and source unit.
type ExpenseKey = (String, String, chrono::NaiveDate, String, Decimal, String);

fn read_expenses(
    et: &Table,
    lookup: &Lookup,
    seen: &mut HashMap<ExpenseKey, crate::error::Location>,
    expenses: &mut Vec<Expense>,
    issues: &mut Issues,
) -> Result<()> {
    let notes = et.for_each_row(|row_no, row| {
        let Some(i) = lookup.resolve_or_report(et, row_no, row, issues) else {
            return;
        };
        let hh_id = lookup.households[i].id.to_string();
        let Some(e) = read_expense(et, row_no, row, hh_id, issues) else {
            return;
        };
        let key = (
            e.hh_id.clone(),
            e.person.clone(),
            e.date,
            e.cause.clone(),
            e.amount,
            e.source_unit.clone(),
        );
        if let Some(first) = seen.get(&key) {
            issues.push(
                et,
                row_no,
                None,
                et.cell(row, "自付金额"),
                SKIP,
                format!("与{first}的支出记录完全相同（同一人、日期、类型、金额、来源），只计一次"),
            );
            return;
        }
        seen.insert(key, e.source.clone());
        expenses.push(e);
    })?;
    issues.read_notes(et, &notes);
    Ok(())
}

fn read_expense(
    et: &Table,
    row_no: u32,
    row: &[Cell],
    hh_id: String,
    issues: &mut Issues,
) -> Option<Expense> {
    let amount_cell = et.cell(row, "自付金额");
    let amount = match parse_amount(amount_cell) {
        Ok(a) if a >= Decimal::ZERO => a,
        Ok(_) => {
            issues.push(
                et,
                row_no,
                Some("自付金额"),
                amount_cell,
                SKIP,
                "自付金额为负数",
            );
            return None;
        }
        Err(e) => {
            issues.push(et, row_no, Some("自付金额"), amount_cell, SKIP, e);
            return None;
        }
    };
    if amount_cell.is_empty() {
        issues.push(
            et,
            row_no,
            Some("自付金额"),
            amount_cell,
            SKIP,
            "自付金额为空（空白不当作0元），本条未计",
        );
        return None;
    }
    let date_cell = et.cell(row, "发生日期");
    let date = parse_date(date_cell).and_then(|d| match d {
        Some(d) if (2000..=2100).contains(&chrono::Datelike::year(&d)) => Ok(d),
        Some(_) => Err("发生日期不在合理范围内（应在2000年以后）".to_string()),
        None => Err("发生日期为空，无法判断是否在测算期内".to_string()),
    });
    let date = match date {
        Ok(d) => d,
        Err(e) => {
            issues.push(et, row_no, Some("发生日期"), date_cell, SKIP, e);
            return None;
        }
    };
    let cause_cell = et.cell(row, "支出类型");
    let cause = canonical_cause(&cause_cell.text()).unwrap_or_else(|| {
        issues.push(
            et,
            row_no,
            Some("支出类型"),
            cause_cell,
            DOUBT,
            "支出类型无法识别，按“其他”计",
        );
        "其他"
    });
    Some(Expense {
        hh_id,
        cause: cause.to_string(),
        amount,
        date,
        source_unit: et.cell(row, "来源单位").text(),
        person: et.cell(row, "姓名").text(),
        counted_in: None,
        source: et.loc(row_no, None),
    })
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

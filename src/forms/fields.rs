//! The fields a form may show: their names (the words a county writes in
//! its form files) and their values for one household or one 村.

use crate::normalize::{fmt_money, id_birth_sex, month_end, months_back};
use crate::report::{ReportCtx, RiskRow};
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

/// What a block of a form is filled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Household,
    Village,
}

/// One field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Text(String),
    Int(i64),
    Money(Decimal),
    /// A ratio (0.3 = 30%).
    Pct(Decimal),
    /// Not known: shown as the given words (e.g. 未测算) or left blank.
    Absent(&'static str),
}

impl V {
    /// The value as words in a sentence.
    pub fn text(&self) -> String {
        match self {
            V::Text(s) => s.clone(),
            V::Int(n) => n.to_string(),
            V::Money(d) => fmt_money(*d),
            V::Pct(d) => format!("{}%", (d * Decimal::ONE_HUNDRED).round_dp(2).normalize()),
            V::Absent(s) => s.to_string(),
        }
    }
    /// [`V::text`], borrowed when the value is words already.
    pub fn words(&self) -> std::borrow::Cow<'_, str> {
        match self {
            V::Text(s) => std::borrow::Cow::Borrowed(s),
            V::Absent(s) => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(other.text()),
        }
    }
    pub fn present(&self) -> bool {
        match self {
            V::Text(s) => !s.is_empty(),
            V::Absent(_) => false,
            _ => true,
        }
    }
}

/// A block's values: fields, and lists of items with fields of their own.
#[derive(Debug, Default)]
pub struct Fields {
    pub map: FxHashMap<&'static str, V>,
    pub lists: FxHashMap<&'static str, Vec<Fields>>,
}

impl Fields {
    /// Room for `n` fields at once (a household's form has about seventy:
    /// no growing and rehashing of the map for every household).
    pub fn with_capacity(n: usize) -> Self {
        Fields {
            map: FxHashMap::with_capacity_and_hasher(n, Default::default()),
            lists: FxHashMap::default(),
        }
    }
    pub fn set(&mut self, k: &'static str, v: V) {
        self.map.insert(k, v);
    }
    pub fn text(&mut self, k: &'static str, v: impl Into<String>) {
        self.map.insert(k, V::Text(v.into()));
    }
    pub fn get(&self, k: &str) -> Option<&V> {
        self.map.get(k)
    }
}

/// Household fields, with what each is (written by `monitor forms export`).
pub const HOUSEHOLD: &[(&str, &str)] = &[
    ("附件号", "附件1 / 附件2 …"),
    ("表名", "表的名称"),
    ("地区", "规则文件的地方，如 弥勒市"),
    ("月份", "运行月份，如 2020年3月"),
    ("乡镇", ""),
    ("村", ""),
    ("组", ""),
    ("住址", "乡镇村组连写"),
    ("户编号", ""),
    ("户主姓名", ""),
    ("证件号码", "户主身份证号"),
    ("联系电话", ""),
    ("户类型", "脱贫户 / 一般农户 …"),
    ("监测类型", "脱贫监测户 / 边缘户 …"),
    ("风险属性", "返贫风险 / 致贫风险"),
    ("申请类别", "附件1/2：申请纳入的类别"),
    ("监测状态", "预警待研判 / 新纳入 / 持续监测 …"),
    ("纳入监测时间", "YYYY-MM"),
    ("脱贫年度", ""),
    ("家庭人口", "人数"),
    ("常住人口", "人数（花名册有“常住人口”列时）"),
    ("劳动力人数", "人数"),
    ("风险类型", "本月触发的风险类型，顿号分隔"),
    ("纳入时风险类型", "纳入监测当月的风险类型"),
    ("因", "申请书用：因病、因学…（每个原因一个“因”）"),
    ("风险描述", "本月预警依据，每条一行"),
    ("刚性支出说明", "刚性支出期内的自付支出，按类别"),
    ("收件人", "申请书抬头：某某村委会"),
    (
        "户别说明",
        "申请书用：我家为2016年脱贫户，/ 我家为非建档立卡户，",
    ),
    ("收入期", "年度收入测算期，如 2019年4月至2020年3月"),
    ("测算期起", "YYYY-MM-DD"),
    ("测算期止", "YYYY-MM-DD"),
    ("刚性支出期起", "YYYY-MM-DD"),
    ("工资性收入", "元"),
    ("生产经营性收入", "元"),
    ("财产性收入", "元"),
    ("转移性收入", "元"),
    ("生产经营性支出", "元"),
    ("家庭收入合计", "元"),
    ("家庭纯收入", "元"),
    ("人均纯收入", "元"),
    ("监测标准", "元（规则文件的收入线）"),
    ("上年家庭纯收入", "元"),
    ("刚性支出合计", "元"),
    ("收入骤减比例", "规则文件的收入骤减比例（有此规则时）"),
    ("收入骤减比较", "规则的比较方式：>= 或 >"),
    ("收入下降比例", "家庭纯收入较上年下降的比例"),
    ("收入骤减", "是 / 否（按规则文件的比例）"),
    ("低于标准", "人均纯收入是否低于监测标准：是 / 否"),
    ("监测标准比较", "收入线规则的比较方式：< 或 <="),
    (
        "支出超上年纯收入",
        "刚性支出合计是否超过上年家庭纯收入：是 / 否",
    ),
    ("无户说明", "本月无户时的说明"),
    ("义务教育", "是 / 否"),
    ("基本医疗", "是 / 否"),
    ("住房安全", "是 / 否"),
    ("饮水安全", "是 / 否"),
    ("帮扶责任人", ""),
    ("帮扶联系电话", ""),
    ("措施摘要", "N 项已落实：类别…"),
    ("测算日期", "运行月份的最后一天"),
];

/// Lists a household form may repeat rows over, with their item fields.
pub const HOUSEHOLD_LISTS: &[(&str, &[&str])] = &[
    (
        "成员",
        &[
            "序号",
            "姓名",
            "与户主关系",
            "证件号码",
            "性别",
            "出生日期",
            "健康状况",
        ],
    ),
    ("支出", &["项目", "金额", "说明"]),
    ("预警", &["序号", "规则", "依据"]),
    (
        "措施",
        &[
            "序号",
            "针对风险",
            "措施类别",
            "具体措施",
            "责任单位",
            "责任人",
            "落实时间",
            "金额",
            "成效",
        ],
    ),
];

/// 村 fields (研判表).
pub const VILLAGE: &[(&str, &str)] = &[
    ("附件号", "附件5 / 附件6"),
    ("表名", ""),
    ("地区", ""),
    ("月份", ""),
    ("乡镇", ""),
    ("村", ""),
    ("监测标准", "元"),
    ("消除说明", "建议消除的条件和依据"),
    ("属性列", "附件5：脱贫年度；附件6：户属性"),
    ("无户说明", "本村本月无户时的说明"),
];

pub const VILLAGE_LISTS: &[(&str, &[&str])] = &[(
    "户",
    &[
        "序号",
        "户编号",
        "乡镇",
        "村",
        "组",
        "户主姓名",
        "证件号码",
        "家庭人口",
        "属性",
        "纳入监测时间",
        "监测状态",
        "风险类型",
        "纳入时风险类型",
        "人均纯收入",
        "监测标准",
        "低于标准",
        "刚性支出合计",
        "义务教育",
        "基本医疗",
        "住房安全",
        "饮水安全",
        "已落实措施",
    ],
)];

/// A scope's fields (name, what it is) and lists (name, item fields).
type Tables = (
    &'static [(&'static str, &'static str)],
    &'static [(&'static str, &'static [&'static str])],
);

fn scope_tables(scope: Scope) -> Tables {
    match scope {
        Scope::Household => (HOUSEHOLD, HOUSEHOLD_LISTS),
        Scope::Village => (VILLAGE, VILLAGE_LISTS),
    }
}

/// Whether `name` is a field of the scope (or of the list's items).
pub fn known(scope: Scope, list: Option<&str>, name: &str) -> bool {
    let (fields, lists) = scope_tables(scope);
    let in_list = list.is_some_and(|l| {
        lists
            .iter()
            .any(|(n, items)| *n == l && items.contains(&name))
    });
    in_list || fields.iter().any(|(n, _)| *n == name)
}

pub fn is_list(scope: Scope, name: &str) -> bool {
    scope_tables(scope).1.iter().any(|(n, _)| *n == name)
}

/// The entries of a dropdown list.
pub fn dropdown(name: &str) -> Option<&'static [&'static str]> {
    match name {
        "研判结论" => Some(&crate::history::DECISIONS),
        "消除方式" => Some(&crate::history::METHODS),
        _ => None,
    }
}

fn count(n: Option<u32>) -> V {
    n.map_or(V::Absent(""), |n| V::Int(n as i64))
}

fn money(d: Option<Decimal>, absent: &'static str) -> V {
    d.map_or(V::Absent(absent), V::Money)
}

pub fn yes_no(v: Option<bool>) -> V {
    V::Text(crate::report::yes_no(v).to_string())
}

/// Where a household lives, as one string.
pub fn place(h: &crate::model::Household) -> String {
    format!("{}{}{}", h.township, h.village, h.group)
}

/// Who and where a household is: 户编号, 户主姓名, 证件号码, 乡镇, 村, 组.
fn who(h: &crate::model::Household, f: &mut Fields) {
    for (k, v) in [
        ("户编号", h.id.as_str()),
        ("户主姓名", h.head_name.as_str()),
        ("证件号码", h.id_no.as_str()),
        ("乡镇", h.township.as_str()),
        ("村", h.village.as_str()),
        ("组", h.group.as_str()),
    ] {
        f.text(k, v);
    }
}

/// The fields of one household's form; of its lists (成员, 支出, 预警,
/// 措施), only those `wants` names are built.
pub fn household(ctx: &ReportCtx, r: &RiskRow, wants: impl Fn(&str) -> bool) -> Fields {
    let h = r.h;
    let mut f = Fields::with_capacity(HOUSEHOLD.len());
    common(ctx, &mut f);
    who(h, &mut f);
    f.text("联系电话", h.phone.as_str());
    f.text("脱贫年度", h.tuopin_year.as_str());
    f.text("住址", place(h));
    f.text("户类型", h.hh_type.label());
    f.text("监测类型", r.class);
    f.text("风险属性", r.risk);
    f.text("监测状态", r.status());
    f.text("纳入监测时间", r.since());
    f.set("家庭人口", V::Int(h.size as i64));
    f.set("常住人口", count(h.resident));
    f.set("劳动力人数", count(h.labor));
    let causes = r.a.causes();
    f.text("风险类型", causes.join("、"));
    f.text("纳入时风险类型", ctx.entry_causes(&h.id).join("、"));
    f.text("因", crate::report::annex::because(&causes));
    f.text("风险描述", r.a.basis_text());
    f.text("刚性支出说明", spending_text(ctx, r));
    f.text("收件人", addressee(&h.village));
    f.text(
        "户别说明",
        if r.class == ctx.rs.labels.returning {
            let y = if h.tuopin_year.is_empty() {
                "____"
            } else {
                &h.tuopin_year
            };
            format!("我家为{y}年脱贫户，")
        } else {
            "我家为非建档立卡户，".to_string()
        },
    );
    income(ctx, r, &mut f);
    for k in ["义务教育", "基本医疗", "住房安全", "饮水安全"] {
        f.set(k, yes_no(h.guarantees.get(k)));
    }
    let none = crate::measures::Support::default();
    let support = ctx.support_of(&h.id).unwrap_or(&none);
    f.text("帮扶责任人", support.helper.as_str());
    f.text("帮扶联系电话", support.phone.as_str());
    f.text("措施摘要", support.summary());
    let lists: [(&'static str, &dyn Fn() -> Vec<Fields>); 4] = [
        ("成员", &|| members(ctx, r)),
        ("支出", &|| expenses(ctx, r)),
        ("预警", &|| warnings(r)),
        ("措施", &|| measures(ctx, r, support)),
    ];
    for (name, build) in lists {
        if wants(name) {
            f.lists.insert(name, build());
        }
    }
    f
}

/// Fields every block has.
pub fn common(ctx: &ReportCtx, f: &mut Fields) {
    f.text("地区", ctx.rs.meta.locality.clone());
    f.text("月份", ctx.month_cn());
    let line = ctx.rs.income_line(ctx.month);
    f.set("监测标准", money(line, "本地规则未设收入线"));
}

fn income(ctx: &ReportCtx, r: &RiskRow, f: &mut Fields) {
    let h = r.h;
    let from = months_back(ctx.month, 11);
    let to = month_end(ctx.month);
    f.text(
        "收入期",
        format!("{}至{}", from.format("%Y年%-m月"), to.format("%Y年%-m月")),
    );
    f.text("测算期起", from.format("%Y-%m-%d").to_string());
    f.text("测算期止", to.format("%Y-%m-%d").to_string());
    f.text("测算日期", to.format("%Y年%-m月%-d日").to_string());
    f.text(
        "刚性支出期起",
        ctx.rs
            .spending_window(ctx.month)
            .format("%Y-%m-%d")
            .to_string(),
    );
    let inc = h.income.as_ref();
    let absent = "未填报";
    f.set("工资性收入", money(inc.map(|i| i.wage), absent));
    f.set("生产经营性收入", money(inc.map(|i| i.business), absent));
    f.set("财产性收入", money(inc.map(|i| i.property), absent));
    f.set("转移性收入", money(inc.map(|i| i.transfer), absent));
    f.set("生产经营性支出", money(inc.map(|i| i.cost), absent));
    f.set("家庭收入合计", money(inc.and_then(|i| i.total()), "未测算"));
    f.set("家庭纯收入", money(inc.and_then(|i| i.net()), "未测算"));
    f.set("人均纯收入", money(r.a.per_capita, "未测算"));
    f.set("上年家庭纯收入", money(h.last_year_net, "未填报"));
    let total = spending_total(r);
    f.set("刚性支出合计", V::Money(total));
    let net = inc.and_then(|i| i.net());
    let last = h.last_year_net.filter(|l| *l > Decimal::ZERO);
    let drop = match (net, last) {
        (Some(n), Some(l)) => l.checked_sub(n).and_then(|d| d.checked_div(l)),
        _ => None,
    };
    f.set("收入下降比例", drop.map_or(V::Absent(""), V::Pct));
    if let Some((ratio, cmp)) = ctx.rs.income_drop_ratio(ctx.month) {
        f.set("收入骤减比例", V::Pct(ratio));
        f.text("收入骤减比较", cmp.op());
        f.set("收入骤减", yes_no(drop.map(|d| cmp.holds(d, ratio))));
    }
    let line = ctx.rs.income_line(ctx.month);
    let below = match (r.a.per_capita, line) {
        (Some(t), Some(l)) => Some(ctx.rs.income_line_cmp(ctx.month).holds(t, l)),
        _ => None,
    };
    f.set("低于标准", yes_no(below));
    f.text("监测标准比较", ctx.rs.income_line_cmp(ctx.month).op());
    f.set("支出超上年纯收入", yes_no(last.map(|l| total > l)));
}

/// Rigid spending of the forms' window, all causes (checked sum; amounts
/// read are bounded, so it cannot reach the limit it stops at).
fn spending_total(r: &RiskRow) -> Decimal {
    r.a.spending
        .values()
        .try_fold(Decimal::ZERO, |s, v| s.checked_add(v))
        .unwrap_or(Decimal::MAX)
}

fn addressee(village: &str) -> String {
    match village {
        "" => "________村（居）委会".to_string(),
        v if v.ends_with('村') => format!("{v}委会"),
        v if v.ends_with("社区") => format!("{v}居委会"),
        v => format!("{v}村（居）委会"),
    }
}

fn spending_text(ctx: &ReportCtx, r: &RiskRow) -> String {
    let from = ctx.rs.spending_window(ctx.month);
    let span = format!(
        "{}至{}",
        from.format("%Y-%m-%d"),
        month_end(ctx.month).format("%Y-%m-%d")
    );
    if r.a.spending.is_empty() {
        return format!("{span}无刚性支出记录");
    }
    let parts: Vec<String> =
        r.a.spending
            .iter()
            .map(|(c, v)| format!("{c} {} 元", fmt_money(v)))
            .collect();
    format!("{span}：{}", parts.join("；"))
}

fn members(ctx: &ReportCtx, r: &RiskRow) -> Vec<Fields> {
    let h = r.h;
    let list: Vec<(String, String, String, String)> = match ctx.members_of(&h.id) {
        [] => vec![(
            h.head_name.to_string(),
            "户主".into(),
            h.id_no.to_string(),
            String::new(),
        )],
        ms => ms
            .iter()
            .map(|m| {
                (
                    m.name.to_string(),
                    m.relation.to_string(),
                    m.id_no.to_string(),
                    m.health.to_string(),
                )
            })
            .collect(),
    };
    list.into_iter()
        .enumerate()
        .map(|(i, (name, rel, id, health))| {
            let mut f = Fields::with_capacity(7);
            let (birth, sex) = id_birth_sex(&id)
                .map(|(d, s)| (d.format("%Y-%m-%d").to_string(), s))
                .unwrap_or_default();
            f.set("序号", V::Int(i as i64 + 1));
            f.text("姓名", name);
            f.text("与户主关系", rel);
            f.text("证件号码", id);
            f.text("性别", sex);
            f.text("出生日期", birth);
            f.text("健康状况", health);
            f
        })
        .collect()
}

fn expenses(ctx: &ReportCtx, r: &RiskRow) -> Vec<Fields> {
    let exps = ctx.expenses_of(&r.h.id);
    r.a.spending
        .iter()
        .map(|(c, v)| {
            let of_cause = || exps.iter().filter(|e| e.cause == c);
            let mut units: Vec<&str> = of_cause()
                .map(|e| e.source_unit.as_str())
                .filter(|u| !u.is_empty())
                .collect();
            units.sort();
            units.dedup();
            let mut counted: Vec<&str> =
                of_cause().filter_map(|e| e.counted_in.as_deref()).collect();
            counted.sort();
            counted.dedup();
            let mut note = units.join("、");
            if !counted.is_empty() {
                note.push_str(&format!("（含已于 {} 计入预警的记录）", counted.join("、")));
            }
            let mut f = Fields::with_capacity(3);
            f.text("项目", format!("{c}自付支出"));
            f.set("金额", V::Money(v));
            f.text("说明", note);
            f
        })
        .collect()
}

fn warnings(r: &RiskRow) -> Vec<Fields> {
    r.a.triggers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut f = Fields::with_capacity(3);
            f.set("序号", V::Int(i as i64 + 1));
            f.text("规则", t.rule_name.as_str());
            f.text("依据", t.basis.clone());
            f
        })
        .collect()
}

/// Measures on record first, then the rule file's suggestions for this
/// month's causes not yet on record.
fn measures(ctx: &ReportCtx, r: &RiskRow, support: &crate::measures::Support) -> Vec<Fields> {
    let mut out = Vec::new();
    let mut push = |cells: [(&'static str, String); 8]| {
        let mut f = Fields::with_capacity(9);
        f.set("序号", V::Int(out.len() as i64 + 1));
        for (k, v) in cells {
            f.text(k, v);
        }
        out.push(f);
    };
    for m in &support.measures {
        push([
            ("针对风险", m.cause.clone()),
            ("措施类别", m.category.clone()),
            ("具体措施", m.detail.clone()),
            ("责任单位", m.unit.clone()),
            ("责任人", m.person.clone()),
            ("落实时间", m.done.clone().unwrap_or_default()),
            ("金额", m.amount.clone().unwrap_or_default()),
            ("成效", m.effect.clone()),
        ]);
    }
    let recorded: Vec<&str> = support
        .measures
        .iter()
        .map(|m| m.category.as_str())
        .collect();
    for cause in r.a.causes() {
        let mut found: Vec<&crate::rules::Measure> = ctx
            .rs
            .measures
            .iter()
            .filter(|m| m.cause == cause)
            .collect();
        if found.is_empty() {
            found = ctx.rs.measures.iter().filter(|m| m.cause == "*").collect();
        }
        for m in found
            .iter()
            .filter(|m| !recorded.contains(&m.category.as_str()))
        {
            push([
                ("针对风险", cause.clone()),
                ("措施类别", m.category.clone()),
                (
                    "具体措施",
                    format!("{}（依据：{}）", m.suggestion, m.citation.clause),
                ),
                ("责任单位", String::new()),
                ("责任人", String::new()),
                ("落实时间", String::new()),
                ("金额", String::new()),
                ("成效", String::new()),
            ]);
        }
    }
    out
}

/// One 研判表 row.
pub fn review_item(ctx: &ReportCtx, r: &RiskRow, returning: bool, n: usize) -> Fields {
    let h = r.h;
    let mut f = Fields::default();
    f.set("序号", V::Int(n as i64));
    who(h, &mut f);
    f.set("家庭人口", V::Int(h.size as i64));
    f.text(
        "属性",
        if returning {
            h.tuopin_year.to_string()
        } else {
            h.hh_type.label().to_string()
        },
    );
    f.text("纳入监测时间", r.since());
    let status = match (&r.st.first_warned, r.st.pending_months) {
        (Some(first), n) if r.st.status.pending() && n > 1 => {
            format!("{}（{first}起第{n}个月）", r.status())
        }
        _ => r.status().to_string(),
    };
    f.text("监测状态", status);
    let now = r.a.causes().join("、");
    f.text(
        "风险类型",
        if now.is_empty() {
            "本月未触发".to_string()
        } else {
            now
        },
    );
    f.text("纳入时风险类型", ctx.entry_causes(&h.id).join("、"));
    let line = ctx.rs.income_line(ctx.month);
    f.set("人均纯收入", money(r.a.per_capita, "未测算"));
    f.set("监测标准", money(line, "—"));
    let below = match (r.a.per_capita, line) {
        (Some(t), Some(l)) => Some(ctx.rs.income_line_cmp(ctx.month).holds(t, l)),
        _ => None,
    };
    f.set("低于标准", yes_no(below));
    f.set("刚性支出合计", V::Money(spending_total(r)));
    for k in ["义务教育", "基本医疗", "住房安全", "饮水安全"] {
        f.set(k, yes_no(h.guarantees.get(k)));
    }
    let support = ctx.support_of(&h.id);
    let mut done = support.map(|s| s.summary()).unwrap_or_default();
    if r.st.status.monitored() && r.a.at_risk() && support.is_some_and(|s| s.any_done()) {
        done.push_str("；措施落实后本月仍触发预警");
    }
    f.text("已落实措施", done);
    f
}

//! The roster's rows: households (and, in a person-level export, members),
//! read on every core and taken in row order.

use super::*;

/// The roster as read, before 家庭人口 is settled against the members.
pub(super) struct Roster {
    pub(super) households: Chunked<Household>,
    pub(super) members: Chunked<Member>,
    /// Households by 户编号.
    pub(super) index: KeyIndex<u32>,
    /// 上年人均纯收入 given instead of the household figure.
    pub(super) last_year_pc: FxHashMap<CompactString, Decimal>,
    /// 家庭人口 unusable: (row, cell, reason), settled once members are known.
    pub(super) bad_size: FxHashMap<CompactString, (u32, Cell, String)>,
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
pub(super) fn read_roster(
    ht: &Table,
    has_income_cols: bool,
    issues: &mut Issues,
) -> Result<Roster> {
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

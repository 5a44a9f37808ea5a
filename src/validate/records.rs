//! Records that name a household (income, expenses): found by 户编号 or
//! 证件号码, checked, and kept once.

use super::*;

/// Finding the household a record belongs to: by 户编号, else by any
/// member's (or the head's) 证件号码. The 证件号码 index (millions of
/// entries in a province) is built only when a record needs it.
pub(super) struct Lookup<'a> {
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
    pub(super) fn new(
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
pub(super) fn read_income_file(
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
pub(super) type ExpenseKey = (String, String, chrono::NaiveDate, String, Decimal, String);

pub(super) fn read_expenses(
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

//! The members' file: read ahead beside the roster, then settled against
//! it in row order; 家庭人口 settled from both.

use super::roster::Roster;
use super::*;

/// A members' file read ahead of the roster (on another core): every
/// row's member and problems, in row order, for [`settle_members`].
pub(super) struct MembersAhead {
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
pub(super) struct MembersJob(std::thread::JoinHandle<Result<(Table, MembersAhead)>>);

impl MembersJob {
    /// Open, locate and read ahead a members' file no other input reads.
    pub(super) fn file(spec: &InputSpec) -> Self {
        let spec = spec.clone();
        MembersJob(std::thread::spawn(move || {
            let src = open_source(&spec.path)?;
            Self::rows(locate_in(&src, MEMBER_SPECS, spec.sheet.as_deref()))
        }))
    }

    /// Read ahead the rows of a members' table already located.
    pub(super) fn table(located: Result<Table>) -> Self {
        MembersJob(std::thread::spawn(move || Self::rows(located)))
    }

    fn rows(located: Result<Table>) -> Result<(Table, MembersAhead)> {
        let t = located?;
        let ahead = crate::error::catch_panic(|| read_members_ahead(&t))
            .map_err(MonitorError::Internal)??;
        Ok((t, ahead))
    }

    /// The table and its rows read, or what stopped them.
    pub(super) fn join(self) -> Result<(Table, MembersAhead)> {
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
pub(super) fn settle_members(
    mt: &Table,
    roster: &Roster,
    ahead: MembersAhead,
    members: &mut Vec<Member>,
    issues: &mut Issues,
) {
    members.reserve_exact(ahead.members.len());
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

pub(super) struct Settled {
    pub(super) households: Vec<Household>,
    pub(super) members: Vec<Member>,
    /// The roster's index of households by 户编号, when every household
    /// kept its place (none left out for want of a 家庭人口).
    pub(super) index: Option<KeyIndex<u32>>,
}

/// 家庭人口 missing or unusable: fall back to the member count when there
/// is one; 上年人均纯收入 × 家庭人口 once the size is known.
pub(super) fn settle_sizes(
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

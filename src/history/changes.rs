//! 自然增减 (攀枝花 二、（一）一是：“自然增减”动态监测): this month's roster
//! against the last stored one.
//!
//! Both months are walked in key order: last month's households by 户编号
//! and people by person key, as the store reads them along its primary
//! keys; this month's sorted the same way (byte order, SQLite's BINARY
//! collation). Last month's roster is streamed from the store and never
//! held: a province's seven million people are not read into memory to be
//! compared.

use crate::error::Result;
use crate::model::{Household, Member};
use compact_str::CompactString;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::cmp::Ordering;

/// A household of last month's roster.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterHousehold {
    pub hh_id: CompactString,
    pub head_name: CompactString,
    pub township: CompactString,
    pub village: CompactString,
    pub size: u32,
}

/// A person of last month's roster.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterPerson {
    pub key: CompactString,
    pub hh_id: CompactString,
    pub name: CompactString,
    pub id_no: CompactString,
}

/// One line of the 自然增减 ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// 户增加 / 户减少 / 人增加 / 人减少 / 人口变化 / 转户
    pub kind: &'static str,
    pub hh_id: String,
    pub name: String,
    pub id_no: String,
    pub township: String,
    pub village: String,
    pub note: String,
}

/// Last month's roster as the store reads it: households in 户编号 order,
/// people in person-key order.
pub struct Previous<'r> {
    pub month: String,
    pub households: &'r mut dyn Iterator<Item = Result<RosterHousehold>>,
    pub people: &'r mut dyn Iterator<Item = Result<RosterPerson>>,
    /// Whether last month's roster listed people at all.
    pub has_people: bool,
}

/// A person's key in three parts: the ID number, else household “/” name.
fn key_parts(m: &Member) -> [&str; 3] {
    if m.id_no.is_empty() {
        [m.hh_id.as_str(), "/", m.name.as_str()]
    } else {
        [m.id_no.as_str(), "", ""]
    }
}

/// A person is the same across months by ID number, else by household and
/// name: the key the store keeps people under.
pub fn person_key(m: &Member) -> CompactString {
    // Built inline (an ID number needs no allocation).
    let mut key = CompactString::default();
    for part in key_parts(m) {
        key.push_str(part);
    }
    key
}

/// The bytes of a person's key without building it.
fn key_bytes(m: &Member) -> impl Iterator<Item = u8> + '_ {
    key_parts(m).into_iter().flat_map(str::bytes)
}

/// Two people in the order of their keys (as the store orders them).
pub fn key_order(a: &Member, b: &Member) -> Ordering {
    if !a.id_no.is_empty() && !b.id_no.is_empty() {
        return a.id_no.cmp(&b.id_no);
    }
    key_bytes(a).cmp(key_bytes(b))
}

fn key_order_to(m: &Member, key: &str) -> Ordering {
    if !m.id_no.is_empty() {
        return m.id_no.as_str().cmp(key);
    }
    key_bytes(m).cmp(key.bytes())
}

/// This month's people in the order of their keys (the store's order):
/// sorted once, for the comparison and for writing the month.
pub struct PeopleInKeyOrder<'m> {
    members: &'m [Member],
    order: Vec<u32>,
}

impl<'m> PeopleInKeyOrder<'m> {
    pub fn new(members: &'m [Member]) -> Self {
        let order = key_sorted(members, 1 << 16);
        PeopleInKeyOrder { members, order }
    }

    pub fn iter(&self) -> impl Iterator<Item = &'m Member> + '_ {
        let members = self.members;
        let order = &self.order;
        order.iter().enumerate().map(move |(k, &i)| {
            // In key order the people are scattered over the whole list
            // (a province's is about 600 MB): each one's first touch was
            // a wait on memory, most of the time of walking them.
            if let Some(&ahead) = order.get(k + PREFETCH_AHEAD) {
                prefetch(&members[ahead as usize]);
            }
            &members[i as usize]
        })
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// How many people ahead of the one walked are asked from memory.
const PREFETCH_AHEAD: usize = 16;

/// Ask the processor to bring `v` into its cache, without waiting for it.
#[inline(always)]
fn prefetch<T>(v: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = (v as *const T).cast::<i8>();
        // Every cache line the value spans (a person: 88 bytes, two or
        // three lines). A prefetch only hints; it reads nothing itself.
        for at in (0..std::mem::size_of::<T>())
            .step_by(64)
            .chain([std::mem::size_of::<T>() - 1])
        {
            // SAFETY: SSE is part of every x86-64 processor, and a
            // prefetch never faults, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(at)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// Positions of `members` in the order of their keys; of two with one key
/// the one read first comes first (so the later read replaces it in the
/// store). Above `split_above` people the two halves are sorted on two
/// cores and merged: a province's 7 million people took 4.8 s on one.
fn key_sorted(members: &[Member], split_above: usize) -> Vec<u32> {
    let by_key =
        |a: &u32, b: &u32| key_order(&members[*a as usize], &members[*b as usize]).then(a.cmp(b));
    let mut order: Vec<u32> = (0..members.len() as u32).collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 || order.len() <= split_above {
        order.sort_unstable_by(by_key);
        return order;
    }
    let (left, right) = order.split_at_mut(members.len() / 2);
    std::thread::scope(|s| {
        s.spawn(|| left.sort_unstable_by(by_key));
        right.sort_unstable_by(by_key);
    });
    let (left, right) = order.split_at(members.len() / 2);
    let mut merged = Vec::with_capacity(order.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if by_key(&right[j], &left[i]).is_lt() {
            merged.push(right[j]);
            j += 1;
        } else {
            merged.push(left[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&left[i..]);
    merged.extend_from_slice(&right[j..]);
    merged
}

/// This month's households, found by 户编号 through a sorted list of
/// their positions.
struct Now<'a> {
    households: &'a [Household],
    by_id: Vec<u32>,
}

impl<'a> Now<'a> {
    fn new(households: &'a [Household]) -> Self {
        let mut by_id: Vec<u32> = (0..households.len() as u32).collect();
        by_id.sort_unstable_by(|&a, &b| households[a as usize].id.cmp(&households[b as usize].id));
        Now { households, by_id }
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.by_id
            .binary_search_by(|&i| self.households[i as usize].id.as_str().cmp(id))
            .ok()
            .map(|k| self.by_id[k] as usize)
    }
}

/// What comparing the households found.
struct HouseholdChanges {
    /// 户增加 and 人口变化, with the household's position this month.
    here: Vec<(u32, Change)>,
    /// 户减少, in 户编号 order.
    gone: Vec<Change>,
    /// Per household this month: on last month's roster.
    existed: Vec<bool>,
}

fn household_added(prev_month: &str, h: &Household) -> Change {
    Change {
        kind: "户增加",
        hh_id: h.id.to_string(),
        name: h.head_name.to_string(),
        id_no: h.id_no.to_string(),
        township: h.township.to_string(),
        village: h.village.to_string(),
        note: format!(
            "{prev_month} 花名册中没有该户（分户、迁入或新纳入），家庭人口 {} 人",
            h.size
        ),
    }
}

fn compare_households(
    prev_month: &str,
    prev: &mut dyn Iterator<Item = Result<RosterHousehold>>,
    now: &Now,
    sizes: bool,
) -> Result<HouseholdChanges> {
    let mut out = HouseholdChanges {
        here: Vec::new(),
        gone: Vec::new(),
        existed: vec![false; now.households.len()],
    };
    let mut cur = now.by_id.iter().copied().peekable();
    for p in prev {
        let p = p?;
        let mut matched = false;
        while let Some(i) = cur.peek().copied() {
            let h = &now.households[i as usize];
            match h.id.as_str().cmp(&p.hh_id) {
                Ordering::Less => out.here.push((i, household_added(prev_month, h))),
                Ordering::Equal => {
                    matched = true;
                    out.existed[i as usize] = true;
                    if sizes && p.size != h.size {
                        out.here.push((i, size_changed(&p, h)));
                    }
                }
                Ordering::Greater => break,
            }
            cur.next();
            if matched {
                break;
            }
        }
        if !matched {
            out.gone.push(household_gone(p));
        }
    }
    for i in cur {
        out.here
            .push((i, household_added(prev_month, &now.households[i as usize])));
    }
    // In the order of this month's roster.
    out.here.sort_by_key(|(i, _)| *i);
    Ok(out)
}

fn size_changed(p: &RosterHousehold, h: &Household) -> Change {
    Change {
        kind: "人口变化",
        hh_id: h.id.to_string(),
        name: h.head_name.to_string(),
        id_no: h.id_no.to_string(),
        township: h.township.to_string(),
        village: h.village.to_string(),
        note: format!("家庭人口由 {} 人变为 {} 人", p.size, h.size),
    }
}

fn household_gone(p: RosterHousehold) -> Change {
    Change {
        kind: "户减少",
        hh_id: p.hh_id.to_string(),
        name: p.head_name.to_string(),
        id_no: String::new(),
        township: p.township.to_string(),
        village: p.village.to_string(),
        note: format!(
            "本月花名册中没有该户（迁出、合户或户内人员均已减少），上月家庭人口 {} 人，请核实",
            p.size
        ),
    }
}

/// People found on one side only: (member this month, the household he
/// was in last month when another), and last month's people not here.
type PeopleChanges<'m> = (Vec<(&'m Member, Option<CompactString>)>, Vec<RosterPerson>);

fn compare_people<'m>(
    prev: &mut dyn Iterator<Item = Result<RosterPerson>>,
    members: &PeopleInKeyOrder<'m>,
    now: &Now,
    was_here: &dyn Fn(&str) -> bool,
) -> Result<PeopleChanges<'m>> {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut cur = members.iter().peekable();
    for p in prev {
        let p = p?;
        let mut found = false;
        while let Some(m) = cur.peek().copied() {
            match key_order_to(m, &p.key) {
                Ordering::Less if was_here(&m.hh_id) => added.push((m, None)),
                Ordering::Less => {}
                Ordering::Equal => {
                    found = true;
                    if p.hh_id != m.hh_id {
                        added.push((m, Some(p.hh_id.clone())));
                    }
                }
                Ordering::Greater => break,
            }
            cur.next();
        }
        // Not here any more; a household gone whole is one 户减少 line.
        if !found && now.find(&p.hh_id).is_some() {
            removed.push(p);
        }
    }
    added.extend(cur.filter(|m| was_here(&m.hh_id)).map(|m| (m, None)));
    Ok((added, removed))
}

/// Compare this month's roster with the previous stored one. People are
/// compared only when both months have member lists; otherwise a changed
/// 家庭人口 is one 人口变化 line.
pub fn natural_changes(
    prev: Previous,
    households: &[Household],
    members: &PeopleInKeyOrder,
    month_start: chrono::NaiveDate,
) -> Result<Vec<Change>> {
    let now = Now::new(households);
    let people = prev.has_people && !members.is_empty();
    let hh = compare_households(&prev.month, prev.households, &now, !people)?;
    let mut out: Vec<Change> = hh.here.into_iter().map(|(_, c)| c).collect();
    if !people {
        out.extend(hh.gone);
        return Ok(out);
    }
    let gone: FxHashMap<&str, &Change> = hh.gone.iter().map(|c| (c.hh_id.as_str(), c)).collect();
    let was_here = |id: &str| match now.find(id) {
        Some(i) => hh.existed[i],
        None => gone.contains_key(id),
    };
    let place = |id: &str| match now.find(id) {
        Some(i) => {
            let h = &households[i];
            (h.township.to_string(), h.village.to_string())
        }
        None => gone
            .get(id)
            .map(|c| (c.township.clone(), c.village.clone()))
            .unwrap_or_default(),
    };
    let (mut added, removed) = compare_people(prev.people, members, &now, &was_here)?;
    added.sort_by(|a, b| (&a.0.hh_id, &a.0.name).cmp(&(&b.0.hh_id, &b.0.name)));
    let joined: Vec<Change> = added
        .into_iter()
        .map(|(m, from)| person_added(m, from.as_deref(), place(&m.hh_id), month_start))
        .collect();
    let left: Vec<Change> = removed
        .into_iter()
        .map(|p| {
            let (township, village) = place(&p.hh_id);
            Change {
                kind: "人减少",
                hh_id: p.hh_id.to_string(),
                name: p.name.to_string(),
                id_no: p.id_no.to_string(),
                township,
                village,
                note: "死亡、迁出、婚出或分户，请核实".to_string(),
            }
        })
        .collect();
    out.extend(hh.gone);
    out.extend(joined);
    out.extend(left);
    Ok(out)
}

/// A person new to the household: moved from another (转户), or 人增加.
fn person_added(
    m: &Member,
    from: Option<&str>,
    (township, village): (String, String),
    month_start: chrono::NaiveDate,
) -> Change {
    let born = crate::normalize::id_birth_sex(&m.id_no)
        .map(|(d, _)| d)
        .filter(|d| *d >= crate::normalize::months_back(month_start, 12));
    Change {
        kind: if from.is_some() {
            "转户"
        } else {
            "人增加"
        },
        hh_id: m.hh_id.to_string(),
        name: m.name.to_string(),
        id_no: m.id_no.to_string(),
        township,
        village,
        note: match (from, born) {
            (Some(h), _) => format!("由户 {h} 转入户 {}", m.hh_id),
            (None, Some(d)) => format!("新生儿（证件号码显示出生于 {}）", d.format("%Y-%m-%d")),
            (None, None) => "迁入、婚入或补录，请核实".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Rng;

    fn member(hh: &str, name: &str, id_no: &str) -> Member {
        Member {
            hh_id: hh.into(),
            name: name.into(),
            id_no: id_no.into(),
            relation: Default::default(),
            health: Default::default(),
        }
    }

    fn household(id: &str, size: u32) -> Household {
        Household {
            id: id.into(),
            head_name: id.into(),
            township: format!("{}乡", id.chars().next().unwrap_or('-')).into(),
            village: "甲村".into(),
            size,
            ..Default::default()
        }
    }

    /// Last month as the store gives it: sorted by its keys.
    fn stored(hh: &[Household], people: &[Member]) -> (Vec<RosterHousehold>, Vec<RosterPerson>) {
        let mut h: Vec<RosterHousehold> = hh
            .iter()
            .map(|h| RosterHousehold {
                hh_id: h.id.clone(),
                head_name: h.head_name.clone(),
                township: h.township.as_str().into(),
                village: h.village.as_str().into(),
                size: h.size,
            })
            .collect();
        h.sort_by(|a, b| a.hh_id.cmp(&b.hh_id));
        let mut p: Vec<RosterPerson> = people
            .iter()
            .map(|m| RosterPerson {
                key: super::person_key(m),
                hh_id: m.hh_id.clone(),
                name: m.name.clone(),
                id_no: m.id_no.clone(),
            })
            .collect();
        p.sort_by(|a, b| a.key.cmp(&b.key));
        p.dedup_by(|a, b| a.key == b.key);
        (h, p)
    }

    fn compare(
        before: (&[Household], &[Member]),
        hh: &[Household],
        members: &[Member],
    ) -> Vec<Change> {
        let (h, p) = stored(before.0, before.1);
        let mut hs = h.into_iter().map(Ok);
        let mut ps = p.into_iter().map(Ok);
        let prev = Previous {
            month: "2020-03".into(),
            households: &mut hs,
            people: &mut ps,
            has_people: !before.1.is_empty(),
        };
        let month = chrono::NaiveDate::from_ymd_opt(2020, 4, 1).unwrap();
        natural_changes(prev, hh, &PeopleInKeyOrder::new(members), month).unwrap()
    }

    #[test]
    fn people_sorted_on_two_cores_are_in_key_order_first_read_first() {
        // IDs, no IDs (household/name keys), and the same key twice.
        let mut rng = Rng::new(7);
        let people: Vec<Member> = (0..5000)
            .map(|_| {
                let hh = format!("H{}", rng.below(300));
                let name = format!("人{}", rng.below(4));
                let id = if rng.chance(70) {
                    format!("5325{:014}", rng.below(2000))
                } else {
                    String::new()
                };
                member(&hh, &name, &id)
            })
            .collect();
        let split = key_sorted(&people, 0);
        assert_eq!(split, key_sorted(&people, usize::MAX));
        assert_eq!(split.len(), people.len());
        for w in split.windows(2) {
            let (a, b) = (&people[w[0] as usize], &people[w[1] as usize]);
            match key_order(a, b) {
                Ordering::Less => {}
                Ordering::Equal => assert!(w[0] < w[1], "same key: first read first"),
                Ordering::Greater => panic!("{:?} after {:?}", a.id_no, b.id_no),
            }
        }
        assert!(
            split
                .windows(2)
                .any(|w| key_order(&people[w[0] as usize], &people[w[1] as usize]).is_eq()),
            "the test has people with one key"
        );
    }

    #[test]
    fn a_member_moving_between_households_is_one_transfer() {
        let before = [
            member("A", "甲", "110105194912310038"),
            member("A", "乙", "110105195001010012"),
            member("B", "丙", "110105195101010015"),
        ];
        // 乙 moves from A to B.
        let now = [
            member("A", "甲", "110105194912310038"),
            member("B", "丙", "110105195101010015"),
            member("B", "乙", "110105195001010012"),
        ];
        let changes = compare(
            (&[household("A", 2), household("B", 1)], &before),
            &[household("A", 1), household("B", 2)],
            &now,
        );
        let kinds: Vec<(&str, &str)> = changes.iter().map(|c| (c.kind, c.name.as_str())).collect();
        assert_eq!(kinds, vec![("转户", "乙")]);
        assert!(
            changes[0].note.contains("由户 A 转入户 B"),
            "{}",
            changes[0].note
        );
    }

    /// The comparison as first written: both months held in maps.
    fn by_maps(
        before: (&[Household], &[Member]),
        households: &[Household],
        members: &[Member],
    ) -> Vec<(&'static str, String, String, String)> {
        use std::collections::{BTreeMap, HashMap};
        let key = super::person_key;
        let was: HashMap<_, _> = before.0.iter().map(|h| (h.id.clone(), h)).collect();
        let now: HashMap<_, _> = households.iter().map(|h| (h.id.clone(), h)).collect();
        let people = !before.1.is_empty() && !members.is_empty();
        let mut out = Vec::new();
        for h in households {
            match was.get(&h.id) {
                None => out.push(("户增加", h.id.to_string(), String::new())),
                Some(p) if !people && p.size != h.size => {
                    out.push(("人口变化", h.id.to_string(), String::new()))
                }
                _ => {}
            }
        }
        let mut gone: Vec<_> = before
            .0
            .iter()
            .filter(|h| !now.contains_key(&h.id))
            .collect();
        gone.sort_by(|a, b| a.id.cmp(&b.id));
        out.extend(
            gone.iter()
                .map(|h| ("户减少", h.id.to_string(), String::new())),
        );
        if people {
            let mut then: BTreeMap<_, &Member> = BTreeMap::new();
            for m in before.1 {
                then.entry(key(m)).or_insert(m);
            }
            let is: HashMap<_, _> = members.iter().map(|m| (key(m), m)).collect();
            let mut added: Vec<_> = members
                .iter()
                .filter_map(|m| match then.get(&key(m)) {
                    None if was.contains_key(&m.hh_id) => Some(("人增加", m)),
                    Some(p) if p.hh_id != m.hh_id => Some(("转户", m)),
                    _ => None,
                })
                .collect();
            added.sort_by(|a, b| (&a.1.hh_id, &a.1.name).cmp(&(&b.1.hh_id, &b.1.name)));
            out.extend(
                added
                    .iter()
                    .map(|(k, m)| (*k, m.hh_id.to_string(), m.name.to_string())),
            );
            for (k, p) in &then {
                if !is.contains_key(k) && now.contains_key(&p.hh_id) {
                    out.push(("人减少", p.hh_id.to_string(), p.name.to_string()));
                }
            }
        }
        out.into_iter()
            .map(|(k, h, n)| (k, h, n, String::new()))
            .collect()
    }

    #[test]
    fn walking_both_months_in_key_order_finds_what_maps_find() {
        // 户编号 that sort around the '/' of a key without an ID number
        // ("A/…" between "A." and "A0"), people with and without IDs,
        // households and people coming, going and moving.
        let ids = ["A", "A.", "A0", "A00", "B", "B/", "C", "D", "甲1", "甲2"];
        let names = ["甲", "乙", "丙", "丁", "戊"];
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            let month = |rng: &mut Rng| {
                let mut hh = Vec::new();
                for id in ids {
                    if rng.chance(80) {
                        hh.push(household(id, 1 + rng.below(4) as u32));
                    }
                }
                let mut people = Vec::new();
                for h in &hh {
                    for (i, n) in names.iter().enumerate() {
                        if !rng.chance(50) {
                            continue;
                        }
                        let id_no = match rng.below(3) {
                            0 => String::new(),
                            k => format!("1101051950010{k}{i}"),
                        };
                        people.push(member(&h.id, n, &id_no));
                    }
                }
                (hh, people)
            };
            let (h0, m0) = month(&mut rng);
            let (h1, m1) = month(&mut rng);
            let got: Vec<_> = compare((&h0, &m0), &h1, &m1)
                .into_iter()
                .map(|c| {
                    let name = if matches!(c.kind, "人增加" | "转户" | "人减少") {
                        c.name
                    } else {
                        String::new()
                    };
                    (c.kind, c.hh_id, name, String::new())
                })
                .collect();
            assert_eq!(got, by_maps((&h0, &m0), &h1, &m1), "seed {seed}");
        }
    }
}

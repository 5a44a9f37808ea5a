//! The monthly calendar of the locality (勐海 三（二）: 预警 by the 15th, 研判
//! by the 20th, 报告 by the 25th, 审定 by the 30th; 弥勒 一（三）: last
//! month's 风险户 and 风险消除户 reported by the 3rd): what waits at each
//! step, per 乡镇, and what is overdue on a given day.

use crate::history::Status;
use crate::rules::Calendar;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;

/// A step of the month with its due date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Due {
    pub step: &'static str,
    pub date: NaiveDate,
}

/// Day `day` of the month of `month`, or its last day when shorter.
fn day_of(month: NaiveDate, day: u32) -> NaiveDate {
    let last = crate::normalize::month_end(month);
    NaiveDate::from_ymd_opt(month.year(), month.month(), day.min(last.day())).unwrap_or(last)
}

/// The due dates the rule file sets for the month starting `month`.
pub fn due_dates(cal: &Calendar, month: NaiveDate) -> Vec<Due> {
    let next = crate::normalize::month_end(month) + chrono::Days::new(1);
    let mut v = Vec::new();
    for (step, day, base) in [
        ("预警", cal.warn, month),
        ("研判", cal.review, month),
        ("报告", cal.report, month),
        ("审定", cal.confirm, month),
        ("上报上月风险户和风险消除户", cal.report_next_month, next),
    ] {
        if let Some(d) = day {
            v.push(Due {
                step,
                date: day_of(base, d),
            });
        }
    }
    v
}

/// The date by which a warning must be decided: 审定, else 研判, else the
/// next month's report.
pub fn decision_due(cal: &Calendar, month: NaiveDate) -> Option<NaiveDate> {
    let dues = due_dates(cal, month);
    ["审定", "研判", "上报上月风险户和风险消除户"]
        .iter()
        .find_map(|s| dues.iter().find(|d| d.step == *s).map(|d| d.date))
}

/// One household as the calendar sees it.
pub struct Entry<'a> {
    pub township: &'a str,
    pub status: Status,
    pub pending_months: u32,
    /// A conclusion is recorded for it on this month's 研判表.
    pub decided: bool,
}

/// What waits in one 乡镇.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TownWaiting {
    /// Warnings with no conclusion yet (预警待研判, 返贫/再次预警).
    pub awaiting_review: usize,
    /// Of them, carried from earlier months.
    pub carried_from_earlier: usize,
    /// 建议消除 with no conclusion yet.
    pub suggested_elimination: usize,
    /// Conclusions recorded for this month (审定).
    pub decided: usize,
    /// Awaiting review past the decision due date (only with a `today`).
    pub overdue: usize,
}

/// Per 乡镇 (sorted), what waits; `overdue` counted when `today` is past
/// `due`.
pub fn waiting(
    entries: &[Entry],
    due: Option<NaiveDate>,
    today: Option<NaiveDate>,
) -> BTreeMap<String, TownWaiting> {
    let late = matches!((due, today), (Some(d), Some(t)) if t > d);
    let mut m: BTreeMap<String, TownWaiting> = BTreeMap::new();
    for e in entries {
        let w = m.entry(e.township.to_string()).or_default();
        if e.decided {
            w.decided += 1;
        } else if e.status.pending() {
            w.awaiting_review += 1;
            w.carried_from_earlier += usize::from(e.pending_months > 1);
            w.overdue += usize::from(late || e.pending_months > 1);
        } else if e.status == Status::SuggestElimination {
            w.suggested_elimination += 1;
        }
    }
    m.retain(|_, w| *w != TownWaiting::default());
    m
}

/// The calendar part of summary.json: due dates and what waits (no
/// “overdue”: that depends on the day it is read; see `monitor status`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct CalendarOut {
    pub due: Vec<Due>,
    pub waiting: BTreeMap<String, TownWaiting>,
}

/// What `monitor status` shows for a month.
pub struct StatusReport {
    pub month: String,
    pub today: NaiveDate,
    pub due: Vec<Due>,
    pub decision_due: Option<NaiveDate>,
    pub waiting: BTreeMap<String, TownWaiting>,
}

impl StatusReport {
    pub fn overdue(&self) -> usize {
        self.waiting.values().map(|w| w.overdue).sum()
    }
}

/// Read the month's statuses and conclusions from the store (read only).
pub fn status_report(
    store: &std::path::Path,
    rules: &std::path::Path,
    month: NaiveDate,
    today: NaiveDate,
) -> crate::Result<StatusReport> {
    let rs = crate::rules::RuleSet::load(rules)?;
    let s = crate::history::Store::open(store)?;
    let key = month.format("%Y-%m").to_string();
    let reader = s.reader();
    if reader.run_id(&key)?.is_none() {
        return Err(crate::MonitorError::Refused(format!(
            "{key} 还没有运行过监测；请先运行 monitor run --month {key}"
        )));
    }
    let rows = reader.month_overview(&key)?;
    let entries: Vec<Entry> = rows
        .iter()
        .map(|(_, status, pending, town, decided)| Entry {
            township: town,
            status: *status,
            pending_months: *pending,
            decided: *decided,
        })
        .collect();
    let due_on = decision_due(&rs.review.calendar, month);
    Ok(StatusReport {
        month: key,
        today,
        due: due_dates(&rs.review.calendar, month),
        decision_due: due_on,
        waiting: waiting(&entries, due_on, Some(today)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn due_dates_follow_the_rule_file_and_short_months() {
        let cal = Calendar {
            warn: Some(15),
            review: Some(20),
            report: Some(25),
            confirm: Some(30),
            report_next_month: Some(3),
            citation: None,
        };
        let dues = due_dates(&cal, d(2020, 2, 1));
        let dates: Vec<NaiveDate> = dues.iter().map(|x| x.date).collect();
        assert_eq!(
            dates,
            [
                d(2020, 2, 15),
                d(2020, 2, 20),
                d(2020, 2, 25),
                d(2020, 2, 29),
                d(2020, 3, 3)
            ]
        );
        assert_eq!(decision_due(&cal, d(2020, 2, 1)), Some(d(2020, 2, 29)));
        assert_eq!(decision_due(&Calendar::default(), d(2020, 2, 1)), None);
    }

    #[test]
    fn waiting_and_overdue_per_township() {
        let e = |t, s, n, decided| Entry {
            township: t,
            status: s,
            pending_months: n,
            decided,
        };
        let entries = [
            e("东乡", Status::Pending, 1, false),
            e("东乡", Status::Pending, 3, false),
            e("东乡", Status::Pending, 1, true),
            e("西镇", Status::SuggestElimination, 0, false),
            e("西镇", Status::Continuing, 0, false),
        ];
        let before = waiting(&entries, Some(d(2020, 3, 30)), Some(d(2020, 3, 25)));
        assert_eq!(before["东乡"].awaiting_review, 2);
        assert_eq!(
            before["东乡"].overdue, 1,
            "the one carried from earlier months"
        );
        assert_eq!(before["东乡"].decided, 1);
        assert_eq!(before["西镇"].suggested_elimination, 1);
        let after = waiting(&entries, Some(d(2020, 3, 30)), Some(d(2020, 4, 2)));
        assert_eq!(after["东乡"].overdue, 2);
    }
}

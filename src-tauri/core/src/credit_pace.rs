//! How credits were spent over the current period, day by day, and when they run out at this
//! pace: what the credits window's chart and forecast show.
//!
//! The total comes from the balance (`credits_used` over the days gone), which every server
//! sends; the days come from the credit history, which may be cut short (the app asks for the
//! newest entries only) or missing: days before the oldest entry read are then "not known", never
//! zero. Days are the user's local calendar days.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde::Serialize;

use crate::api::credits::{Balance, CreditEntry, CreditHistory};

/// History entry types that add credits rather than spend them (the reference names none; these
/// are the plausible ledger words). Spending may come signed either way.
const CREDITING_TYPES: &[&str] =
    &["grant", "allocation", "refund", "purchase", "top_up", "topup", "bonus", "renewal", "credit", "adjustment"];

/// Never fewer days than this when working out the pace, so an hour-old period with one call
/// does not forecast running out tonight.
const MIN_DAYS_FOR_PACE: f64 = 1.0;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CreditPace {
    /// Every day of the period, first to last (`YYYY-MM-DD`).
    pub days: Vec<DaySpend>,
    /// What may be spent a day for the allocation to last the whole period.
    pub daily_allowance: f64,
    /// Today, or the period's last day when the period is over.
    pub today: String,
    pub outlook: Outlook,
    /// The day the plan renews (the period's end, as a local date).
    pub renews_on: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DaySpend {
    pub date: String,
    /// Credits spent that day; `None` when the history read does not reach back that far, or for
    /// a day still to come.
    pub credits: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outlook {
    /// Nothing left.
    Out,
    /// At this pace the credits run out on `on`, before the plan renews.
    RunsOut { on: String },
    /// At this pace they last until the plan renews.
    LastsToRenewal,
}

/// The pace of `balance`'s period at `now`, with the days filled from `history` (`complete`: it
/// holds every entry of the period, not only the newest ones). `None` when the period is not
/// known or makes no sense.
pub fn pace(
    balance: &Balance,
    history: Option<&CreditHistory>,
    complete: bool,
    now: DateTime<Local>,
) -> Option<CreditPace> {
    let start = local_date(balance.period_start.as_deref()?)?;
    let end_instant = instant(balance.period_end.as_deref()?)?;
    let start_instant = instant(balance.period_start.as_deref()?)?;
    // The period ends at an instant (midnight of the renewal day, usually): its last day is the
    // day before when that instant is a local midnight.
    let renews_on = end_instant.with_timezone(&Local).date_naive();
    let last =
        if end_instant.with_timezone(&Local).time() == NaiveTime::MIN { renews_on.pred_opt()? } else { renews_on };
    if last < start || last.signed_duration_since(start).num_days() > 400 {
        return None;
    }
    let today = now.date_naive().clamp(start, last);

    let spent = history.map(|h| spent_per_day(&h.entries, start, today)).unwrap_or_default();
    let known_from = match (history, complete) {
        (Some(_), true) => Some(start),
        // Cut short: only the days from the oldest entry read on are known (that day itself may
        // have had earlier entries, so it is not known either unless it is the period's first).
        (Some(h), false) => Some(oldest_day(&h.entries).map_or(start, |d| d.succ_opt().unwrap_or(d)).max(start)),
        (None, _) => None,
    };
    let days = start
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|d| DaySpend {
            date: d.to_string(),
            credits: match known_from {
                Some(from) if d >= from && d <= today => Some(spent.get(&d).copied().unwrap_or(0.0)),
                _ => None,
            },
        })
        .collect();

    let period_days = (end_instant - start_instant).num_seconds() as f64 / 86_400.0;
    let allocated = balance.credits_allocated.value();
    let daily_allowance = if period_days > 0.0 { allocated / period_days } else { 0.0 };
    let outlook = outlook(balance, now, start_instant, end_instant);
    Some(CreditPace { days, daily_allowance, today: today.to_string(), outlook, renews_on: renews_on.to_string() })
}

/// [`pace`] today.
pub fn pace_now(balance: &Balance, history: Option<&CreditHistory>, complete: bool) -> Option<CreditPace> {
    pace(balance, history, complete, Local::now())
}

fn outlook(balance: &Balance, now: DateTime<Local>, start: DateTime<Local>, end: DateTime<Local>) -> Outlook {
    let remaining = balance.credits_remaining.value();
    if remaining <= 0.0 {
        return Outlook::Out;
    }
    let elapsed_days = ((now - start).num_seconds() as f64 / 86_400.0).max(MIN_DAYS_FOR_PACE);
    let per_day = balance.credits_used.value() / elapsed_days;
    if per_day <= 0.0 {
        return Outlook::LastsToRenewal;
    }
    let seconds_left = (remaining / per_day * 86_400.0).min(i64::MAX as f64 / 2.0) as i64;
    match now.checked_add_signed(Duration::seconds(seconds_left)) {
        Some(runs_out) if runs_out < end => Outlook::RunsOut { on: runs_out.date_naive().to_string() },
        _ => Outlook::LastsToRenewal,
    }
}

fn spent_per_day(entries: &[CreditEntry], start: NaiveDate, today: NaiveDate) -> BTreeMap<NaiveDate, f64> {
    let mut days = BTreeMap::new();
    for entry in entries {
        let Some(day) = entry.timestamp.as_deref().and_then(local_date) else { continue };
        let credits = entry.credits.value();
        let crediting =
            entry.kind.as_deref().is_some_and(|k| CREDITING_TYPES.contains(&k.to_ascii_lowercase().as_str()));
        if day < start || day > today || crediting || !credits.is_finite() {
            continue;
        }
        *days.entry(day).or_insert(0.0) += credits.abs();
    }
    days
}

fn oldest_day(entries: &[CreditEntry]) -> Option<NaiveDate> {
    entries.iter().filter_map(|e| e.timestamp.as_deref().and_then(local_date)).min()
}

fn local_date(text: &str) -> Option<NaiveDate> {
    instant(text).map(|i| i.date_naive())
}

/// An RFC 3339 time (the API's), or a bare date (taken as local midnight).
fn instant(text: &str) -> Option<DateTime<Local>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Local));
    }
    // Some servers leave the zone out: UTC, as the API's examples are.
    if let Ok(at) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(at.and_utc().with_timezone(&Local));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Local.from_local_datetime(&date.and_time(NaiveTime::MIN)).earliest()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lenient::Credits;

    fn balance(remaining: f64, used: f64, allocated: f64, start: &str, end: &str) -> Balance {
        Balance {
            credits_remaining: Credits(remaining),
            credits_used: Credits(used),
            credits_allocated: Credits(allocated),
            plan_type: Some("pro".into()),
            period_start: Some(start.into()),
            period_end: Some(end.into()),
        }
    }

    fn entry(kind: &str, credits: f64, at: &str) -> CreditEntry {
        CreditEntry {
            kind: Some(kind.into()),
            credits: Credits(credits),
            timestamp: Some(at.into()),
            ..Default::default()
        }
    }

    fn at(date: &str, hour: u32) -> DateTime<Local> {
        let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        Local.from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap()).earliest().unwrap()
    }

    fn local(date: &str, hour: u32) -> String {
        at(date, hour).to_rfc3339()
    }

    /// The example: 142 of 600 used in five days of December: at 28.4 a day the 458 left
    /// last 16 more days, until the 22nd, before the plan renews on 1 Jan.
    #[test]
    fn the_pace_of_the_period_so_far_says_when_credits_run_out() {
        let b = balance(458.0, 142.0, 600.0, &local("2026-12-01", 0), &local("2027-01-01", 0));
        let p = pace(&b, None, false, at("2026-12-06", 0)).unwrap();
        assert_eq!(p.outlook, Outlook::RunsOut { on: "2026-12-22".into() });
        assert_eq!(p.renews_on, "2027-01-01");
        assert_eq!(p.days.len(), 31, "every day of December, not 1 Jan");
        assert!(p.days.iter().all(|d| d.credits.is_none()), "no history: no day is known");
        assert!((p.daily_allowance - 600.0 / 31.0).abs() < 1e-9);
    }

    #[test]
    fn a_slow_pace_lasts_until_renewal_and_nothing_left_is_out() {
        let b = balance(590.0, 10.0, 600.0, &local("2026-12-01", 0), &local("2027-01-01", 0));
        assert_eq!(pace(&b, None, true, at("2026-12-20", 9)).unwrap().outlook, Outlook::LastsToRenewal);
        let unused = balance(600.0, 0.0, 600.0, &local("2026-12-01", 0), &local("2027-01-01", 0));
        assert_eq!(pace(&unused, None, true, at("2026-12-20", 9)).unwrap().outlook, Outlook::LastsToRenewal);
        let out = balance(0.0, 600.0, 600.0, &local("2026-12-01", 0), &local("2027-01-01", 0));
        assert_eq!(pace(&out, None, true, at("2026-12-20", 9)).unwrap().outlook, Outlook::Out);
    }

    #[test]
    fn an_hour_old_period_is_paced_over_a_whole_day() {
        let b = balance(560.0, 40.0, 600.0, &local("2026-12-01", 0), &local("2027-01-01", 0));
        // 40 a day (not 40 an hour): 14 days from 1 Dec 01:00.
        assert_eq!(
            pace(&b, None, true, at("2026-12-01", 1)).unwrap().outlook,
            Outlook::RunsOut { on: "2026-12-15".into() }
        );
    }

    #[test]
    fn days_are_summed_from_the_history_spending_only() {
        let b = balance(458.0, 142.0, 600.0, &local("2026-12-01", 0), &local("2027-01-01", 0));
        let history = CreditHistory {
            entries: vec![
                entry("call", 42.0, &local("2026-12-01", 10)),
                entry("search", 30.0, &local("2026-12-03", 9)),
                entry("booking", -18.0, &local("2026-12-03", 18)),
                entry("refund", 5.0, &local("2026-12-04", 8)),
                entry("call", 9.0, &local("2026-11-30", 23)),
                entry("call", 7.0, "not a time"),
            ],
            total: None,
        };
        let p = pace(&b, Some(&history), true, at("2026-12-05", 12)).unwrap();
        let spent: Vec<Option<f64>> = p.days.iter().take(7).map(|d| d.credits).collect();
        assert_eq!(spent, [Some(42.0), Some(0.0), Some(48.0), Some(0.0), Some(0.0), None, None]);
        assert_eq!(p.today, "2026-12-05");
    }

    #[test]
    fn a_history_cut_short_leaves_the_days_before_it_unknown() {
        let b = balance(458.0, 142.0, 600.0, &local("2026-12-01", 0), &local("2027-01-01", 0));
        let history = CreditHistory { entries: vec![entry("call", 20.0, &local("2026-12-03", 10))], total: None };
        let p = pace(&b, Some(&history), false, at("2026-12-05", 12)).unwrap();
        let spent: Vec<Option<f64>> = p.days.iter().take(5).map(|d| d.credits).collect();
        assert_eq!(spent, [None, None, None, Some(0.0), Some(0.0)]);
    }

    #[test]
    fn a_missing_or_nonsense_period_has_no_pace() {
        let mut b = balance(1.0, 1.0, 2.0, &local("2026-12-01", 0), &local("2027-01-01", 0));
        b.period_end = None;
        assert_eq!(pace(&b, None, true, at("2026-12-05", 12)), None);
        let backwards = balance(1.0, 1.0, 2.0, &local("2027-01-01", 0), &local("2026-12-01", 0));
        assert_eq!(pace(&backwards, None, true, at("2026-12-05", 12)), None);
        let garbage = balance(1.0, 1.0, 2.0, "soon", "later");
        assert_eq!(pace(&garbage, None, true, at("2026-12-05", 12)), None);
        let bare = balance(1.0, 1.0, 2.0, "2026-12-01", "2027-01-01");
        assert_eq!(pace(&bare, None, true, at("2026-12-05", 12)).unwrap().days.len(), 31);
    }

    #[test]
    fn an_ended_period_stops_at_its_last_day() {
        let b = balance(100.0, 500.0, 600.0, &local("2026-11-01", 0), &local("2026-12-01", 0));
        let p = pace(&b, None, true, at("2026-12-05", 12)).unwrap();
        assert_eq!(p.today, "2026-11-30");
        assert_eq!(p.outlook, Outlook::LastsToRenewal);
    }
}

//! Simulated time: wall-clock time plus an offset that `/_sim/clock/advance` pushes forward.
//! Everything time-dependent (token expiry, goal steps, transcript lines) reads this clock, so
//! tests can jump ahead instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, in simulated time.
pub type Millis = i64;

pub struct Clock {
    wall_at_start: Millis,
    started: Instant,
    offset_ms: AtomicI64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    pub fn new() -> Self {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        Self { wall_at_start: wall, started: Instant::now(), offset_ms: AtomicI64::new(0) }
    }

    pub fn now(&self) -> Millis {
        self.wall_at_start + self.started.elapsed().as_millis() as i64 + self.offset_ms.load(Ordering::SeqCst)
    }

    pub fn advance(&self, seconds: f64) -> Millis {
        self.offset_ms.fetch_add((seconds * 1000.0) as i64, Ordering::SeqCst);
        self.now()
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2026-02-13T10:00:00Z` (whole seconds, UTC).
pub fn iso(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The first instant of the month containing `ms`, and of the month after it.
pub fn month_bounds(ms: Millis) -> (Millis, Millis) {
    let (y, m, _) = civil_from_days(ms.div_euclid(86_400_000));
    let start = days_from_civil(y, m, 1) * 86_400_000;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (start, days_from_civil(ny, nm, 1) * 86_400_000)
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS][Z]` (UTC); used by date filters.
pub fn parse_iso(s: &str) -> Option<Millis> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if let Some(t) = time {
        let t = t.split(['.', '+']).next()?;
        let mut hms = t.split(':').map(|p| p.parse::<i64>());
        let h = hms.next()?.ok()?;
        let mi = hms.next().unwrap_or(Ok(0)).ok()?;
        let se = hms.next().unwrap_or(Ok(0)).ok()?;
        if h > 23 || mi > 59 || se > 60 {
            return None;
        }
        secs += h * 3600 + mi * 60 + se;
    }
    Some(secs * 1000)
}

/// `00:01:05`: an offset into a call, as transcript entries carry it.
pub fn offset_hms(seconds: i64) -> String {
    format!("{:02}:{:02}:{:02}", seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips() {
        let ms = parse_iso("2026-02-13T10:00:05Z").unwrap();
        assert_eq!(iso(ms), "2026-02-13T10:00:05Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        let (a, b) = month_bounds(ms);
        assert_eq!(iso(a), "2026-02-01T00:00:00Z");
        assert_eq!(iso(b), "2026-03-01T00:00:00Z");
        assert_eq!(parse_iso("2026-13-01"), None);
    }
}

//! When to try again after a failure, and how to notice that the machine slept.

use std::time::{Duration, Instant, SystemTime};

use crate::error::ApiError;

/// The longest `Retry-After` the watcher obeys; a bigger value is treated as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// "Full jitter" backoff: uniform in [0, min(max, base * 2^failures)], so many clients that
/// failed together do not come back together. A server's `Retry-After` is a floor.
pub(crate) fn delay_after_failure(err: &ApiError, base: Duration, max: Duration, failures: u32) -> Duration {
    let ceiling = base.saturating_mul(1u32.checked_shl(failures.min(16)).unwrap_or(u32::MAX)).min(max);
    let jittered = Duration::from_millis(fastrand::u64(0..=ceiling.as_millis() as u64));
    match err.retry_after() {
        Some(wait) => wait.min(MAX_RETRY_AFTER).max(jittered),
        None => jittered,
    }
}

/// The wait before looking at the event stream again after `failures` (at least 1) failures or
/// refusals in a row: `first`, doubling with each, up to `max`; drawn from the upper half so
/// clients that lost the stream together do not come back together. A server's `Retry-After`
/// is a floor.
pub(crate) fn stream_recheck_delay(
    first: Duration,
    max: Duration,
    failures: u32,
    retry_after: Option<Duration>,
) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    let ceiling = first.saturating_mul(1u32 << doublings).min(max.max(first));
    let half = ceiling / 2;
    let jittered = half + Duration::from_millis(fastrand::u64(0..=(ceiling - half).as_millis() as u64));
    match retry_after {
        Some(wait) => wait.min(MAX_RETRY_AFTER).max(jittered),
        None => jittered,
    }
}

/// Notices a suspend/resume (or a wall-clock change): between two checks the wall clock moved
/// much more, or less, than the monotonic clock (which stops while the machine sleeps).
#[derive(Debug)]
pub(crate) struct ClockWatch {
    wall: SystemTime,
    mono: Instant,
}

impl ClockWatch {
    pub fn new() -> Self {
        Self { wall: SystemTime::now(), mono: Instant::now() }
    }

    pub fn jumped(&mut self, threshold: Duration) -> bool {
        self.jumped_at(SystemTime::now(), Instant::now(), threshold)
    }

    pub fn jumped_at(&mut self, wall: SystemTime, mono: Instant, threshold: Duration) -> bool {
        let wall_elapsed = match wall.duration_since(self.wall) {
            Ok(d) => d.as_secs_f64(),
            Err(e) => -e.duration().as_secs_f64(),
        };
        let mono_elapsed = mono.saturating_duration_since(self.mono).as_secs_f64();
        self.wall = wall;
        self.mono = mono;
        (wall_elapsed - mono_elapsed).abs() >= threshold.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_bounded_and_retry_after_is_a_floor() {
        let plain = ApiError::from_response(503, b"", None);
        for _ in 0..100 {
            let d = delay_after_failure(&plain, Duration::from_millis(100), Duration::from_secs(1), 3);
            assert!(d <= Duration::from_millis(800));
            let d = delay_after_failure(&plain, Duration::from_millis(100), Duration::from_secs(1), 30);
            assert!(d <= Duration::from_secs(1));
        }
        let limited = ApiError::from_response(429, b"", Some(Duration::from_secs(3)));
        let d = delay_after_failure(&limited, Duration::from_millis(100), Duration::from_secs(1), 0);
        assert_eq!(d, Duration::from_secs(3));
        let absurd = ApiError::from_response(429, b"", Some(Duration::from_secs(86_400)));
        assert_eq!(delay_after_failure(&absurd, Duration::ZERO, Duration::ZERO, 0), MAX_RETRY_AFTER);
    }

    #[test]
    fn the_stream_recheck_doubles_up_to_its_cap() {
        let (first, max) = (Duration::from_secs(60), Duration::from_secs(900));
        for _ in 0..100 {
            let d = stream_recheck_delay(first, max, 1, None);
            assert!((Duration::from_secs(30)..=first).contains(&d), "{d:?}");
            let d = stream_recheck_delay(first, max, 3, None);
            assert!((Duration::from_secs(120)..=Duration::from_secs(240)).contains(&d), "{d:?}");
            let d = stream_recheck_delay(first, max, 40, None);
            assert!((Duration::from_secs(450)..=max).contains(&d), "{d:?}");
        }
        let floor = stream_recheck_delay(first, max, 1, Some(Duration::from_secs(300)));
        assert_eq!(floor, Duration::from_secs(300));
        let absurd = stream_recheck_delay(first, max, 1, Some(Duration::from_secs(86_400)));
        assert_eq!(absurd, MAX_RETRY_AFTER);
    }

    #[test]
    fn a_sleep_shows_as_drift_between_clocks() {
        let mut w = ClockWatch::new();
        let (wall, mono) = (w.wall, w.mono);
        let t = Duration::from_secs(30);
        // Both clocks advance alike: no jump.
        assert!(!w.jumped_at(wall + Duration::from_secs(5), mono + Duration::from_secs(5), t));
        // Ten minutes of wall time while the monotonic clock stood still (suspend).
        assert!(w.jumped_at(wall + Duration::from_secs(605), mono + Duration::from_secs(6), t));
        // The wall clock set back by an hour.
        assert!(w.jumped_at(
            wall + Duration::from_secs(605) - Duration::from_secs(3600),
            mono + Duration::from_secs(7),
            t
        ));
    }
}

//! When to try again after a failure, and how to notice that the machine slept.

use std::time::{Duration, Instant, SystemTime};

use super::settings::WatcherSettings;
use crate::retry::{Backoff, Jitter, ServerWait};

/// The longest `Retry-After` the watcher obeys; a bigger value is treated as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// The wait after failed requests: "full jitter" below `backoff_base * 2^(n-1)`, up to
/// `backoff_max`, so many clients that failed together do not come back together. A server's
/// `Retry-After` is a floor.
pub(crate) fn request_backoff(settings: &WatcherSettings) -> Backoff {
    Backoff {
        first: settings.backoff_base,
        max: settings.backoff_max,
        jitter: Jitter::Full,
        server_wait: ServerWait::Floor { cap: MAX_RETRY_AFTER },
    }
}

/// The wait before looking at the event stream again after failures or refusals in a row:
/// `stream_check`, doubling with each, up to `stream_check_max`; drawn from the upper half so
/// clients that lost the stream together do not come back together, and never much sooner than
/// asked. A server's `Retry-After` is a floor.
pub(crate) fn stream_backoff(settings: &WatcherSettings) -> Backoff {
    Backoff {
        first: settings.stream_check,
        max: settings.stream_check_max,
        jitter: Jitter::Equal,
        server_wait: ServerWait::Floor { cap: MAX_RETRY_AFTER },
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
        let settings = WatcherSettings {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
            ..WatcherSettings::default()
        };
        let backoff = request_backoff(&settings);
        for _ in 0..100 {
            // The fourth failure in a row: 100 ms doubled three times.
            let d = backoff.wait(4, None);
            assert!(d <= Duration::from_millis(800));
            let d = backoff.wait(31, None);
            assert!(d <= Duration::from_secs(1));
        }
        assert_eq!(backoff.wait(1, Some(Duration::from_secs(3))), Duration::from_secs(3));
        let zero = WatcherSettings { backoff_base: Duration::ZERO, backoff_max: Duration::ZERO, ..settings };
        assert_eq!(request_backoff(&zero).wait(1, Some(Duration::from_secs(86_400))), MAX_RETRY_AFTER);
    }

    #[test]
    fn the_stream_recheck_doubles_up_to_its_cap() {
        let settings = WatcherSettings {
            stream_check: Duration::from_secs(60),
            stream_check_max: Duration::from_secs(900),
            ..WatcherSettings::default()
        };
        let (first, max, backoff) = (settings.stream_check, settings.stream_check_max, stream_backoff(&settings));
        for _ in 0..100 {
            let d = backoff.wait(1, None);
            assert!((Duration::from_secs(30)..=first).contains(&d), "{d:?}");
            let d = backoff.wait(3, None);
            assert!((Duration::from_secs(120)..=Duration::from_secs(240)).contains(&d), "{d:?}");
            let d = backoff.wait(40, None);
            assert!((Duration::from_secs(450)..=max).contains(&d), "{d:?}");
        }
        assert_eq!(backoff.wait(1, Some(Duration::from_secs(300))), Duration::from_secs(300));
        assert_eq!(backoff.wait(1, Some(Duration::from_secs(86_400))), MAX_RETRY_AFTER);
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

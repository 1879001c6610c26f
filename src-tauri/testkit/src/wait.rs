//! Waiting on a condition with a deadline. Tests never sleep as a stand-in for a condition:
//! they check it at a steady pace until it holds or the deadline passes, and a failure says
//! what was awaited (or what was seen instead).

use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, Interval, MissedTickBehavior};

/// How often a condition is checked: a cadence, not a guess at how long anything takes (the
/// deadline bounds the wait).
const POLL: Duration = Duration::from_millis(20);

/// The pace of one wait: a check every `POLL` until `timeout` has passed. For loops that keep
/// state between checks or say what they saw when they fail:
///
/// ```ignore
/// let mut polling = Polling::new(timeout);
/// loop {
///     polling.tick().await;
///     let seen = look().await;
///     if good(&seen) { break; }
///     assert!(!polling.expired(), "saw {seen:?}");
/// }
/// ```
pub struct Polling {
    ticks: Interval,
    deadline: Instant,
}

impl Polling {
    pub fn new(timeout: Duration) -> Self {
        let mut ticks = tokio::time::interval(POLL);
        // A slow check (a WebDriver round trip) is followed by a pause, not by a burst.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self { ticks, deadline: Instant::now() + timeout }
    }

    /// Waits until the next check is due (the first is due at once).
    pub async fn tick(&mut self) {
        self.ticks.tick().await;
    }

    /// Whether the deadline has passed: the check just made was the last.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }
}

/// Checks `condition` until it returns `Some`, or fails the test naming `what` after `timeout`.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, mut condition: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let mut polling = Polling::new(timeout);
    loop {
        polling.tick().await;
        if let Some(value) = condition().await {
            return value;
        }
        assert!(!polling.expired(), "timed out after {timeout:?} waiting for {what}");
    }
}

/// The same for a synchronous check.
pub async fn until_sync<T>(what: &str, timeout: Duration, mut condition: impl FnMut() -> Option<T>) -> T {
    until(what, timeout, || std::future::ready(condition())).await
}

/// Whether `condition` came true within `timeout` (for a test that asserts either way).
pub async fn holds_within<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let mut polling = Polling::new(timeout);
    loop {
        polling.tick().await;
        if condition().await {
            return true;
        }
        if polling.expired() {
            return false;
        }
    }
}

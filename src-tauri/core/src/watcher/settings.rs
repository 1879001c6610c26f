//! How often the watcher asks, and how it backs off.

use std::time::Duration;

/// How often the watcher asks. The defaults keep idle load at about 21 requests a minute when
/// polling (about 20.7 live-call lists, one pending list every 2 minutes, and a stream probe once
/// a minute at first after a failure, once in 15 minutes when the server says it has none) and
/// about 1 a minute with the stream (the reconciliation). A call is found within one `idle_poll`
/// (2.9 s, so 95 % within about 2.8 s plus the request); polling can miss a call that starts and
/// ends between two idle polls, so `idle_poll` stays short (the reference suggests 2-5 s); the
/// stream has no such gap. Pending work (approvals, messages) waits longer: it is not ringing.
#[derive(Clone, Debug)]
pub struct WatcherSettings {
    /// Follow the event stream when the server offers one (else always poll).
    pub use_stream: bool,
    /// Live-call list cadence while a call is live or a window is open.
    pub live_poll: Duration,
    /// Live-call list cadence otherwise.
    pub idle_poll: Duration,
    /// Pending-notifications cadence while polling (or streaming without notification events).
    pub pending_poll: Duration,
    /// Pending-notifications safety poll while the stream carries `notification_changed`.
    pub pending_poll_streaming: Duration,
    /// While polling: the first wait before looking at the stream again after it failed; it
    /// doubles while that goes on, up to `stream_check_max`, and starts over once a stream has
    /// worked. A server that says it has no stream (`stream/info` 404, or switched off) is asked
    /// again only after `stream_check_max`.
    pub stream_check: Duration,
    pub stream_check_max: Duration,
    /// With a healthy stream: how often the live-call list is read anyway, to catch what the
    /// stream lost (one request; transcripts only of calls it finds new or ended).
    pub stream_reconcile: Duration,
    /// `stream/info`, and opening the stream, may each take this long (a proxy can hold the
    /// answer back); polling goes on meanwhile.
    pub stream_open_timeout: Duration,
    /// Without a byte (message or heartbeat) for this long, the stream counts as dead, when
    /// `stream/info` does not say how often it beats (else three missed heartbeats).
    pub stream_idle_timeout: Duration,
    /// Backoff after failures: full jitter in [0, min(backoff_max, backoff_base * 2^n)].
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How often to compare the clocks, and the drift that means "the machine slept".
    pub clock_check: Duration,
    pub clock_jump: Duration,
    /// How many published ids to remember across restarts.
    pub seen_capacity: usize,
}

impl Default for WatcherSettings {
    fn default() -> Self {
        Self {
            use_stream: true,
            live_poll: Duration::from_secs(2),
            idle_poll: Duration::from_millis(2900),
            pending_poll: Duration::from_secs(120),
            pending_poll_streaming: Duration::from_secs(300),
            stream_check: Duration::from_secs(60),
            stream_check_max: Duration::from_secs(15 * 60),
            stream_reconcile: Duration::from_secs(60),
            stream_open_timeout: Duration::from_secs(15),
            stream_idle_timeout: Duration::from_secs(45),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            clock_check: Duration::from_secs(5),
            clock_jump: Duration::from_secs(30),
            seen_capacity: 1000,
        }
    }
}

/// Overrides `idle_poll`: seconds (decimals allowed), at least 1. A longer cadence saves requests on a metered
/// link (and lets tests tell a catch-up from a routine poll); a call that starts and ends between
/// two reads is then missed.
pub const IDLE_POLL_ENV: &str = "KALLYAI_IDLE_POLL_SECS";

impl WatcherSettings {
    /// The defaults, with `KALLYAI_IDLE_POLL_SECS` applied when it is set and valid.
    pub fn from_environment() -> Self {
        Self::default().with_idle_poll(std::env::var(IDLE_POLL_ENV).ok().as_deref())
    }

    fn with_idle_poll(self, secs: Option<&str>) -> Self {
        match secs.map(|s| s.trim().parse::<f64>()) {
            None => self,
            Some(Ok(secs)) if (1.0..=86_400.0).contains(&secs) => {
                Self { idle_poll: Duration::from_secs_f64(secs), ..self }
            }
            Some(_) => {
                tracing::warn!("{IDLE_POLL_ENV} must be a number of seconds from 1 to 86400; ignored");
                self
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_poll_comes_from_the_environment_only_when_valid() {
        let default = WatcherSettings::default().idle_poll;
        assert_eq!(WatcherSettings::default().with_idle_poll(Some("600")).idle_poll, Duration::from_secs(600));
        assert_eq!(WatcherSettings::default().with_idle_poll(Some(" 2.5 ")).idle_poll, Duration::from_millis(2500));
        for bad in [None, Some("0"), Some("0.5"), Some("-5"), Some("soon"), Some(""), Some("NaN"), Some("1e9")] {
            assert_eq!(WatcherSettings::default().with_idle_poll(bad).idle_poll, default, "{bad:?}");
        }
    }
}

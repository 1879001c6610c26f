//! Which failures are worth repeating and how long to wait before doing so.
//!
//! Whether a failure is worth repeating at all is the error's to say
//! ([`ApiError::when_to_retry`], [`ApiError::is_transient`]); how long to wait is [`Backoff`],
//! the one formula behind the client's retries, the watcher's polling and stream checks, and the
//! outbox's sender, each with its own parameters.
//!
//! **The keyed-retry rule.** A write (a POST) whose outcome is unknown (a timeout, a connection
//! cut after the request went out, 500/502/503/504) may already have run on the server, so it is
//! sent again only when the server has shown that it honours `Idempotency-Key`: a response to a
//! keyed request echoed the exact key back in an `Idempotency-Key` header (the sim's extension
//! does; production, as documented, does not). The client remembers that per client (per API
//! base) for the life of the process. Until then a keyed write is repeated only after failures
//! where nothing ran (no connection at all, 429, a 401 before a token refresh), and the caller
//! reconciles the rest (the outbox reads the conversation back before ever sending again).
//! Unkeyed writes are never repeated; reads always may be.

use std::time::Duration;

use crate::config::RetryPolicy;
use crate::error::{codes, ApiError};
use crate::transport::Request;

/// The outcome of a write is unknown: the server was reached (or may have been) and may have run
/// it before the answer was lost or turned into an error.
pub(crate) fn outcome_unknown(err: &ApiError) -> bool {
    match err.status() {
        Some(status) => matches!(status, 500 | 502 | 503 | 504),
        None => matches!(err.code(), codes::TIMEOUT | codes::CONNECTION_LOST),
    }
}

/// The keyed-retry rule (module docs): may `req`, which failed with `err`, be sent again?
pub(crate) fn may_resend(req: &Request, err: &ApiError, server_honours_keys: bool) -> bool {
    if !err.is_transient() {
        return false;
    }
    if req.is_read() {
        return true;
    }
    req.idempotency_key.is_some() && (server_honours_keys || !outcome_unknown(err))
}

/// The client's wait before retry number `retry` (0-based), or `None` when the server asked for
/// a wait longer than the policy accepts (the caller gets the error and its `retry_after`).
pub(crate) fn delay_before_retry(policy: &RetryPolicy, retry: u32, err: &ApiError) -> Option<Duration> {
    if matches!(err.retry_after(), Some(wait) if wait > policy.max_retry_after) {
        return None;
    }
    let backoff = Backoff {
        first: policy.base_delay,
        max: policy.max_delay,
        jitter: Jitter::Full,
        server_wait: ServerWait::Instead,
    };
    Some(backoff.wait(retry.saturating_add(1), err.retry_after()))
}

/// Exponential backoff with jitter: after `n` failures in a row the wait is drawn below
/// `first * 2^(n-1)`, capped at `max`, so one client does not hammer a struggling server and
/// many clients that failed together do not come back together. Every retrying caller (the
/// client, the watcher, the outbox) describes its own with these fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// The ceiling after the first failure; it doubles with each further failure in a row.
    pub first: Duration,
    /// The highest ceiling (it wins over `first`).
    pub max: Duration,
    pub jitter: Jitter,
    /// What a server's `Retry-After` does to the wait.
    pub server_wait: ServerWait,
}

/// Where in [0, ceiling] the wait is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Jitter {
    /// Anywhere in [0, ceiling]: spreads a fleet the most, and a wait may be near zero.
    Full,
    /// In [ceiling / 2, ceiling]: spreads a fleet and still keeps a minimum pause.
    Equal,
}

/// How a server's `Retry-After` combines with the backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServerWait {
    /// The server's wait replaces ours, to the millisecond (the caller decides what is too long).
    Instead,
    /// The server's wait is a floor under ours, counted only up to `cap` so a misbehaving server
    /// cannot park the caller for a day.
    Floor { cap: Duration },
}

impl Backoff {
    /// The wait after `failures` failures in a row (1 for the first), given the server's
    /// `Retry-After`, if any.
    pub fn wait(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        match (retry_after, self.server_wait) {
            (Some(server), ServerWait::Instead) => server,
            (Some(server), ServerWait::Floor { cap }) => server.min(cap).max(self.jittered(failures)),
            (None, _) => self.jittered(failures),
        }
    }

    /// Our own part of the wait after `failures` failures in a row.
    pub fn jittered(&self, failures: u32) -> Duration {
        let ceiling = self.ceiling(failures);
        let floor = match self.jitter {
            Jitter::Full => Duration::ZERO,
            Jitter::Equal => ceiling / 2,
        };
        let spread = u64::try_from((ceiling - floor).as_millis()).unwrap_or(u64::MAX);
        floor + Duration::from_millis(fastrand::u64(0..=spread))
    }

    /// `first * 2^(failures-1)`, at most `max`; at least a millisecond, so a zero setting never
    /// turns into a tight loop.
    fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1);
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max).max(Duration::from_millis(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idempotency::IdempotencyKey;

    #[test]
    fn keyed_writes_are_repeated_after_an_unknown_outcome_only_when_keys_are_honoured() {
        let read = Request::get(&["v1", "credits", "balance"]);
        let keyed = Request::post(&["v1", "coordination", "message"]).idempotent(IdempotencyKey::new());
        let unkeyed = Request::post(&["v1", "goals", "estimate"]);
        let unknown = [
            ApiError::client(codes::TIMEOUT, ""),
            ApiError::client(codes::CONNECTION_LOST, ""),
            ApiError::from_response(502, b"", None),
            ApiError::from_response(503, b"", None),
            ApiError::from_response(504, b"", None),
        ];
        for e in &unknown {
            assert!(outcome_unknown(e), "{e:?}");
            assert!(may_resend(&read, e, false), "{e:?}");
            assert!(!may_resend(&keyed, e, false), "{e:?}");
            assert!(may_resend(&keyed, e, true), "{e:?}");
            assert!(!may_resend(&unkeyed, e, true), "{e:?}");
        }
        // Nothing ran: a keyed write may go again even on a server that ignores keys.
        let nothing_ran = [ApiError::client(codes::OFFLINE, ""), ApiError::from_response(429, b"", None)];
        for e in &nothing_ran {
            assert!(!outcome_unknown(e), "{e:?}");
            assert!(may_resend(&keyed, e, false), "{e:?}");
            assert!(!may_resend(&unkeyed, e, false), "{e:?}");
        }
        // A 500 is an answer: never repeated, but its outcome is unknown to a caller that reconciles.
        let e500 = ApiError::from_response(500, b"", None);
        assert!(outcome_unknown(&e500));
        assert!(!may_resend(&read, &e500, true) && !may_resend(&keyed, &e500, true));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(10),
        };
        let plain = ApiError::from_response(503, b"", None);
        let delay = |retry| delay_before_retry(&p, retry, &plain).unwrap();
        for _ in 0..200 {
            assert!(delay(0) <= Duration::from_millis(100));
            assert!(delay(2) <= Duration::from_millis(400));
            assert!(delay(30) <= Duration::from_millis(1000));
        }
    }

    fn backoff(jitter: Jitter, server_wait: ServerWait) -> Backoff {
        Backoff { first: Duration::from_millis(100), max: Duration::from_millis(1000), jitter, server_wait }
    }

    #[test]
    fn full_jitter_spans_zero_to_a_doubling_ceiling() {
        let b = backoff(Jitter::Full, ServerWait::Instead);
        let mut lowest = Duration::MAX;
        for _ in 0..500 {
            let first = b.jittered(1);
            lowest = lowest.min(first);
            assert!(first <= Duration::from_millis(100), "{first:?}");
            assert!(b.jittered(3) <= Duration::from_millis(400));
            assert!(b.jittered(u32::MAX) <= Duration::from_millis(1000));
        }
        assert!(lowest < Duration::from_millis(50), "full jitter reaches the bottom half: {lowest:?}");
    }

    #[test]
    fn equal_jitter_keeps_the_upper_half() {
        let b = backoff(Jitter::Equal, ServerWait::Instead);
        for _ in 0..500 {
            let first = b.jittered(1);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first), "{first:?}");
            let third = b.jittered(3);
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&third), "{third:?}");
            let late = b.jittered(40);
            assert!((Duration::from_millis(500)..=Duration::from_millis(1000)).contains(&late), "{late:?}");
        }
        // The first failure counts like zero: no shorter ceiling exists.
        assert!(b.jittered(0) <= Duration::from_millis(100));
    }

    #[test]
    fn a_zero_setting_still_pauses_and_max_wins_over_first() {
        let zero =
            Backoff { first: Duration::ZERO, max: Duration::ZERO, ..backoff(Jitter::Equal, ServerWait::Instead) };
        for _ in 0..50 {
            let d = zero.jittered(1);
            assert!(d > Duration::ZERO && d <= Duration::from_millis(1), "{d:?}");
        }
        let inverted = Backoff { first: Duration::from_secs(10), ..backoff(Jitter::Full, ServerWait::Instead) };
        for _ in 0..50 {
            assert!(inverted.jittered(1) <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn a_server_wait_replaces_ours_or_floors_it_up_to_a_cap() {
        let seven = Some(Duration::from_secs(7));
        assert_eq!(backoff(Jitter::Equal, ServerWait::Instead).wait(3, seven), Duration::from_secs(7));
        assert_eq!(backoff(Jitter::Full, ServerWait::Instead).wait(1, Some(Duration::ZERO)), Duration::ZERO);
        let floor = backoff(Jitter::Full, ServerWait::Floor { cap: Duration::from_secs(60) });
        assert_eq!(floor.wait(1, seven), Duration::from_secs(7));
        assert_eq!(floor.wait(1, Some(Duration::from_secs(86_400))), Duration::from_secs(60));
        for _ in 0..100 {
            // A shorter server wait does not cut ours.
            let d = floor.wait(4, Some(Duration::ZERO));
            assert!(d <= Duration::from_millis(800), "{d:?}");
            let d = backoff(Jitter::Equal, ServerWait::Floor { cap: Duration::from_secs(60) })
                .wait(4, Some(Duration::from_millis(1)));
            assert!(d >= Duration::from_millis(400), "{d:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default();
        let short = ApiError::from_response(429, b"", Some(Duration::from_secs(2)));
        assert_eq!(delay_before_retry(&p, 0, &short), Some(Duration::from_secs(2)));
        let long = ApiError::from_response(429, b"", Some(Duration::from_secs(3600)));
        assert_eq!(delay_before_retry(&p, 0, &long), None);
    }
}

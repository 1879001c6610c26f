//! Which failures are worth repeating and how long to wait before doing so.
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

/// Transient failures: the server was unreachable, slow, overloaded or dropped the connection.
/// Every other 4xx and a plain 500 are answers, and repeating them would not change them.
pub(crate) fn is_transient(err: &ApiError) -> bool {
    match err.status() {
        Some(status) => matches!(status, 429 | 502 | 503 | 504),
        None => matches!(err.code(), codes::OFFLINE | codes::TIMEOUT | codes::CONNECTION_LOST),
    }
}

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
    if !is_transient(err) {
        return false;
    }
    if req.is_read() {
        return true;
    }
    req.idempotency_key.is_some() && (server_honours_keys || !outcome_unknown(err))
}

/// The wait before retry number `retry` (0-based), or `None` when the server asked for a wait
/// longer than the policy accepts (the caller gets the error and its `retry_after`).
pub(crate) fn delay_before_retry(policy: &RetryPolicy, retry: u32, err: &ApiError) -> Option<Duration> {
    match err.retry_after() {
        Some(wait) if wait > policy.max_retry_after => None,
        Some(wait) => Some(wait),
        None => Some(backoff(policy, retry)),
    }
}

/// Exponential backoff with "full jitter": uniform in [0, min(max, base * 2^retry)], so many
/// clients that failed together do not come back together.
pub(crate) fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let ceiling =
        policy.base_delay.saturating_mul(1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX)).min(policy.max_delay);
    let millis = ceiling.as_millis() as u64;
    Duration::from_millis(fastrand::u64(0..=millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idempotency::IdempotencyKey;

    #[test]
    fn only_transient_failures_are_retried() {
        for s in [429, 502, 503, 504] {
            assert!(is_transient(&ApiError::from_response(s, b"", None)), "{s}");
        }
        for s in [400, 401, 402, 403, 404, 409, 422, 500] {
            assert!(!is_transient(&ApiError::from_response(s, b"", None)), "{s}");
        }
        for c in [codes::OFFLINE, codes::TIMEOUT, codes::CONNECTION_LOST] {
            assert!(is_transient(&ApiError::client(c, "")));
        }
        assert!(!is_transient(&ApiError::client(codes::DECODE, "")));
        assert!(!is_transient(&ApiError::not_signed_in()));
    }

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
        for _ in 0..200 {
            assert!(backoff(&p, 0) <= Duration::from_millis(100));
            assert!(backoff(&p, 2) <= Duration::from_millis(400));
            assert!(backoff(&p, 30) <= Duration::from_millis(1000));
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

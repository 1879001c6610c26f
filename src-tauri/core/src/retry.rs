//! Which failures are worth repeating and how long to wait before doing so.

use std::time::Duration;

use crate::config::RetryPolicy;
use crate::error::{codes, ApiError};

/// Transient failures: the server was unreachable, slow, overloaded or dropped the connection.
/// Every other 4xx and a plain 500 are answers, and repeating them would not change them.
pub(crate) fn is_transient(err: &ApiError) -> bool {
    match err.status() {
        Some(status) => matches!(status, 429 | 502 | 503 | 504),
        None => matches!(err.code(), codes::OFFLINE | codes::TIMEOUT | codes::CONNECTION_LOST),
    }
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

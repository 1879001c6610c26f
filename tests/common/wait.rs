//! Waiting on conditions with a deadline.

use std::future::Future;
use std::time::Duration;

/// Polls `condition` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, mut condition: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        ticks.tick().await;
        if let Some(value) = condition().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
    }
}

/// The same for a synchronous check.
pub async fn until_sync<T>(what: &str, timeout: Duration, mut condition: impl FnMut() -> Option<T>) -> T {
    until(what, timeout, || std::future::ready(condition())).await
}

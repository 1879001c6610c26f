//! The outbox's sender: drains queued asks oldest first, one at a time, with the key fixed at
//! queue time, and decides after each failure whether to wait and retry or to hand the ask
//! back to the user.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::outbox::{now_ms, Shared};
use super::reply::AskReply;
use super::store::{AskState, OutboxEntry};
use crate::error::{codes, ApiError};
use crate::events::Event;
use crate::idempotency::IdempotencyKey;

/// The server no longer knows the conversation (deleted, or another account's).
const CONVERSATION_GONE: &str = "conversation_not_found";

/// What to do with an ask whose send failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// The service was unreachable, overloaded, rate limiting or the user is signed out:
    /// keep it queued and try again later.
    Retry,
    /// The server refused it (402, other 4xx) or answered unreadably: the user decides.
    Refused,
}

pub(crate) fn disposition(err: &ApiError) -> Disposition {
    if err.is_unauthorized() {
        return Disposition::Retry;
    }
    match err.status() {
        Some(408 | 429) => Disposition::Retry,
        Some(s) if (400..500).contains(&s) => Disposition::Refused,
        Some(_) => Disposition::Retry,
        None if matches!(err.code(), codes::DECODE | codes::INVALID_REQUEST) => Disposition::Refused,
        None => Disposition::Retry,
    }
}

/// Backoff after `failures` failed attempts: doubling from `base`, capped at `max`, with "equal
/// jitter" (half fixed, half random) so a fleet of clients does not return in step and one
/// client never retries in a tight loop.
pub(crate) fn backoff(failures: u32, base: Duration, max: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let ceiling = base.saturating_mul(1u32 << exp).min(max).max(Duration::from_millis(1));
    let half = ceiling / 2;
    half + Duration::from_millis(fastrand::u64(0..=half.as_millis() as u64))
}

/// When the sender may try again.
#[derive(Default)]
struct Pause {
    failures: u32,
    /// Our own backoff; a wake-up (back online, signed in, `wake()`) cuts it short.
    backoff_until: Option<Instant>,
    /// The server's `Retry-After`; honoured even when woken.
    server_until: Option<Instant>,
}

impl Pause {
    fn until(&self) -> Option<Instant> {
        match (self.backoff_until, self.server_until) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
    fn woken(&mut self) {
        self.backoff_until = None;
    }
    fn succeeded(&mut self) {
        *self = Pause::default();
    }
    /// Records a retryable failure; returns how long the sender will wait.
    fn failed(&mut self, err: &ApiError, base: Duration, max: Duration) -> Duration {
        self.failures += 1;
        let now = Instant::now();
        match err.retry_after() {
            Some(wait) => {
                self.server_until = Some(now + wait);
                wait
            }
            None => {
                let wait = backoff(self.failures, base, max);
                self.backoff_until = Some(now + wait);
                wait
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The sender task: runs until `stop` turns true.
pub(crate) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut pause = Pause::default();
    loop {
        if *stop.borrow() {
            return;
        }
        let head = next_queued(&shared).await;
        let until = pause.until().filter(|t| *t > Instant::now());
        if head.is_none() || until.is_some() {
            tokio::select! {
                _ = shared.wake.notified() => pause.woken(),
                _ = sleep_until(until), if head.is_some() => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        let Some(entry) = begin_send(&shared, head.as_deref()).await else {
            continue;
        };
        shared.events.publish(Event::AskSending { local_id: entry.local_id.clone() });
        let key = IdempotencyKey::from_string(entry.idempotency_key.clone());
        let coordination = shared.client.coordination();
        let sent = coordination.message_with_key(&entry.text, entry.conversation_id.as_deref(), key);
        let result = tokio::select! {
            r = sent => r,
            // The ask stays "sending" in the file and is read back as queued on the next open.
            _ = stop.changed() => return,
        };
        match result {
            Ok(reply) => {
                pause.succeeded();
                finish(&shared, &entry, reply.into()).await;
            }
            Err(err) if err.code() == CONVERSATION_GONE && entry.conversation_id.is_some() => {
                forget_conversation(&shared, &entry).await;
            }
            Err(err) => match disposition(&err) {
                Disposition::Retry => {
                    let wait = pause.failed(&err, shared.settings.retry_base, shared.settings.retry_max);
                    requeue(&shared, &entry, &err, wait).await;
                }
                Disposition::Refused => refuse(&shared, &entry, &err).await,
            },
        }
    }
}

/// Wakes the sender when the service may be reachable again.
pub(crate) async fn listen(shared: Arc<Shared>, mut rx: broadcast::Receiver<Event>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(Event::ConnectivityChanged { online: true }) | Ok(Event::AuthChanged { signed_in: true }) => {
                    shared.wake.notify_one();
                }
                // Missed events might have included one of the above.
                Err(broadcast::error::RecvError::Lagged(_)) => shared.wake.notify_one(),
                Err(broadcast::error::RecvError::Closed) => return,
                Ok(_) => {}
            },
            _ = stop.changed() => return,
        }
    }
}

async fn next_queued(shared: &Shared) -> Option<String> {
    let data = shared.data.lock().await;
    data.entries.iter().find(|e| e.state == AskState::Queued).map(|e| e.local_id.clone())
}

/// Marks the entry as sending, filling in its conversation id if its conversation has one by
/// now (an earlier ask of the same conversation was answered after this one was queued).
async fn begin_send(shared: &Shared, local_id: Option<&str>) -> Option<OutboxEntry> {
    let local_id = local_id?;
    let mut data = shared.data.lock().await;
    let current = data.current.clone();
    let entry = data.entries.iter_mut().find(|e| e.local_id == local_id && e.state == AskState::Queued)?;
    if entry.conversation_id.is_none() && entry.thread == current.thread {
        entry.conversation_id = current.conversation_id;
    }
    entry.state = AskState::Sending;
    let entry = entry.clone();
    save_or_warn(shared, &data).await;
    Some(entry)
}

async fn finish(shared: &Shared, entry: &OutboxEntry, reply: AskReply) {
    let mut data = shared.data.lock().await;
    data.entries.retain(|e| e.local_id != entry.local_id);
    if let Some(conv) = &reply.conversation_id {
        // Later asks of the same conversation go to the id the server gave it.
        for e in data.entries.iter_mut().filter(|e| e.thread == entry.thread && e.conversation_id.is_none()) {
            e.conversation_id = Some(conv.clone());
        }
        if data.current.thread == entry.thread && data.current.conversation_id.is_none() {
            data.current.conversation_id = Some(conv.clone());
        }
    }
    if data.current.thread == entry.thread {
        data.current.last_active_at = now_ms();
    }
    save_or_warn(shared, &data).await;
    drop(data);
    shared.events.publish(Event::AskSent { local_id: entry.local_id.clone(), reply });
}

/// The ask's conversation is gone on the server: rather than failing the same way on every
/// resend, the ask (and the rest of its conversation) starts a new one. It gets a fresh key
/// because its body changes and the refusal ran nothing.
async fn forget_conversation(shared: &Shared, entry: &OutboxEntry) {
    let mut data = shared.data.lock().await;
    let gone = entry.conversation_id.clone();
    for e in data.entries.iter_mut().filter(|e| e.thread == entry.thread && e.conversation_id == gone) {
        e.conversation_id = None;
        if e.local_id == entry.local_id {
            e.state = AskState::Queued;
            e.idempotency_key = IdempotencyKey::new().to_string();
        }
    }
    if data.current.thread == entry.thread && data.current.conversation_id == gone {
        data.current.conversation_id = None;
    }
    save_or_warn(shared, &data).await;
    tracing::debug!("conversation gone on the server; the ask starts a new one");
}

async fn requeue(shared: &Shared, entry: &OutboxEntry, err: &ApiError, wait: Duration) {
    let mut data = shared.data.lock().await;
    if let Some(e) = data.entries.iter_mut().find(|e| e.local_id == entry.local_id) {
        e.state = AskState::Queued;
        e.last_error = Some(err.code().to_string());
    }
    save_or_warn(shared, &data).await;
    drop(data);
    tracing::debug!(code = err.code(), ?wait, "ask stays queued");
    shared.events.publish(Event::AskWaiting {
        local_id: entry.local_id.clone(),
        code: err.code().to_string(),
        message: err.user_message(),
        retry_in_ms: wait.as_millis() as u64,
    });
}

async fn refuse(shared: &Shared, entry: &OutboxEntry, err: &ApiError) {
    let state = AskState::Failed {
        code: err.code().to_string(),
        message: err.user_message(),
        server_message: err.server_message().map(str::to_string),
        manage_plan: err.is_quota(),
        budget: err.budget_refusal().cloned(),
    };
    let mut data = shared.data.lock().await;
    if let Some(e) = data.entries.iter_mut().find(|e| e.local_id == entry.local_id) {
        e.state = state;
        e.last_error = None;
    }
    save_or_warn(shared, &data).await;
    drop(data);
    tracing::debug!(code = err.code(), "ask refused; kept for the user");
    shared.events.publish(Event::AskFailed {
        local_id: entry.local_id.clone(),
        code: err.code().to_string(),
        message: err.user_message(),
        server_message: err.server_message().map(str::to_string),
        manage_plan: err.is_quota(),
        budget: err.budget_refusal().cloned(),
    });
}

/// The sender cannot hand a write error to anyone; the in-memory state stays right and the
/// next successful write catches the file up.
async fn save_or_warn(shared: &Shared, data: &super::store::OutboxData) {
    if let Err(e) = shared.persist(data).await {
        tracing::warn!(error = %e, "outbox not saved");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_failures_are_retried() {
        let retried = [
            ApiError::client(codes::OFFLINE, ""),
            ApiError::client(codes::TIMEOUT, ""),
            ApiError::client(codes::CONNECTION_LOST, ""),
            ApiError::not_signed_in(),
            ApiError::from_response(401, b"", None),
            ApiError::from_response(429, b"", Some(Duration::from_secs(3))),
            ApiError::from_response(500, b"", None),
            ApiError::from_response(503, b"", None),
        ];
        for e in &retried {
            assert_eq!(disposition(e), Disposition::Retry, "{e:?}");
        }
        let refused = [
            ApiError::from_response(402, br#"{"error":{"code":"quota_exceeded","message":"m"}}"#, None),
            ApiError::from_response(402, br#"{"error":{"code":"budget_exceeded","message":"m"}}"#, None),
            ApiError::from_response(422, b"", None),
            ApiError::from_response(404, b"", None),
            ApiError::client(codes::DECODE, ""),
        ];
        for e in &refused {
            assert_eq!(disposition(e), Disposition::Refused, "{e:?}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let (base, max) = (Duration::from_millis(100), Duration::from_millis(1000));
        for _ in 0..200 {
            let first = backoff(1, base, max);
            assert!(first >= Duration::from_millis(50) && first <= base, "{first:?}");
            let third = backoff(3, base, max);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400), "{third:?}");
            assert!(backoff(40, base, max) <= max);
        }
    }

    #[test]
    fn retry_after_survives_a_wake_up_but_backoff_does_not() {
        let (base, max) = (Duration::from_secs(10), Duration::from_secs(60));
        let mut p = Pause::default();
        p.failed(&ApiError::client(codes::OFFLINE, ""), base, max);
        assert!(p.until().is_some());
        p.woken();
        assert!(p.until().is_none());
        let wait = p.failed(&ApiError::from_response(429, b"", Some(Duration::from_secs(7))), base, max);
        assert_eq!(wait, Duration::from_secs(7));
        p.woken();
        assert!(p.until().is_some());
        p.succeeded();
        assert!(p.until().is_none());
    }
}

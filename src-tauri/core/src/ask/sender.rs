//! The outbox's sender: drains queued asks oldest first, one at a time, with the key fixed at
//! queue time, and decides after each failure whether to wait and retry, to read the
//! conversation back first (the outcome is unknown: `reconcile.rs`), or to hand the ask back
//! to the user.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::mark::HistoryMark;
use super::reconcile::{self, Found, HISTORY_LIMIT};
use super::shared::{OutboxSettings, Shared};
use super::store::{self, AskState, Durability, OutboxData, OutboxEntry};
use crate::clock::unix_ms;
use crate::error::{ApiError, Retry};
use crate::events::Event;
use crate::idempotency::IdempotencyKey;
use crate::reply::AskReply;
use crate::retry::{outcome_unknown, Backoff, Jitter, ServerWait};

/// The server no longer knows the conversation (deleted, or another account's).
const CONVERSATION_GONE: &str = "conversation_not_found";

/// The sender's backoff: doubling from `retry_base` up to `retry_max`, with "equal jitter" (half
/// fixed, half random) so a fleet of clients does not return in step and one client never
/// retries in a tight loop. A server's `Retry-After` is waited out instead.
fn backoff(settings: &OutboxSettings) -> Backoff {
    Backoff {
        first: settings.retry_base,
        max: settings.retry_max,
        jitter: Jitter::Equal,
        server_wait: ServerWait::Instead,
    }
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
    fn failed(&mut self, err: &ApiError, backoff: &Backoff) -> Duration {
        self.failures += 1;
        let wait = backoff.wait(self.failures, err.retry_after());
        let until = Some(Instant::now() + wait);
        match err.retry_after() {
            Some(_) => self.server_until = until,
            None => self.backoff_until = until,
        }
        wait
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
        let head = next_due(&shared).await;
        let until = pause.until().filter(|t| *t > Instant::now());
        let Some(head) = head.filter(|_| until.is_none()) else {
            tokio::select! {
                _ = shared.wake.notified() => pause.woken(),
                _ = sleep_until(until), if until.is_some() => {}
                _ = stop.changed() => return,
            }
            continue;
        };
        let went_on = match head.state {
            AskState::Checking => check(&shared, head, &mut pause, &mut stop).await,
            _ => deliver(&shared, head, &mut pause, &mut stop).await,
        };
        if went_on.is_none() {
            return;
        }
    }
}

/// Sends one queued ask: into a conversation that exists (so it can be read back), with a mark
/// of that conversation taken first, under its fixed key. `None` when stopped.
async fn deliver(
    shared: &Shared,
    entry: OutboxEntry,
    pause: &mut Pause,
    stop: &mut watch::Receiver<bool>,
) -> Option<()> {
    shared.events.publish(Event::AskSending { local_id: entry.local_id.clone() });
    let coordination = shared.client.coordination();
    let (conversation_id, created) = match conversation_of(shared, &entry).await {
        Some(id) => (id, false),
        None => {
            let created = tokio::select! {
                r = coordination.create_conversation() => r,
                _ = stop.changed() => return None,
            };
            match created {
                Ok(conversation) => (adopt_conversation(shared, &entry.thread, conversation.id).await, true),
                Err(err) => {
                    failed(shared, &entry, &err, pause).await;
                    return Some(());
                }
            }
        }
    };
    // The last answer seen in this conversation is a mark already: no read before the send.
    let known = known_mark(shared, &entry, &conversation_id).await;
    let mark = match (&entry.mark, created, known) {
        (Some(mark), _, _) => Some(mark.clone()),
        (None, true, _) => Some(HistoryMark::empty()),
        (None, false, Some(known)) => Some(known),
        (None, false, None) => {
            let read = tokio::select! {
                r = coordination.history(Some(&conversation_id), Some(HISTORY_LIMIT)) => r,
                _ = stop.changed() => return None,
            };
            match read {
                Ok(history) => Some(HistoryMark::of(&history, &entry.text)),
                Err(err) if err.code() == CONVERSATION_GONE => {
                    forget_conversation(shared, &entry, &conversation_id).await;
                    return Some(());
                }
                // Sent without a mark: reading back can then only prove absence.
                Err(err) => {
                    tracing::debug!(code = err.code(), "conversation not read before the send");
                    None
                }
            }
        }
    };
    let Some(entry) = begin_send(shared, &entry.local_id, &conversation_id, mark).await else {
        return Some(()); // discarded meanwhile
    };
    let key = IdempotencyKey::from_string(entry.idempotency_key.clone());
    let sent = coordination.message_with_key(&entry.text, Some(&conversation_id), key);
    let result = tokio::select! {
        r = sent => r,
        // The ask stays "sending" in the file and is read back by the next open.
        _ = stop.changed() => return None,
    };
    match result {
        Ok(reply) => {
            pause.succeeded();
            finish(shared, &entry, reply.into()).await;
        }
        Err(err) if err.code() == CONVERSATION_GONE => forget_conversation(shared, &entry, &conversation_id).await,
        // It may have run: never sent again before its conversation is read back, unless the
        // server has shown that it recognises the key (retry.rs).
        Err(err) if outcome_unknown(&err) && !shared.client.honours_idempotency_keys() => {
            let entry = set_checking(shared, &entry, err.code()).await;
            return check(shared, entry, pause, stop).await;
        }
        Err(err) => failed(shared, &entry, &err, pause).await,
    }
    Some(())
}

/// Reads an unsure ask's conversation back (bounded, with backoff) and acts on what it shows:
/// arrived (published as answered), absent (queued again, same key), unknown (the user decides).
async fn check(shared: &Shared, entry: OutboxEntry, pause: &mut Pause, stop: &mut watch::Receiver<bool>) -> Option<()> {
    shared.events.publish(Event::AskChecking { local_id: entry.local_id.clone() });
    // Each unsure send counts as a failure, so an ask that keeps vanishing is retried ever slower.
    pause.failures += 1;
    let (backoff, failures) = (backoff(&shared.settings), pause.failures);
    let found = tokio::select! {
        found = reconcile::find(&shared.client, &entry, |read| backoff.jittered(failures + read - 1)) => found,
        // Still "checking" in the file: the next open reads it back again.
        _ = stop.changed() => return None,
    };
    match found {
        Found::Arrived(reply) => {
            tracing::debug!("the ask was found in its conversation; not sent again");
            pause.succeeded();
            finish(shared, &entry, reply).await;
        }
        Found::Absent => {
            tracing::debug!("the ask is not in its conversation; sending it again");
            set_state(shared, &entry.local_id, AskState::Queued).await;
            shared.events.publish(Event::AskQueued { local_id: entry.local_id.clone() });
        }
        Found::Unknown => {
            let code = entry.last_error.clone().unwrap_or_else(|| store::INTERRUPTED.to_string());
            tracing::debug!(code, "cannot tell whether the ask arrived; the user decides");
            set_state(shared, &entry.local_id, AskState::MaybeSent { code: code.clone() }).await;
            shared.events.publish(Event::AskMaybeSent { local_id: entry.local_id.clone(), code });
        }
    }
    Some(())
}

/// A failure where the ask surely did not run (or the server recognises its key): wait and
/// retry, or hand it back to the user.
async fn failed(shared: &Shared, entry: &OutboxEntry, err: &ApiError, pause: &mut Pause) {
    // Written under an account that has since signed out (it was in flight as that happened,
    // so the sign-out could not hold it): it waits for the user, never for whoever signs in
    // next. An ask typed while signed out waits for the sign-in, as before.
    if entry.queued_at <= shared.signed_out_at.load(Ordering::Relaxed) {
        return hold(shared, std::slice::from_ref(&entry.local_id)).await;
    }
    match err.when_to_retry() {
        // Unreachable, overloaded, rate limiting, a server fault or a signed-out user: it stays
        // queued and goes again later.
        Retry::Soon | Retry::Later => {
            let wait = pause.failed(err, &backoff(&shared.settings));
            requeue(shared, entry, err, wait).await;
        }
        // The server refused it (402, other 4xx) or answered unreadably: the user decides.
        Retry::Never => refuse(shared, entry, err).await,
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
                // Signed out (by the user, or the server ended the session): what was typed
                // under that account is held, not sent as whoever signs in next.
                Ok(Event::AuthChanged { signed_in: false }) => {
                    shared.signed_out_at.store(unix_ms(), Ordering::Relaxed);
                    let queued: Vec<String> = {
                        let data = shared.data.lock().await;
                        data.entries.iter().filter(|e| e.state == AskState::Queued).map(|e| e.local_id.clone()).collect()
                    };
                    hold(&shared, &queued).await;
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

/// The oldest ask the sender has work on: one to send, or one to read back.
async fn next_due(shared: &Shared) -> Option<OutboxEntry> {
    let data = shared.data.lock().await;
    data.entries.iter().find(|e| matches!(e.state, AskState::Queued | AskState::Checking)).cloned()
}

/// The ask's conversation if it has one by now (its own, or one an earlier ask of its thread got).
async fn conversation_of(shared: &Shared, entry: &OutboxEntry) -> Option<String> {
    let data = shared.data.lock().await;
    let own = data.entries.iter().find(|e| e.local_id == entry.local_id).and_then(|e| e.conversation_id.clone());
    own.or_else(|| {
        let current = &data.current;
        (current.thread == entry.thread).then(|| current.conversation_id.clone()).flatten()
    })
}

/// A conversation was created for `thread`: every ask of the thread goes there, and so does the
/// next ask when the thread is still the current one.
async fn adopt_conversation(shared: &Shared, thread: &str, conversation_id: String) -> String {
    let mut data = shared.data.lock().await;
    for e in data.entries.iter_mut().filter(|e| e.thread == thread && e.conversation_id.is_none()) {
        e.conversation_id = Some(conversation_id.clone());
    }
    if data.current.thread == thread && data.current.conversation_id.is_none() {
        data.current.conversation_id = Some(conversation_id.clone());
    }
    save_or_warn(shared, &data, Durability::Lazy).await;
    conversation_id
}

/// The mark of an ask that continues the current conversation right after an answer this app
/// saw: everything after that answer is newer than the ask's send.
async fn known_mark(shared: &Shared, entry: &OutboxEntry, conversation_id: &str) -> Option<HistoryMark> {
    let data = shared.data.lock().await;
    let current = &data.current;
    if current.thread != entry.thread || current.conversation_id.as_deref() != Some(conversation_id) {
        return None;
    }
    current.last_message_id.clone().map(HistoryMark::after)
}

/// Marks the entry as sending, with its conversation and mark, and saves that durably before the
/// request goes out: a file that says "sending" is read back, never blindly resent. An armed ask
/// whose conversation and mark are unchanged is on disk as good as sending already (the store
/// reads it back the same way), so nothing is written. `None` when the user discarded the ask
/// meanwhile.
async fn begin_send(
    shared: &Shared,
    local_id: &str,
    conversation_id: &str,
    mark: Option<HistoryMark>,
) -> Option<OutboxEntry> {
    let mut data = shared.data.lock().await;
    let entry = data.entries.iter_mut().find(|e| e.local_id == local_id && e.state == AskState::Queued)?;
    let on_disk = entry.armed && entry.conversation_id.as_deref() == Some(conversation_id) && entry.mark == mark;
    entry.conversation_id = Some(conversation_id.to_string());
    entry.mark = mark;
    entry.state = AskState::Sending;
    entry.armed = false;
    let entry = entry.clone();
    if !on_disk {
        save_or_warn(shared, &data, Durability::Durable).await;
    }
    Some(entry)
}

/// The send's outcome is unknown: saved as "checking" before the conversation is read back.
async fn set_checking(shared: &Shared, entry: &OutboxEntry, code: &str) -> OutboxEntry {
    let checking =
        OutboxEntry { state: AskState::Checking, last_error: Some(code.to_string()), armed: false, ..entry.clone() };
    let mut data = shared.data.lock().await;
    // A sending ask cannot be discarded or resent, so the stored one is this one.
    if let Some(e) = data.entries.iter_mut().find(|e| e.local_id == entry.local_id) {
        *e = checking.clone();
    }
    save_or_warn(shared, &data, Durability::Lazy).await;
    checking
}

async fn set_state(shared: &Shared, local_id: &str, state: AskState) {
    let mut data = shared.data.lock().await;
    if let Some(e) = data.entries.iter_mut().find(|e| e.local_id == local_id) {
        e.state = state;
        e.armed = false;
    }
    save_or_warn(shared, &data, Durability::Lazy).await;
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
        data.current.last_active_at = unix_ms();
        data.current.last_message_id.clone_from(&reply.message_id);
    }
    save_or_warn(shared, &data, Durability::Lazy).await;
    drop(data);
    shared.events.publish(Event::AskSent { local_id: entry.local_id.clone(), reply });
}

/// The ask's conversation is gone on the server: rather than failing the same way on every
/// resend, the ask (and the rest of its conversation) starts a new one. It gets a fresh key and
/// mark because its body changes and the refusal ran nothing.
async fn forget_conversation(shared: &Shared, entry: &OutboxEntry, gone: &str) {
    let mut data = shared.data.lock().await;
    for e in data.entries.iter_mut().filter(|e| e.thread == entry.thread && e.conversation_id.as_deref() == Some(gone))
    {
        e.conversation_id = None;
        if e.local_id == entry.local_id {
            e.state = AskState::Queued;
            e.idempotency_key = IdempotencyKey::new().to_string();
            e.mark = None;
            e.armed = false;
        }
    }
    if data.current.thread == entry.thread && data.current.conversation_id.as_deref() == Some(gone) {
        data.current.conversation_id = None;
    }
    save_or_warn(shared, &data, Durability::Lazy).await;
    tracing::debug!("conversation gone on the server; the ask starts a new one");
}

async fn requeue(shared: &Shared, entry: &OutboxEntry, err: &ApiError, wait: Duration) {
    let mut data = shared.data.lock().await;
    if let Some(e) = data.entries.iter_mut().find(|e| e.local_id == entry.local_id) {
        e.state = AskState::Queued;
        e.last_error = Some(err.code().to_string());
        e.armed = false;
    }
    save_or_warn(shared, &data, Durability::Lazy).await;
    drop(data);
    tracing::debug!(code = err.code(), ?wait, "ask stays queued");
    shared.events.publish(Event::AskWaiting {
        local_id: entry.local_id.clone(),
        code: err.code().to_string(),
        message: err.user_message(),
        retry_in_ms: wait.as_millis() as u64,
    });
}

/// Asks written under an account that is no longer signed in: kept for the user (Send again /
/// Discard in the box), never sent by themselves. The sentence says why.
pub(crate) const HELD_MESSAGE: &str =
    "Written before a sign-out: it was not sent. Send it now as the account signed in, or discard it.";

async fn hold(shared: &Shared, local_ids: &[String]) {
    if local_ids.is_empty() {
        return;
    }
    let state = AskState::Failed {
        code: HELD.to_string(),
        message: HELD_MESSAGE.to_string(),
        server_message: None,
        manage_plan: false,
        budget: None,
    };
    let mut data = shared.data.lock().await;
    let mut held = Vec::new();
    for e in data.entries.iter_mut().filter(|e| local_ids.contains(&e.local_id) && e.state != AskState::Sending) {
        e.state = state.clone();
        e.last_error = None;
        e.armed = false;
        held.push(e.local_id.clone());
    }
    save_or_warn(shared, &data, Durability::Durable).await;
    drop(data);
    tracing::info!(held = held.len(), "asks held: nobody they were written for is signed in");
    for local_id in held {
        shared.events.publish(Event::AskFailed {
            local_id,
            code: HELD.to_string(),
            message: HELD_MESSAGE.to_string(),
            server_message: None,
            manage_plan: false,
            budget: None,
        });
    }
}

/// The code of a held ask.
pub(crate) const HELD: &str = "held_signed_out";

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
        e.armed = false;
    }
    save_or_warn(shared, &data, Durability::Lazy).await;
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
/// next successful write catches the file up. Only the write before a send is durable: losing
/// any other to a power cut leaves the ask sending or armed on disk, and the next start reads
/// it back before anything else.
async fn save_or_warn(shared: &Shared, data: &OutboxData, durability: Durability) {
    if let Err(e) = shared.persist(data, durability).await {
        tracing::warn!(error = %e, "outbox not saved");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::codes;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let settings = OutboxSettings {
            retry_base: Duration::from_millis(100),
            retry_max: Duration::from_millis(1000),
            ..OutboxSettings::default()
        };
        let (backoff, max) = (backoff(&settings), settings.retry_max);
        for _ in 0..200 {
            let first = backoff.jittered(1);
            assert!(first >= Duration::from_millis(50) && first <= settings.retry_base, "{first:?}");
            let third = backoff.jittered(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400), "{third:?}");
            assert!(backoff.jittered(40) <= max);
        }
    }

    #[test]
    fn retry_after_survives_a_wake_up_but_backoff_does_not() {
        let settings = OutboxSettings {
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(60),
            ..OutboxSettings::default()
        };
        let backoff = backoff(&settings);
        let mut p = Pause::default();
        p.failed(&ApiError::client(codes::OFFLINE, ""), &backoff);
        assert!(p.until().is_some());
        p.woken();
        assert!(p.until().is_none());
        let wait = p.failed(&ApiError::from_response(429, b"", Some(Duration::from_secs(7))), &backoff);
        assert_eq!(wait, Duration::from_secs(7));
        p.woken();
        assert!(p.until().is_some());
        p.succeeded();
        assert!(p.until().is_none());
    }
}

//! `Outbox`: every ask goes through here. It is written to disk before the first send attempt
//! and leaves the file only once a reply arrived, so nothing typed is lost to a dead network,
//! a 5xx, a sign-out, a refusal or a restart. And none is sent twice by it: an ask whose outcome
//! is unknown is read back from its conversation before it is ever sent again (`reconcile.rs`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{watch, Mutex, MutexGuard, Notify};
use tokio::task::JoinHandle;

use super::conversation::Thread;
use super::mark::HistoryMark;
use super::shared::{OutboxError, OutboxSettings, Shared};
use super::store::{AskState, ConversationInfo, Durability, OutboxData, OutboxEntry, Store};
use crate::client::Client;
use crate::clock::unix_ms;
use crate::events::{Event, EventBus};
use crate::idempotency::IdempotencyKey;

/// The quick-ask outbox. Open one per app; `shutdown` (or drop) stops its sender.
pub struct Outbox {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox").field("path", &self.shared.path).finish()
    }
}

impl Outbox {
    /// Loads the outbox at `path` (a missing file is an empty outbox) and starts sending what
    /// it holds. `events` is where `Ask*` events go and where the outbox hears
    /// `ConnectivityChanged{online: true}` and `AuthChanged{signed_in: true}`. Needs a Tokio runtime.
    pub async fn open(
        path: impl Into<PathBuf>,
        client: Client,
        events: EventBus,
        settings: OutboxSettings,
    ) -> Result<Self, OutboxError> {
        let path = path.into();
        let load_path = path.clone();
        let (store, mut data) = tokio::task::spawn_blocking(move || Store::open(&load_path, unix_ms()))
            .await
            .map_err(|e| OutboxError::Storage(e.to_string()))?
            .map_err(|e| OutboxError::Storage(e.to_string()))?;
        hold_for_another_server(&mut data, client.config().api_base());
        let shared = Arc::new(Shared {
            path,
            client,
            events,
            settings,
            data: Mutex::new(data),
            store: Arc::new(std::sync::Mutex::new(store)),
            wake: Notify::new(),
            signed_out_at: Default::default(),
        });
        let (stop, stop_rx) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(super::sender::run(shared.clone(), stop_rx.clone())),
            // Subscribed here, not in the task, so no event published after `open` is missed.
            tokio::spawn(super::sender::listen(shared.clone(), shared.events.subscribe(), stop_rx)),
        ];
        Ok(Self { shared, stop, tasks: std::sync::Mutex::new(tasks) })
    }

    /// Queues `text` (saved to disk before anything is sent) and returns its entry; the reply
    /// arrives as `Event::AskSent` with the entry's `local_id`. Continues the current
    /// conversation unless it has been idle for longer than `idle_timeout`.
    pub async fn ask(&self, text: &str) -> Result<OutboxEntry, OutboxError> {
        if text.trim().is_empty() {
            return Err(OutboxError::EmptyText);
        }
        let now = unix_ms();
        let mut data = self.shared.data.lock().await;
        let before = data.clone();
        if data.current.is_idle(now, self.shared.settings.idle_timeout) {
            data.current = Thread::fresh(now);
        }
        data.current.last_active_at = now;
        let mut entry = OutboxEntry {
            local_id: uuid::Uuid::new_v4().to_string(),
            text: text.to_string(),
            conversation_id: data.current.conversation_id.clone(),
            thread: data.current.thread.clone(),
            idempotency_key: IdempotencyKey::new().to_string(),
            queued_at: now,
            state: AskState::Queued,
            last_error: None,
            mark: None,
            armed: false,
            api_base: Some(self.shared.client.config().api_base().to_string()),
        };
        arm(&mut entry, &data);
        data.entries.push(entry.clone());
        self.queue(data, before, entry).await
    }

    /// Every ask still in the outbox, oldest first (queued, sending, checking, maybe sent, failed).
    pub async fn entries(&self) -> Vec<OutboxEntry> {
        self.shared.data.lock().await.entries.clone()
    }

    /// Sends a failed or maybe-sent ask again, optionally with edited text; a queued ask is
    /// tried now. A failed ask gets a fresh idempotency key: the server refused it, so it ran
    /// nothing, and a server that stored the refusal under the old key would only repeat the
    /// refusal. A maybe-sent ask keeps its key and mark (a server that honours keys then answers
    /// without running it twice) unless its text was edited, which makes it a new ask.
    pub async fn resend(&self, local_id: &str, text: Option<&str>) -> Result<OutboxEntry, OutboxError> {
        if text.is_some_and(|t| t.trim().is_empty()) {
            return Err(OutboxError::EmptyText);
        }
        let mut data = self.shared.data.lock().await;
        let before = data.clone();
        let entry = data.entries.iter_mut().find(|e| e.local_id == local_id).ok_or(OutboxError::NotFound)?;
        match entry.state {
            AskState::Sending | AskState::Checking => return Err(OutboxError::Busy),
            // A queued ask may already have reached the server, so its text and key stay.
            AskState::Queued if text.is_some() => return Err(OutboxError::Busy),
            AskState::Queued => {}
            AskState::Failed { .. } => {
                if let Some(t) = text {
                    entry.text = t.to_string();
                }
                entry.idempotency_key = IdempotencyKey::new().to_string();
                entry.state = AskState::Queued;
                entry.last_error = None;
                entry.armed = false;
            }
            // The user saw "may have been sent" and chose to send it again.
            AskState::MaybeSent { .. } => {
                if let Some(t) = text.filter(|t| *t != entry.text) {
                    entry.text = t.to_string();
                    entry.idempotency_key = IdempotencyKey::new().to_string();
                    entry.mark = None;
                }
                entry.state = AskState::Queued;
                entry.last_error = None;
                entry.armed = false;
            }
        }
        let entry = entry.clone();
        self.queue(data, before, entry).await
    }

    /// Saves the outbox with `entry` (newly) queued, durably: the one write an ask waits for;
    /// then tells the sender. On a failed save the outbox goes back to `before`, so nothing
    /// unsaved is ever sent.
    async fn queue(
        &self,
        mut data: MutexGuard<'_, OutboxData>,
        before: OutboxData,
        entry: OutboxEntry,
    ) -> Result<OutboxEntry, OutboxError> {
        if let Err(e) = self.shared.persist(&data, Durability::Durable).await {
            *data = before;
            return Err(e);
        }
        drop(data);
        self.shared.events.publish(Event::AskQueued { local_id: entry.local_id.clone() });
        self.shared.wake.notify_one();
        Ok(entry)
    }

    /// Removes a queued, failed or maybe-sent ask (the user gave up on it).
    pub async fn discard(&self, local_id: &str) -> Result<(), OutboxError> {
        let mut data = self.shared.data.lock().await;
        let before = data.clone();
        let idx = data.entries.iter().position(|e| e.local_id == local_id).ok_or(OutboxError::NotFound)?;
        if matches!(data.entries[idx].state, AskState::Sending | AskState::Checking) {
            return Err(OutboxError::Busy);
        }
        data.entries.remove(idx);
        if let Err(e) = self.shared.persist(&data, Durability::Durable).await {
            *data = before;
            return Err(e);
        }
        drop(data);
        self.shared.events.publish(Event::AskDiscarded { local_id: local_id.to_string() });
        Ok(())
    }

    /// "New conversation": the next ask starts one. Asks already queued keep theirs.
    pub async fn new_conversation(&self) -> Result<(), OutboxError> {
        self.set_thread(Thread::fresh(unix_ms())).await
    }

    /// Continues a conversation the user picked from the conversation list.
    pub async fn continue_conversation(&self, conversation_id: &str) -> Result<(), OutboxError> {
        self.set_thread(Thread::resume(conversation_id.to_string(), unix_ms())).await
    }

    async fn set_thread(&self, thread: Thread) -> Result<(), OutboxError> {
        let mut data = self.shared.data.lock().await;
        let before = data.clone();
        data.current = thread;
        if let Err(e) = self.shared.persist(&data, Durability::Durable).await {
            *data = before;
            return Err(e);
        }
        Ok(())
    }

    /// The conversation the next ask continues (`conversation_id` is `None` when it starts a new
    /// one, including when the current one has gone idle).
    pub async fn conversation(&self) -> ConversationInfo {
        let data = self.shared.data.lock().await;
        let idle = data.current.is_idle(unix_ms(), self.shared.settings.idle_timeout);
        ConversationInfo {
            conversation_id: if idle { None } else { data.current.conversation_id.clone() },
            last_active_at: data.current.last_active_at,
        }
    }

    /// Try sending now (e.g. the window was shown, the machine woke up). A `Retry-After` the
    /// server asked for is still honoured.
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Stops the sender and waits for it. An ask in flight stays in the file and is read back
    /// from its conversation by the next `open` before it is ever sent again.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// Gives a new ask its conversation and mark at once when they are known without a read: it
/// continues a conversation right after an answer this app saw, and nothing else of its thread
/// waits ahead of it (whose text could land after the mark). The queueing write then carries
/// everything a read-back needs, so the sender sends it without another durable write.
fn arm(entry: &mut OutboxEntry, data: &OutboxData) {
    let current = &data.current;
    let (Some(conversation_id), Some(last_answer)) = (&current.conversation_id, &current.last_message_id) else {
        return;
    };
    if current.thread != entry.thread || data.entries.iter().any(|e| e.thread == entry.thread) {
        return;
    }
    entry.conversation_id = Some(conversation_id.clone());
    entry.mark = Some(HistoryMark::after(last_answer.clone()));
    entry.armed = true;
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            t.abort();
        }
    }
}

/// Asks written for another KallyAI server than this outbox talks to now (the API base changed
/// by a flag, the environment or settings) are held for the user, never sent here.
fn hold_for_another_server(data: &mut OutboxData, api_base: &str) {
    for entry in &mut data.entries {
        let Some(written_for) = entry.api_base.as_deref().filter(|b| *b != api_base) else { continue };
        if !matches!(entry.state, AskState::Queued | AskState::Sending | AskState::Checking) {
            continue;
        }
        tracing::info!("an ask written for another server is held");
        entry.state = AskState::Failed {
            code: HELD_OTHER_SERVER.to_string(),
            message: format!(
                "Written for another KallyAI server ({written_for}): it was not sent to this one. Send it here, or discard it."
            ),
            server_message: None,
            manage_plan: false,
            budget: None,
        };
        entry.last_error = None;
        entry.armed = false;
    }
}

/// The code of an ask held because it was written for another server.
pub(crate) const HELD_OTHER_SERVER: &str = "held_other_server";

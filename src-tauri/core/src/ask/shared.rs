//! What the outbox handle and its sender task share: the settings, the error type, the state
//! behind one lock and the "try now" signal. Apart from both, so neither module needs the other's.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::{Mutex, Notify};

use super::conversation::DEFAULT_IDLE_TIMEOUT;
use super::store::{Durability, OutboxData, Store};
use crate::client::Client;
use crate::events::EventBus;

/// How the outbox behaves; the shell fills it from its settings.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxSettings {
    /// A conversation idle for longer than this is not continued.
    pub idle_timeout: Duration,
    /// First wait after a failed send while the service is unreachable; it doubles (with
    /// jitter) up to `retry_max`. A `Retry-After` from the server is waited out instead.
    pub retry_base: Duration,
    pub retry_max: Duration,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(300),
        }
    }
}

/// Why an outbox operation did not happen. Serialized as `{code, message}` for the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboxError {
    /// Nothing to send (only whitespace).
    EmptyText,
    /// No ask with this local id (already answered or discarded).
    NotFound,
    /// The ask is being sent (or read back) right now; wait for its outcome.
    Busy,
    /// The outbox file could not be written; the ask was not queued (the text is still in the box).
    Storage(String),
}

impl OutboxError {
    pub fn code(&self) -> &'static str {
        match self {
            OutboxError::EmptyText => "empty_ask",
            OutboxError::NotFound => "ask_not_found",
            OutboxError::Busy => "ask_busy",
            OutboxError::Storage(_) => "outbox_storage",
        }
    }
}

impl fmt::Display for OutboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutboxError::EmptyText => f.write_str("Type something to ask KallyAI."),
            OutboxError::NotFound => f.write_str("That ask is no longer waiting; it was answered or discarded."),
            OutboxError::Busy => f.write_str("That ask is being sent right now. Wait a moment."),
            OutboxError::Storage(e) => {
                write!(f, "Your ask could not be saved on this computer ({e}). It was not sent.")
            }
        }
    }
}

impl std::error::Error for OutboxError {}

impl Serialize for OutboxError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("OutboxError", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

/// State shared by the `Outbox` handle and its sender task.
pub(crate) struct Shared {
    pub path: PathBuf,
    pub client: Client,
    pub events: EventBus,
    pub settings: OutboxSettings,
    pub data: Mutex<OutboxData>,
    /// The files behind `data`.
    pub store: Arc<std::sync::Mutex<Store>>,
    /// "Try now": a new ask, back online, signed in, or the shell's `wake()`.
    pub wake: Notify,
    /// When the last sign-out (or ended session) was heard, epoch ms: an ask queued before it
    /// was written under an account no longer signed in, and is held, never sent as the next.
    pub signed_out_at: std::sync::atomic::AtomicU64,
}

impl Shared {
    /// Writes `data` as the newest state, as durably as asked. Called with the data lock held,
    /// so writes happen in order.
    pub async fn persist(&self, data: &OutboxData, durability: Durability) -> Result<(), OutboxError> {
        let saved = match durability {
            // One `write` to the page cache: cheaper than a hop to the blocking pool.
            Durability::Lazy => self.store().save(data, durability),
            // The one sync an ask waits for. On a multi-thread runtime it is made right here,
            // the worker's other tasks handed to another thread meanwhile (`block_in_place`):
            // a round trip through the blocking pool is two thread wake-ups, which on a small
            // machine cost more than the sync itself. A current-thread runtime cannot hand its
            // tasks on, so there the write goes to the pool.
            Durability::Durable if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.store().save(data, durability))
            }
            Durability::Durable => {
                let (store, data) = (self.store.clone(), data.clone());
                tokio::task::spawn_blocking(move || lock(&store).save(&data, durability))
                    .await
                    .map_err(|e| OutboxError::Storage(e.to_string()))?
            }
        };
        saved.map_err(|e| OutboxError::Storage(e.to_string()))
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        lock(&self.store)
    }
}

/// Writes are made under the data lock, so this lock is never contended; a panic in one write
/// leaves the store usable for the next.
fn lock(store: &std::sync::Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

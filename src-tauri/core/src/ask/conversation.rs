//! Which conversation the next ask continues.
//!
//! Asks are grouped by a local `thread` id made on this machine, because the server's
//! `conversation_id` is only known after the first reply of a conversation, and asks queued
//! while offline must still land in the same conversation as each other.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A conversation left alone this long is not continued; the next ask starts a new one.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The current conversation, persisted with the outbox so a restart continues it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Thread {
    /// Local id of this conversation (a UUID made here).
    pub thread: String,
    /// The server's id, once a reply named it.
    pub conversation_id: Option<String>,
    /// Epoch milliseconds of the last ask or reply in this conversation.
    pub last_active_at: u64,
    /// The newest message of the conversation this app has seen (the last answer's
    /// `message_id`): the next ask's read-back mark, so it is sent without reading the
    /// conversation first (reconcile.rs).
    #[serde(default)]
    pub last_message_id: Option<String>,
}

impl Thread {
    pub fn fresh(now_ms: u64) -> Self {
        Self {
            thread: uuid::Uuid::new_v4().to_string(),
            conversation_id: None,
            last_active_at: now_ms,
            last_message_id: None,
        }
    }

    /// Continues a conversation the user picked from the list.
    pub fn resume(conversation_id: String, now_ms: u64) -> Self {
        Self { conversation_id: Some(conversation_id), ..Self::fresh(now_ms) }
    }

    /// True when the conversation has been idle for longer than `idle` at `now_ms`.
    pub fn is_idle(&self, now_ms: u64, idle: Duration) -> bool {
        now_ms.saturating_sub(self.last_active_at) > idle.as_millis() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_only_after_the_timeout() {
        let t = Thread::fresh(1_000);
        let idle = Duration::from_secs(60);
        assert!(!t.is_idle(1_000, idle));
        assert!(!t.is_idle(61_000, idle));
        assert!(t.is_idle(61_001, idle));
        // A clock that went backwards does not count as idle.
        assert!(!t.is_idle(0, idle));
    }

    #[test]
    fn fresh_threads_differ_and_resume_keeps_the_id() {
        assert_ne!(Thread::fresh(0).thread, Thread::fresh(0).thread);
        let t = Thread::resume("c-1".into(), 5);
        assert_eq!((t.conversation_id.as_deref(), t.last_active_at), (Some("c-1"), 5));
    }
}

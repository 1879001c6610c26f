//! The outbox file: its format, and loading and saving it without ever leaving half a file.
//!
//! It holds what the user typed, ids and idempotency keys, never a token (the client adds the
//! bearer at send time, and nothing here can see it).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::conversation::Thread;
use super::mark::HistoryMark;
use crate::api::budget::BudgetRefusal;
use crate::fsio;

const FORMAT_VERSION: u32 = 1;

/// The failure code of an ask whose send the app stopped in the middle of.
pub(crate) const INTERRUPTED: &str = "interrupted";

/// One ask waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Local id, the handle the UI and the `Ask*` events use.
    pub local_id: String,
    pub text: String,
    /// The server's conversation id: set when queued into a known conversation, else when the
    /// sender creates one for its thread. Every ask is sent with one, so it can be read back.
    pub conversation_id: Option<String>,
    /// Local conversation id: asks queued together land in the same conversation.
    pub thread: String,
    /// Fixed when queued and sent on every retry, so a server that honours keys runs the ask
    /// once (production is not known to; see `reconcile.rs` for what makes it once there).
    pub idempotency_key: String,
    /// Epoch milliseconds.
    pub queued_at: u64,
    pub state: AskState,
    /// Why the last attempt did not go through (`offline`, `http_503`, ...), while queued or
    /// checking.
    #[serde(default)]
    pub last_error: Option<String>,
    /// What its conversation held just before the first send, to read it back against.
    #[serde(default)]
    pub mark: Option<HistoryMark>,
}

/// Where an ask is. Serialized as `{"kind": "failed", "code": ..., ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AskState {
    /// Waiting to be sent (first time, or again once the service is reachable).
    Queued,
    /// A request is in flight. A file that says so after a crash is read as `Checking`.
    Sending,
    /// It was sent but its outcome is unknown (answer lost, app stopped mid-send) and the server
    /// is not known to honour keys: its conversation is being read back before anything else.
    Checking,
    /// Reading back could not tell whether KallyAI received it: kept until the user sends it
    /// again or discards it (never resent on its own). `code`: the failure that made it unsure
    /// (`gateway_timeout`, `connection_lost`, `interrupted` when the app stopped mid-send).
    MaybeSent { code: String },
    /// The server refused it (402, other 4xx) or its answer was unreadable; kept until the user
    /// resends or discards it. `message` is the sentence to show, `server_message` the server's;
    /// `budget` is set when the ask's goal was stopped by its budget (the user can approve it).
    Failed {
        code: String,
        message: String,
        server_message: Option<String>,
        manage_plan: bool,
        #[serde(default)]
        budget: Option<BudgetRefusal>,
    },
}

/// The conversation the next ask continues, for the UI.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConversationInfo {
    /// `None` until a reply of this conversation named it (or after "new conversation").
    pub conversation_id: Option<String>,
    /// Epoch milliseconds of the last ask or reply.
    pub last_active_at: u64,
}

/// Everything persisted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct OutboxData {
    pub version: u32,
    pub current: Thread,
    pub entries: Vec<OutboxEntry>,
}

impl OutboxData {
    pub fn empty(now_ms: u64) -> Self {
        Self { version: FORMAT_VERSION, current: Thread::fresh(now_ms), entries: Vec::new() }
    }
}

/// Reads the file; a missing file is an empty outbox. An unreadable file is moved aside (never
/// deleted: it holds what someone typed) and an empty outbox is started.
pub(crate) fn load(path: &Path, now_ms: u64) -> std::io::Result<OutboxData> {
    let Some(mut data) = fsio::read_json::<OutboxData>(path, now_ms)? else {
        return Ok(OutboxData::empty(now_ms));
    };
    for e in &mut data.entries {
        // The app stopped mid-send: the ask may have arrived, so it is read back first.
        if e.state == AskState::Sending {
            e.state = AskState::Checking;
            e.last_error = Some(INTERRUPTED.to_string());
        }
    }
    Ok(data)
}

/// Writes `data` so that a crash leaves either the old or the new file, readable by the user
/// only (`fsio::write_private`).
pub(crate) fn save(path: &Path, data: &OutboxData) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(data).map_err(std::io::Error::other)?;
    fsio::write_private(path, &bytes)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("kallyai-outbox-{}", uuid::Uuid::new_v4())).join(name)
    }

    fn entry(state: AskState) -> OutboxEntry {
        OutboxEntry {
            local_id: "l1".into(),
            text: "Book a table".into(),
            conversation_id: None,
            thread: "t1".into(),
            idempotency_key: "k1".into(),
            queued_at: 7,
            state,
            last_error: None,
            mark: None,
        }
    }

    #[test]
    fn round_trip_and_sending_reads_as_checking() {
        let path = temp_path("outbox.json");
        let mut data = OutboxData::empty(1);
        data.entries.push(entry(AskState::Sending));
        save(&path, &data).unwrap();
        let loaded = load(&path, 2).unwrap();
        assert_eq!(loaded.entries[0].state, AskState::Checking);
        assert_eq!(loaded.entries[0].last_error.as_deref(), Some(INTERRUPTED));
        assert_eq!(loaded.current, data.current);
        assert!(!path.with_file_name("outbox.json.tmp").exists(), "the temporary file was renamed away");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn missing_file_is_empty_and_garbage_is_moved_aside() {
        let path = temp_path("outbox.json");
        assert!(load(&path, 1).unwrap().entries.is_empty());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{ not json").unwrap();
        assert!(load(&path, 42).unwrap().entries.is_empty());
        let aside = path.with_file_name("outbox.json.unreadable-42");
        assert_eq!(std::fs::read(&aside).unwrap(), b"{ not json");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn failed_state_serializes_with_a_kind() {
        let failed = AskState::Failed {
            code: "quota_exceeded".into(),
            message: "Out".into(),
            server_message: Some("No credits".into()),
            manage_plan: true,
            budget: None,
        };
        let v = serde_json::to_value(entry(failed)).unwrap();
        assert_eq!(v["state"]["kind"], "failed");
        assert_eq!(v["state"]["manage_plan"], true);
        assert_eq!(serde_json::to_value(AskState::Queued).unwrap(), serde_json::json!({"kind": "queued"}));
        let unsure = AskState::MaybeSent { code: "http_504".into() };
        assert_eq!(
            serde_json::to_value(unsure).unwrap(),
            serde_json::json!({"kind": "maybe_sent", "code": "http_504"})
        );
        // A file written before marks existed still loads.
        let mut old = serde_json::to_value(entry(AskState::Queued)).unwrap();
        old.as_object_mut().unwrap().remove("mark");
        assert_eq!(serde_json::from_value::<OutboxEntry>(old).unwrap().mark, None);
    }
}

//! The outbox on disk: its format, and a store that writes each change as one appended line.
//!
//! Two files: `outbox.json`, a snapshot, and `outbox.journal` beside it, one line per change,
//! each line the whole outbox with a sequence number. Appending a line is one `write`; a
//! durable change adds one `fdatasync` (no temporary file, rename or directory sync), which is
//! what an ask pays before it is sent. Changes that a crash may lose without harm (a removal
//! once answered, a state the next start reads back anyway) are appended without the sync.
//! Reading takes the valid line or snapshot with the highest sequence number, so a torn last
//! line (a crash mid-write) or a truncation a crash undid never brings back an older state.
//! The journal is folded into the snapshot at open and when it grows past `JOURNAL_LIMIT`.
//!
//! It holds what the user typed, ids and idempotency keys, never a token (the client adds the
//! bearer at send time, and nothing here can see it).

use std::fs::File;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::conversation::Thread;
use super::mark::HistoryMark;
use crate::api::budget::BudgetRefusal;
use crate::fsio;

const FORMAT_VERSION: u32 = 1;

/// The journal is folded into the snapshot once it is this long (some hundred changes).
const JOURNAL_LIMIT: u64 = 256 * 1024;

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
    /// Queued with its conversation and mark already on disk, so the sender sends it without
    /// writing "sending" first (the one durable write of an ask is its queueing). A file that
    /// shows an armed ask is read like one that shows it sending: the ask is read back from its
    /// conversation before it is ever sent again. Cleared by any other change of state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub armed: bool,
    /// The KallyAI server it was written for: an outbox opened against another one holds it
    /// rather than send it there. None in files written before this was kept (the server then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
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

/// The outbox as one write put it on disk: `seq` says which write it was, and the highest one
/// found is the outbox (files written before the journal have none, and count as the oldest).
#[derive(Serialize, Deserialize)]
struct Stamped<D> {
    #[serde(default)]
    seq: u64,
    #[serde(flatten)]
    data: D,
}

/// How much a write must survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Durability {
    /// On the disk before the call returns (an ask being queued, discarded).
    Durable,
    /// Survives the app stopping, not the machine losing power: for changes whose loss only
    /// makes the next start read an ask back (an answered ask's removal, a retry's state).
    Lazy,
}

/// The journal of `path` (`outbox.json` → `outbox.journal`).
fn journal_path(path: &Path) -> PathBuf {
    path.with_extension("journal")
}

/// The open outbox files. Writes go through one store, in order.
pub(crate) struct Store {
    path: PathBuf,
    journal: File,
    journal_len: u64,
    seq: u64,
}

impl Store {
    /// Reads the outbox at `path` (snapshot and journal; nothing there is an empty outbox),
    /// folds the journal into the snapshot and opens the journal for appending. An unreadable
    /// snapshot is moved aside (never deleted: it holds what someone typed).
    pub fn open(path: &Path, now_ms: u64) -> io::Result<(Store, OutboxData)> {
        let snapshot = fsio::read_json::<Stamped<OutboxData>>(path, now_ms)?;
        let (seq, mut data) = match newest(snapshot, newest_line(&journal_path(path))?) {
            Some(Stamped { seq, data }) => (seq, data),
            None => (0, OutboxData::empty(now_ms)),
        };
        for e in &mut data.entries {
            // The app stopped mid-send (or may have: an armed ask goes out without another
            // write): the ask may have arrived, so it is read back first.
            if e.state == AskState::Sending || (e.state == AskState::Queued && e.armed) {
                e.state = AskState::Checking;
                e.last_error = Some(INTERRUPTED.to_string());
            }
            e.armed = false;
        }
        let journal = open_journal(path, false)?;
        let journal_len = journal.metadata()?.len();
        let mut store = Store { path: path.to_path_buf(), journal, journal_len, seq };
        // Nothing is written at start unless the last run left lines (a torn one included: the
        // next line must not be appended to it) to fold into the snapshot.
        if journal_len > 0 {
            store.compact(&data)?;
        }
        Ok((store, data))
    }

    /// Writes `data` as the newest state, as durably as asked.
    pub fn save(&mut self, data: &OutboxData, durability: Durability) -> io::Result<()> {
        self.seq += 1;
        if self.journal_len >= JOURNAL_LIMIT {
            return self.compact(data);
        }
        self.reopen_if_moved()?;
        let mut line = serde_json::to_vec(&Stamped { seq: self.seq, data }).map_err(io::Error::other)?;
        line.push(b'\n');
        self.journal.write_all(&line)?;
        self.journal_len += line.len() as u64;
        if durability == Durability::Durable {
            self.journal.sync_data()?;
        }
        Ok(())
    }

    /// The journal was deleted or replaced under the app (say its data dir was removed): a line
    /// appended to the unlinked file would be lost with it, so the journal is opened again
    /// where it belongs (or the write fails and says so). One `stat` per write.
    fn reopen_if_moved(&mut self) -> io::Result<()> {
        if !same_file(&self.journal, &journal_path(&self.path)) {
            self.journal = open_journal(&self.path, false)?;
            self.journal_len = self.journal.metadata()?.len();
        }
        Ok(())
    }

    /// Replaces the snapshot with `data` (atomically, durably) and empties the journal. A crash
    /// between the two leaves lines older than the snapshot, which reading skips by number.
    fn compact(&mut self, data: &OutboxData) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(&Stamped { seq: self.seq, data }).map_err(io::Error::other)?;
        fsio::write_private(&self.path, &bytes)?;
        self.journal = open_journal(&self.path, true)?;
        self.journal_len = 0;
        Ok(())
    }
}

/// Whether `path` is still the file `file` has open.
fn same_file(file: &File, path: &Path) -> bool {
    let Ok(at_path) = std::fs::metadata(path) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        file.metadata().is_ok_and(|open| open.dev() == at_path.dev() && open.ino() == at_path.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (file, at_path);
        true
    }
}

/// The journal, readable by the user only, opened for appending (emptied when `truncate`).
fn open_journal(path: &Path, truncate: bool) -> io::Result<File> {
    let journal = journal_path(path);
    if let Some(dir) = journal.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let created = !journal.exists();
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(&journal)?;
    if truncate {
        file.set_len(0)?;
        file.sync_all()?;
    }
    if created {
        fsio::sync_dir(&journal);
    }
    Ok(file)
}

/// The journal line with the highest sequence number. Lines that do not parse (a torn last line
/// after a crash) are skipped; a missing journal is `None`.
fn newest_line(journal: &Path) -> io::Result<Option<Stamped<OutboxData>>> {
    let file = match File::open(journal) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut newest: Option<Stamped<OutboxData>> = None;
    for line in io::BufReader::new(file).split(b'\n') {
        match serde_json::from_slice::<Stamped<OutboxData>>(&line?) {
            Ok(data) if newest.as_ref().is_none_or(|n| data.seq >= n.seq) => newest = Some(data),
            Ok(_) => {}
            Err(err) => tracing::debug!(error = %err, "outbox journal: a line that does not parse skipped"),
        }
    }
    Ok(newest)
}

/// What the outbox at `path` holds as its files stand (the newest of snapshot and journal), as
/// JSON: for tests and tools that look at the disk, never for the app's own state.
pub fn read_on_disk(path: &Path) -> io::Result<Option<serde_json::Value>> {
    let snapshot = match std::fs::read(path) {
        Ok(bytes) => Some(serde_json::from_slice::<Stamped<OutboxData>>(&bytes).map_err(io::Error::other)?),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    newest(snapshot, newest_line(&journal_path(path))?)
        .map(|stamped| serde_json::to_value(stamped.data).map_err(io::Error::other))
        .transpose()
}

/// The newer of the snapshot and the journal's newest line (the journal on a tie: it is
/// written after the snapshot it was folded into).
fn newest(snapshot: Option<Stamped<OutboxData>>, journal: Option<Stamped<OutboxData>>) -> Option<Stamped<OutboxData>> {
    match (snapshot, journal) {
        (Some(s), Some(j)) => Some(if j.seq >= s.seq { j } else { s }),
        (s, j) => s.or(j),
    }
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
            armed: false,
            api_base: None,
        }
    }

    fn open(path: &Path) -> (Store, OutboxData) {
        Store::open(path, 2).unwrap()
    }

    fn texts(data: &OutboxData) -> Vec<&str> {
        data.entries.iter().map(|e| e.text.as_str()).collect()
    }

    #[test]
    fn round_trip_and_an_ask_that_may_be_in_flight_reads_as_checking() {
        let path = temp_path("outbox.json");
        let (mut store, mut data) = open(&path);
        let armed = OutboxEntry { local_id: "l2".into(), armed: true, ..entry(AskState::Queued) };
        let plain = OutboxEntry { local_id: "l3".into(), ..entry(AskState::Queued) };
        data.entries = vec![entry(AskState::Sending), armed, plain];
        store.save(&data, Durability::Durable).unwrap();
        drop(store);
        let (_, loaded) = open(&path);
        let states: Vec<&AskState> = loaded.entries.iter().map(|e| &e.state).collect();
        assert_eq!(states, [&AskState::Checking, &AskState::Checking, &AskState::Queued]);
        assert_eq!(loaded.entries[0].last_error.as_deref(), Some(INTERRUPTED));
        assert!(loaded.entries.iter().all(|e| !e.armed));
        assert_eq!(loaded.current, data.current);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in [path.clone(), journal_path(&path)] {
                assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "{file:?}");
            }
        }
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn each_save_is_one_appended_line_and_open_folds_them_into_the_snapshot() {
        let path = temp_path("outbox.json");
        let (mut store, mut data) = open(&path);
        for (i, durability) in [Durability::Durable, Durability::Lazy, Durability::Lazy].into_iter().enumerate() {
            data.entries.push(OutboxEntry {
                local_id: format!("l{i}"),
                text: format!("ask {i}"),
                ..entry(AskState::Queued)
            });
            store.save(&data, durability).unwrap();
        }
        let journal = std::fs::read_to_string(journal_path(&path)).unwrap();
        assert_eq!(journal.lines().count(), 3, "{journal}");
        // What a test or tool sees on disk is the newest line, lazy writes included.
        let seen = read_on_disk(&path).unwrap().unwrap();
        assert_eq!(seen["entries"].as_array().unwrap().len(), 3);
        drop(store);
        let (_, loaded) = open(&path);
        assert_eq!(texts(&loaded), ["ask 0", "ask 1", "ask 2"]);
        assert_eq!(std::fs::metadata(journal_path(&path)).unwrap().len(), 0, "folded into the snapshot");
        assert_eq!(texts(&Store::open(&path, 3).unwrap().1), ["ask 0", "ask 1", "ask 2"]);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_torn_last_line_and_lines_older_than_the_snapshot_are_skipped() {
        let path = temp_path("outbox.json");
        let (mut store, mut data) = open(&path);
        data.entries.push(entry(AskState::Queued));
        store.save(&data, Durability::Durable).unwrap();
        let stale = std::fs::read(journal_path(&path)).unwrap();
        drop(store);
        // The fold at open wrote the snapshot; a crash that undid the journal's truncation
        // brings back a line older than the snapshot, and a crash mid-write tears the last one.
        let (mut store, mut data) = open(&path);
        data.entries.clear();
        store.save(&data, Durability::Lazy).unwrap();
        drop(store);
        let (_, folded) = open(&path);
        assert!(folded.entries.is_empty());
        let mut journal = stale;
        journal.extend_from_slice(b"{\"version\":1,\"seq\":99,\"cur");
        std::fs::write(journal_path(&path), journal).unwrap();
        let (mut store, mut loaded) = open(&path);
        assert!(loaded.entries.is_empty(), "the stale line and the torn one were skipped: {loaded:?}");
        // What is written next is not glued to the torn line: it reads back.
        loaded.entries.push(entry(AskState::Queued));
        store.save(&loaded, Durability::Durable).unwrap();
        assert_eq!(read_on_disk(&path).unwrap().unwrap()["entries"].as_array().unwrap().len(), 1);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_long_journal_is_folded_while_running() {
        let path = temp_path("outbox.json");
        let (mut store, mut data) = open(&path);
        data.entries.push(OutboxEntry { text: "x".repeat(4096), ..entry(AskState::Queued) });
        for _ in 0..(JOURNAL_LIMIT / 4096 + 2) {
            store.save(&data, Durability::Lazy).unwrap();
        }
        assert!(std::fs::metadata(journal_path(&path)).unwrap().len() < JOURNAL_LIMIT);
        drop(store);
        assert_eq!(open(&path).1.entries.len(), 1);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn missing_files_are_empty_and_an_unreadable_snapshot_is_moved_aside() {
        let path = temp_path("outbox.json");
        assert!(open(&path).1.entries.is_empty());
        assert!(!path.exists(), "nothing to fold: nothing written at start");
        std::fs::remove_file(journal_path(&path)).unwrap();
        std::fs::write(&path, b"{ not json").unwrap();
        assert!(Store::open(&path, 42).unwrap().1.entries.is_empty());
        let aside = path.with_file_name("outbox.json.unreadable-42");
        assert_eq!(std::fs::read(&aside).unwrap(), b"{ not json");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_file_written_before_the_journal_is_read() {
        let path = temp_path("outbox.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // `OutboxData` alone, without the `seq` of a `Stamped` write.
        let mut old = serde_json::to_value(OutboxData::empty(1)).unwrap();
        old["entries"] = serde_json::json!([serde_json::to_value(entry(AskState::Queued)).unwrap()]);
        std::fs::write(&path, serde_json::to_vec(&old).unwrap()).unwrap();
        assert_eq!(texts(&open(&path).1), ["Book a table"]);
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

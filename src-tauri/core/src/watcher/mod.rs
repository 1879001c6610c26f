//! The inbound/attention watcher: turns the server's live calls and pending work into core
//! `Event`s, once each (design: "Push first, poll second", "One event stream").
//!
//! ## Where the facts come from
//! - **Polling is the ground state.** `GET /v1/inbound/calls?status=active` (with
//!   `If-None-Match` where the server sends ETags) every `live_poll` while a call is live or a
//!   window is open, else every `idle_poll`; the transcript of each live call on every such tick;
//!   `GET /v1/notifications/pending` every `pending_poll`. A call that leaves the live list is
//!   looked up once (`GET /v1/inbound/calls/{id}`) for its outcome. This is all production
//!   offers, and it is enough on its own.
//! - **The stream, when it proves itself.** While polling, the watcher probes the stream on a
//!   task of its own, so polling never waits for it: `GET /v1/inbound/stream/info` must answer
//!   `enabled`, then `GET /v1/inbound/events` with `Accept: text/event-stream` must answer `200`
//!   with `Content-Type: text/event-stream` (each within `stream_open_timeout`). Anything else
//!   is a failure of the stream path: any status (404 as in production, 400, 403, 5xx), a wrong
//!   content type (the JSON activity log), a timeout, an answer that is not JSON, `enabled:
//!   false`. Polling simply goes on and the stream is probed again after `stream_check`, a wait
//!   that doubles with each failure up to `stream_check_max` (a `Retry-After` is a floor) and
//!   starts over once a stream has worked. Never a tight loop, never a stream retried instead
//!   of polling.
//! - **Following the stream.** Once open, a snapshot (live calls with their transcripts,
//!   pending items) and then the stream from `stream/info`'s head id, or after a cut from the
//!   last message handled (`Last-Event-ID`), so nothing in between is lost. Messages are decoded
//!   once (`StreamMessage::decode`). The stream counts as down when it ends, fails, sends what
//!   is not an event stream, or stays silent (no message, no heartbeat) for three of the
//!   heartbeats `stream/info` announces (`stream_idle_timeout` when it does not say); then
//!   polling runs at once. A failure to handle a message (its follow-up request failed) also
//!   falls back to polling; the message is replayed when the stream resumes.
//! - **Reconciling beside a healthy stream.** Every `stream_reconcile` the live-call list is read
//!   once more, and the transcripts only of calls it finds new or ended, so a call the stream
//!   lost is still announced. Pending work is polled on every `notification_changed` (and every
//!   `pending_poll_streaming` as a safety net) when `stream/info` lists that event type, else
//!   every `pending_poll`.
//!
//! ## Once each
//! Every fact passes one dedupe (`tracker.rs`): call ids announced (`ring:`), ended (`end:`),
//! pending ids (`pending:`), and per live call the number of transcript lines published. The
//! keys (the newest `seen_capacity`) and the cursors persist as JSON at `seen_path`, written
//! atomically (temp file + rename) before the event goes out.
//!
//! ## The live calls
//! The calls announced and not over are the app's one registry of live calls
//! ([`Watcher::live_calls`]): the tray and the call popup read it instead of keeping their own
//! list. It is updated before `CallRinging`, `CallStillLive` and `CallEnded` go out, and emptied
//! at a sign-out.
//!
//! ## Restarts and sign-outs (decided here)
//! A call announced before (previous run, or before a sign-out) and still live is published as
//! [`Event::CallStillLive`], never as a second `CallRinging`: the tray keeps ringing, no second
//! notification. Its `TranscriptLine`s continue after the last line published before; the shell
//! fetches earlier lines with `client.inbound().transcript(id)` if its popup needs them. Pending
//! items are re-listed as `PendingItem { is_new: false }`. `CallEnded` goes out once per call and
//! only for calls that were announced.
//!
//! ## Life cycle
//! Pauses on `AuthChanged { signed_in: false }` or a 401 / `not_signed_in` (from any request,
//! the stream's included), resumes on `AuthChanged { signed_in: true }` (or `wake()`), polling
//! with the stream probed at once. Catches up at once on [`Watcher::wake`] (sleep, resume,
//! network change) and when the wall clock drifts from the monotonic clock by more than
//! `clock_jump` between two checks: one polling round now, and the stream probed (resumed) now. Publishes `ConnectivityChanged` only on transitions (and not
//! again when the client already published the same state). Stops when the cancellation token
//! fires, after saving what it has seen.
//!
//! ```no_run
//! # async fn demo(client: kallyai_core::Client, events: kallyai_core::EventBus) {
//! use kallyai_core::{Watcher, WatcherSettings};
//! use tokio_util::sync::CancellationToken;
//!
//! let seen = std::path::PathBuf::from("/path/to/app-data/watcher-seen.json");
//! let watcher = Watcher::new(client, events.clone(), Some(seen), WatcherSettings::default());
//! let cancel = CancellationToken::new();
//! let task = watcher.spawn(cancel.clone());
//! watcher.wake(); // after resume from sleep or a network change
//! watcher.set_window_open(true); // the call popup or recent-calls window is showing
//! cancel.cancel(); // quit
//! let _ = task.await;
//! # }
//! ```

mod control;
mod live;
pub(crate) mod pending;
mod runner;
mod seen;
mod settings;
mod timing;
mod tracker;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::events::EventBus;

use control::Control;
pub use live::{caller_label, LiveCall, LiveCalls};
use seen::Seen;
pub use settings::WatcherSettings;

/// Watches inbound calls and pending work and publishes them on the `EventBus`. Cheap to clone;
/// clones control the same watcher (`wake`, `set_window_open`).
#[derive(Clone)]
pub struct Watcher {
    client: Client,
    events: EventBus,
    seen_path: Option<PathBuf>,
    settings: WatcherSettings,
    control: Arc<Control>,
    live: LiveCalls,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").field("seen_path", &self.seen_path).field("settings", &self.settings).finish()
    }
}

impl Watcher {
    /// `seen_path`: where the ids already published are kept across restarts (the app data
    /// dir, e.g. `<data>/watcher-seen.json`); `None` keeps them in memory only.
    pub fn new(client: Client, events: EventBus, seen_path: Option<PathBuf>, settings: WatcherSettings) -> Self {
        let control = Arc::new(Control::default());
        Self { client, events, seen_path, settings, control, live: LiveCalls::default() }
    }

    /// The calls being screened now (the one registry of them; it changes before the event
    /// about the change goes out).
    pub fn live_calls(&self) -> &LiveCalls {
        &self.live
    }

    /// Runs until `cancel` fires. A second concurrent `run` of the same watcher returns at once.
    pub async fn run(&self, cancel: CancellationToken) {
        if self.control.running.swap(true, Ordering::SeqCst) {
            tracing::warn!("watcher already running");
            return;
        }
        let (seen_path, capacity) = (self.seen_path.clone(), self.settings.seen_capacity);
        let seen = tokio::task::spawn_blocking(move || Seen::load(seen_path, capacity))
            .await
            .unwrap_or_else(|_| Seen::load(None, capacity));
        let live = self.live.clone();
        runner::Runner::new(&self.client, &self.events, seen, &self.settings, self.control.clone(), live)
            .run(&cancel)
            .await;
        self.control.running.store(false, Ordering::SeqCst);
    }

    /// `run` on a new tokio task.
    pub fn spawn(&self, cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move { me.run(cancel).await })
    }

    /// Catch up now: after sleep/resume or a network change. Polls at once and looks at the
    /// stream at once (resuming where it was); also retries at once after a failure or a
    /// sign-out.
    pub fn wake(&self) {
        self.control.wake.notify_one();
    }

    /// A window that shows calls is open: poll live calls at the fast cadence meanwhile.
    pub fn set_window_open(&self, open: bool) {
        let was = self.control.window_open.swap(open, Ordering::SeqCst);
        if open && !was {
            self.control.window_opened.notify_one();
        }
    }
}

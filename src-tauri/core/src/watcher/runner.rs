//! The watcher's task: a small state machine (stream, poll, paused) around the tracker.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_util::sync::CancellationToken;

use crate::api::inbound::{InboundCall, InboundQuery, InboundStatus};
use crate::client::{Client, Fetched};
use crate::error::{codes, ApiError};
use crate::events::{Event, EventBus};
use crate::stream::{EventStream, StreamMessage};
use crate::transport::Request;

use super::pending::read_pending;
use super::seen::Seen;
use super::timing::{delay_after_failure, ClockWatch};
use super::tracker::{CallInfo, LineFate, Tracker};
use super::{Control, Watcher, WatcherSettings};

/// Longest `Retry-After` accepted before looking at the stream again.
const MAX_STREAM_RETRY_AFTER: Duration = Duration::from_secs(600);
/// Pages of live calls read at most (100 each); more live calls than that is not a real case.
const MAX_LIVE_PAGES: usize = 10;

enum Next {
    Stream,
    Poll,
    Paused,
    Stop,
}

/// What ended a wait.
enum Interrupt {
    Cancelled,
    Woken,
    WindowOpened,
    /// Signed in or out since the wait began.
    AuthFlip,
    ClockJump,
    Elapsed,
}

pub(super) struct Runner {
    client: Client,
    bus: EventBus,
    settings: WatcherSettings,
    control: Arc<Control>,
    tracker: Tracker,
    /// The bus, read for `AuthChanged` and the client's own `ConnectivityChanged`.
    rx: broadcast::Receiver<Event>,
    signed_in: bool,
    /// Sign-outs seen on the bus; a change means "pause", even if a sign-in followed at once.
    sign_outs: u64,
    /// `sign_outs` when this session began.
    session_sign_outs: u64,
    online: bool,
    failures: u32,
    network_failures: u32,
    /// Stream session: the snapshot is taken and `resume_id` is where the stream continues.
    synced: bool,
    resume_id: Option<String>,
    /// The stream carries `notification_changed`, so pending work is polled on those.
    stream_notifies: bool,
    calls_etag: Option<String>,
    pending_etag: Option<String>,
    pending_due: Instant,
    stream_check_due: Instant,
    next_clock_check: Instant,
    clock: ClockWatch,
}

impl Runner {
    pub fn new(w: &Watcher) -> Self {
        let now = Instant::now();
        Self {
            client: w.client.clone(),
            bus: w.events.clone(),
            rx: w.events.subscribe(),
            settings: w.settings.clone(),
            control: w.control.clone(),
            tracker: Tracker::new(w.events.clone(), Seen::load(w.seen_path.clone(), w.settings.seen_capacity)),
            signed_in: true,
            sign_outs: 0,
            session_sign_outs: 0,
            online: true,
            failures: 0,
            network_failures: 0,
            synced: false,
            resume_id: None,
            stream_notifies: false,
            calls_etag: None,
            pending_etag: None,
            pending_due: now,
            stream_check_due: now,
            next_clock_check: now + w.settings.clock_check,
            clock: ClockWatch::new(),
        }
    }

    fn first_mode(&self) -> Next {
        if self.settings.use_stream {
            Next::Stream
        } else {
            Next::Poll
        }
    }

    pub async fn run(mut self, cancel: &CancellationToken) {
        let mut next = self.first_mode();
        loop {
            if matches!(next, Next::Stop) {
                break;
            }
            // Cancellation also ends a request in flight (the client may be waiting out a
            // server's Retry-After), so quitting never waits for the network.
            next = tokio::select! {
                biased;
                _ = cancel.cancelled() => Next::Stop,
                n = async {
                    match next {
                        Next::Stop => Next::Stop,
                        Next::Paused => self.paused(cancel).await,
                        Next::Stream => self.stream(cancel).await,
                        Next::Poll => self.poll(cancel).await,
                    }
                } => n,
            };
        }
        self.tracker.flush();
        tracing::debug!("watcher stopped");
    }

    // ---- signals -------------------------------------------------------------------------

    fn observe(&mut self, event: Result<Event, broadcast::error::RecvError>) {
        match event {
            Ok(Event::AuthChanged { signed_in }) => {
                self.signed_in = signed_in;
                if !signed_in {
                    self.sign_outs += 1;
                }
            }
            Ok(Event::ConnectivityChanged { online }) => self.online = online,
            _ => {}
        }
    }

    fn drain_bus(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(ev) => self.observe(Ok(ev)),
                Err(TryRecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
    }

    /// A sign-out was seen since this session began (even if a sign-in followed): the shell
    /// forgot what it showed, so the session starts over.
    fn signed_out_meanwhile(&self) -> bool {
        self.sign_outs != self.session_sign_outs
    }

    fn clock_jumped(&mut self) -> bool {
        self.next_clock_check = Instant::now() + self.settings.clock_check;
        let jumped = self.clock.jumped(self.settings.clock_jump);
        if jumped {
            tracing::info!("clock jump (sleep/resume?): catching up");
        }
        jumped
    }

    /// Waits until `deadline`, or less when something needs attention.
    async fn wait_until(&mut self, cancel: &CancellationToken, deadline: Instant) -> Interrupt {
        self.wait(cancel, deadline, false).await
    }

    /// `wait_until`, also ending when a window opens (`listen_window`, the poller).
    async fn wait(&mut self, cancel: &CancellationToken, deadline: Instant, listen_window: bool) -> Interrupt {
        let control = self.control.clone();
        let signed_in_at_start = self.signed_in;
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Interrupt::Cancelled,
                _ = control.wake.notified() => return Interrupt::Woken,
                _ = control.window_opened.notified(), if listen_window => return Interrupt::WindowOpened,
                ev = self.rx.recv() => {
                    self.observe(ev);
                    if self.signed_in != signed_in_at_start {
                        return Interrupt::AuthFlip;
                    }
                }
                _ = sleep_until(deadline) => return Interrupt::Elapsed,
                _ = sleep_until(self.next_clock_check) => {
                    if self.clock_jumped() {
                        return Interrupt::ClockJump;
                    }
                }
            }
        }
    }

    // ---- outcomes ------------------------------------------------------------------------

    fn succeeded(&mut self) {
        self.failures = 0;
        self.network_failures = 0;
        self.set_online(true);
    }

    /// Books a failure: connectivity, backoff. `None` when the user has to sign in first.
    fn failed(&mut self, what: &str, err: &ApiError) -> Option<Duration> {
        if err.is_unauthorized() {
            tracing::info!(what, code = err.code(), "watcher: not signed in");
            self.signed_in = false;
            return None;
        }
        let delay = delay_after_failure(err, self.settings.backoff_base, self.settings.backoff_max, self.failures);
        self.failures = self.failures.saturating_add(1);
        if err.is_network() {
            self.network_failures += 1;
            // One refused connect means offline; timeouts and cuts only when they persist.
            if err.code() == codes::OFFLINE || self.network_failures >= 3 {
                self.set_online(false);
            }
        } else if err.status().is_some() {
            self.network_failures = 0;
            self.set_online(true);
        }
        tracing::debug!(what, code = err.code(), status = ?err.status(), ?delay, "watcher request failed");
        Some(delay)
    }

    /// `ConnectivityChanged` on transitions only; the client may have published the same
    /// change already (it shares the bus), so its news is read first.
    fn set_online(&mut self, online: bool) {
        self.drain_bus();
        if self.online != online {
            self.online = online;
            self.bus.publish(Event::ConnectivityChanged { online });
        }
    }

    /// Books `err` and waits out the backoff. `Some(next)` when the mode must change.
    async fn back_off(&mut self, what: &str, err: &ApiError, cancel: &CancellationToken) -> Option<Next> {
        let Some(delay) = self.failed(what, err) else { return Some(Next::Paused) };
        match self.wait_until(cancel, Instant::now() + delay).await {
            Interrupt::Cancelled => Some(Next::Stop),
            Interrupt::AuthFlip if !self.signed_in => Some(Next::Paused),
            _ => None,
        }
    }

    /// Forget what this session showed (sign-out): the next one lists it again.
    fn forget_session(&mut self) {
        self.tracker.reset_session();
        self.synced = false;
        self.resume_id = None;
        self.calls_etag = None;
        self.pending_etag = None;
    }

    // ---- paused --------------------------------------------------------------------------

    async fn paused(&mut self, cancel: &CancellationToken) -> Next {
        tracing::info!("watcher paused until sign-in");
        self.forget_session();
        let far = Instant::now() + Duration::from_secs(86_400 * 365);
        // Already signed in again (the sign-in came right after the sign-out): resume at once.
        while !self.signed_in {
            match self.wait_until(cancel, far).await {
                Interrupt::Cancelled => return Next::Stop,
                Interrupt::Woken => break,
                _ => {}
            }
        }
        tracing::info!("watcher resumed");
        self.signed_in = true;
        self.session_sign_outs = self.sign_outs;
        self.failures = 0;
        self.first_mode()
    }

    // ---- stream --------------------------------------------------------------------------

    async fn stream(&mut self, cancel: &CancellationToken) -> Next {
        loop {
            if self.signed_out_meanwhile() {
                return Next::Paused;
            }
            if !self.synced {
                match self.start_stream_session().await {
                    Ok(true) => self.succeeded(),
                    Ok(false) => {
                        self.stream_check_due = Instant::now() + self.settings.stream_check;
                        return Next::Poll;
                    }
                    Err(e) => match self.back_off("stream setup", &e, cancel).await {
                        Some(next) => return next,
                        None => continue,
                    },
                }
            }
            let opened =
                timeout(self.settings.stream_open_timeout, self.client.inbound().stream(self.resume_id.as_deref()))
                    .await
                    .unwrap_or_else(|_| Err(ApiError::client(codes::TIMEOUT, "the event stream did not open in time")));
            let mut stream = match opened {
                Ok(s) => s,
                Err(e) if stream_unavailable(&e) => {
                    let wait = e.retry_after().unwrap_or_default().min(MAX_STREAM_RETRY_AFTER);
                    self.stream_check_due = Instant::now() + self.settings.stream_check.max(wait);
                    tracing::info!(code = e.code(), "event stream unavailable: polling");
                    return Next::Poll;
                }
                Err(e) => match self.back_off("stream open", &e, cancel).await {
                    Some(next) => return next,
                    None => continue,
                },
            };
            tracing::debug!(resume = ?self.resume_id, "event stream open");
            if let Some(next) = self.follow(&mut stream, cancel).await {
                return next;
            }
        }
    }

    /// Head id from `stream/info`, then a snapshot, so the stream can start at the head without
    /// replaying history. `Ok(false)`: the server offers no stream.
    async fn start_stream_session(&mut self) -> Result<bool, ApiError> {
        let info = match self.client.inbound().stream_info().await {
            Ok(info) => info,
            Err(e) if matches!(e.status(), Some(404 | 405 | 501)) => return Ok(false),
            Err(e) => return Err(e),
        };
        if !info.enabled {
            return Ok(false);
        }
        self.stream_notifies = info
            .raw
            .get("event_types")
            .and_then(Value::as_array)
            .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("notification_changed")));
        let head = match info.raw.get("last_event_id") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        self.calls_etag = None;
        self.pending_etag = None;
        self.reconcile_calls().await?;
        self.poll_pending().await?;
        self.resume_id = head;
        self.synced = true;
        Ok(true)
    }

    /// Reads the stream until it fails (`None`: reconnect) or the mode changes.
    async fn follow(&mut self, stream: &mut EventStream, cancel: &CancellationToken) -> Option<Next> {
        enum Step {
            Cancelled,
            Woken,
            Bus(Result<Event, broadcast::error::RecvError>),
            Clock,
            Pending,
            Message(Result<Option<Result<StreamMessage, ApiError>>, tokio::time::error::Elapsed>),
        }
        let control = self.control.clone();
        self.pending_due = Instant::now() + self.pending_interval();
        loop {
            if self.signed_out_meanwhile() {
                return Some(Next::Paused);
            }
            let step = tokio::select! {
                biased;
                _ = cancel.cancelled() => Step::Cancelled,
                _ = control.wake.notified() => Step::Woken,
                ev = self.rx.recv() => Step::Bus(ev),
                _ = sleep_until(self.next_clock_check) => Step::Clock,
                _ = sleep_until(self.pending_due) => Step::Pending,
                m = timeout(self.settings.stream_idle_timeout, stream.next()) => Step::Message(m),
            };
            match step {
                Step::Cancelled => return Some(Next::Stop),
                Step::Woken => {
                    tracing::debug!("woken: reconnecting the stream");
                    return None;
                }
                Step::Bus(ev) => {
                    self.observe(ev);
                    if !self.signed_in {
                        return Some(Next::Paused);
                    }
                }
                Step::Clock => {
                    if self.clock_jumped() {
                        return None;
                    }
                }
                Step::Pending => match self.poll_pending().await {
                    Ok(()) => self.pending_due = Instant::now() + self.pending_interval(),
                    Err(e) => match self.failed("pending", &e) {
                        None => return Some(Next::Paused),
                        Some(delay) => self.pending_due = Instant::now() + delay,
                    },
                },
                Step::Message(Err(_)) => {
                    let e = ApiError::client(codes::TIMEOUT, "the event stream went quiet");
                    return self.back_off("stream idle", &e, cancel).await;
                }
                Step::Message(Ok(None)) => {
                    // The server ended the stream (switched off, restarted): reconnect soon; a
                    // server that keeps closing at once is backed off like a failure.
                    let e = ApiError::client(codes::CONNECTION_LOST, "the event stream ended");
                    let delay =
                        delay_after_failure(&e, self.settings.backoff_base, self.settings.backoff_max, self.failures);
                    self.failures = self.failures.saturating_add(1);
                    return match self.wait_until(cancel, Instant::now() + delay).await {
                        Interrupt::Cancelled => Some(Next::Stop),
                        Interrupt::AuthFlip if !self.signed_in => Some(Next::Paused),
                        _ => None,
                    };
                }
                Step::Message(Ok(Some(Err(e)))) => return self.back_off("stream read", &e, cancel).await,
                Step::Message(Ok(Some(Ok(m)))) => {
                    // The resume point moves only once the message is handled, so a failure
                    // here replays it after the reconnect (handling is idempotent).
                    match self.handle(&m).await {
                        Ok(()) => {
                            if m.id.is_some() {
                                self.resume_id.clone_from(&m.id);
                            }
                            self.succeeded();
                        }
                        Err(e) => return self.back_off("stream message", &e, cancel).await,
                    }
                }
            }
        }
    }

    fn pending_interval(&self) -> Duration {
        if self.stream_notifies {
            self.settings.pending_poll_streaming
        } else {
            self.settings.pending_poll
        }
    }

    async fn handle(&mut self, m: &StreamMessage) -> Result<(), ApiError> {
        let data = m.json().unwrap_or(Value::Null);
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        match m.event.as_str() {
            "call_ringing" => {
                let call: InboundCall =
                    serde_json::from_value(data.get("call").cloned().unwrap_or_else(|| data.clone()))
                        .unwrap_or_default();
                if let Some(info) = CallInfo::from_call(&call) {
                    self.tracker.call_live(info);
                }
            }
            "transcript_line" => {
                let Some(call_id) = text(&data, "call_id") else { return Ok(()) };
                if self.tracker.is_over(&call_id) {
                    return Ok(());
                }
                if !self.tracker.is_live(&call_id) {
                    self.discover(&call_id).await?;
                }
                let entry = data.get("entry").unwrap_or(&data);
                let speaker = text(entry, "speaker").or_else(|| text(entry, "role")).unwrap_or_default();
                let content = text(entry, "content").or_else(|| text(entry, "text")).unwrap_or_default();
                let index = data.get("index").and_then(Value::as_u64).map(|i| i as usize);
                if self.tracker.line(&call_id, index, &speaker, &content) == LineFate::Gap {
                    self.catch_up_transcript(&call_id).await?;
                }
            }
            "call_ended" => {
                if let Some(call_id) = text(&data, "call_id") {
                    let outcome =
                        text(&data, "status").or_else(|| text(&data, "outcome")).unwrap_or_else(|| "completed".into());
                    self.tracker.call_over(&call_id, &outcome);
                }
            }
            "call_updated" => {
                if let (Some(call_id), Some(status)) = (text(&data, "call_id"), text(&data, "status")) {
                    if InboundStatus::from(status.as_str()).is_live() {
                        self.tracker.call_status(&call_id, &status);
                    } else {
                        self.tracker.call_over(&call_id, &status);
                    }
                }
            }
            "notification_changed" | "notifications_changed" => {
                if let Some(total) = data.get("total_pending").and_then(Value::as_u64) {
                    self.tracker.total_pending(total);
                }
                self.pending_due = Instant::now();
            }
            "credits_changed" => {
                if let Some(ev) = m.to_event() {
                    self.bus.publish(ev);
                }
            }
            _ => {}
        }
        self.tracker.flush();
        Ok(())
    }

    /// A transcript line for a call not announced here: look the call up once.
    async fn discover(&mut self, call_id: &str) -> Result<(), ApiError> {
        match self.client.inbound().call(call_id).await {
            Ok(call) if call.status.is_live() => {
                if let Some(info) = CallInfo::from_call(&call) {
                    self.tracker.call_live(info);
                }
                Ok(())
            }
            Ok(call) => {
                self.tracker.call_over(call_id, call.status.as_str());
                Ok(())
            }
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    // ---- polling -------------------------------------------------------------------------

    async fn poll(&mut self, cancel: &CancellationToken) -> Next {
        tracing::debug!("watcher polling");
        self.calls_etag = None;
        self.pending_etag = None;
        let mut calls_due = Instant::now();
        self.pending_due = calls_due;
        let far = calls_due + Duration::from_secs(86_400 * 365);
        loop {
            if self.signed_out_meanwhile() {
                return Next::Paused;
            }
            let stream_due = if self.settings.use_stream { self.stream_check_due } else { far };
            let deadline = calls_due.min(self.pending_due).min(stream_due);
            match self.wait(cancel, deadline, true).await {
                Interrupt::Cancelled => return Next::Stop,
                Interrupt::AuthFlip if !self.signed_in => return Next::Paused,
                Interrupt::WindowOpened => calls_due = calls_due.min(Instant::now() + self.settings.live_poll),
                Interrupt::Woken | Interrupt::ClockJump => {
                    let now = Instant::now();
                    calls_due = now;
                    self.pending_due = now;
                    self.stream_check_due = now;
                }
                _ => {}
            }
            let now = Instant::now();
            if self.settings.use_stream && now >= self.stream_check_due {
                match self.client.inbound().stream_info().await {
                    Ok(info) if info.enabled => {
                        self.synced = false;
                        return Next::Stream;
                    }
                    Ok(_) => self.stream_check_due = now + self.settings.stream_check,
                    Err(e) => match self.failed("stream info", &e) {
                        None => return Next::Paused,
                        Some(delay) => self.stream_check_due = Instant::now() + delay.max(self.settings.stream_check),
                    },
                }
            }
            if now >= calls_due {
                match self.reconcile_calls().await {
                    Ok(()) => {
                        self.succeeded();
                        calls_due = Instant::now() + self.calls_interval();
                    }
                    Err(e) => match self.failed("live calls", &e) {
                        None => return Next::Paused,
                        Some(delay) => calls_due = Instant::now() + delay,
                    },
                }
            }
            if now >= self.pending_due {
                match self.poll_pending().await {
                    Ok(()) => {
                        self.succeeded();
                        self.pending_due = Instant::now() + self.settings.pending_poll;
                    }
                    Err(e) => match self.failed("pending", &e) {
                        None => return Next::Paused,
                        Some(delay) => self.pending_due = Instant::now() + delay,
                    },
                }
            }
        }
    }

    fn calls_interval(&self) -> Duration {
        if self.tracker.has_live_calls() || self.control.window_open.load(Ordering::SeqCst) {
            self.settings.live_poll
        } else {
            self.settings.idle_poll
        }
    }

    /// Brings the tracker in line with the live-call list: new calls are announced, calls that
    /// left it are finished with their outcome, live transcripts are caught up.
    async fn reconcile_calls(&mut self) -> Result<(), ApiError> {
        let query = InboundQuery { limit: Some(100), ..InboundQuery::active() };
        let inbound = self.client.inbound();
        if let Fetched::Modified { value: mut list, etag } =
            inbound.calls_if_changed(&query, self.calls_etag.as_deref()).await?
        {
            let mut pages = 1;
            while list.total.is_some_and(|t| t as usize > list.calls.len()) && pages < MAX_LIVE_PAGES {
                let more =
                    inbound.calls(&InboundQuery { offset: Some(list.calls.len() as u32), ..query.clone() }).await?;
                if more.calls.is_empty() {
                    break;
                }
                list.calls.extend(more.calls);
                pages += 1;
            }
            let live: Vec<CallInfo> =
                list.calls.iter().filter(|c| c.status.is_live()).filter_map(CallInfo::from_call).collect();
            let live_ids: HashSet<String> = live.iter().map(|c| c.id.clone()).collect();
            for info in live {
                self.tracker.call_live(info);
            }
            for id in self.tracker.live_ids() {
                if !live_ids.contains(&id) {
                    self.finish_call(&id).await?;
                }
            }
            // Kept only once the whole list is applied: a failed round is redone in full.
            self.calls_etag = etag;
        }
        for id in self.tracker.live_ids() {
            self.catch_up_transcript(&id).await?;
        }
        self.tracker.flush();
        Ok(())
    }

    /// A call left the live list: its outcome from the call itself, after its last lines.
    async fn finish_call(&mut self, call_id: &str) -> Result<(), ApiError> {
        match self.client.inbound().call(call_id).await {
            Ok(call) if call.status.is_live() => Ok(()), // the list was behind
            Ok(call) => {
                self.catch_up_transcript(call_id).await?;
                self.tracker.call_over(call_id, call.status.as_str());
                Ok(())
            }
            Err(e) if e.status() == Some(404) => {
                self.tracker.call_over(call_id, "unknown");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn catch_up_transcript(&mut self, call_id: &str) -> Result<(), ApiError> {
        match self.client.inbound().transcript(call_id).await {
            Ok(t) => {
                self.tracker.lines_from(call_id, &t.entries);
                Ok(())
            }
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn poll_pending(&mut self) -> Result<(), ApiError> {
        let req = Request::get(&["v1", "notifications", "pending"]).if_none_match(self.pending_etag.as_deref());
        if let Fetched::Modified { value, etag } = self.client.conditional::<Value>(req).await? {
            let (items, total) = read_pending(&value);
            self.tracker.pending_list(items);
            if let Some(total) = total {
                self.tracker.total_pending(total);
            }
            self.pending_etag = etag;
        }
        self.tracker.flush();
        Ok(())
    }
}

/// The server says "no stream here, poll": switched off (503 `stream_disabled`), or no such
/// endpoint or media type.
fn stream_unavailable(e: &ApiError) -> bool {
    e.code() == "stream_disabled" || matches!(e.status(), Some(404 | 405 | 406 | 501))
}

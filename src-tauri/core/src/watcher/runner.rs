//! The watcher's task: a small state machine (poll, stream, paused) around the tracker. Polling
//! is the ground state; the stream is probed beside it and left at its first failure.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_util::sync::CancellationToken;

use crate::api::inbound::{InboundQuery, InboundStatus, StreamInfo};
use crate::ask::wait_before_reads;
use crate::client::{Client, Fetched};
use crate::error::{codes, ApiError};
use crate::events::{Event, EventBus};
use crate::stream::{EventStream, StreamEvent, StreamMessage};
use crate::transport::Request;

use super::control::Control;
use super::live::{LiveCall, LiveCalls};
use super::pending::read_pending;
use super::seen::Seen;
use super::settings::WatcherSettings;
use super::timing::{request_backoff, stream_backoff, ClockWatch};
use super::tracker::{LineFate, Tracker};

/// Pages of live calls read at most (100 each); more live calls than that is not a real case.
const MAX_LIVE_PAGES: usize = 10;

enum Next {
    Poll,
    Stream(Box<Connected>),
    Paused,
    Stop,
}

/// An open event stream and what `stream/info` said about it.
struct Connected {
    info: StreamInfo,
    stream: EventStream,
}

/// `stream/info`, then the stream itself, on a task of its own so polling never waits for it.
/// Dropping the probe stops it.
struct Probe(JoinHandle<Result<Box<Connected>, ApiError>>);

impl Probe {
    fn start(client: &Client, resume_id: Option<String>, settings: &WatcherSettings) -> Self {
        let (client, open_timeout, idle_fallback) =
            (client.clone(), settings.stream_open_timeout, settings.stream_idle_timeout);
        Self(tokio::spawn(async move {
            let late = |what: &str| ApiError::client(codes::TIMEOUT, format!("{what} did not answer in time"));
            let info = timeout(open_timeout, client.inbound().stream_info())
                .await
                .unwrap_or_else(|_| Err(late("stream/info")))?;
            if !info.enabled {
                return Err(ApiError::client(STREAM_OFF, "stream/info: the stream is switched off"));
            }
            // After a cut, resume where the last stream left off: nothing in between is lost.
            let from = resume_id.or_else(|| info.last_event_id.clone());
            let idle = info.idle_timeout(idle_fallback);
            let stream = timeout(open_timeout, client.inbound().stream(from.as_deref(), idle))
                .await
                .unwrap_or_else(|_| Err(late("the event stream")))?;
            Ok(Box::new(Connected { info, stream }))
        }))
    }

    /// The probe's outcome once it has one (never, without a probe); the probe is spent then.
    async fn finished(probe: &mut Option<Probe>) -> Result<Box<Connected>, ApiError> {
        let Some(Probe(task)) = probe.as_mut() else { return std::future::pending().await };
        let outcome = task.await;
        *probe = None;
        outcome.unwrap_or_else(|_| Err(ApiError::client(codes::CONNECTION_LOST, "the stream probe stopped")))
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `stream/info` answered, but `enabled` is false.
const STREAM_OFF: &str = "stream_disabled";

/// `stream/info` is not there (production documents no stream) or says the stream is off: an
/// answer, not a failure, so it is not asked again soon.
fn server_has_no_stream(err: &ApiError) -> bool {
    err.status() == Some(404) || err.code() == STREAM_OFF
}

/// What woke the poller.
enum Woke {
    Probe(Result<Box<Connected>, ApiError>),
    Wait(Interrupt),
}

/// Why `follow` left the stream.
enum Left {
    /// Stop, or pause for a sign-in.
    Mode(Next),
    /// A wake or a clock jump: catch up by polling now, and reconnect at once.
    Restart,
    /// The stream failed: ended, cut, silent past its idle timeout, unreadable.
    Failed { what: &'static str, err: ApiError, delivered: bool },
    /// A request to handle a message failed (the stream itself was fine).
    Handling(ApiError),
}

/// Which transcripts a reconciliation of the live calls reads.
#[derive(Clone, Copy, PartialEq)]
enum Transcripts {
    /// Every live call's (polling: the lists are the only source).
    Live,
    /// Only those of calls found new (with a stream, which carries the lines of the others).
    New,
}

/// What ended a wait.
enum Interrupt {
    Cancelled,
    Woken,
    WindowOpened,
    /// Signed in or out since the wait began.
    AuthFlip,
    /// The user did something that may have changed the pending work (`pending_due` is now).
    PendingChanged,
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
    /// Where the last stream left off (the last message handled): a reconnect resumes there.
    resume_id: Option<String>,
    /// Stream failures (and refusals) in a row; the re-probe wait doubles with each.
    stream_failures: u32,
    /// The stream carries `notification_changed`, so pending work is polled on those.
    stream_notifies: bool,
    calls_etag: Option<String>,
    pending_etag: Option<String>,
    pending_due: Instant,
    /// While streaming: the next reconciliation of the live calls.
    reconcile_due: Instant,
    /// While polling: the next look at the stream.
    stream_check_due: Instant,
    next_clock_check: Instant,
    clock: ClockWatch,
}

impl Runner {
    pub fn new(
        client: &Client,
        events: &EventBus,
        seen: Seen,
        settings: &WatcherSettings,
        control: Arc<Control>,
        live: LiveCalls,
    ) -> Self {
        let now = Instant::now();
        Self {
            client: client.clone(),
            bus: events.clone(),
            rx: events.subscribe(),
            settings: settings.clone(),
            control,
            tracker: Tracker::new(events.clone(), seen, live),
            signed_in: true,
            sign_outs: 0,
            session_sign_outs: 0,
            online: true,
            failures: 0,
            network_failures: 0,
            resume_id: None,
            stream_failures: 0,
            stream_notifies: false,
            calls_etag: None,
            pending_etag: None,
            pending_due: now,
            reconcile_due: now,
            stream_check_due: now,
            next_clock_check: now + settings.clock_check,
            clock: ClockWatch::new(),
        }
    }

    pub async fn run(mut self, cancel: &CancellationToken) {
        let mut next = Next::Poll;
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
                        Next::Stream(connected) => self.stream(*connected, cancel).await,
                        Next::Poll => self.poll(cancel).await,
                    }
                } => n,
            };
        }
        self.tracker.flush();
        tracing::debug!("watcher stopped");
    }

    // ---- signals -------------------------------------------------------------------------

    /// Notes what the rest of the app did; `true` when it may have changed the pending work, which
    /// is then read at once: an ask answered or refused (a goal that waits for the user, a
    /// budget approval), a goal decided or an item handled shows in the pending list now, not at the
    /// next round.
    fn observe(&mut self, event: Result<Event, broadcast::error::RecvError>) -> bool {
        match event {
            Ok(Event::AuthChanged { signed_in }) => {
                self.signed_in = signed_in;
                if !signed_in {
                    self.sign_outs += 1;
                }
                false
            }
            Ok(Event::ConnectivityChanged { online }) => {
                self.online = online;
                false
            }
            Ok(
                event @ (Event::AskSent { .. }
                | Event::AskFailed { .. }
                | Event::GoalDecided { .. }
                | Event::PendingHandled { .. }),
            ) => {
                self.pending_due = self.pending_due.min(Instant::now() + wait_before_reads(&event));
                true
            }
            _ => false,
        }
    }

    fn drain_bus(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(ev) => {
                    self.observe(Ok(ev));
                }
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
                    let pending_changed = self.observe(ev);
                    if self.signed_in != signed_in_at_start {
                        return Interrupt::AuthFlip;
                    }
                    if pending_changed {
                        return Interrupt::PendingChanged;
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
        self.failures = self.failures.saturating_add(1);
        let delay = request_backoff(&self.settings).wait(self.failures, err.retry_after());
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

    /// Forget what this session showed (sign-out): the next one lists it again.
    fn forget_session(&mut self) {
        self.tracker.reset_session();
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
        // A new session: the stream gets a fresh chance at once.
        self.stream_failures = 0;
        self.stream_check_due = Instant::now();
        Next::Poll
    }

    // ---- stream --------------------------------------------------------------------------

    /// Books a failure of the stream path (stream/info refused or unreadable or "no", an open
    /// that is not a `200 text/event-stream`, a cut, missed heartbeats): polling carries on, and
    /// the stream is looked at again after a wait that doubles while it keeps failing. `false`
    /// when the user has to sign in first.
    fn stream_failed(&mut self, what: &str, err: &ApiError) -> bool {
        if err.is_unauthorized() {
            tracing::info!(what, code = err.code(), "watcher: not signed in");
            self.signed_in = false;
            return false;
        }
        self.stream_failures = self.stream_failures.saturating_add(1);
        let delay = match server_has_no_stream(err) {
            true => self.settings.stream_check_max,
            false => stream_backoff(&self.settings).wait(self.stream_failures, err.retry_after()),
        };
        self.stream_check_due = Instant::now() + delay;
        tracing::info!(
            what,
            code = err.code(),
            status = ?err.status(),
            failures = self.stream_failures,
            ?delay,
            "no event stream: polling"
        );
        true
    }

    /// Follows an open stream until it fails or the mode changes. First a snapshot (live calls
    /// with their transcripts, pending work): what happened before the stream's start point is
    /// in the lists, not in the stream.
    async fn stream(&mut self, connected: Connected, cancel: &CancellationToken) -> Next {
        let Connected { info, mut stream } = connected;
        tracing::info!(resume = ?stream.last_event_id(), "event stream open");
        self.stream_notifies = info.event_types.iter().any(|t| t == "notification_changed");
        self.resume_id = stream.last_event_id().map(str::to_string);
        self.calls_etag = None;
        self.pending_etag = None;
        let snapshot = match self.reconcile_calls(Transcripts::Live).await {
            Ok(()) => self.poll_pending().await,
            Err(e) => Err(e),
        };
        if let Err(e) = snapshot {
            // Not the stream's fault: poll, and try the stream again after the usual backoff.
            return match self.failed("stream snapshot", &e) {
                None => Next::Paused,
                Some(delay) => {
                    self.stream_check_due = Instant::now() + delay;
                    Next::Poll
                }
            };
        }
        self.succeeded();
        let opened = Instant::now();
        let idle = info.idle_timeout(self.settings.stream_idle_timeout);
        match self.follow(&mut stream, cancel).await {
            Left::Mode(next) => next,
            Left::Restart => {
                self.stream_check_due = Instant::now();
                Next::Poll
            }
            Left::Failed { what, err, delivered } => {
                // A stream that carried messages or stayed up through its idle period worked:
                // its cut starts the backoff over.
                if delivered || opened.elapsed() >= idle {
                    self.stream_failures = 0;
                }
                match self.stream_failed(what, &err) {
                    true => Next::Poll,
                    false => Next::Paused,
                }
            }
            Left::Handling(e) => match self.failed("stream message", &e) {
                None => Next::Paused,
                Some(delay) => {
                    // Polling catches up now; the message is replayed on resume (its id was
                    // not taken), and handling is idempotent.
                    self.stream_check_due = Instant::now() + delay;
                    Next::Poll
                }
            },
        }
    }

    /// Reads the stream until it fails or the mode changes. Also reconciles the live calls
    /// every `stream_reconcile` and polls pending work on `notification_changed` (and every
    /// `pending_poll_streaming`).
    async fn follow(&mut self, stream: &mut EventStream, cancel: &CancellationToken) -> Left {
        enum Step {
            Cancelled,
            Woken,
            Bus(Result<Event, broadcast::error::RecvError>),
            Clock,
            Pending,
            Reconcile,
            Message(Option<Result<StreamMessage, ApiError>>),
        }
        let control = self.control.clone();
        let now = Instant::now();
        self.pending_due = now + self.pending_interval();
        self.reconcile_due = now + self.settings.stream_reconcile;
        let mut delivered = false;
        loop {
            if self.signed_out_meanwhile() {
                return Left::Mode(Next::Paused);
            }
            let step = tokio::select! {
                biased;
                _ = cancel.cancelled() => Step::Cancelled,
                _ = control.wake.notified() => Step::Woken,
                ev = self.rx.recv() => Step::Bus(ev),
                _ = sleep_until(self.next_clock_check) => Step::Clock,
                _ = sleep_until(self.pending_due) => Step::Pending,
                _ = sleep_until(self.reconcile_due) => Step::Reconcile,
                m = stream.next() => Step::Message(m),
            };
            match step {
                Step::Cancelled => return Left::Mode(Next::Stop),
                Step::Woken => {
                    tracing::debug!("woken: catching up and reconnecting the stream");
                    return Left::Restart;
                }
                Step::Bus(ev) => {
                    // A change of the pending work moved `pending_due`, which the next round obeys.
                    self.observe(ev);
                    if !self.signed_in {
                        return Left::Mode(Next::Paused);
                    }
                }
                Step::Clock => {
                    if self.clock_jumped() {
                        return Left::Restart;
                    }
                }
                Step::Pending => match self.poll_pending().await {
                    Ok(()) => self.pending_due = Instant::now() + self.pending_interval(),
                    Err(e) => match self.failed("pending", &e) {
                        None => return Left::Mode(Next::Paused),
                        Some(delay) => self.pending_due = Instant::now() + delay,
                    },
                },
                Step::Reconcile => {
                    // At most one try per period, failed or not: the stream is the main source.
                    self.reconcile_due = Instant::now() + self.settings.stream_reconcile;
                    if let Err(e) = self.reconcile_calls(Transcripts::New).await {
                        if self.failed("live calls", &e).is_none() {
                            return Left::Mode(Next::Paused);
                        }
                    }
                }
                Step::Message(None) => {
                    let err = ApiError::client(codes::CONNECTION_LOST, "the event stream ended");
                    return Left::Failed { what: "stream ended", err, delivered };
                }
                Step::Message(Some(Err(err))) => return Left::Failed { what: "stream read", err, delivered },
                Step::Message(Some(Ok(m))) => {
                    delivered = true;
                    // The resume point moves only once the message is handled, so a failure
                    // here replays it after the reconnect (handling is idempotent).
                    match self.handle(&m).await {
                        Ok(()) => {
                            if m.id.is_some() {
                                self.resume_id.clone_from(&m.id);
                            }
                            self.succeeded();
                        }
                        Err(e) => return Left::Handling(e),
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
        match m.decode() {
            StreamEvent::CallRinging(call) => match LiveCall::from_call(&call) {
                Some(info) => self.tracker.call_live(info),
                // A ringing call this client cannot read: the live list says which it is.
                None => self.reconcile_due = Instant::now(),
            },
            StreamEvent::TranscriptLine { call_id, index, speaker, content } => {
                if self.tracker.is_over(&call_id) {
                    return Ok(());
                }
                if !self.tracker.is_live(&call_id) {
                    self.discover(&call_id).await?;
                }
                let fate = match content {
                    Some(content) => self.tracker.line(&call_id, index, &speaker, &content),
                    None => LineFate::Gap,
                };
                if fate == LineFate::Gap {
                    self.catch_up_transcript(&call_id).await?;
                }
            }
            StreamEvent::CallEnded { call_id, outcome: Some(outcome) } => self.tracker.call_over(&call_id, &outcome),
            StreamEvent::CallEnded { call_id, outcome: None } => {
                if !self.tracker.is_over(&call_id) {
                    self.finish_call(&call_id).await?;
                }
            }
            StreamEvent::CallUpdated { call_id, status } => {
                if InboundStatus::from(status.as_str()).is_live() {
                    self.tracker.call_status(&call_id, &status);
                } else {
                    self.tracker.call_over(&call_id, &status);
                }
            }
            StreamEvent::NotificationsChanged { total_pending } => {
                if let Some(total) = total_pending {
                    self.tracker.total_pending(total);
                }
                self.pending_due = Instant::now();
            }
            StreamEvent::CreditsChanged { credits_remaining, credits_allocated } => {
                self.bus.publish(Event::CreditsChanged { credits_remaining, credits_allocated });
            }
            StreamEvent::Unknown => {}
        }
        self.tracker.flush();
        Ok(())
    }

    /// A transcript line for a call not announced here: look the call up once.
    async fn discover(&mut self, call_id: &str) -> Result<(), ApiError> {
        match self.client.inbound().call(call_id).await {
            Ok(call) if call.status.is_live() => {
                if let Some(info) = LiveCall::from_call(&call) {
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

    /// Polls the lists; meanwhile, when the stream is due for a look, probes it on its own task
    /// (so polling never waits for it) and switches to it once it is open.
    async fn poll(&mut self, cancel: &CancellationToken) -> Next {
        tracing::debug!("watcher polling");
        self.calls_etag = None;
        self.pending_etag = None;
        let mut calls_due = Instant::now();
        self.pending_due = calls_due;
        let far = calls_due + Duration::from_secs(86_400 * 365);
        let mut probe: Option<Probe> = None;
        loop {
            if self.signed_out_meanwhile() {
                return Next::Paused;
            }
            let stream_due = match self.settings.use_stream && probe.is_none() {
                true => self.stream_check_due,
                false => far,
            };
            if Instant::now() >= stream_due {
                probe = Some(Probe::start(&self.client, self.resume_id.clone(), &self.settings));
            }
            let deadline = calls_due.min(self.pending_due).min(if probe.is_none() { stream_due } else { far });
            let woke = tokio::select! {
                biased;
                probed = Probe::finished(&mut probe) => Woke::Probe(probed),
                interrupt = self.wait(cancel, deadline, true) => Woke::Wait(interrupt),
            };
            match woke {
                Woke::Probe(Ok(connected)) => return Next::Stream(connected),
                Woke::Probe(Err(e)) => {
                    probe = None;
                    if !self.stream_failed("stream probe", &e) {
                        return Next::Paused;
                    }
                    continue;
                }
                Woke::Wait(Interrupt::Cancelled) => return Next::Stop,
                Woke::Wait(Interrupt::AuthFlip) if !self.signed_in => return Next::Paused,
                Woke::Wait(Interrupt::WindowOpened) => {
                    calls_due = calls_due.min(Instant::now() + self.settings.live_poll)
                }
                Woke::Wait(Interrupt::Woken | Interrupt::ClockJump) => {
                    let now = Instant::now();
                    calls_due = now;
                    self.pending_due = now;
                    self.stream_check_due = now;
                }
                Woke::Wait(_) => {}
            }
            let now = Instant::now();
            if now >= calls_due {
                match self.reconcile_calls(Transcripts::Live).await {
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
    /// left it are finished with their outcome (and last lines), and the `transcripts` named
    /// are caught up.
    async fn reconcile_calls(&mut self, transcripts: Transcripts) -> Result<(), ApiError> {
        let query = InboundQuery { limit: Some(100), ..InboundQuery::active() };
        let inbound = self.client.inbound();
        let mut fresh: Vec<String> = Vec::new();
        let mut applied = None;
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
            let live: Vec<LiveCall> =
                list.calls.iter().filter(|c| c.status.is_live()).filter_map(LiveCall::from_call).collect();
            let live_ids: HashSet<String> = live.iter().map(|c| c.id.clone()).collect();
            fresh = live.iter().filter(|c| !self.tracker.is_live(&c.id)).map(|c| c.id.clone()).collect();
            for info in live {
                self.tracker.call_live(info);
            }
            for id in self.tracker.live_ids() {
                if !live_ids.contains(&id) {
                    self.finish_call(&id).await?;
                }
            }
            applied = Some(etag);
        }
        let catch_up = match transcripts {
            Transcripts::Live => self.tracker.live_ids(),
            Transcripts::New => fresh.into_iter().filter(|id| self.tracker.is_live(id)).collect(),
        };
        for id in catch_up {
            self.catch_up_transcript(&id).await?;
        }
        // Kept only once the whole round is done: a failed round is redone in full.
        if let Some(etag) = applied {
            self.calls_etag = etag;
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

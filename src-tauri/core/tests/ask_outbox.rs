//! The quick-ask outbox against a real sim: replies, conversations, and nothing typed lost to
//! faults, restarts, dropped answers, 402, 429 or a sign-out.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Fault, Sim};
use kallyai_core::ask::{AskReply, AskState, Outbox, OutboxEntry, OutboxError, OutboxSettings};
use kallyai_core::auth::{AuthApi, MemoryStore, Session, StaticToken};
use kallyai_core::{Client, Event, EventBus, IdempotencyKey, RetryPolicy};
use kallyai_sim::{Profile, SimConfig};
use kallyai_testkit::wait;
use serde_json::{json, Value};
use tokio::sync::broadcast::{error::RecvError, Receiver};

const MESSAGE: &str = "/v1/coordination/message";
const CONVERSATIONS: &str = "/v1/coordination/conversations";
const HISTORY: &str = "/v1/coordination/history";
const WAIT: Duration = Duration::from_secs(15);

/// The outbox is the retry layer under test, so its client does not retry by itself.
fn no_retry() -> RetryPolicy {
    RetryPolicy { max_retries: 0, ..common::fast_retry() }
}

fn fast_settings() -> OutboxSettings {
    OutboxSettings {
        retry_base: Duration::from_millis(20),
        retry_max: Duration::from_millis(200),
        ..Default::default()
    }
}

async fn client(sim: &Sim, events: &EventBus) -> Client {
    let token = sim.tokens().await.access;
    Client::with_events(sim.config().with_retry(no_retry()), Arc::new(StaticToken::new(token)), events.clone()).unwrap()
}

/// The outbox of `dir`, talking to `sim` with the fast settings (what most tests need).
async fn open_outbox(sim: &Sim, events: &EventBus, dir: &TempDir) -> Outbox {
    Outbox::open(dir.file(), client(sim, events).await, events.clone(), fast_settings()).await.unwrap()
}

/// A fresh directory for one test's outbox file (removed when dropped).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("kallyai-ask-test-{}", IdempotencyKey::new()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn file(&self) -> PathBuf {
        self.0.join("outbox.json")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The next event matching `pred`, failing the test after `WAIT`.
async fn next_event(rx: &mut Receiver<Event>, what: &str, mut pred: impl FnMut(&Event) -> bool) -> Event {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e) => return e,
                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => panic!("event bus closed while waiting for {what}"),
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
}

async fn reply_to(rx: &mut Receiver<Event>, local_id: &str) -> AskReply {
    match next_event(rx, "AskSent", |e| matches!(e, Event::AskSent { local_id: l, .. } if l == local_id)).await {
        Event::AskSent { reply, .. } => reply,
        _ => unreachable!(),
    }
}

async fn message_requests(sim: &Sim) -> Vec<Value> {
    sim.ctl.requests_to("POST", MESSAGE).await
}

/// The user's messages of one conversation, oldest first, from the sim's own history.
async fn user_messages(sim: &Sim, conversation_id: &str) -> Vec<String> {
    let client = sim.client().await;
    let history = client.coordination().history(Some(conversation_id), Some(200)).await.unwrap();
    history.messages.into_iter().filter(|m| m.role == "user").map(|m| m.content).collect()
}

async fn sim_with(profile: Profile) -> Sim {
    Sim::start_with(SimConfig { profile, ..Default::default() }).await
}

async fn balance(sim: &Sim) -> f64 {
    sim.client().await.credits().balance().await.unwrap().credits_remaining.value()
}

fn round2(credits: f64) -> f64 {
    (credits * 100.0).round() / 100.0
}

/// How many user messages, in all conversations, carry exactly `text` (the sim's own record).
async fn times_asked(sim: &Sim, text: &str) -> usize {
    let history = sim.client().await.coordination().history(None, Some(200)).await.unwrap();
    assert!(history.messages.len() < 200, "the read must hold every message");
    history.messages.iter().filter(|m| m.role == "user" && m.content == text).count()
}

/// What the outbox files hold (snapshot and journal, read as the outbox reads them).
fn on_disk(dir: &TempDir) -> Value {
    kallyai_core::ask::read_on_disk(&dir.file()).ok().flatten().unwrap_or_default()
}

/// Replaces what is on disk with `saved`, as a file left by an earlier run.
fn replace_on_disk(dir: &TempDir, saved: &Value) {
    std::fs::write(dir.file(), serde_json::to_vec(saved).unwrap()).unwrap();
    let _ = std::fs::remove_file(dir.file().with_extension("journal"));
}

/// The state kind (`sending`, `checking`, ...) the outbox file holds for one ask.
fn saved_state(dir: &TempDir, local_id: &str) -> String {
    let saved = on_disk(dir);
    let entries = saved["entries"].as_array().cloned().unwrap_or_default();
    let entry = entries.iter().find(|e| e["local_id"] == json!(local_id));
    entry.and_then(|e| e["state"]["kind"].as_str()).unwrap_or("").to_string()
}

/// Every event published from its start on, kept for the test to look through (a burst of
/// asks outruns a receiver nobody reads while the test waits on something else).
struct Recorder {
    seen: Arc<std::sync::Mutex<Vec<Event>>>,
    lagged: Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    fn start(events: &EventBus) -> Self {
        let mut rx = events.subscribe();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let lagged = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (sink, missed) = (seen.clone(), lagged.clone());
        let task = tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(e) => sink.lock().unwrap().push(e),
                    Err(RecvError::Lagged(n)) => {
                        missed.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
        Self { seen, lagged, task }
    }
    fn len(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
    fn lagged(&self) -> u64 {
        self.lagged.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.seen.lock().unwrap().iter().filter(|e| pred(e)).count()
    }
    /// Whether an event matching `pred` is recorded at or after index `from` within `deadline`.
    async fn seen_after(&self, from: usize, deadline: Duration, pred: impl Fn(&Event) -> bool) -> bool {
        wait::holds_within(deadline, || async { self.seen.lock().unwrap().iter().skip(from).any(&pred) }).await
    }
    /// Every `AskSent` so far, as (local id, reply).
    fn replies(&self) -> Vec<(String, AskReply)> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter_map(|e| match e {
                Event::AskSent { local_id, reply } => Some((local_id.clone(), reply.clone())),
                _ => None,
            })
            .collect()
    }
    /// The reply to one ask, failing the test after `WAIT`.
    async fn reply(&self, local_id: &str) -> AskReply {
        let find = || self.replies().into_iter().find(|(id, _)| id == local_id).map(|(_, reply)| reply);
        assert!(
            wait::holds_within(WAIT, || async { find().is_some() }).await,
            "no reply to {local_id} within {WAIT:?}"
        );
        find().unwrap()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn assert_no_secret_in(sim: &Sim, path: &Path) {
    // The snapshot and the journal beside it.
    let text: String = [path.to_path_buf(), path.with_extension("journal")]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    assert!(!text.is_empty(), "nothing on disk to look at");
    for secret in sim.ctl.issued_secrets().await {
        assert!(!text.contains(&secret), "the outbox file contains an issued secret");
    }
    assert!(!text.to_lowercase().contains("bearer"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_gets_the_reply_and_the_conversation_continues_until_a_new_one() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    let outbox = open_outbox(&sim, &events, &dir).await;
    assert_eq!(outbox.conversation().await.conversation_id, None);

    let first = outbox.ask("What is on my calendar tomorrow?").await.unwrap();
    assert_eq!(first.state, AskState::Queued);
    let reply = reply_to(&mut rx, &first.local_id).await;
    assert!(!reply.text.is_empty());
    let conv = reply.conversation_id.clone().expect("the reply names its conversation");
    assert_eq!(outbox.conversation().await.conversation_id.as_deref(), Some(conv.as_str()));

    let second = outbox.ask("And the day after?").await.unwrap();
    assert_eq!(second.conversation_id.as_deref(), Some(conv.as_str()));
    let reply2 = reply_to(&mut rx, &second.local_id).await;
    assert_eq!(reply2.conversation_id.as_deref(), Some(conv.as_str()));

    outbox.new_conversation().await.unwrap();
    let third = outbox.ask("What is the weather like?").await.unwrap();
    let reply3 = reply_to(&mut rx, &third.local_id).await;
    let other = reply3.conversation_id.clone().unwrap();
    assert_ne!(other, conv, "a new conversation was started");

    // Every ask names its conversation (created first for a new one), so it can be read back.
    let log = message_requests(&sim).await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0]["conversation_id"], json!(conv));
    assert_eq!(log[1]["conversation_id"], json!(conv));
    assert_eq!(log[2]["conversation_id"], json!(other));
    assert_eq!(sim.ctl.requests_to("POST", CONVERSATIONS).await.len(), 2);
    // The answer the app saw is the follow-up's read-back mark: nothing is read before a send.
    assert!(sim.ctl.requests_to("GET", HISTORY).await.is_empty(), "no read before an ask");
    let keys: Vec<&Value> = log.iter().map(|r| &r["idempotency_key"]).collect();
    assert_eq!(
        keys,
        vec![&json!(first.idempotency_key), &json!(second.idempotency_key), &json!(third.idempotency_key)]
    );

    // The sim's own record: each ask once, in its conversation.
    assert_eq!(user_messages(&sim, &conv).await, vec!["What is on my calendar tomorrow?", "And the day after?"]);
    assert_eq!(user_messages(&sim, &other).await, vec!["What is the weather like?"]);
    assert!(outbox.entries().await.is_empty(), "answered asks leave the outbox");
    assert_no_secret_in(&sim, &dir.file()).await;
    assert_eq!(outbox.ask("   ").await.unwrap_err(), OutboxError::EmptyText);
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asks_queued_while_failing_arrive_once_in_order_after_a_restart() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    sim.ctl.fault(&Fault::status("/v1/coordination/*", 503)).await;

    let outbox = open_outbox(&sim, &events, &dir).await;
    let a = outbox.ask("Find a plumber nearby").await.unwrap();
    let b = outbox.ask("Email Sam that I am running late").await.unwrap();
    // The head of the queue is tried (and fails) more than once; both stay queued.
    for _ in 0..2 {
        next_event(
            &mut rx,
            "AskWaiting",
            |e| matches!(e, Event::AskWaiting { local_id, code, .. } if *local_id == a.local_id && code == "service_unavailable"),
        )
        .await;
    }
    outbox.shutdown().await;
    let saved = on_disk(&dir).to_string();
    assert!(saved.contains(&a.idempotency_key) && saved.contains(&b.idempotency_key), "{saved}");
    assert_no_secret_in(&sim, &dir.file()).await;
    // It failed at its first step, making its conversation: no ask went out.
    let failed_attempts = sim.ctl.requests_to("POST", CONVERSATIONS).await;
    assert!(failed_attempts.len() >= 2);
    assert!(failed_attempts.iter().all(|r| r["status"] == 503), "{failed_attempts:?}");
    assert!(message_requests(&sim).await.is_empty());

    // "Restart": a new outbox on the same file, the service healthy again.
    sim.ctl.clear_faults().await;
    let outbox = open_outbox(&sim, &events, &dir).await;
    let pending = outbox.entries().await;
    assert_eq!(
        pending.iter().map(|e| e.local_id.as_str()).collect::<Vec<_>>(),
        vec![a.local_id.as_str(), b.local_id.as_str()]
    );
    let mut sent = Vec::new();
    while sent.len() < 2 {
        if let Event::AskSent { local_id, reply } =
            next_event(&mut rx, "AskSent", |e| matches!(e, Event::AskSent { .. })).await
        {
            sent.push((local_id, reply));
        }
    }
    assert_eq!(sent[0].0, a.local_id, "oldest first");
    assert_eq!(sent[1].0, b.local_id);
    let conv = sent[0].1.conversation_id.clone().unwrap();
    assert_eq!(sent[1].1.conversation_id.as_deref(), Some(conv.as_str()), "queued together, asked together");

    let ok = message_requests(&sim).await;
    assert_eq!(ok.len(), 2, "{ok:?}");
    assert!(ok.iter().all(|r| r["status"] == 200), "{ok:?}");
    assert_eq!(ok[0]["idempotency_key"], json!(a.idempotency_key));
    assert_eq!(ok[1]["idempotency_key"], json!(b.idempotency_key));
    assert_eq!(ok[1]["conversation_id"], json!(conv));
    assert_eq!(user_messages(&sim, &conv).await, vec!["Find a plumber nearby", "Email Sam that I am running late"]);
    assert!(outbox.entries().await.is_empty());
    let saved = on_disk(&dir);
    assert_eq!(saved["entries"], json!([]));
    outbox.shutdown().await;
}

/// A lost answer on either profile: the client has not seen the key echoed yet, so it does not
/// resend; the outbox reads the conversation back and finds the ask there, with its answer.
async fn a_dropped_answer_is_read_back_not_repeated(profile: Profile) {
    let sim = sim_with(profile).await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    // The sim runs every ask, then cuts the connection before answering.
    sim.ctl.fault(&Fault::new(MESSAGE, "drop_after")).await;
    let outbox = open_outbox(&sim, &events, &dir).await;
    let a = outbox.ask("Search for a quiet cafe to work from").await.unwrap();
    next_event(&mut rx, "AskChecking", |e| matches!(e, Event::AskChecking { local_id } if *local_id == a.local_id))
        .await;
    let reply_a = reply_to(&mut rx, &a.local_id).await;
    let b = outbox.ask("Find one with good wifi").await.unwrap();
    let reply_b = reply_to(&mut rx, &b.local_id).await;
    let conv = reply_a.conversation_id.clone().unwrap();
    assert_eq!(reply_b.conversation_id.as_deref(), Some(conv.as_str()));

    // Each ask went out once and is in the conversation once; the reply shown is the stored answer.
    let log = message_requests(&sim).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["idempotency_key"], json!(a.idempotency_key));
    assert_eq!(log[1]["idempotency_key"], json!(b.idempotency_key));
    assert_eq!(
        user_messages(&sim, &conv).await,
        vec!["Search for a quiet cafe to work from", "Find one with good wifi"]
    );
    let history = sim.client().await.coordination().history(Some(&conv), None).await.unwrap();
    let answers: Vec<&str> =
        history.messages.iter().filter(|m| m.role == "assistant").map(|m| m.content.as_str()).collect();
    assert_eq!(answers, vec![reply_a.text.as_str(), reply_b.text.as_str()]);
    assert!(reply_a.goal_id.is_some(), "a search makes a goal, and the read-back reply names it");
    assert!(outbox.entries().await.is_empty());
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_answer_is_read_back_not_repeated_on_production() {
    a_dropped_answer_is_read_back_not_repeated(Profile::Production).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_answer_is_read_back_not_repeated_on_the_default_profile() {
    a_dropped_answer_is_read_back_not_repeated(Profile::Default).await;
}

/// The client's own retries (the app's default policy, not `no_retry`) meet a 504 that came after
/// the sim ran the ask: only a server that echoed the key gets the ask again.
async fn a_504_after_the_ask_ran(profile: Profile) {
    let sim = sim_with(profile).await;
    let events = EventBus::new(1024);
    let recorder = Recorder::start(&events);
    let dir = TempDir::new();
    let token = sim.tokens().await.access;
    let client = Client::with_events(sim.config(), Arc::new(StaticToken::new(token)), events.clone()).unwrap();
    let outbox = Outbox::open(dir.file(), client.clone(), events.clone(), fast_settings()).await.unwrap();
    assert!(!client.honours_idempotency_keys(), "nothing is assumed before the server shows it");
    let first = outbox.ask("What is on my calendar tomorrow?").await.unwrap();
    recorder.reply(&first.local_id).await;
    let echoed = profile == Profile::Default;
    assert_eq!(client.honours_idempotency_keys(), echoed, "only the default profile echoes the key");

    sim.ctl.fault(&Fault::new(MESSAGE, "status_after").with_status(504).method("POST").count(1)).await;
    let before = balance(&sim).await;
    let text = "Find a quiet cafe to work from";
    let ask = outbox.ask(text).await.unwrap();
    let reply = recorder.reply(&ask.local_id).await;
    let charged = round2(before - balance(&sim).await);
    assert!(charged > 0.0, "a search costs credits");
    assert_eq!(times_asked(&sim, text).await, 1);

    let sent: Vec<Value> = message_requests(&sim)
        .await
        .into_iter()
        .filter(|r| r["idempotency_key"] == json!(ask.idempotency_key))
        .collect();
    let checked = recorder.count(|e| matches!(e, Event::AskChecking { local_id } if *local_id == ask.local_id));
    if echoed {
        // Resent by the client with the same key: the sim answered from its store, charging nothing more.
        assert_eq!(sent.iter().map(|r| r["status"].as_u64().unwrap()).collect::<Vec<_>>(), vec![504, 200]);
        assert_eq!(checked, 0, "no read-back was needed");
        assert_eq!(reply.credits_used, Some(charged));
    } else {
        // Never resent: read back from the conversation instead.
        assert_eq!(sent.iter().map(|r| r["status"].as_u64().unwrap()).collect::<Vec<_>>(), vec![504]);
        assert_eq!(checked, 1);
        assert!(!reply.text.is_empty());
    }
    // Charged once: what a clean ask of the same kind costs.
    let before = balance(&sim).await;
    let clean = outbox.ask("Find a quiet library to work from").await.unwrap();
    recorder.reply(&clean.local_id).await;
    assert_eq!(round2(before - balance(&sim).await), charged);
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_key_lets_the_client_retry_a_lost_ask_safely() {
    a_504_after_the_ask_ran(Profile::Default).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_echoed_key_a_lost_ask_is_read_back_never_resent() {
    a_504_after_the_ask_ran(Profile::Production).await;
}

/// The app stops with an ask in flight, twice: once after the sim ran it (its answer lost, the
/// outbox reading it back), once before the sim ran it (the request cut mid-way). Either way,
/// after the restart it reaches the server exactly once.
async fn a_restart_with_an_ask_in_flight(profile: Profile) {
    let sim = sim_with(profile).await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    // Slow read-backs, so the app is stopped while one waits.
    let slow = OutboxSettings {
        retry_base: Duration::from_secs(30),
        retry_max: Duration::from_secs(30),
        ..Default::default()
    };

    sim.ctl.fault(&Fault::new(MESSAGE, "drop_after").count(1)).await;
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), slow.clone()).await.unwrap();
    let a = outbox.ask("Search for a quiet cafe to work from").await.unwrap();
    next_event(&mut rx, "AskChecking", |e| matches!(e, Event::AskChecking { local_id } if *local_id == a.local_id))
        .await;
    outbox.shutdown().await;
    assert_eq!(saved_state(&dir, &a.local_id), "checking");

    let outbox = open_outbox(&sim, &events, &dir).await;
    let reply = reply_to(&mut rx, &a.local_id).await;
    assert!(!reply.text.is_empty());
    assert_eq!(times_asked(&sim, "Search for a quiet cafe to work from").await, 1);
    let sent = message_requests(&sim).await;
    assert_eq!(sent.iter().filter(|r| r["idempotency_key"] == json!(a.idempotency_key)).count(), 1, "{sent:?}");
    outbox.shutdown().await;

    // Stopped while the request is on its way: the sim holds it before running it.
    sim.ctl.fault(&Fault::new(MESSAGE, "latency").latency_ms(3000).count(1)).await;
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), slow).await.unwrap();
    let b = outbox.ask("Find one with good wifi").await.unwrap();
    assert!(
        wait::holds_within(WAIT, || async { saved_state(&dir, &b.local_id) == "sending" }).await,
        "the ask was never saved as sending"
    );
    outbox.shutdown().await;
    assert_eq!(saved_state(&dir, &b.local_id), "sending", "a stop mid-send leaves it for the next open");

    let outbox = open_outbox(&sim, &events, &dir).await;
    next_event(&mut rx, "AskChecking", |e| matches!(e, Event::AskChecking { local_id } if *local_id == b.local_id))
        .await;
    reply_to(&mut rx, &b.local_id).await;
    // The cut request never ran (the sim dropped it with the connection), so the read-back found
    // it absent and sent it again with the same key: once in the conversation.
    assert_eq!(times_asked(&sim, "Find one with good wifi").await, 1);
    let processed: Vec<Value> =
        message_requests(&sim).await.into_iter().filter(|r| r["idempotency_key"] == json!(b.idempotency_key)).collect();
    assert_eq!(processed.len(), 1, "{processed:?}");
    assert!(outbox.entries().await.is_empty());
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_an_ask_in_flight_sends_it_once_on_production() {
    a_restart_with_an_ask_in_flight(Profile::Production).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_an_ask_in_flight_sends_it_once_on_the_default_profile() {
    a_restart_with_an_ask_in_flight(Profile::Default).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_conversation_leaves_the_ask_to_the_user_who_can_send_it_again() {
    let sim = sim_with(Profile::Production).await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    sim.ctl.fault(&Fault::status(HISTORY, 500).method("GET")).await;
    sim.ctl.fault(&Fault::new(MESSAGE, "status_after").with_status(504).method("POST").count(1)).await;
    let outbox = open_outbox(&sim, &events, &dir).await;
    let text = "Find a plumber who can come today";
    let a = outbox.ask(text).await.unwrap();
    let unsure = next_event(
        &mut rx,
        "AskMaybeSent",
        |e| matches!(e, Event::AskMaybeSent { local_id, .. } if *local_id == a.local_id),
    )
    .await;
    assert_eq!(unsure, Event::AskMaybeSent { local_id: a.local_id.clone(), code: "gateway_timeout".into() });
    // Kept as typed, read back a bounded number of times, never resent on its own.
    let entries = outbox.entries().await;
    assert_eq!(
        (entries[0].text.as_str(), &entries[0].state),
        (text, &AskState::MaybeSent { code: "gateway_timeout".into() })
    );
    assert!(on_disk(&dir).to_string().contains("maybe_sent"));
    assert_eq!(sim.ctl.requests_to("GET", HISTORY).await.len(), 4, "bounded read-backs");
    outbox.wake();
    assert_eq!(message_requests(&sim).await.len(), 1);
    assert_eq!(outbox.discard("no-such-ask").await.unwrap_err(), OutboxError::NotFound);

    // The user chose "Send again": one more request, same key, answered.
    let again = outbox.resend(&a.local_id, None).await.unwrap();
    assert_eq!(again.idempotency_key, a.idempotency_key);
    reply_to(&mut rx, &a.local_id).await;
    let log = message_requests(&sim).await;
    assert_eq!(log.iter().map(|r| r["status"].as_u64().unwrap()).collect::<Vec<_>>(), vec![504, 200]);
    // Production ignores the key: the server now has it twice, which is what the user chose.
    sim.ctl.clear_faults().await;
    assert_eq!(times_asked(&sim, text).await, 2);
    assert!(outbox.entries().await.is_empty());
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_left_sending_without_a_conversation_is_shown_as_maybe_sent() {
    let sim = sim_with(Profile::Production).await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    // What an older version left behind when it stopped mid-send: no conversation to read back.
    let file = json!({
        "version": 1,
        "current": {"thread": "t1", "conversation_id": null, "last_active_at": 1},
        "entries": [{"local_id": "l1", "text": "Email Sam that I am running late", "conversation_id": null,
                     "thread": "t1", "idempotency_key": "k1", "queued_at": 1, "state": {"kind": "sending"}}]
    });
    std::fs::write(dir.file(), serde_json::to_vec(&file).unwrap()).unwrap();
    let outbox = open_outbox(&sim, &events, &dir).await;
    let unsure = next_event(&mut rx, "AskMaybeSent", |e| matches!(e, Event::AskMaybeSent { .. })).await;
    assert_eq!(unsure, Event::AskMaybeSent { local_id: "l1".into(), code: "interrupted".into() });
    assert!(message_requests(&sim).await.is_empty());
    outbox.discard("l1").await.unwrap();
    assert!(outbox.entries().await.is_empty());
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_words_asked_again_are_not_mistaken_for_the_earlier_ask() {
    let sim = sim_with(Profile::Production).await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    let outbox = open_outbox(&sim, &events, &dir).await;
    let text = "Find a taxi to the airport";
    let first = outbox.ask(text).await.unwrap();
    let conv = reply_to(&mut rx, &first.local_id).await.conversation_id.unwrap();

    // Asked again; this time the connection drops before the sim runs it. The earlier ask with
    // the same words is in the conversation, but it is not this one: this one goes again.
    sim.ctl.fault(&Fault::new(MESSAGE, "drop_before").method("POST").count(1)).await;
    let second = outbox.ask(text).await.unwrap();
    next_event(
        &mut rx,
        "AskChecking",
        |e| matches!(e, Event::AskChecking { local_id } if *local_id == second.local_id),
    )
    .await;
    reply_to(&mut rx, &second.local_id).await;
    let tries: Vec<Value> = message_requests(&sim)
        .await
        .into_iter()
        .filter(|r| r["idempotency_key"] == json!(second.idempotency_key))
        .collect();
    assert_eq!(tries.len(), 2, "dropped before it ran, then sent again with the same key: {tries:?}");
    assert_eq!(user_messages(&sim, &conv).await, vec![text, text]);

    // A third time, the answer lost after it ran: found (after the mark), not sent again.
    sim.ctl.fault(&Fault::new(MESSAGE, "status_after").with_status(504).method("POST").count(1)).await;
    let third = outbox.ask(text).await.unwrap();
    reply_to(&mut rx, &third.local_id).await;
    let log = message_requests(&sim).await;
    assert_eq!(log.iter().filter(|r| r["idempotency_key"] == json!(third.idempotency_key)).count(), 1);
    assert_eq!(user_messages(&sim, &conv).await, vec![text, text, text]);
    outbox.shutdown().await;
}

/// Issue 13, acceptance 3: 30 asks against the production profile while the sim answers 504
/// after running a good share of them (and cuts the line after running others), with the app
/// stopped and started again several times in between. Each reaches the server exactly once,
/// none is lost, and any whose fate could not be known is left to the user as "maybe sent".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_asks_through_lost_answers_and_restarts_reach_production_exactly_once() {
    let sim = sim_with(Profile::Production).await;
    let events = EventBus::new(8192);
    let recorder = Recorder::start(&events);
    let dir = TempDir::new();
    let open = || async { open_outbox(&sim, &events, &dir).await };

    // One ask's charge, measured on a clean ask of the same kind (a search).
    let start_balance = balance(&sim).await;
    let mut outbox = open().await;
    let probe = outbox.ask("Find a coworking space near the harbour").await.unwrap();
    recorder.reply(&probe.local_id).await;
    let one_charge = round2(start_balance - balance(&sim).await);
    assert!(one_charge > 0.0);

    sim.ctl.fault(&Fault::new(MESSAGE, "status_after").with_status(504).method("POST").probability(0.4)).await;
    sim.ctl.fault(&Fault::new(MESSAGE, "drop_after").method("POST").probability(0.3)).await;
    let texts: Vec<String> = (1..=30).map(|i| format!("Find coworking space number {i} near the station")).collect();
    let mut asked = Vec::new();
    let mut restarts = 0;
    for (batch, chunk) in texts.chunks(5).enumerate() {
        let from = recorder.len();
        for text in chunk {
            asked.push(outbox.ask(text).await.unwrap());
        }
        // Stop at a different moment each time: while an ask is being read back, or just as one
        // starts going out. If neither comes soon (no fault fired), stop anyway.
        let checking = batch % 2 == 0;
        recorder
            .seen_after(from, Duration::from_secs(5), |e| match e {
                Event::AskChecking { .. } => checking,
                Event::AskSending { .. } => !checking,
                _ => false,
            })
            .await;
        outbox.shutdown().await;
        drop(outbox);
        restarts += 1;
        outbox = open().await;
    }

    // Settled: every ask answered (its AskSent recorded: the outbox drops an entry just before
    // it publishes the answer), or left to the user.
    let settled = wait::holds_within(Duration::from_secs(90), || async {
        let entries = outbox.entries().await;
        let answered = recorder.replies();
        entries.iter().all(|e| matches!(e.state, AskState::MaybeSent { .. }))
            && asked.iter().all(|a| {
                answered.iter().any(|(id, _)| *id == a.local_id) || entries.iter().any(|e| e.local_id == a.local_id)
            })
    })
    .await;
    assert!(settled, "still in the outbox: {:?}", outbox.entries().await);
    let answered: Vec<(String, AskReply)> = recorder.replies();
    let unsure: Vec<OutboxEntry> = outbox.entries().await;
    for ask in &asked {
        let replies = answered.iter().filter(|(id, _)| *id == ask.local_id).count();
        let kept = unsure.iter().filter(|e| e.local_id == ask.local_id).count();
        assert_eq!(replies + kept, 1, "{:?}: answered {replies} times, kept {kept} times", ask.text);
    }
    assert!(answered.iter().all(|(_, reply)| !reply.text.is_empty()), "every answer shown has its text");

    // The sim's record: each text once in the conversation, each ask's key once in the request
    // log (no second processing), and credits charged for 31 asks exactly.
    for ask in &asked {
        assert_eq!(times_asked(&sim, &ask.text).await, 1, "{:?}", ask.text);
    }
    let log = message_requests(&sim).await;
    for ask in &asked {
        let sent = log.iter().filter(|r| r["idempotency_key"] == json!(ask.idempotency_key)).count();
        assert_eq!(sent, 1, "{:?} was sent {sent} times", ask.text);
    }
    let charged = round2(start_balance - balance(&sim).await);
    assert_eq!(charged, round2(31.0 * one_charge), "one charge per ask");

    let faulted = log.iter().filter(|r| !r["fault"].is_null()).count();
    let read_back = recorder.count(|e| matches!(e, Event::AskChecking { .. }));
    assert!(faulted >= 5 && read_back >= faulted, "faults {faulted}, read-backs {read_back}");
    assert!(recorder.lagged() == 0, "the recorder missed events");
    println!(
        "30 asks: {faulted} answers lost, {read_back} read-backs, {restarts} restarts, {} left to the user",
        unsure.len()
    );
    outbox.shutdown().await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_credits_keeps_the_ask_with_the_server_message_until_resent() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    sim.ctl.set_credits(0.0).await;
    let outbox = open_outbox(&sim, &events, &dir).await;

    let a = outbox.ask("Call the dentist to move my appointment").await.unwrap();
    let failed =
        next_event(&mut rx, "AskFailed", |e| matches!(e, Event::AskFailed { local_id, .. } if *local_id == a.local_id))
            .await;
    let Event::AskFailed { code, message, server_message, manage_plan, .. } = failed else { unreachable!() };
    assert_eq!(code, "quota_exceeded");
    assert!(manage_plan);
    assert!(message.contains("credits"), "{message}");
    assert!(server_message.as_deref().unwrap_or("").contains("out of credits"), "{server_message:?}");

    // Kept, and not retried on its own: a later ask (refused too) is tried, the first is not.
    let b = outbox.ask("What time is it in Tokyo?").await.unwrap();
    next_event(&mut rx, "AskFailed", |e| matches!(e, Event::AskFailed { local_id, .. } if *local_id == b.local_id))
        .await;
    outbox.wake();
    let entries = outbox.entries().await;
    assert_eq!(entries.len(), 2);
    assert!(matches!(&entries[0].state, AskState::Failed { code, .. } if code == "quota_exceeded"));
    let log = message_requests(&sim).await;
    assert_eq!(log.iter().filter(|r| r["idempotency_key"] == json!(a.idempotency_key)).count(), 1);
    let saved = on_disk(&dir).to_string();
    assert!(saved.contains("Call the dentist") && saved.contains("quota_exceeded"), "{saved}");

    // Topped up: the user resends one (a fresh key: the refusal ran nothing) and discards the other.
    sim.ctl.set_credits(50.0).await;
    let resent = outbox.resend(&a.local_id, None).await.unwrap();
    assert_ne!(resent.idempotency_key, a.idempotency_key);
    let reply = reply_to(&mut rx, &a.local_id).await;
    assert!(!reply.text.is_empty());
    outbox.discard(&b.local_id).await.unwrap();
    assert!(outbox.entries().await.is_empty());
    assert_eq!(outbox.discard(&b.local_id).await.unwrap_err(), OutboxError::NotFound);
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_waited_out_even_when_woken() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    sim.ctl.fault(&Fault::new(MESSAGE, "rate_limit").retry_after_secs(1).count(1)).await;
    let outbox = open_outbox(&sim, &events, &dir).await;

    let a = outbox.ask("Find a florist open on Sunday").await.unwrap();
    let waiting = next_event(&mut rx, "AskWaiting", |e| matches!(e, Event::AskWaiting { .. })).await;
    let limited_at = Instant::now();
    let Event::AskWaiting { code, retry_in_ms, message, .. } = waiting else { unreachable!() };
    assert_eq!((code.as_str(), retry_in_ms), ("rate_limited", 1000));
    assert!(message.contains("1 seconds"), "{message}");
    outbox.wake(); // a wake-up does not cut a server-requested wait short
    reply_to(&mut rx, &a.local_id).await;
    assert!(limited_at.elapsed() >= Duration::from_millis(900), "resent after {:?}", limited_at.elapsed());
    let log = message_requests(&sim).await;
    assert_eq!(log.iter().map(|r| r["status"].as_u64().unwrap()).collect::<Vec<_>>(), vec![429, 200]);
    assert_eq!(log[0]["idempotency_key"], log[1]["idempotency_key"]);
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_out_ask_waits_and_is_sent_on_sign_in() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    let session = Arc::new(
        Session::new(AuthApi::new(sim.config()).unwrap(), Arc::new(MemoryStore::new())).with_events(events.clone()),
    );
    let client = Client::with_events(sim.config().with_retry(no_retry()), session.clone(), events.clone()).unwrap();
    // A long backoff: only the sign-in can bring the ask out within the test's deadline.
    let settings = OutboxSettings {
        retry_base: Duration::from_secs(60),
        retry_max: Duration::from_secs(60),
        ..Default::default()
    };
    let outbox = Outbox::open(dir.file(), client, events.clone(), settings).await.unwrap();

    let a = outbox.ask("Search for flights to Lisbon in May").await.unwrap();
    next_event(
        &mut rx,
        "AskWaiting",
        |e| matches!(e, Event::AskWaiting { local_id, code, .. } if *local_id == a.local_id && code == "not_signed_in"),
    )
    .await;
    assert!(message_requests(&sim).await.is_empty(), "nothing was sent without a token");
    session.sign_in(sim.tokens().await).await.unwrap();
    let reply = reply_to(&mut rx, &a.local_id).await;
    assert!(reply.text.contains("Lisbon"), "{}", reply.text);
    assert_no_secret_in(&sim, &dir.file()).await;
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_a_reply_is_kept_as_plain_text() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    let outbox = open_outbox(&sim, &events, &dir).await;
    let a = outbox.ask("Find <script>alert(1)</script><img src=x onerror=alert(1)>").await.unwrap();
    let reply = reply_to(&mut rx, &a.local_id).await;
    assert!(reply.text.contains("<script>alert(1)</script><img src=x onerror=alert(1)>"), "{}", reply.text);
    // Byte for byte what the sim stored as its answer.
    let history = sim.client().await.coordination().history(reply.conversation_id.as_deref(), None).await.unwrap();
    let answer = history.messages.iter().find(|m| m.role == "assistant").unwrap();
    assert_eq!(answer.content, reply.text);
    // The event the shell forwards to the window carries it unchanged too.
    let v = serde_json::to_value(Event::AskSent { local_id: a.local_id.clone(), reply: reply.clone() }).unwrap();
    assert_eq!(v["reply"]["text"], json!(reply.text));
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_continues_the_conversation_unless_it_went_idle() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    let outbox = open_outbox(&sim, &events, &dir).await;
    let a = outbox.ask("What is on my calendar tomorrow?").await.unwrap();
    let conv = reply_to(&mut rx, &a.local_id).await.conversation_id.unwrap();
    outbox.shutdown().await;

    // Restarted soon after: the conversation goes on.
    let outbox = open_outbox(&sim, &events, &dir).await;
    assert_eq!(outbox.conversation().await.conversation_id.as_deref(), Some(conv.as_str()));
    let b = outbox.ask("And on Friday?").await.unwrap();
    assert_eq!(reply_to(&mut rx, &b.local_id).await.conversation_id.as_deref(), Some(conv.as_str()));
    outbox.shutdown().await;

    // Restarted after the idle timeout (its last activity moved an hour back): a new one.
    let mut saved = on_disk(&dir);
    let last = saved["current"]["last_active_at"].as_u64().unwrap();
    saved["current"]["last_active_at"] = json!(last - 3_600_000);
    replace_on_disk(&dir, &saved);
    let outbox = open_outbox(&sim, &events, &dir).await;
    assert_eq!(outbox.conversation().await.conversation_id, None);
    let c = outbox.ask("Anything new?").await.unwrap();
    assert_eq!(c.conversation_id, None);
    let other = reply_to(&mut rx, &c.local_id).await.conversation_id.unwrap();
    assert_ne!(other, conv);

    // A conversation picked from the list is continued.
    outbox.continue_conversation(&conv).await.unwrap();
    let d = outbox.ask("Back to the calendar").await.unwrap();
    assert_eq!(reply_to(&mut rx, &d.local_id).await.conversation_id.as_deref(), Some(conv.as_str()));
    let log = message_requests(&sim).await;
    assert_eq!(log.last().unwrap()["conversation_id"], json!(conv));
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_online_or_a_wake_up_cuts_the_backoff_short() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    // Failing before the ask goes out (making its conversation), so the ask itself is safe to retry.
    sim.ctl.fault(&Fault::status(CONVERSATIONS, 502).method("POST").count(2)).await;
    // A backoff far beyond the test's deadline: only the wake-ups can bring the ask out.
    let settings = OutboxSettings {
        retry_base: Duration::from_secs(120),
        retry_max: Duration::from_secs(120),
        ..Default::default()
    };
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), settings).await.unwrap();

    let a = outbox.ask("Find a vet open late").await.unwrap();
    let is_waiting = |e: &Event| matches!(e, Event::AskWaiting { local_id, .. } if *local_id == a.local_id);
    next_event(&mut rx, "AskWaiting", is_waiting).await;
    events.publish(Event::ConnectivityChanged { online: true });
    next_event(&mut rx, "AskWaiting", is_waiting).await;
    outbox.wake();
    reply_to(&mut rx, &a.local_id).await;
    let log = sim.ctl.requests_to("POST", CONVERSATIONS).await;
    assert_eq!(log.iter().map(|r| r["status"].as_u64().unwrap()).collect::<Vec<_>>(), vec![502, 502, 200]);
    let asks = message_requests(&sim).await;
    assert_eq!((asks.len(), &asks[0]["idempotency_key"]), (1, &json!(a.idempotency_key)));
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_into_a_conversation_the_server_forgot_starts_a_new_one() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    let outbox = open_outbox(&sim, &events, &dir).await;
    let gone = "0a1e0000-4000-8000-0000-00000000dead";
    outbox.continue_conversation(gone).await.unwrap();
    let a = outbox.ask("What is on my calendar tomorrow?").await.unwrap();
    let reply = reply_to(&mut rx, &a.local_id).await;
    let conv = reply.conversation_id.unwrap();
    assert_ne!(conv, gone);
    assert_eq!(outbox.conversation().await.conversation_id.as_deref(), Some(conv.as_str()));
    // Reading it before the send found it gone: the ask went to a new one, once.
    let read = sim.ctl.requests_to("GET", HISTORY).await;
    assert_eq!((read[0]["status"].as_u64(), &read[0]["conversation_id"]), (Some(404), &json!(gone)));
    let log = message_requests(&sim).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!((log[0]["status"].as_u64(), &log[0]["conversation_id"]), (Some(200), &json!(conv)));
    assert_eq!(user_messages(&sim, &conv).await, vec!["What is on my calendar tomorrow?"]);
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_that_cannot_be_saved_is_refused_not_half_queued() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let dir = TempDir::new();
    let outbox = open_outbox(&sim, &events, &dir).await;
    // The data dir turns into a file: nothing can be written there any more.
    std::fs::remove_dir_all(&dir.0).unwrap();
    std::fs::write(&dir.0, b"not a directory").unwrap();
    let err = outbox.ask("Find a locksmith").await.unwrap_err();
    assert!(matches!(err, OutboxError::Storage(_)), "{err:?}");
    assert_eq!(serde_json::to_value(&err).unwrap()["code"], "outbox_storage");
    assert!(outbox.entries().await.is_empty(), "the text stays in the box, not in a queue that is not on disk");
    assert!(message_requests(&sim).await.is_empty(), "an unsaved ask is not sent");
    outbox.shutdown().await;
    std::fs::remove_file(&dir.0).unwrap();
    std::fs::create_dir_all(&dir.0).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_asks_is_sent_one_at_a_time_in_order_in_one_conversation() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Outbox>(); // the shell keeps it in Tauri's managed state

    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    let outbox = open_outbox(&sim, &events, &dir).await;
    let texts: Vec<String> = (1..=5).map(|i| format!("Question number {i}?")).collect();
    let mut ids = Vec::new();
    for t in &texts {
        ids.push(outbox.ask(t).await.unwrap().local_id);
    }
    let mut order = Vec::new();
    let mut conversations = Vec::new();
    while order.len() < ids.len() {
        if let Event::AskSent { local_id, reply } =
            next_event(&mut rx, "AskSent", |e| matches!(e, Event::AskSent { .. })).await
        {
            order.push(local_id);
            conversations.push(reply.conversation_id.unwrap());
        }
    }
    assert_eq!(order, ids);
    assert!(conversations.iter().all(|c| *c == conversations[0]), "{conversations:?}");
    assert_eq!(user_messages(&sim, &conversations[0]).await, texts);
    let log = message_requests(&sim).await;
    assert_eq!(log.len(), 5);
    outbox.shutdown().await;
}

/// Issue 15: an ask that continues a conversation right after an answer is written once, when
/// queued, with everything a read-back needs (no "sending" write before the request); stopped
/// while that request is in flight, the next start reads it back before it is ever sent again,
/// and it reaches the conversation once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_written_once_is_still_read_back_after_a_stop_mid_send() {
    let sim = sim_with(Profile::Production).await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    let outbox = open_outbox(&sim, &events, &dir).await;
    let first = outbox.ask("What is on my calendar today?").await.unwrap();
    let conv = reply_to(&mut rx, &first.local_id).await.conversation_id.unwrap();

    sim.ctl.fault(&Fault::new(MESSAGE, "latency").latency_ms(3000).count(1)).await;
    let text = "And what is on it tomorrow?";
    let second = outbox.ask(text).await.unwrap();
    assert!(second.armed && second.mark.is_some(), "queued with its conversation and mark: {second:?}");
    assert_eq!(second.conversation_id.as_deref(), Some(conv.as_str()));
    next_event(&mut rx, "AskSending", |e| matches!(e, Event::AskSending { local_id } if *local_id == second.local_id))
        .await;
    // In flight now (the sim holds the request): the disk still says what the queueing wrote.
    assert_eq!(saved_state(&dir, &second.local_id), "queued");
    outbox.shutdown().await;
    drop(outbox);

    let before_restart = sim.ctl.requests().await.len();
    let outbox = open_outbox(&sim, &events, &dir).await;
    next_event(
        &mut rx,
        "AskChecking",
        |e| matches!(e, Event::AskChecking { local_id } if *local_id == second.local_id),
    )
    .await;
    reply_to(&mut rx, &second.local_id).await;
    // After the restart the conversation was read before any message went out.
    let after: Vec<Value> = sim.ctl.requests().await.into_iter().skip(before_restart).collect();
    let first_read = after.iter().position(|r| r["path"].as_str().is_some_and(|p| p.starts_with(HISTORY)));
    let first_send = after.iter().position(|r| r["path"] == MESSAGE);
    assert!(first_read.is_some() && first_send.is_none_or(|s| Some(s) > first_read), "{after:#?}");
    assert_eq!(times_asked(&sim, text).await, 1, "the ask reached its conversation once");
    assert!(outbox.entries().await.is_empty());
    outbox.shutdown().await;
}

// Issue 17, acceptance 2: asks written under one sign-in are never sent as the next. Queued while
// the service fails, then a sign-out: they are held (kept, with one sentence), not sent when
// someone signs in again; the new sign-in's own ask goes at once, the held one only when the user
// sends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asks_written_before_a_sign_out_are_held_not_sent_as_the_next_account() {
    for profile in [Profile::Default, Profile::Production] {
        let sim = sim_with(profile).await;
        let events = EventBus::default();
        let mut rx = events.subscribe();
        let (client, session) = sim.session_client(&events).await;
        let dir = TempDir::new();
        // Rate limited: the ask surely did not run, so it stays queued and waits.
        sim.ctl.fault(&Fault::new(MESSAGE, "rate_limit").retry_after_secs(1)).await;
        let outbox = Outbox::open(dir.file(), client, events.clone(), fast_settings()).await.unwrap();
        let typed = "Book the usual table for Friday";
        let held = outbox.ask(typed).await.unwrap();
        next_event(
            &mut rx,
            "a failed try",
            |e| matches!(e, Event::AskWaiting { local_id, .. } if *local_id == held.local_id),
        )
        .await;

        session.sign_out().await.unwrap();
        let failed = next_event(
            &mut rx,
            "the ask held",
            |e| matches!(e, Event::AskFailed { local_id, .. } if *local_id == held.local_id),
        )
        .await;
        let Event::AskFailed { code, message, .. } = failed else { unreachable!() };
        assert_eq!(code, "held_signed_out");
        assert!(message.contains("sign-out"), "{message}");

        // Someone signs in; the service is back.
        sim.ctl.clear_faults().await;
        sim.ctl.clear_requests().await;
        session.sign_in(sim.tokens().await).await.unwrap();
        let own = outbox.ask("What is on my calendar today?").await.unwrap();
        reply_to(&mut rx, &own.local_id).await;
        let sent = message_requests(&sim).await;
        assert_eq!(sent.len(), 1, "only the new sign-in's own ask went: {sent:#?}");
        assert_eq!(times_asked(&sim, typed).await, 0, "the held ask was not sent");
        let kept = outbox.entries().await;
        let entry = kept.iter().find(|e| e.local_id == held.local_id).expect("the held ask is kept");
        assert!(matches!(&entry.state, AskState::Failed { code, .. } if code == "held_signed_out"), "{entry:?}");
        assert_eq!(entry.text, typed);

        // With the user's say-so it goes, once.
        outbox.resend(&held.local_id, None).await.unwrap();
        reply_to(&mut rx, &held.local_id).await;
        assert_eq!(times_asked(&sim, typed).await, 1);
        outbox.shutdown().await;
    }
}

// Issue 17: asks written for one KallyAI server are never sent to another. An outbox left with a
// queued ask for server A is opened against server B (another API base): the ask is held with a
// sentence naming A, B never receives it, B's own asks go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asks_written_for_another_server_are_held_not_sent_there() {
    let (a, b) = (Sim::start().await, Sim::start().await);
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    a.ctl.fault(&Fault::new(MESSAGE, "rate_limit").retry_after_secs(30)).await;
    let outbox = open_outbox(&a, &events, &dir).await;
    let typed = "Cancel my Thursday dentist appointment";
    let queued = outbox.ask(typed).await.unwrap();
    next_event(
        &mut rx,
        "a failed try",
        |e| matches!(e, Event::AskWaiting { local_id, .. } if *local_id == queued.local_id),
    )
    .await;
    outbox.shutdown().await;

    let on_b = open_outbox(&b, &events, &dir).await;
    let kept = on_b.entries().await;
    let entry = kept.iter().find(|e| e.local_id == queued.local_id).expect("kept");
    let AskState::Failed { code, message, .. } = &entry.state else { panic!("{entry:?}") };
    assert_eq!(code, "held_other_server");
    assert!(message.contains(&a.url), "names the server it was written for: {message}");
    let own = on_b.ask("What is on my calendar today?").await.unwrap();
    reply_to(&mut rx, &own.local_id).await;
    assert_eq!(message_requests(&b).await.len(), 1, "only B's own ask reached B");
    assert_eq!(times_asked(&b, typed).await, 0);
    on_b.shutdown().await;
}

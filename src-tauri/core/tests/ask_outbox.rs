//! The quick-ask outbox against a real sim: replies, conversations, and nothing typed lost to
//! faults, restarts, dropped answers, 402, 429 or a sign-out.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Sim;
use kallyai_core::ask::{AskReply, AskState, Outbox, OutboxError, OutboxSettings};
use kallyai_core::auth::{AuthApi, MemoryStore, Session, StaticToken};
use kallyai_core::{Client, Event, EventBus, IdempotencyKey, RetryPolicy};
use serde_json::{json, Value};
use tokio::sync::broadcast::{error::RecvError, Receiver};

const MESSAGE: &str = "/v1/coordination/message";
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
    sim.requests_to("POST", MESSAGE).await
}

/// The user's messages of one conversation, oldest first, from the sim's own history.
async fn user_messages(sim: &Sim, conversation_id: &str) -> Vec<String> {
    let client = sim.client().await;
    let history = client.coordination().history(Some(conversation_id), Some(200)).await.unwrap();
    history.messages.into_iter().filter(|m| m.role == "user").map(|m| m.content).collect()
}

async fn assert_no_secret_in(sim: &Sim, path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    for secret in sim.issued_secrets().await {
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
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();
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

    let log = message_requests(&sim).await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0]["conversation_id"], Value::Null);
    assert_eq!(log[1]["conversation_id"], json!(conv));
    assert_eq!(log[2]["conversation_id"], Value::Null);
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
    sim.fault(json!({"route": "/v1/coordination/*", "kind": "status", "status": 503})).await;

    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();
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
    let saved = std::fs::read_to_string(dir.file()).unwrap();
    assert!(saved.contains(&a.idempotency_key) && saved.contains(&b.idempotency_key), "{saved}");
    assert_no_secret_in(&sim, &dir.file()).await;
    let failed_attempts = message_requests(&sim).await;
    assert!(failed_attempts.len() >= 2);
    assert!(failed_attempts.iter().all(|r| r["status"] == 503 && r["idempotency_key"] == json!(a.idempotency_key)));

    // "Restart": a new outbox on the same file, the service healthy again.
    sim.clear_faults().await;
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();
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

    let ok: Vec<Value> = message_requests(&sim).await.into_iter().filter(|r| r["status"] == 200).collect();
    assert_eq!(ok.len(), 2, "{ok:?}");
    assert_eq!(ok[0]["idempotency_key"], json!(a.idempotency_key));
    assert_eq!(ok[1]["idempotency_key"], json!(b.idempotency_key));
    assert_eq!(ok[1]["conversation_id"], json!(conv));
    assert_eq!(user_messages(&sim, &conv).await, vec!["Find a plumber nearby", "Email Sam that I am running late"]);
    assert!(outbox.entries().await.is_empty());
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(dir.file()).unwrap()).unwrap();
    assert_eq!(saved["entries"], json!([]));
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_whose_answer_was_dropped_is_not_repeated_after_a_restart() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    // The sim runs the ask, then cuts the connection before answering: every time.
    sim.fault(json!({"route": MESSAGE, "kind": "drop_after"})).await;

    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();
    let a = outbox.ask("Search for a quiet cafe to work from").await.unwrap();
    next_event(&mut rx, "AskWaiting", |e| matches!(e, Event::AskWaiting { local_id, code, .. } if *local_id == a.local_id && code == "connection_lost")).await;
    let b = outbox.ask("Find one with good wifi").await.unwrap();
    next_event(&mut rx, "AskWaiting", |e| matches!(e, Event::AskWaiting { local_id, .. } if *local_id == a.local_id))
        .await;
    outbox.shutdown().await;

    sim.clear_faults().await;
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();
    let reply_a = reply_to(&mut rx, &a.local_id).await;
    let reply_b = reply_to(&mut rx, &b.local_id).await;
    let conv = reply_a.conversation_id.clone().unwrap();
    assert_eq!(reply_b.conversation_id.as_deref(), Some(conv.as_str()));

    // The server saw the first ask several times under one key and ran it once.
    let log = message_requests(&sim).await;
    let a_attempts = log.iter().filter(|r| r["idempotency_key"] == json!(a.idempotency_key)).count();
    assert!(a_attempts >= 3, "{log:?}");
    assert_eq!(log.iter().filter(|r| r["idempotency_key"] == json!(b.idempotency_key)).count(), 1);
    assert_eq!(
        user_messages(&sim, &conv).await,
        vec!["Search for a quiet cafe to work from", "Find one with good wifi"]
    );
    assert!(outbox.entries().await.is_empty());
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_credits_keeps_the_ask_with_the_server_message_until_resent() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    sim.control("POST", "/_sim/credits", json!({"credits_remaining": 0})).await;
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();

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
    let saved = std::fs::read_to_string(dir.file()).unwrap();
    assert!(saved.contains("Call the dentist") && saved.contains("quota_exceeded"), "{saved}");

    // Topped up: the user resends one (a fresh key: the refusal ran nothing) and discards the other.
    sim.control("POST", "/_sim/credits", json!({"credits_remaining": 50})).await;
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
    sim.fault(json!({"route": MESSAGE, "kind": "rate_limit", "retry_after_secs": 1, "count": 1})).await;
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();

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
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();
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
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();
    let a = outbox.ask("What is on my calendar tomorrow?").await.unwrap();
    let conv = reply_to(&mut rx, &a.local_id).await.conversation_id.unwrap();
    outbox.shutdown().await;

    // Restarted soon after: the conversation goes on.
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();
    assert_eq!(outbox.conversation().await.conversation_id.as_deref(), Some(conv.as_str()));
    let b = outbox.ask("And on Friday?").await.unwrap();
    assert_eq!(reply_to(&mut rx, &b.local_id).await.conversation_id.as_deref(), Some(conv.as_str()));
    outbox.shutdown().await;

    // Restarted after the idle timeout (its last activity moved an hour back): a new one.
    let mut saved: Value = serde_json::from_str(&std::fs::read_to_string(dir.file()).unwrap()).unwrap();
    let last = saved["current"]["last_active_at"].as_u64().unwrap();
    saved["current"]["last_active_at"] = json!(last - 3_600_000);
    std::fs::write(dir.file(), serde_json::to_vec(&saved).unwrap()).unwrap();
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();
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
    sim.fault(json!({"route": MESSAGE, "kind": "status", "status": 502, "count": 2})).await;
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
    let log = message_requests(&sim).await;
    assert_eq!(log.iter().map(|r| r["status"].as_u64().unwrap()).collect::<Vec<_>>(), vec![502, 502, 200]);
    assert!(log.iter().all(|r| r["idempotency_key"] == json!(a.idempotency_key)));
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_into_a_conversation_the_server_forgot_starts_a_new_one() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = TempDir::new();
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();
    let gone = "0a1e0000-4000-8000-0000-00000000dead";
    outbox.continue_conversation(gone).await.unwrap();
    let a = outbox.ask("What is on my calendar tomorrow?").await.unwrap();
    let reply = reply_to(&mut rx, &a.local_id).await;
    let conv = reply.conversation_id.unwrap();
    assert_ne!(conv, gone);
    assert_eq!(outbox.conversation().await.conversation_id.as_deref(), Some(conv.as_str()));
    let log = message_requests(&sim).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!((log[0]["status"].as_u64(), &log[0]["conversation_id"]), (Some(404), &json!(gone)));
    assert_eq!((log[1]["status"].as_u64(), &log[1]["conversation_id"]), (Some(200), &Value::Null));
    assert_eq!(user_messages(&sim, &conv).await, vec!["What is on my calendar tomorrow?"]);
    outbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_that_cannot_be_saved_is_refused_not_half_queued() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let dir = TempDir::new();
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();
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
    let outbox = Outbox::open(dir.file(), client(&sim, &events).await, events.clone(), fast_settings()).await.unwrap();
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

//! Every fault kind of the sim, and what the client does about it: retries only where safe
//! (GET; a POST with an Idempotency-Key when nothing ran, or when the server has echoed a key
//! back), a bounded number of times, honouring Retry-After.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Fault, Ring, Sim};
use kallyai_core::api::calls::{NewCall, Submission};
use kallyai_core::api::inbound::{InboundQuery, InboundStatus};
use kallyai_core::auth::{SignedOut, StaticToken};
use kallyai_core::{Client, Config, Event, EventBus, IdempotencyKey};
use serde_json::json;

const BALANCE: &str = "/v1/credits/balance";

fn new_call() -> NewCall {
    NewCall {
        submission: Submission {
            task_category: "restaurant".into(),
            task_description: "Book a table for two tonight at 21:00".into(),
            respondent_phone: "+34911222333".into(),
            ..Default::default()
        },
        timezone: "Europe/Madrid".into(),
        session_id: None,
    }
}

async fn ring(sim: &Sim) -> String {
    sim.ctl.ring(&Ring::new("+34600123123")).await
}

async fn call_total(client: &Client) -> u64 {
    client.calls().list(Some(1), None).await.unwrap().total.unwrap()
}

/// One keyed request whose answer echoes its key: the client learns the sim honours keys (a
/// question, so nothing is charged or created but a conversation).
async fn learn_keys(client: &Client) {
    assert!(!client.honours_idempotency_keys());
    client.coordination().message("What time is it in Tokyo?", None).await.unwrap();
    assert!(client.honours_idempotency_keys(), "the default profile echoes Idempotency-Key");
}

/// A client whose requests give up after `timeout` (for latency and slow-body faults).
async fn impatient_client(sim: &Sim, timeout: Duration) -> Client {
    let token = sim.tokens().await.access;
    let config = sim.config().with_timeouts(timeout, Duration::from_secs(2), Duration::from_secs(5));
    Client::new(config, Arc::new(StaticToken::new(token))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_statuses_are_retried_on_get_until_success() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    for status in [502, 503, 504] {
        sim.ctl.clear_requests().await;
        sim.ctl.fault(&Fault::status(BALANCE, status).method("GET").count(2)).await;
        let balance = client.credits().balance().await.unwrap();
        assert!(balance.credits_allocated.value() > 0.0);
        let log = sim.ctl.requests_to("GET", BALANCE).await;
        let statuses: Vec<_> = log.iter().map(|r| r["status"].as_u64().unwrap()).collect();
        assert_eq!(statuses, vec![u64::from(status), u64::from(status), 200], "{status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    sim.ctl.fault(&Fault::status(BALANCE, 503)).await;
    let err = client.credits().balance().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.to_string(), "KallyAI is having trouble right now. Try again in a moment.");
    // One attempt plus max_retries (3).
    assert_eq!(sim.ctl.requests_to("GET", BALANCE).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_are_not_transient_are_never_retried() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    for status in [500, 400, 403, 404, 409, 422] {
        sim.ctl.clear_requests().await;
        sim.ctl.fault(&Fault::status(BALANCE, status).count(1)).await;
        let err = client.credits().balance().await.unwrap_err();
        assert_eq!(err.status(), Some(status));
        assert_eq!(sim.ctl.requests_to("GET", BALANCE).await.len(), 1, "{status} was retried");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unkeyed_posts_are_never_retried() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let id = ring(&sim).await;
    let path = format!("/v1/inbound/calls/{id}/takeover");
    sim.ctl.fault(&Fault::status(&path, 503)).await;
    let err = client.inbound().takeover(&id).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(sim.ctl.requests_to("POST", &path).await.len(), 1);

    let path = format!("/v1/inbound/calls/{id}/reject");
    sim.ctl.fault(&Fault::new(&path, "rate_limit").retry_after_secs(0)).await;
    let err = client.inbound().reject(&id, Some("user_rejected")).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(sim.ctl.requests_to("POST", &path).await.len(), 1);

    sim.ctl.fault(&Fault::new("/v1/goals/estimate", "drop_before")).await;
    let err = client.budget().estimate("call", "Call the dentist").await.unwrap_err();
    assert_eq!(err.code(), "connection_lost", "{err:?}");
    assert_eq!(sim.ctl.requests_to("POST", "/v1/goals/estimate").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_create_is_retried_with_the_same_key_once_the_server_echoes_keys() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let before = call_total(&client).await;
    // Before the server has shown it honours keys, a 503 (which may come after the work) is
    // handed to the caller, not repeated.
    sim.ctl.fault(&Fault::status("/v1/calls", 503).method("POST").count(1)).await;
    assert_eq!(client.calls().create(&new_call()).await.unwrap_err().status(), Some(503));
    assert_eq!(sim.ctl.requests_to("POST", "/v1/calls").await.len(), 1);

    learn_keys(&client).await;
    sim.ctl.clear_requests().await;
    sim.ctl.fault(&Fault::status("/v1/calls", 503).method("POST").count(2)).await;
    let created = client.calls().create(&new_call()).await.unwrap();
    let log = sim.ctl.requests_to("POST", "/v1/calls").await;
    assert_eq!(log.len(), 3);
    let key = log[0]["idempotency_key"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&key).is_ok());
    assert!(log.iter().all(|r| r["idempotency_key"] == json!(key)), "{log:?}");
    assert_eq!(call_total(&client).await, before + 1);
    assert!(!created.id.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_answer_to_a_create_is_replayed_not_repeated() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    learn_keys(&client).await;
    let before = call_total(&client).await;
    sim.ctl.fault(&Fault::new("/v1/calls", "drop_after").method("POST").count(1)).await;
    let created = client.calls().create(&new_call()).await.unwrap();
    let log = sim.ctl.requests_to("POST", "/v1/calls").await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["idempotency_key"], log[1]["idempotency_key"]);
    // The sim ran the handler for the first attempt; the retry got the stored answer.
    assert_eq!(call_total(&client).await, before + 1, "exactly one call was created");
    let listed = client.calls().list(Some(200), None).await.unwrap();
    assert_eq!(listed.calls.iter().filter(|c| c.id == created.id).count(), 1);

    // A caller-kept key (the outbox) sent twice: still one call.
    let key = IdempotencyKey::new();
    let a = client.calls().create_with_key(&new_call(), key.clone()).await.unwrap();
    let b = client.calls().create_with_key(&new_call(), key.clone()).await.unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(call_total(&client).await, before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_answer_to_an_ask_is_replayed_not_repeated() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    learn_keys(&client).await;
    sim.ctl.clear_requests().await;
    let conv = client.coordination().create_conversation().await.unwrap();
    sim.ctl.fault(&Fault::new("/v1/coordination/message", "drop_after").count(1)).await;
    let reply = client.coordination().message("What is on my calendar tomorrow?", Some(&conv.id)).await.unwrap();
    assert!(!reply.response.is_empty());
    let log = sim.ctl.requests_to("POST", "/v1/coordination/message").await;
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["idempotency_key"], log[1]["idempotency_key"]);
    let history = client.coordination().history(Some(&conv.id), None).await.unwrap();
    let asks = history.messages.iter().filter(|m| m.content == "What is on my calendar tomorrow?").count();
    assert_eq!(asks, 1, "{history:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_production_a_dropped_keyed_create_is_reported_not_repeated() {
    let sim =
        Sim::start_with(kallyai_sim::SimConfig { profile: kallyai_sim::Profile::Production, ..Default::default() })
            .await;
    let client = sim.client().await;
    // Production ignores keys and never echoes one: nothing is learnt.
    client.coordination().message("What time is it in Tokyo?", None).await.unwrap();
    assert!(!client.honours_idempotency_keys());
    let before = call_total(&client).await;
    sim.ctl.fault(&Fault::new("/v1/calls", "drop_after").method("POST").count(1)).await;
    let err = client.calls().create(&new_call()).await.unwrap_err();
    assert_eq!(err.code(), "connection_lost");
    assert_eq!(sim.ctl.requests_to("POST", "/v1/calls").await.len(), 1, "not repeated");
    assert_eq!(call_total(&client).await, before + 1, "it ran once; a repeat would have run it again");
    // Nothing ran before a refused connection or a 429: those are still retried.
    sim.ctl.fault(&Fault::new("/v1/calls", "rate_limit").method("POST").retry_after_secs(0).count(1)).await;
    client.calls().create(&new_call()).await.unwrap();
    let statuses: Vec<u64> =
        sim.ctl.requests_to("POST", "/v1/calls").await.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses[1..], [429, 201]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_on_reads_are_retried() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    for kind in ["drop_before", "drop_after"] {
        sim.ctl.clear_requests().await;
        sim.ctl.fault(&Fault::new(BALANCE, kind).count(1)).await;
        client.credits().balance().await.unwrap();
        assert_eq!(sim.ctl.requests_to("GET", BALANCE).await.len(), 2, "{kind}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_unkeyed_action_is_reported_not_repeated() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let id = ring(&sim).await;
    let path = format!("/v1/inbound/calls/{id}/takeover");
    sim.ctl.fault(&Fault::new(&path, "drop_after").count(1)).await;
    let err = client.inbound().takeover(&id).await.unwrap_err();
    assert_eq!(err.code(), "connection_lost");
    assert!(err.is_network());
    assert_eq!(sim.ctl.requests_to("POST", &path).await.len(), 1);
    // The takeover did happen; refetching shows it (which is what the UI does after an error).
    let call = client.inbound().call(&id).await.unwrap();
    assert!(!call.status.is_live(), "{:?}", call.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_decode_errors_and_not_retried() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    sim.ctl.fault(&Fault::new("/v1/inbound/calls", "malformed").count(1)).await;
    let err = client.inbound().calls(&InboundQuery::default()).await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("decode", None));
    assert!(err.to_string().contains("cannot read"), "{err}");
    assert_eq!(sim.ctl.requests_to("GET", "/v1/inbound/calls").await.len(), 1);
}

/// Remaining uses of each injected fault. The sim does not log a request whose client gave up
/// (its handler is dropped), so abandoned attempts are counted by the faults they consumed.
async fn faults_remaining(sim: &Sim) -> Vec<u64> {
    sim.ctl.faults().await.iter().map(|f| f["remaining"].as_u64().unwrap_or(u64::MAX)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_beyond_the_timeout_is_retried_on_reads_only() {
    let sim = Sim::start().await;
    let client = impatient_client(&sim, Duration::from_millis(600)).await;
    sim.ctl.fault(&Fault::new(BALANCE, "latency").latency_ms(2500).count(2)).await;
    client.credits().balance().await.unwrap();
    // Two attempts timed out (both fault uses consumed), the third answered.
    assert_eq!(faults_remaining(&sim).await, Vec::<u64>::new());
    assert_eq!(sim.ctl.requests_to("GET", BALANCE).await.len(), 1);

    // Latency under the timeout is just waited out.
    sim.ctl.clear_requests().await;
    sim.ctl.fault(&Fault::new(BALANCE, "latency").latency_ms(50).count(1)).await;
    client.credits().balance().await.unwrap();
    assert_eq!(sim.ctl.requests_to("GET", BALANCE).await.len(), 1);

    let id = ring(&sim).await;
    let path = format!("/v1/inbound/calls/{id}/transfer");
    sim.ctl.fault(&Fault::new(&path, "latency").latency_ms(2500).count(3)).await;
    let err = client.inbound().transfer(&id, "+34911000111").await.unwrap_err();
    assert_eq!(err.code(), "timeout");
    assert_eq!(err.to_string(), "KallyAI did not answer in time. Try again in a moment.");
    assert_eq!(faults_remaining(&sim).await, vec![2], "the unkeyed POST was sent more than once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_arrive_or_time_out_and_retry() {
    let sim = Sim::start().await;
    let client = impatient_client(&sim, Duration::from_millis(800)).await;
    // 16 bytes every 2 ms: slow but well within the timeout.
    sim.ctl.fault(&Fault::new(BALANCE, "slow_body").latency_ms(2).count(1)).await;
    let balance = client.credits().balance().await.unwrap();
    assert!(balance.credits_allocated.value() > 0.0);
    assert_eq!(sim.ctl.requests_to("GET", BALANCE).await.len(), 1);

    // 16 bytes every 500 ms: the whole body would take seconds, so the attempt times out.
    sim.ctl.clear_requests().await;
    sim.ctl.fault(&Fault::new(BALANCE, "slow_body").latency_ms(500).count(1)).await;
    client.credits().balance().await.unwrap();
    assert_eq!(sim.ctl.requests_to("GET", BALANCE).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    sim.ctl.fault(&Fault::new(BALANCE, "rate_limit").retry_after_secs(1).count(1)).await;
    let started = Instant::now();
    client.credits().balance().await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(950), "retried after {waited:?}, before Retry-After");
    let log = sim.ctl.requests_to("GET", BALANCE).await;
    assert_eq!(log.iter().map(|r| r["status"].as_u64().unwrap()).collect::<Vec<_>>(), vec![429, 200]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_beyond_the_cap_is_returned_to_the_caller() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    sim.ctl.fault(&Fault::new(BALANCE, "rate_limit").retry_after_secs(3600).count(1)).await;
    let started = Instant::now();
    let err = client.credits().balance().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!((err.status(), err.code()), (Some(429), "rate_limited"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(err.to_string().contains("3600 seconds"), "{err}");
    assert_eq!(sim.ctl.requests_to("GET", BALANCE).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_offline_and_announced_until_it_answers() {
    // A port that was just free: nothing listens there yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = Config::new(&format!("http://127.0.0.1:{port}")).unwrap().with_retry(common::fast_retry());
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let client = Client::with_events(config, Arc::new(SignedOut), events).unwrap();
    let err = client.credits().plans().await.unwrap_err();
    assert_eq!(err.code(), "offline");
    assert_eq!(err.to_string(), "KallyAI cannot be reached. Check your connection; we will retry.");
    assert_eq!(rx.try_recv().unwrap(), Event::ConnectivityChanged { online: false });
    // Announced once, not per failure.
    let _ = client.credits().plans().await.unwrap_err();
    assert!(rx.try_recv().is_err());

    // The server comes up on that port: the next answer announces "online".
    let sim = kallyai_sim::start(format!("127.0.0.1:{port}").parse().unwrap(), Default::default()).await.unwrap();
    assert!(!client.credits().plans().await.unwrap().plans.is_empty());
    assert_eq!(rx.try_recv().unwrap(), Event::ConnectivityChanged { online: true });
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_on_one_route_leaves_others_alone() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    sim.ctl.fault(&Fault::status("/v1/credits/*", 500)).await;
    assert!(client.credits().balance().await.is_err());
    let live = client.inbound().calls(&InboundQuery::active()).await.unwrap();
    assert!(live.calls.iter().all(|c| c.status == InboundStatus::Active));
    sim.ctl.clear_faults().await;
    assert!(client.credits().balance().await.is_ok());
}

//! "Call someone…" against a real sim, in both profiles: a call is placed once, whatever happens
//! to its answer, across a restart, and a refusal places nothing.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{Fault, Sim};
use kallyai_core::api::calls::{NewCall, Submission};
use kallyai_core::auth::StaticToken;
use kallyai_core::placing::{CallPlacer, Phase, PlacedView, PlacerTiming, MAX_SENDS};
use kallyai_core::{Client, Event, EventBus, IdempotencyKey, RetryPolicy};
use kallyai_sim::{Profile, SimConfig};
use serde_json::json;
use tokio::sync::broadcast::Receiver;

const CALLS: &str = "/v1/calls";
const WAIT: Duration = Duration::from_secs(20);
const NUMBER: &str = "+34911222333";

fn fast() -> PlacerTiming {
    PlacerTiming {
        watch_every: Duration::from_millis(50),
        follow_every: Duration::from_millis(50),
        follow_for: Duration::from_secs(5),
        first_read_gap: Duration::from_millis(30),
    }
}

/// The placer is the layer under test, so its client does not retry by itself.
async fn client(sim: &Sim, events: &EventBus) -> Client {
    let token = sim.tokens().await.access;
    let config = sim.config().with_retry(RetryPolicy { max_retries: 0, ..common::fast_retry() });
    Client::with_events(config, Arc::new(StaticToken::new(token)), events.clone()).unwrap()
}

fn new_call(task: &str) -> NewCall {
    NewCall {
        submission: Submission {
            task_category: "clinic".into(),
            task_description: task.into(),
            respondent_phone: NUMBER.into(),
            business_name: Some("Clínica Dental Sonrisa".into()),
            ..Default::default()
        },
        timezone: "Europe/Madrid".into(),
        session_id: None,
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("kallyai-placing-{}", IdempotencyKey::new()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn file(&self) -> PathBuf {
        self.0.join("placing-calls.json")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The settled state of each of `local_ids`, as the placer says after its events, in order.
async fn settled_all(placer: &CallPlacer, rx: &mut Receiver<Event>, local_ids: &[&str]) -> Vec<PlacedView> {
    let mut found: Vec<Option<PlacedView>> = vec![None; local_ids.len()];
    tokio::time::timeout(WAIT, async {
        while found.iter().any(Option::is_none) {
            if let Ok(Event::CallPlacing { local_id, .. }) = rx.recv().await {
                if let Some(i) = local_ids.iter().position(|id| *id == local_id) {
                    found[i] = placer.call(&local_id).filter(|call| call.phase.is_settled());
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not every call of {local_ids:?} settled"));
    found.into_iter().flatten().collect()
}

async fn settled(placer: &CallPlacer, rx: &mut Receiver<Event>, local_id: &str) -> PlacedView {
    settled_all(placer, rx, &[local_id]).await.remove(0)
}

/// The sim's own record: calls to `NUMBER` about `task`.
async fn calls_about(sim: &Sim, task: &str) -> usize {
    let list = sim.client().await.calls().list(Some(200), None).await.unwrap();
    list.calls.iter().filter(|c| c.to.as_deref() == Some(NUMBER) && c.task_description.as_deref() == Some(task)).count()
}

async fn posts(sim: &Sim) -> usize {
    sim.ctl.requests_to("POST", CALLS).await.len()
}

async fn each_profile(test: impl AsyncFn(Sim)) {
    for profile in [Profile::Default, Profile::Production] {
        test(Sim::start_with(SimConfig { profile, ..Default::default() }).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_placed_and_its_result_kept_on_disk() {
    each_profile(async |sim| {
        let (events, dir) = (EventBus::default(), TempDir::new());
        let mut rx = events.subscribe();
        let placer = CallPlacer::open(dir.file(), client(&sim, &events).await, events.clone(), fast()).await.unwrap();
        let task = "Move my cleaning appointment to Friday morning";
        let placing = placer.place(new_call(task)).await.unwrap();
        assert_eq!(placing.phase, Phase::Placing { call: None });
        let done = settled(&placer, &mut rx, &placing.local_id).await;
        let Phase::Finished { call } = &done.phase else { panic!("{done:?}") };
        assert_eq!(call.status.as_str(), "success");
        assert!(call.highlights.is_some());
        assert_eq!((calls_about(&sim, task).await, posts(&sim).await), (1, 1));
        // A restart shows the result and sends nothing.
        drop(placer);
        let again = CallPlacer::open(dir.file(), client(&sim, &events).await, events.clone(), fast()).await.unwrap();
        assert_eq!(again.calls()[0].phase, done.phase);
        again.dismiss(&done.local_id).await.unwrap();
        assert!(again.calls().is_empty());
        assert_eq!(posts(&sim).await, 1);
        let text = std::fs::read_to_string(dir.file()).unwrap();
        for secret in sim.ctl.issued_secrets().await {
            assert!(!text.contains(&secret), "the call journal holds a secret");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_looked_for_not_resent() {
    each_profile(async |sim| {
        let (events, dir) = (EventBus::default(), TempDir::new());
        let mut rx = events.subscribe();
        // The call is made, then the line is cut before the answer.
        sim.ctl.fault(&Fault::new(CALLS, "drop_after").method("POST").count(1)).await;
        let placer = CallPlacer::open(dir.file(), client(&sim, &events).await, events.clone(), fast()).await.unwrap();
        let task = "Ask whether they have a table for four tonight";
        let placing = placer.place(new_call(task)).await.unwrap();
        let done = settled(&placer, &mut rx, &placing.local_id).await;
        assert!(matches!(done.phase, Phase::Finished { .. }), "{done:?}");
        assert_eq!((calls_about(&sim, task).await, posts(&sim).await), (1, 1));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_never_arrived_goes_again_a_bounded_number_of_times() {
    each_profile(async |sim| {
        let (events, dir) = (EventBus::default(), TempDir::new());
        let mut rx = events.subscribe();
        // Cut before the handler: nothing is placed, and every read shows it.
        sim.ctl.fault(&Fault::new(CALLS, "drop_before").method("POST")).await;
        let placer = CallPlacer::open(dir.file(), client(&sim, &events).await, events.clone(), fast()).await.unwrap();
        let task = "Confirm the courier can come after six";
        let placing = placer.place(new_call(task)).await.unwrap();
        let done = settled(&placer, &mut rx, &placing.local_id).await;
        let Phase::Unconfirmed { message } = &done.phase else { panic!("{done:?}") };
        assert!(message.contains("Activity"), "{message}");
        assert_eq!(posts(&sim).await, MAX_SENDS as usize);
        assert_eq!(calls_about(&sim, task).await, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_places_nothing_and_says_why() {
    each_profile(async |sim| {
        let (events, dir) = (EventBus::default(), TempDir::new());
        let mut rx = events.subscribe();
        let placer = CallPlacer::open(dir.file(), client(&sim, &events).await, events.clone(), fast()).await.unwrap();
        let mut premium = new_call("Ask for the prize they say I won");
        premium.submission.respondent_phone = "+34905123456".into();
        let placing = placer.place(premium).await.unwrap();
        let done = settled(&placer, &mut rx, &placing.local_id).await;
        let Phase::Refused { message } = &done.phase else { panic!("{done:?}") };
        assert!(message.contains("Premium-rate"), "{message}");
        assert_eq!(posts(&sim).await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_a_call_is_adopted_if_listed_and_sent_once_if_not() {
    each_profile(async |sim| {
        let (events, dir) = (EventBus::default(), TempDir::new());
        let mut rx = events.subscribe();
        let before: Vec<String> =
            sim.client().await.calls().list(Some(20), None).await.unwrap().calls.into_iter().map(|c| c.id).collect();
        // Left by a run that stopped with both requests out: the first reached the server (it
        // is listed now), the second did not.
        let reached = "Book a table for two at eight";
        let lost = "Ask the garage whether the car is ready";
        sim.client().await.calls().create(&new_call(reached)).await.unwrap();
        sim.ctl.clear_requests().await;
        let entry = |id: &str, task: &str| {
            json!({"local_id": id, "key": format!("key-{id}"), "request": new_call(task), "placed_ms": 1,
                   "listed_before": before, "sends": 1, "phase": "placing", "call": null})
        };
        std::fs::write(
            dir.file(),
            serde_json::to_vec(&json!([entry("reached", reached), entry("lost", lost)])).unwrap(),
        )
        .unwrap();
        let placer = CallPlacer::open(dir.file(), client(&sim, &events).await, events.clone(), fast()).await.unwrap();
        let done = settled_all(&placer, &mut rx, &["reached", "lost"]).await;
        assert!(done.iter().all(|d| matches!(d.phase, Phase::Finished { .. })), "{done:?}");
        assert_eq!((calls_about(&sim, reached).await, calls_about(&sim, lost).await), (1, 1));
        assert_eq!(posts(&sim).await, 1, "only the call that never arrived was sent");
        drop(placer);
    })
    .await;
}

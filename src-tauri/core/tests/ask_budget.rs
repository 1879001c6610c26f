//! Goal-budget refusals against a real sim, on both profiles: a refused ask keeps its text and
//! carries the refusal (not "out of credits"), the goal waits in pending with the action that
//! unblocks it, and approving (or acknowledging the soft cap) sets it going without a second ask.

mod common;

use std::time::Duration;

use common::Sim;
use kallyai_core::api::budget::{BudgetRefusal, BudgetRefusalKind};
use kallyai_core::ask::{AskState, GoalActionKind, Goals, Outbox, OutboxSettings};
use kallyai_core::{Event, EventBus, IdempotencyKey};
use kallyai_sim::{Profile, SimConfig};
use serde_json::json;
use tokio::sync::broadcast::Receiver;

const WAIT: Duration = Duration::from_secs(15);
const MESSAGE: &str = "/v1/coordination/message";

async fn sim(profile: Profile) -> Sim {
    Sim::start_with(SimConfig { profile, ..SimConfig::default() }).await
}

/// Asks `text` through an outbox while the sim refuses the next ask with `code`; returns the
/// refusal the failure carried, after checking the ask stayed in the outbox as typed.
async fn refused_ask(sim: &Sim, code: &str, text: &str) -> BudgetRefusal {
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let dir = std::env::temp_dir().join(format!("kallyai-budget-test-{}", IdempotencyKey::new()));
    let outbox =
        Outbox::open(dir.join("outbox.json"), sim.client().await, events, OutboxSettings::default()).await.unwrap();
    sim.ctl.next_refusal(code, Some(12.0)).await;
    let asked = outbox.ask(text).await.unwrap();
    let Event::AskFailed { code: failed_code, manage_plan, budget, .. } = failed(&mut rx, &asked.local_id).await else {
        unreachable!()
    };
    assert_eq!(failed_code, code);
    assert!(!manage_plan, "a goal's budget is not the account's credits");
    let refusal = budget.expect("the failure carries the budget refusal");
    let entries = outbox.entries().await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].text, text, "what was typed is kept");
    assert!(
        matches!(&entries[0].state, AskState::Failed { budget: Some(b), .. } if *b == refusal),
        "{:?}",
        entries[0].state
    );
    outbox.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
    refusal
}

async fn failed(rx: &mut Receiver<Event>, local_id: &str) -> Event {
    tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await.expect("event bus open") {
                e @ Event::AskFailed { .. } if matches!(&e, Event::AskFailed { local_id: l, .. } if l == local_id) => {
                    return e
                }
                Event::AskSent { .. } => panic!("the ask was answered instead of refused"),
                _ => {}
            }
        }
    })
    .await
    .expect("no AskFailed in time")
}

/// The goal's entry in `GET /v1/notifications/pending`, read straight from the sim.
async fn pending_goal(sim: &Sim, goal_id: &str) -> Option<serde_json::Value> {
    let client = sim.client().await;
    let pending = client.notifications().pending().await.unwrap();
    pending.goals.items.iter().find(|i| i.id.as_deref() == Some(goal_id)).map(|i| json!({"status": i.status}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_a_refused_budget_sets_the_goal_going_on_both_profiles() {
    for profile in [Profile::Default, Profile::Production] {
        let sim = sim(profile).await;
        let client = sim.client().await;
        let before = client.credits().balance().await.unwrap().credits_remaining;

        let refusal = refused_ask(&sim, "budget_approval_required", "Book a weekend in Lisbon for two").await;
        assert_eq!(refusal.kind, BudgetRefusalKind::ApprovalRequired, "{profile:?}");
        assert_eq!(refusal.credits_estimated, Some(12.0));
        assert!(refusal.goal_title.as_deref().is_some_and(|t| !t.is_empty()), "{refusal:?}");
        let goal_id = refusal.goal_id.clone().expect("the refusal names its goal");
        assert_eq!(client.credits().balance().await.unwrap().credits_remaining, before, "a refusal is not charged");

        let goals = Goals::new(client.clone());
        let view = goals.view(&goal_id).await.unwrap();
        assert_eq!(view.status, "budget_approval_required");
        assert_eq!(view.actions, vec![GoalActionKind::ApproveBudget, GoalActionKind::Cancel]);
        assert_eq!(pending_goal(&sim, &goal_id).await, Some(json!({"status": "budget_approval_required"})));

        // The wrong unblocking request is the server's refusal, not a silent success.
        let wrong = goals.act(&goal_id, GoalActionKind::AcknowledgeSoftCap).await.unwrap_err();
        assert_eq!((wrong.status(), wrong.code()), (Some(409), "invalid_goal_state"));

        // Approved, the goal goes on at once: a booking runs its search and then waits at the
        // call step for the user, as any booking does.
        let view = goals.act(&goal_id, GoalActionKind::ApproveBudget).await.unwrap();
        assert_eq!(view.status, "needs_input", "{profile:?}");
        assert_eq!(view.actions, vec![GoalActionKind::ApproveStep, GoalActionKind::Cancel]);
        assert!(goals.active().await.unwrap().iter().any(|g| g.id == goal_id), "listed as a goal going on");
        let approve = format!("/v1/goals/{goal_id}/approve-budget");
        assert_eq!(sim.ctl.requests_to("POST", &approve).await.len(), 1);
        let pending = pending_goal(&sim, &goal_id).await;
        assert_eq!(pending, Some(json!({"status": "needs_input"})), "pending for its step now, not its budget");
        assert_eq!(sim.ctl.requests_to("POST", MESSAGE).await.len(), 1, "the ask was never sent again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soft_cap_is_continued_and_an_exceeded_budget_approved() {
    let sim = sim(Profile::Default).await;
    let goals = Goals::new(sim.client().await);

    let capped = refused_ask(&sim, "soft_cap_reached", "Find me a dentist who can see me this week").await;
    assert_eq!(capped.kind, BudgetRefusalKind::SoftCapReached);
    let goal_id = capped.goal_id.unwrap();
    assert_eq!(goals.view(&goal_id).await.unwrap().actions[0], GoalActionKind::AcknowledgeSoftCap);
    let wrong = goals.act(&goal_id, GoalActionKind::ApproveBudget).await.unwrap_err();
    assert_eq!(wrong.code(), "invalid_goal_state");
    assert_eq!(goals.act(&goal_id, GoalActionKind::AcknowledgeSoftCap).await.unwrap().status, "active");
    let ack = format!("/v1/goals/{goal_id}/acknowledge-soft-cap");
    assert_eq!(sim.ctl.requests_to("POST", &ack).await.len(), 1);

    let exceeded = refused_ask(&sim, "budget_exceeded", "Order dinner from the Thai place").await;
    assert_eq!(exceeded.kind, BudgetRefusalKind::Exceeded);
    let goal_id = exceeded.goal_id.unwrap();
    assert_eq!(goals.view(&goal_id).await.unwrap().actions[0], GoalActionKind::ApproveBudget);
    assert_eq!(goals.act(&goal_id, GoalActionKind::ApproveBudget).await.unwrap().status, "active");
}

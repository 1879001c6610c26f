//! Goal views, goal actions, the tray's active goals, and the cost preview, against a real sim.

mod common;

use std::sync::Arc;

use common::{Fault, Sim};
use kallyai_core::ask::{exceeds_balance, CostPreview, GoalActionKind, Goals};
use kallyai_core::auth::StaticToken;
use kallyai_core::Client;
use kallyai_testkit::wait;

const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_goal_walks_through_approval_and_outcome() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let goals = Goals::new(client.clone());
    let reply = client.coordination().message("Book a table at Nobu for 4 tonight", None).await.unwrap();
    let goal_id = reply.goal_id.expect("a booking creates a goal");

    // The search step is instant; the call step waits for approval.
    let view = goals.view(&goal_id).await.unwrap();
    assert_eq!(view.id, goal_id);
    assert!(view.title.contains("Nobu"), "{}", view.title);
    assert_eq!(view.status, "needs_input");
    assert_eq!(view.actions, vec![GoalActionKind::ApproveStep, GoalActionKind::Cancel]);
    let waiting: Vec<&str> =
        view.steps.iter().filter(|s| s.waiting_for_approval).map(|s| s.description.as_str()).collect();
    assert_eq!(waiting, vec!["Call to make the booking"]);
    let active = goals.active().await.unwrap();
    let listed = active.iter().find(|g| g.id == goal_id).expect("listed for the tray");
    assert!(listed.needs_input);

    let view = goals.act(&goal_id, GoalActionKind::ApproveStep).await.unwrap();
    assert_eq!(view.status, "active");
    assert_eq!(view.actions, vec![GoalActionKind::Cancel]);
    let path = format!("/v1/coordination/goals/{goal_id}/approve-step");
    assert_eq!(sim.ctl.requests_to("POST", &path).await.len(), 1);

    // Time passes in the sim: the call and the confirmation finish, the outcome waits.
    sim.ctl.advance(120.0).await;
    let outcome_ready = wait::holds_within(WAIT, || async {
        goals.view(&goal_id).await.map(|v| v.actions.contains(&GoalActionKind::AcceptOutcome)).unwrap_or(false)
    })
    .await;
    assert!(outcome_ready, "the goal never reached its outcome");
    let view = goals.view(&goal_id).await.unwrap();
    assert_eq!(
        view.actions,
        vec![GoalActionKind::AcceptOutcome, GoalActionKind::ContinueNegotiating, GoalActionKind::Cancel]
    );
    assert!(view.outcome.is_some());

    let view = goals.act(&goal_id, GoalActionKind::AcceptOutcome).await.unwrap();
    assert_eq!(view.status, "completed");
    assert!(view.actions.is_empty());
    assert!(goals.active().await.unwrap().iter().all(|g| g.id != goal_id), "finished goals leave the tray");

    // Acting on a finished goal gives the server's refusal, not a panic or a silent success.
    let err = goals.act(&goal_id, GoalActionKind::Cancel).await.unwrap_err();
    assert_eq!(err.code(), "goal_already_completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_negotiating_and_cancel_reach_the_sim() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let goals = Goals::new(client.clone());
    let reply = client.coordination().message("Call Iberia about my lost bag", None).await.unwrap();
    let goal_id = reply.goal_id.unwrap();
    sim.ctl.advance(600.0).await;
    let outcome_ready = wait::holds_within(WAIT, || async {
        goals.view(&goal_id).await.map(|v| v.actions.contains(&GoalActionKind::ContinueNegotiating)).unwrap_or(false)
    })
    .await;
    assert!(outcome_ready);
    let view = goals.act(&goal_id, GoalActionKind::ContinueNegotiating).await.unwrap();
    assert_eq!(view.status, "active");
    assert!(view.steps.iter().any(|s| s.description.contains("Negotiate")), "{:?}", view.steps);
    let view = goals.act(&goal_id, GoalActionKind::Cancel).await.unwrap();
    assert_eq!(view.status, "cancelled");
    assert!(view.actions.is_empty());
    assert_eq!(sim.ctl.requests_to("POST", &format!("/v1/coordination/goals/{goal_id}/cancel")).await.len(), 1);
    assert_eq!(goals.view("not-a-goal").await.unwrap_err().code(), "goal_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cost_preview_estimates_tasks_and_is_quiet_otherwise() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let preview = CostPreview::new(client.clone());

    let booking = preview.estimate("Book a table at Nobu for 4 tonight").await.expect("an estimate");
    assert!(booking.estimated_credits.value() > 0.0);
    assert!(booking.breakdown.contains_key("call"), "{booking:?}");
    let log = sim.ctl.requests_to("POST", "/v1/goals/estimate").await;
    assert_eq!(log.len(), 1);
    assert!(exceeds_balance(&booking, booking.estimated_credits.value() - 0.01));
    assert!(!exceeds_balance(&booking, client.credits().balance().await.unwrap().credits_remaining.value()));

    // A question starts no task: no hint, and no request.
    assert!(preview.estimate("What is the capital of Peru?").await.is_none());
    assert!(preview.estimate("   ").await.is_none());
    assert_eq!(sim.ctl.requests_to("POST", "/v1/goals/estimate").await.len(), 1);

    // Unavailable estimates (server error, signed out) give no hint instead of an error.
    sim.ctl.fault(&Fault::status("/v1/goals/estimate", 503)).await;
    assert!(preview.estimate("Call the dentist").await.is_none());
    sim.ctl.clear_faults().await;
    let signed_out = Client::new(sim.config(), Arc::new(kallyai_core::auth::SignedOut)).unwrap();
    assert!(CostPreview::new(signed_out).estimate("Call the dentist").await.is_none());
    let fresh = Client::new(sim.config(), Arc::new(StaticToken::new(sim.tokens().await.access))).unwrap();
    assert!(CostPreview::new(fresh).estimate("Email Sam the invoice").await.is_some());
}

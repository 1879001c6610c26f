//! Every resource call against a real sim (demo seed): the typed answers carry the data.

mod common;

use std::sync::Arc;

use common::{Ring, Sim, Stream};
use kallyai_core::api::calls::{CallStatus, NewCall, Submission};
use kallyai_core::api::coordination::{GoalQuery, GoalStatus};
use kallyai_core::api::inbound::{InboundQuery, InboundStatus};
use kallyai_core::auth::SignedOut;
use kallyai_core::Fetched;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordination_conversations_message_and_history() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let co = client.coordination();

    let conv = co.create_conversation().await.unwrap();
    assert!(uuid::Uuid::parse_str(&conv.id).is_ok(), "{conv:?}");
    let listed = co.conversations().await.unwrap();
    assert!(listed.conversations.iter().any(|c| c.id == conv.id), "{listed:?}");

    let reply = co.message("Book a table for four at Nobu on Friday at 20:00", Some(&conv.id)).await.unwrap();
    assert!(!reply.response.is_empty());
    assert_eq!(reply.conversation_id.as_deref(), Some(conv.id.as_str()));

    let logged = sim.ctl.requests_to("POST", "/v1/coordination/message").await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["conversation_id"], json!(conv.id));
    assert!(logged[0]["idempotency_key"].as_str().is_some_and(|k| uuid::Uuid::parse_str(k).is_ok()));
    assert_eq!(logged[0]["auth"], json!(true));

    let history = co.history(Some(&conv.id), Some(50)).await.unwrap();
    assert!(history.messages.len() >= 2, "{history:?}");
    assert!(history.messages.iter().any(|m| m.content.contains("Nobu")));
    assert!(history.messages.iter().any(|m| !m.role.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goals_list_get_and_actions() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let co = client.coordination();

    let all = co.goals(&GoalQuery::default()).await.unwrap();
    assert!(all.goals.len() >= 4, "{all:?}");
    assert!(all.goals.iter().all(|g| !g.title.as_deref().unwrap_or("").contains("Someone else")));
    let waiting = all.goals.iter().find(|g| g.status == GoalStatus::NeedsInput).expect("a goal waits for approval");
    let waiting_id = waiting.id.clone().unwrap();

    let active = co.goals(&GoalQuery { status: Some("active".into()), limit: Some(20), offset: None }).await.unwrap();
    assert!(!active.goals.is_empty());
    // The sim counts every unfinished goal as active (needs_input included).
    let finished = [GoalStatus::Completed, GoalStatus::Cancelled, GoalStatus::Archived];
    assert!(active.goals.iter().all(|g| !finished.contains(&g.status)), "{active:?}");
    assert!(active.goals.len() < all.goals.len());

    let full = co.goal(&waiting_id).await.unwrap();
    assert_eq!(full.id.as_deref(), Some(waiting_id.as_str()));
    assert!(full.steps.len() >= 2, "{full:?}");
    assert!(full.credits_estimated.is_some());

    let approved = co.approve_step(&waiting_id).await.unwrap();
    assert_eq!(approved.status, GoalStatus::Active);
    let continued = co.continue_negotiating(&waiting_id).await.unwrap();
    assert!(continued.steps.len() > full.steps.len());
    let accepted = co.accept_outcome(&waiting_id).await.unwrap();
    assert_eq!(accepted.status, GoalStatus::Completed);
    // A finished goal cannot be cancelled: the server's 409 code comes through.
    let err = co.cancel_goal(&waiting_id).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.code(), "goal_already_completed");

    let other = active.goals.iter().find(|g| g.status == GoalStatus::Active).unwrap().id.clone().unwrap();
    let cancelled = co.cancel_goal(&other).await.unwrap();
    assert_eq!(cancelled.status, GoalStatus::Cancelled);

    let err = co.goal(&uuid::Uuid::new_v4().to_string()).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(404), "goal_not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_calls_list_get_transcript_create() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let calls = client.calls();

    let list = calls.list(Some(10), Some(0)).await.unwrap();
    assert!(!list.calls.is_empty());
    assert!(list.total.unwrap() >= list.calls.len() as u64);
    let first = &list.calls[0];
    assert!(uuid::Uuid::parse_str(&first.id).is_ok());
    assert!(first.to.is_some() && first.created_at.is_some(), "{first:?}");

    let one = calls.get(&first.id).await.unwrap();
    assert_eq!(one.id, first.id);
    let with_transcript = list.calls.iter().find(|c| c.status == CallStatus::Success).expect("a successful call");
    let transcript = calls.transcript(&with_transcript.id).await.unwrap();
    assert!(!transcript.entries.is_empty());
    assert!(transcript.entries.iter().all(|e| !e.speaker.is_empty() && !e.content.is_empty()));

    let created = calls
        .create(&NewCall {
            submission: Submission {
                task_category: "restaurant".into(),
                task_description: "Book a table for two tonight at 21:00".into(),
                respondent_phone: "+34911222333".into(),
                business_name: Some("Casa Lucio".into()),
                call_language: Some("es".into()),
                language: Some("es".into()),
                ..Default::default()
            },
            timezone: "Europe/Madrid".into(),
            session_id: None,
        })
        .await
        .unwrap();
    assert!(uuid::Uuid::parse_str(&created.id).is_ok());
    assert_eq!(created.business_name.as_deref(), Some("Casa Lucio"));
    let logged = sim.ctl.requests_to("POST", "/v1/calls").await;
    assert_eq!(logged.len(), 1);
    assert!(logged[0]["idempotency_key"].as_str().is_some_and(|k| uuid::Uuid::parse_str(k).is_ok()));

    let err = calls.get(&uuid::Uuid::new_v4().to_string()).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(404), "call_not_found"));
    // An emergency number is refused with the server's code and its own sentence.
    let err = calls
        .create(&NewCall {
            submission: Submission {
                task_category: "general".into(),
                task_description: "Report an emergency please".into(),
                respondent_phone: "+34112".into(),
                ..Default::default()
            },
            timezone: "Europe/Madrid".into(),
            session_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err:?}");
    assert!(err.correlation_id().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_list_get_transcript_and_actions() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let inbound = client.inbound();

    let history = inbound.calls(&InboundQuery { limit: Some(50), ..Default::default() }).await.unwrap();
    assert!(history.calls.len() >= 3, "{history:?}");
    let missed = inbound.calls(&InboundQuery { status: Some("missed".into()), ..Default::default() }).await.unwrap();
    assert!(!missed.calls.is_empty() && missed.calls.iter().all(|c| c.status == InboundStatus::Missed));
    let vip = inbound.calls(&InboundQuery { vip_only: true, ..Default::default() }).await.unwrap();
    assert!(!vip.calls.is_empty() && vip.calls.iter().all(|c| c.is_vip));
    let paged = inbound.calls(&InboundQuery { limit: Some(1), offset: Some(1), ..Default::default() }).await.unwrap();
    assert_eq!(paged.calls.len(), 1);
    assert_eq!(paged.calls[0].id, history.calls[1].id);

    // Three live calls: take one over, reject one, transfer one.
    let mut ids = Vec::new();
    for n in ["+34600000001", "+34600000002", "+34600000003"] {
        ids.push(sim.ctl.ring(&Ring::new(n).caller_name("Ana").vip(true)).await);
    }
    let live = inbound.calls(&InboundQuery::active()).await.unwrap();
    assert_eq!(live.calls.len(), 3, "{live:?}");
    assert!(live.calls.iter().all(|c| c.status.is_live()));
    let one = inbound.call(&ids[0]).await.unwrap();
    assert_eq!((one.caller_number.as_deref(), one.caller_name.as_deref()), (Some("+34600000001"), Some("Ana")));
    let _ = inbound.transcript(&ids[0]).await.unwrap();

    inbound.takeover(&ids[0]).await.unwrap();
    let rejected = inbound.reject(&ids[1], Some("user_rejected")).await.unwrap();
    assert_eq!(rejected.reason.as_deref(), Some("user_rejected"));
    let transferred = inbound.transfer(&ids[2], "+34911000111").await.unwrap();
    assert_eq!(transferred.target_number.as_deref(), Some("+34911000111"));
    let after = inbound.call(&ids[1]).await.unwrap();
    assert_eq!(after.status, InboundStatus::Rejected);
    // Not live any more: the server says so with a 409.
    let err = inbound.reject(&ids[1], None).await.unwrap_err();
    assert_eq!(err.status(), Some(409), "{err:?}");

    let events = inbound.events(None, None).await.unwrap();
    assert!(events.events.iter().any(|e| e.call_id.as_deref() == Some(ids[0].as_str())), "{events:?}");
    assert!(events.events.iter().all(|e| !e.kind.is_empty()));
    let info = inbound.stream_info().await.unwrap();
    assert!(info.raw.is_object());
    sim.ctl.stream(&Stream::off()).await;
    assert!(!inbound.stream_info().await.unwrap().enabled);
    sim.ctl.stream(&Stream::on()).await;
    assert!(inbound.stream_info().await.unwrap().enabled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_credits_budget_subscription_billing() {
    let sim = Sim::start().await;
    let client = sim.client().await;

    let pending = client.notifications().pending().await.unwrap();
    assert!(pending.total_pending >= 3, "{pending:?}");
    assert!(pending.actions.count >= 1 && pending.goals.count >= 1 && pending.inbox.count >= 1);
    assert!(pending.items().all(|i| i.id.is_some()));

    let balance = client.credits().balance().await.unwrap();
    assert!(balance.credits_allocated.value() > 0.0);
    assert!(balance.plan_type.is_some() && balance.period_end.is_some());
    sim.ctl.set_credits(12.5).await;
    assert_eq!(client.credits().balance().await.unwrap().credits_remaining.value(), 12.5);

    let history = client.credits().history(Some(5)).await.unwrap();
    assert!(!history.entries.is_empty() && history.entries.len() <= 5, "{history:?}");
    let breakdown = client.credits().breakdown().await.unwrap();
    assert!(!breakdown.items.is_empty());
    let costs = client.credits().costs().await.unwrap();
    assert!(costs.costs.contains_key("call"), "{costs:?}");
    let plans = client.credits().plans().await.unwrap();
    let pro = plans.plans.iter().find(|p| p.id.as_deref() == Some("pro")).expect("pro plan");
    assert!(pro.overage_rate.is_some_and(|r| r.value() > 0.0));

    let estimate = client.budget().estimate("call", "Call the dentist to move my appointment").await.unwrap();
    assert!(estimate.estimated_credits.value() > 0.0);

    let status = client.subscription().status().await.unwrap();
    assert!(status.plan_type.is_some());
    let me = client.subscription().me().await.unwrap();
    assert!(me.has_active_subscription);
    let stats = client.subscription().statistics().await.unwrap();
    assert!(stats.usage_percentage.is_some());
    let portal = client.subscription().billing_portal().await.unwrap();
    assert!(portal.url.starts_with("http"), "{portal:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_endpoints_work_signed_out_and_others_say_sign_in() {
    let sim = Sim::start().await;
    let client = sim.client_with(sim.config(), Arc::new(SignedOut));
    assert!(!client.credits().plans().await.unwrap().plans.is_empty());
    assert!(!client.credits().costs().await.unwrap().costs.is_empty());
    let err = client.credits().balance().await.unwrap_err();
    assert_eq!(err.code(), "not_signed_in");
    assert!(err.is_unauthorized());
    // The public calls went out without a bearer; the refused one never left.
    let logged = sim.ctl.requests().await;
    assert_eq!(logged.len(), 2);
    assert!(logged.iter().all(|r| r["auth"] == json!(false)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_lists_answer_not_modified() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let q = InboundQuery::active();

    let Fetched::Modified { etag, .. } = client.inbound().calls_if_changed(&q, None).await.unwrap() else {
        panic!("first fetch must be modified");
    };
    let etag = etag.expect("the sim sends an ETag");
    assert_eq!(client.inbound().calls_if_changed(&q, Some(&etag)).await.unwrap(), Fetched::NotModified);
    sim.ctl.ring(&Ring::new("+34600000009")).await;
    let changed = client.inbound().calls_if_changed(&q, Some(&etag)).await.unwrap();
    assert_eq!(changed.into_value().expect("modified").calls.len(), 1);

    let Fetched::Modified { etag: Some(tag), .. } = client.notifications().pending_if_changed(None).await.unwrap()
    else {
        panic!("notifications: no etag")
    };
    assert_eq!(client.notifications().pending_if_changed(Some(&tag)).await.unwrap(), Fetched::NotModified);
    let Fetched::Modified { etag: Some(tag), .. } = client.credits().balance_if_changed(None).await.unwrap() else {
        panic!("balance: no etag")
    };
    assert_eq!(client.credits().balance_if_changed(Some(&tag)).await.unwrap(), Fetched::NotModified);
    // Lists without an ETag (the sim has none on calls and goals) still work conditionally:
    // always modified, no tag to send next time.
    let calls = client.calls().list_if_changed(Some(5), None, Some("\"stale\"")).await.unwrap();
    assert!(matches!(calls, Fetched::Modified { ref value, .. } if !value.calls.is_empty()), "{calls:?}");
    let goals = client.coordination().goals_if_changed(&GoalQuery::default(), None).await.unwrap();
    assert!(goals.into_value().is_some_and(|g| !g.goals.is_empty()));
}

//! Goal-budget refusals through `POST /_sim/assistant/next-refusal`: the next answered ask is a
//! 402 with the code, its goal waits uncharged in that state and in the pending list, and the
//! matching endpoint (`approve-budget` or `acknowledge-soft-cap`) sets it going again.

mod common;

use common::*;
use kallyai_sim::{Profile, SimConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CODES: [(&str, &str, &str); 3] = [
    ("budget_approval_required", "approve-budget", "acknowledge-soft-cap"),
    ("soft_cap_reached", "acknowledge-soft-cap", "approve-budget"),
    ("budget_exceeded", "approve-budget", "acknowledge-soft-cap"),
];

async fn remaining(h: &Harness) -> f64 {
    h.get_json("/v1/credits/balance").await["credits_remaining"].as_f64().unwrap()
}

async fn pending_item(h: &Harness, goal_id: &str) -> Option<Value> {
    let pending = h.get_json("/v1/notifications/pending").await;
    pending["goals"]["items"].as_array().unwrap().iter().find(|i| i["id"] == goal_id).cloned()
}

#[tokio::test]
async fn each_refusal_parks_an_uncharged_goal_until_its_own_endpoint_is_called() {
    for profile in [Profile::Default, Profile::Production] {
        for (code, right, wrong) in CODES {
            let h = start_with(SimConfig { profile, ..SimConfig::default() }).await;
            let before = remaining(&h).await;
            h.ctl.next_refusal(code, None).await;
            let refused = h.post("/v1/coordination/message", json!({"message": "Search for a florist nearby"})).await;
            let e = expect_error(refused, 402, code).await;
            let details = &e["error"]["details"];
            assert!(is_uuid(&details["goal_id"]), "{e}");
            assert_eq!(
                (details["credits_estimated"].clone(), details["credits_used"].clone()),
                (json!(12.0), json!(0.0))
            );
            assert!(details["goal_title"].as_str().is_some_and(|t| t.contains("florist")), "{e}");
            assert!(e["error"]["message"].as_str().unwrap().contains("12 credits"), "{e}");
            let goal_id = details["goal_id"].as_str().unwrap().to_string();
            let goal_path = format!("/v1/coordination/goals/{goal_id}");

            // It waits: time passes, nothing advances, nothing is charged.
            h.ctl.advance(120.0).await;
            let goal = h.get_json(&goal_path).await;
            assert_eq!((goal["status"].clone(), goal["credits_used"].clone()), (json!(code), json!(0.0)), "{goal}");
            assert_eq!(remaining(&h).await, before, "{profile:?} {code}: a refusal is not charged");
            let item = pending_item(&h, &goal_id).await.expect("the goal is pending");
            assert_eq!(item["status"], code);
            assert_eq!(item["credits_estimated"], 12.0);
            assert!(item["summary"].as_str().is_some_and(|s| s.contains("12 credits")), "{item}");

            let refused_twice = h.post(&format!("/v1/goals/{goal_id}/{wrong}"), json!(null)).await;
            expect_error(refused_twice, 409, "invalid_goal_state").await;
            assert_eq!(h.get_json(&goal_path).await["status"], code, "the wrong endpoint changes nothing");

            let ok = h.post_json(&format!("/v1/goals/{goal_id}/{right}"), json!(null)).await;
            assert_eq!(ok["success"], true);
            let goal = h.get_json(&goal_path).await;
            assert_eq!(goal["status"], "active", "{profile:?} {code}: {goal}");
            assert_eq!(goal["credits_used"], 0.5, "it advances as usual: the search step is charged");
            assert!(pending_item(&h, &goal_id).await.is_none(), "it left the pending list");
            h.ctl.advance(20.0).await;
            assert_eq!(h.get_json(&goal_path).await["status"], "completed");
            // Once unblocked, either endpoint is a harmless no-op.
            h.post_json(&format!("/v1/goals/{goal_id}/{wrong}"), json!(null)).await;
        }
    }
}

#[tokio::test]
async fn the_refusal_is_used_once_and_a_question_gets_a_goal_anyway() {
    let h = start().await;
    h.ctl.next_refusal("budget_approval_required", Some(30.0)).await;
    let refused = h.post("/v1/coordination/message", json!({"message": "What is the weather like?"})).await;
    let e = expect_error(refused, 402, "budget_approval_required").await;
    assert_eq!(e["error"]["details"]["credits_estimated"], 30.0);
    assert!(e["error"]["message"].as_str().unwrap().contains("30 credits"), "{e}");
    let goal_id = e["error"]["details"]["goal_id"].as_str().unwrap();
    let goal = h.get_json(&format!("/v1/coordination/goals/{goal_id}")).await;
    assert!(goal["title"].as_str().unwrap().contains("What is the weather like?"), "{goal}");
    assert_eq!(goal["status"], "budget_approval_required");
    // The conversation holds the ask, and the refusal as the assistant's answer.
    let conversation = goal["conversation_id"].as_str().unwrap();
    let history = h.get_json(&format!("/v1/coordination/history?conversation_id={conversation}")).await;
    assert_eq!(history["messages"][0]["content"], "What is the weather like?");
    assert_eq!(history["messages"][1]["content"], e["error"]["message"]);

    let answered = h.post_json("/v1/coordination/message", json!({"message": "What is the weather like?"})).await;
    assert!(answered["goal_id"].is_null(), "used once: {answered}");
}

#[tokio::test]
async fn out_of_credits_comes_first_and_reset_clears_the_refusal() {
    let h = start().await;
    h.ctl.next_refusal("soft_cap_reached", None).await;
    h.ctl.set_credits(0.0).await;
    let broke = h.post("/v1/coordination/message", json!({"message": "Search for a florist nearby"})).await;
    expect_error(broke, 402, "quota_exceeded").await;
    h.ctl.set_credits(100.0).await;
    let refused = h.post("/v1/coordination/message", json!({"message": "Search for a florist nearby"})).await;
    expect_error(refused, 402, "soft_cap_reached").await;

    h.ctl.next_refusal("budget_exceeded", None).await;
    h.ctl.reset(None, None).await;
    let token = h.session_token().await;
    let asked = h
        .client
        .post(format!("{}/v1/coordination/message", h.url))
        .bearer_auth(token)
        .json(&json!({"message": "Search for a florist nearby"}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::OK, "the reset cleared the refusal");
}

#[tokio::test]
async fn the_hook_refuses_bad_input() {
    let h = start().await;
    for body in
        [json!({"code": "quota_exceeded"}), json!({}), json!({"code": "soft_cap_reached", "credits_estimated": -1})]
    {
        let resp = h.client.post(format!("{}/_sim/assistant/next-refusal", h.url)).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    // A goal in no budget state: approving is a no-op, an unknown goal is 404.
    let goal = h.post_json("/v1/coordination/message", json!({"message": "Search for a florist nearby"})).await
        ["goal_id"]
        .clone();
    let goal = goal.as_str().unwrap();
    assert_eq!(h.post_json(&format!("/v1/goals/{goal}/approve-budget"), json!(null)).await["success"], true);
    assert_eq!(h.get_json(&format!("/v1/coordination/goals/{goal}")).await["status"], "active");
    let unknown = h.post(&format!("/v1/goals/{}/acknowledge-soft-cap", uuid::Uuid::new_v4()), json!(null)).await;
    expect_error(unknown, 404, "goal_not_found").await;
}

//! The desktop surface (reference §6) and what the official CLIs read (§7.5), field by field.

mod common;

use std::time::Duration;

use common::*;
use kallyai_sim::{demo_calls, foreign_ids, Seed, SimConfig};
use kallyai_testkit::wait;
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn ask_emits_both_spellings_and_keeps_the_conversation() {
    let h = start().await;
    let r = h.post_json("/v1/coordination/message", json!({"message": "Book a table for four at Nobu at 20:00"})).await;
    assert_eq!(r["response"], r["message"]);
    assert!(r["response"].as_str().unwrap().len() > 10);
    for k in ["goal_id", "conversation_id", "message_id"] {
        assert!(is_uuid(&r[k]), "{k}: {r}");
    }
    assert_eq!(r["intent"], "booking");
    assert_eq!(r["goal_completed"], false);
    assert_eq!(r["credits_used"], 0.5, "the search step is charged at once");
    assert!(r["suggestions"].as_array().is_some_and(|s| !s.is_empty()));
    assert!(r["actions_taken"].is_array() && r["triggered_actions"].is_array());

    let conv = r["conversation_id"].as_str().unwrap();
    let again =
        h.post_json("/v1/coordination/message", json!({"message": "What can you do?", "conversation_id": conv})).await;
    assert_eq!(again["conversation_id"], json!(conv));
    assert_eq!(again["intent"], "question");
    assert!(again["goal_id"].is_null());

    let hist = h.get_json(&format!("/v1/coordination/history?conversation_id={conv}")).await;
    let msgs = hist["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 4);
    assert_eq!(msgs[0]["role"], "user");
    assert_eq!(msgs[1]["role"], "assistant");
    assert!(is_iso(&msgs[0]["created_at"]));

    let missing = h
        .post("/v1/coordination/message", json!({"message": "hi", "conversation_id": uuid::Uuid::new_v4().to_string()}))
        .await;
    expect_error(missing, 404, "conversation_not_found").await;
    expect_error(h.post("/v1/coordination/message", json!({"message": "   "})).await, 422, "validation_error").await;

    let created = h.post_json("/v1/coordination/conversations", json!(null)).await;
    assert_eq!(created["conversation_id"], created["id"]);
    let list = h.get_json("/v1/coordination/conversations").await;
    assert!(list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == created["id"] && c["message_count"] == 0));
}

#[tokio::test]
async fn idempotency_key_replays_the_stored_reply() {
    let h = start().await;
    let send = |key: &'static str| {
        h.req(Method::POST, "/v1/coordination/message")
            .header("Idempotency-Key", key)
            .json(&json!({"message": "Call the plumber about Saturday"}))
            .send()
    };
    let first = send("k-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["idempotency-key"], "k-1", "the key is echoed on the first run");
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let second = send("k-1").await.unwrap();
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.headers()["idempotency-key"], "k-1", "and on the replay");
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, second);
    let conv = first["conversation_id"].as_str().unwrap();
    let hist = h.get_json(&format!("/v1/coordination/history?conversation_id={conv}")).await;
    assert_eq!(hist["total"], 2, "no second message");
    let other: Value = send("k-2").await.unwrap().json().await.unwrap();
    assert_ne!(other["message_id"], first["message_id"]);
    let log = h.ctl.requests().await;
    let keys: Vec<&Value> = log.iter().map(|r| &r["idempotency_key"]).collect();
    assert!(keys.contains(&&json!("k-1")) && keys.contains(&&json!("k-2")));

    let unkeyed = h.post("/v1/coordination/message", json!({"message": "hi"})).await;
    assert!(unkeyed.headers().get("idempotency-key").is_none());
    // Whatever the handler answers to a keyed request echoes the key, a refusal too.
    let refused = h
        .req(Method::POST, "/v1/coordination/message")
        .header("Idempotency-Key", "k-3")
        .json(&json!({"message": "hi", "conversation_id": uuid::Uuid::new_v4().to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()["idempotency-key"], "k-3");
    expect_error(refused, 404, "conversation_not_found").await;
    // An injected answer did not come from the handler: no echo.
    h.ctl.fault(&Fault::status("/v1/coordination/message", 503).count(1)).await;
    let injected = send("k-4").await.unwrap();
    assert_eq!(injected.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(injected.headers().get("idempotency-key").is_none());

    let long = "x".repeat(300);
    let bad = h
        .req(Method::POST, "/v1/coordination/message")
        .header("Idempotency-Key", long)
        .json(&json!({"message": "hi"}))
        .send()
        .await
        .unwrap();
    expect_error(bad, 422, "validation_error").await;
}

#[tokio::test]
async fn goals_list_filter_and_every_action() {
    let h = start().await;
    let all = h.get_json("/v1/coordination/goals?limit=100").await;
    assert_eq!(all["goals"], all["items"]);
    assert_eq!(all["total"], 6);
    let statuses: Vec<&str> = all["goals"].as_array().unwrap().iter().map(|g| g["status"].as_str().unwrap()).collect();
    for s in ["needs_input", "active", "completed", "cancelled", "archived"] {
        assert!(statuses.contains(&s), "{s} in {statuses:?}");
    }
    let active = h.get_json("/v1/coordination/goals?status=active").await;
    assert_eq!(active["total"], 3, "active = still in play");
    let paged = h.get_json("/v1/coordination/goals?limit=2&offset=1").await;
    assert_eq!(paged["goals"].as_array().unwrap().len(), 2);
    expect_error(h.get("/v1/coordination/goals?limit=abc").await, 422, "validation_error").await;

    // The first goal that waits is the one waiting for a step approval (the other asks a question).
    let waiting = all["goals"].as_array().unwrap().iter().find(|g| g["status"] == "needs_input").unwrap();
    let id = waiting["id"].as_str().unwrap();
    let goal = h.get_json(&format!("/v1/coordination/goals/{id}")).await;
    assert_eq!(goal["awaiting"], "step_approval");
    assert!(goal["steps"].as_array().unwrap().iter().any(|s| s["status"] == "awaiting_approval"));
    for k in ["description", "created_at", "updated_at", "credits_used", "credits_estimated", "parent_goal_id", "steps"]
    {
        assert!(goal.get(k).is_some(), "{k}");
    }

    expect_error(h.post(&format!("/v1/coordination/goals/{id}/archive"), json!(null)).await, 409, "goal_not_finished")
        .await;
    let approved = h.post_json(&format!("/v1/coordination/goals/{id}/approve-step"), json!(null)).await;
    assert_eq!(approved["status"], "active");
    expect_error(
        h.post(&format!("/v1/coordination/goals/{id}/approve-step"), json!(null)).await,
        409,
        "no_step_awaiting_approval",
    )
    .await;
    h.ctl.advance(120.0).await;
    let done = h.get_json(&format!("/v1/coordination/goals/{id}")).await;
    assert_eq!(done["status"], "needs_input");
    assert_eq!(done["awaiting"], "outcome");
    assert!(done["credits_used"].as_f64().unwrap() > goal["credits_used"].as_f64().unwrap());
    let cont = h.post_json(&format!("/v1/coordination/goals/{id}/continue-negotiating"), json!(null)).await;
    assert_eq!(cont["status"], "active");
    h.ctl.advance(120.0).await;
    let accepted = h.post_json(&format!("/v1/coordination/goals/{id}/accept-outcome"), json!(null)).await;
    assert_eq!(accepted["status"], "completed");
    expect_error(
        h.post(&format!("/v1/coordination/goals/{id}/cancel"), json!(null)).await,
        409,
        "goal_already_completed",
    )
    .await;
    let archived = h.post_json(&format!("/v1/coordination/goals/{id}/archive"), json!(null)).await;
    assert_eq!(archived["status"], "archived");

    let running = h.post_json("/v1/coordination/message", json!({"message": "Find the best dentist nearby"})).await;
    let gid = running["goal_id"].as_str().unwrap();
    let escalated = h.post_json(&format!("/v1/coordination/goals/{gid}/escalate"), json!(null)).await;
    assert_eq!(escalated["escalated"], true);
    let budget = h.get_json(&format!("/v1/coordination/goals/{gid}/budget")).await;
    assert_eq!(budget["goal_id"], json!(gid));
    assert!(budget["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["action"].is_string() && b["credits"].is_number()));
    let cancelled = h.post_json(&format!("/v1/coordination/goals/{gid}/cancel"), json!(null)).await;
    assert_eq!(cancelled["status"], "cancelled");
    expect_error(
        h.post(&format!("/v1/coordination/goals/{gid}/cancel"), json!(null)).await,
        409,
        "goal_already_cancelled",
    )
    .await;
    let tree = h.get_json(&format!("/v1/coordination/goals/{gid}/tree")).await;
    assert!(tree["sub_goals"].is_array());
    let batch = h.post_json("/v1/coordination/goals/batch-archive", json!({"goal_ids": [gid]})).await;
    assert_eq!(batch["archived"], json!([gid]));

    for path in [
        format!("/v1/coordination/goals/{}", foreign_ids::GOAL),
        "/v1/coordination/goals/not-a-uuid".into(),
        format!("/v1/coordination/goals/{}/cancel", uuid::Uuid::new_v4()),
    ] {
        let resp = if path.ends_with("cancel") { h.post(&path, json!(null)).await } else { h.get(&path).await };
        expect_error(resp, 404, "goal_not_found").await;
    }
}

#[tokio::test]
async fn goal_steps_advance_on_their_own_over_simulated_time() {
    let h = start().await;
    let r = h.post_json("/v1/coordination/message", json!({"message": "Call the garage about my car"})).await;
    let gid = r["goal_id"].as_str().unwrap().to_string();
    h.ctl.advance(15.0).await;
    let g = h.get_json(&format!("/v1/coordination/goals/{gid}")).await;
    assert_eq!(g["steps"][0]["status"], "completed");
    h.ctl.advance(60.0).await;
    let g = h.get_json(&format!("/v1/coordination/goals/{gid}")).await;
    assert_eq!(g["status"], "needs_input");
    assert_eq!(g["credits_used"], 2.0);
    let cb = h.get_json(&format!("/v1/goals/{gid}/cost-breakdown")).await;
    assert_eq!(cb["total_credits"], 2.0);
    assert_eq!(cb["items"][0]["action"], "call");
    let p = h.get_json("/v1/notifications/pending").await;
    assert!(p["goals"]["items"].as_array().unwrap().iter().any(|i| i["id"] == json!(gid)));
}

#[tokio::test]
async fn out_of_credits_answers_402_quota_exceeded() {
    let h = start().await;
    let bal = h.ctl.set_credits(1.0).await;
    assert_eq!(bal["credits_remaining"], 1.0);
    let r = h.post("/v1/coordination/message", json!({"message": "Book a hotel in Lisbon"})).await;
    let e = expect_error(r, 402, "quota_exceeded").await;
    assert_eq!(e["error"]["details"]["credits_remaining"], 1.0);
    h.post_json("/v1/coordination/message", json!({"message": "Search for a florist"})).await;
    h.ctl.set_credits(0.0).await;
    expect_error(h.post("/v1/coordination/message", json!({"message": "hello"})).await, 402, "quota_exceeded").await;
    let call = h
        .post(
            "/v1/calls",
            json!({"submission": {"task_description": "Ask about opening hours", "respondent_phone": "+34911222333"}}),
        )
        .await;
    expect_error(call, 402, "quota_exceeded").await;
}

#[tokio::test]
async fn calls_list_get_and_transcript_carry_both_spellings() {
    let h = start().await;
    let list = h.get_json("/v1/calls?limit=10").await;
    assert_eq!(list["calls"], list["items"]);
    assert_eq!(list["total"], 3);
    let call = list["calls"].as_array().unwrap().iter().find(|c| c["status"] == "success").unwrap().clone();
    assert!(is_uuid(&call["call_id"]));
    assert_eq!(call["call_id"], call["id"]);
    assert!(is_iso(&call["metadata"]["created_at"]) && is_iso(&call["created_at"]) && is_iso(&call["ended_at"]));
    assert!(call["duration_seconds"].is_number() && call["credits_used"].is_number());
    assert_eq!(call["to"], call["submission"]["respondent_phone"]);
    assert_eq!(call["business_name"], call["submission"]["business_name"]);
    assert!(call["result_summary"].is_string() && call["highlights"].is_string() && call["next_steps"].is_string());
    let id = call["call_id"].as_str().unwrap();
    assert_eq!(h.get_json(&format!("/v1/calls/{id}")).await, call);
    let t = h.get_json(&format!("/v1/calls/{id}/transcript")).await;
    let entries = t["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    for e in entries {
        assert!(e["speaker"] == "AI" || e["speaker"] == "HUMAN");
        assert!(e["content"].is_string());
        assert_eq!(e["timestamp"].as_str().unwrap().len(), 8);
    }
    let unanswered = list["calls"].as_array().unwrap().iter().find(|c| c["status"] == "no_answer").unwrap();
    expect_error(
        h.get(&format!("/v1/calls/{}/transcript", unanswered["id"].as_str().unwrap())).await,
        404,
        "transcript_not_found",
    )
    .await;
    expect_error(h.get(&format!("/v1/calls/{}", foreign_ids::CALL)).await, 404, "call_not_found").await;
    expect_error(h.get("/v1/calls/123").await, 404, "call_not_found").await;
    let page = h.get_json("/v1/calls?limit=1&offset=1").await;
    assert_eq!(page["calls"].as_array().unwrap().len(), 1);
    assert_eq!(page["total"], 3);
    expect_error(h.get("/v1/calls?limit=500").await, 422, "validation_error").await;
}

#[tokio::test]
async fn creating_a_call_is_idempotent_and_validated() {
    let h = start().await;
    let body = json!({"submission": {"task_category": "restaurant", "task_description": "Book a table for two tonight at nine",
                                     "respondent_phone": "+34915550123", "business_name": "Casa Lucio", "language": "es", "call_language": "es"},
                      "timezone": "Europe/Madrid"});
    let make = || h.req(Method::POST, "/v1/calls").header("Idempotency-Key", "cli-0123456789abcdef").json(&body).send();
    let first = make().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(first.headers()["idempotency-key"], "cli-0123456789abcdef");
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "success");
    let second = make().await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["idempotency-key"], "cli-0123456789abcdef");
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["call_id"], second["call_id"]);
    assert_eq!(h.get_json("/v1/calls").await["total"], 4, "one call, not two");
    let before = h.get_json("/v1/credits/balance").await["credits_remaining"].as_f64().unwrap();
    assert_eq!(before, 458.0 - first["credits_used"].as_f64().unwrap());

    for (sub, status, code) in [
        (json!({"task_description": "Please call them now", "respondent_phone": "112"}), 422, "emergency_number"),
        (json!({"task_description": "Please call them now", "respondent_phone": "+1911"}), 422, "emergency_number"),
        (
            json!({"task_description": "Please call them now", "respondent_phone": "555-1234"}),
            422,
            "missing_phone_number",
        ),
        (json!({"task_description": "Please call them now", "respondent_phone": "+19005550100"}), 422, "toll_number"),
        (
            json!({"task_description": "Please call them now", "respondent_phone": "+34915550123", "language": "fr"}),
            422,
            "unsupported_language",
        ),
        (json!({"task_description": "short", "respondent_phone": "+34915550123"}), 422, "validation_error"),
        (json!({"respondent_phone": "+34915550123"}), 422, "validation_error"),
    ] {
        expect_error(h.post("/v1/calls", json!({"submission": sub})).await, status, code).await;
    }
}

#[tokio::test]
async fn inbound_call_rings_grows_and_is_taken_over_once() {
    let h = start().await;
    let ring = Ring::new("+34600111222")
        .caller_name("Dr. Smith")
        .vip(true)
        .summary("Wants to move the appointment")
        .line_interval_ms(1000);
    let id = h.ctl.ring(&ring).await;
    let active = h.get_json("/v1/inbound/calls?status=active&limit=20").await;
    assert_eq!(active["total"], 1);
    let call = &active["calls"][0];
    assert_eq!(call["id"], json!(id));
    assert_eq!(call["caller_name"], "Dr. Smith");
    assert_eq!(call["is_vip"], true);
    assert!(is_iso(&call["created_at"]));
    let t1 = h.get_json(&format!("/v1/inbound/calls/{id}/transcript")).await;
    assert_eq!(t1["entries"].as_array().unwrap().len(), 1);
    h.ctl.advance(2.0).await;
    let t2 = h.get_json(&format!("/v1/inbound/calls/{id}/transcript")).await;
    assert_eq!(t2["entries"].as_array().unwrap().len(), 3, "one line per second of sim time");
    let p = h.get_json("/v1/notifications/pending").await;
    assert_eq!(p["inbound"]["count"], 1);

    let took = h.post_json(&format!("/v1/inbound/calls/{id}/takeover"), json!(null)).await;
    assert_eq!(took, json!({"success": true, "call_id": id, "status": "taken_over"}));
    expect_error(h.post(&format!("/v1/inbound/calls/{id}/takeover"), json!(null)).await, 409, "call_not_active").await;
    expect_error(h.post(&format!("/v1/inbound/calls/{id}/reject"), json!({})).await, 409, "call_not_active").await;
    let got = h.get_json(&format!("/v1/inbound/calls/{id}")).await;
    assert_eq!(got["status"], "taken_over");
    assert!(is_iso(&got["ended_at"]));
    assert_eq!(h.get_json("/v1/inbound/calls?status=active").await["total"], 0);
}

#[tokio::test]
async fn inbound_reject_transfer_end_and_natural_completion() {
    let h = start().await;
    let hr = &h;
    let ring = |n: &str| {
        let ring = Ring::new(n).transcript([("AI", "Hello"), ("HUMAN", "Hi")]).line_interval_ms(1000);
        async move { hr.ctl.ring(&ring).await }
    };
    let a = ring("+34600000001").await;
    let r = h.post_json(&format!("/v1/inbound/calls/{a}/reject"), json!({"reason": "user_rejected"})).await;
    assert_eq!(r["status"], "rejected");
    assert_eq!(r["reason"], "user_rejected");
    let b = ring("+34600000002").await;
    expect_error(
        h.post(&format!("/v1/inbound/calls/{b}/transfer"), json!({"target_number": "nope"})).await,
        422,
        "validation_error",
    )
    .await;
    let t = h.post_json(&format!("/v1/inbound/calls/{b}/transfer"), json!({"target_number": "+34911000111"})).await;
    assert_eq!(t["target_number"], "+34911000111");
    let c = ring("+34600000003").await;
    h.ctl.end_call(&c, Some("missed")).await;
    assert_eq!(h.get_json(&format!("/v1/inbound/calls/{c}")).await["status"], "missed");
    let d = ring("+34600000004").await;
    h.ctl.advance(3.0).await;
    let done = h.get_json(&format!("/v1/inbound/calls/{d}")).await;
    assert_eq!(done["status"], "completed", "script ran out");
    assert_eq!(h.get_json(&format!("/v1/inbound/calls/{d}/transcript")).await["entries"].as_array().unwrap().len(), 2);
    expect_error(
        h.post(&format!("/v1/inbound/calls/{}/takeover", foreign_ids::INBOUND_CALL), json!(null)).await,
        404,
        "call_not_found",
    )
    .await;
    expect_error(h.get(&format!("/v1/inbound/calls/{}", foreign_ids::INBOUND_CALL)).await, 404, "call_not_found").await;
}

#[tokio::test]
async fn inbound_list_filters() {
    let h = start().await;
    let all = h.get_json("/v1/inbound/calls").await;
    assert_eq!(all["total"], 3);
    assert_eq!(all["calls"], all["items"]);
    assert_eq!(h.get_json("/v1/inbound/calls?status=missed").await["total"], 1);
    assert_eq!(h.get_json("/v1/inbound/calls?vip_only=true").await["total"], 1);
    assert_eq!(h.get_json("/v1/inbound/calls?limit=1&offset=1").await["calls"].as_array().unwrap().len(), 1);
    assert_eq!(h.get_json("/v1/inbound/calls?date_from=2999-01-01").await["total"], 0);
    assert_eq!(h.get_json("/v1/inbound/calls?from=2000-01-01&to=2999-01-01").await["total"], 3);
    expect_error(h.get("/v1/inbound/calls?limit=0").await, 422, "validation_error").await;
    expect_error(h.get("/v1/inbound/calls?limit=101").await, 422, "validation_error").await;
    expect_error(h.get("/v1/inbound/calls?date_from=yesterday").await, 422, "validation_error").await;
}

// The demo's inbound history reads like real calls: each transcript is its caller's screening,
// and the summary and action items are in the call's language.
#[tokio::test]
async fn the_demo_inbound_calls_sound_like_real_ones() {
    let h = start().await;
    let all = h.get_json("/v1/inbound/calls").await;
    let by_name = |name: &str| {
        all["calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["caller_name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {all}"))
    };
    for (call, status) in [(&demo_calls::CLINIC, "completed"), (&demo_calls::SALES, "rejected")] {
        let c = by_name(call.caller_name);
        assert_eq!((c["status"].as_str(), c["is_vip"].as_bool()), (Some(status), Some(call.is_vip)), "{c}");
        assert_eq!(c["summary"], call.summary);
        let items: Vec<&str> =
            c["action_items"].as_array().unwrap().iter().filter_map(|i| i["description"].as_str()).collect();
        assert_eq!(items, call.action_items, "{c}");
        let t = h.get_json(&format!("/v1/inbound/calls/{}/transcript", c["id"].as_str().unwrap())).await;
        let said: Vec<(&str, &str)> = t["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["speaker"].as_str().unwrap(), e["content"].as_str().unwrap()))
            .collect();
        assert_eq!(said, call.script, "{t}");
        let last = t["entries"].as_array().unwrap().last().unwrap()["timestamp"].as_str().unwrap().to_string();
        let secs: i64 = last.split(':').fold(0, |acc, part| acc * 60 + part.parse::<i64>().unwrap());
        assert!(secs < c["duration_seconds"].as_i64().unwrap(), "the last line starts before the call ended: {t}");
    }
    assert!(by_name(demo_calls::CLINIC.caller_name)["summary"].as_str().unwrap().contains("Friday at 9:30"));
    assert!(by_name(demo_calls::SALES.caller_name)["summary"].as_str().unwrap().contains("rechazaste"));
}

#[tokio::test]
async fn polled_lists_send_etags_and_answer_304() {
    let h = start().await;
    for path in ["/v1/inbound/calls?status=active&limit=20", "/v1/notifications/pending", "/v1/credits/balance"] {
        let first = h.get(path).await;
        let tag = first.headers()[header::ETAG].to_str().unwrap().to_string();
        let same = h.req(Method::GET, path).header(header::IF_NONE_MATCH, &tag).send().await.unwrap();
        assert_eq!(same.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(same.headers()[header::ETAG].to_str().unwrap(), tag);
        assert!(same.bytes().await.unwrap().is_empty());
        let other = h.req(Method::GET, path).header(header::IF_NONE_MATCH, "\"stale\"").send().await.unwrap();
        assert_eq!(other.status(), StatusCode::OK);
    }
    let tag = h.get("/v1/inbound/calls?status=active").await.headers()[header::ETAG].clone();
    h.ctl.ring(&Ring::new("+34600000009")).await;
    let changed =
        h.req(Method::GET, "/v1/inbound/calls?status=active").header(header::IF_NONE_MATCH, tag).send().await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK, "a new call changes the tag");
    let tag = h.get("/v1/credits/balance").await.headers()[header::ETAG].clone();
    h.ctl.set_credits(10.0).await;
    let changed = h.req(Method::GET, "/v1/credits/balance").header(header::IF_NONE_MATCH, tag).send().await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
}

#[tokio::test]
async fn notifications_have_three_groups_and_items_leave_when_handled() {
    let h = start().await;
    let p = h.get_json("/v1/notifications/pending").await;
    for g in ["actions", "goals", "inbox"] {
        assert!(p[g]["count"].as_u64().unwrap() >= 1, "{g}");
        for item in p[g]["items"].as_array().unwrap() {
            assert!(is_uuid(&item["id"]));
        }
    }
    let total = p["total_pending"].as_u64().unwrap();
    assert_eq!(
        total,
        p["actions"]["count"].as_u64().unwrap()
            + p["goals"]["count"].as_u64().unwrap()
            + p["inbox"]["count"].as_u64().unwrap()
    );
    assert!(is_iso(&p["generated_at"]));
    assert!(p["active_goal"]["current_step_description"].is_string());
    assert_eq!(p["actions"]["items"][0]["type"], "email_approval");
    assert!(p["inbox"]["items"][0]["preview"].is_string());

    let email = p["actions"]["items"][0]["id"].as_str().unwrap();
    h.post_json(&format!("/v1/actions/email/{email}/approve"), json!(null)).await;
    let msg = p["inbox"]["items"][0]["id"].as_str().unwrap();
    h.post_json("/v1/messages/mark-read", json!({"message_ids": [msg]})).await;
    let after = h.get_json("/v1/notifications/pending").await;
    assert_eq!(after["total_pending"].as_u64().unwrap(), total - 2);
}

#[tokio::test]
async fn credits_budget_subscription_and_billing() {
    let h = start().await;
    let b = h.get_json("/v1/credits/balance").await;
    assert_eq!(
        b,
        json!({"credits_remaining": 458.0, "credits_used": 142.0, "credits_allocated": 600.0, "plan_type": "pro",
                         "period_start": b["period_start"], "period_end": b["period_end"]})
    );
    assert!(is_iso(&b["period_start"]) && is_iso(&b["period_end"]));
    let hist = h.get_json("/v1/credits/history?limit=2").await;
    assert_eq!(hist["entries"].as_array().unwrap().len(), 2);
    assert!(hist["entries"][0]["credits"].is_number() && is_iso(&hist["entries"][0]["timestamp"]));
    let br = h.get_json("/v1/credits/breakdown").await;
    assert_eq!(br["total_spent"], 142.0);
    assert!(br["items"][0]["action_type"].is_string());
    // Public endpoints need no token.
    let costs: Value = h.client.get(format!("{}/v1/credits/costs", h.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(costs["costs"]["call"]["per_minute"], 0.5);
    let plans: Value = h.client.get(format!("{}/v1/credits/plans", h.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(plans["plans"]["pro"]["credits_allocated"], 600.0);
    assert_eq!(plans["plans"]["pro"]["overage_rate"], "0.15");

    let est = h
        .post_json("/v1/goals/estimate", json!({"type": "booking", "description": "Dinner for four on Friday night"}))
        .await;
    assert_eq!(est["estimated_credits"], 3.5);
    assert!(est["breakdown"]["search"].is_number());
    expect_error(h.post("/v1/goals/estimate", json!({"type": "teleport"})).await, 422, "validation_error").await;
    let goal = h.get_json("/v1/coordination/goals?status=active").await["goals"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(h.post_json(&format!("/v1/goals/{goal}/approve-budget"), json!(null)).await["success"], true);
    assert_eq!(h.post_json(&format!("/v1/goals/{goal}/acknowledge-soft-cap"), json!(null)).await["success"], true);
    expect_error(h.get(&format!("/v1/goals/{}/cost-breakdown", foreign_ids::GOAL)).await, 404, "goal_not_found").await;

    let stats = h.get_json("/v1/users/me/statistics").await;
    assert_eq!(stats["minutes_used"], b["credits_used"]);
    assert_eq!(stats["minutes_remaining"], b["credits_remaining"]);
    for k in ["minutes_allocated", "usage_percentage", "calls_allocated", "calls_used", "calls_remaining"] {
        assert!(stats[k].is_number(), "{k}");
    }
    assert!(is_iso(&stats["period_start"]));
    let sub = h.get_json("/v1/users/me/subscription").await;
    assert_eq!(sub["has_active_subscription"], true);
    assert_eq!(sub["plan"]["type"], "pro");
    assert!(sub["plan"]["minutes_included"].is_number());
    let status = h.get_json("/v1/subscriptions/status").await;
    assert_eq!(status["plan_type"], "pro");
    assert!(status["pending_change"].is_null());
    let portal = h.get_json("/v1/stripe/billing-portal").await;
    assert_eq!(portal["url"], portal["portal_url"]);
}

#[tokio::test]
async fn empty_seed_is_a_fresh_user_and_reset_switches_seeds() {
    let h = start_with(SimConfig { seed: Seed::Empty, ..Default::default() }).await;
    assert_eq!(h.get_json("/v1/calls").await["total"], 0);
    assert_eq!(h.get_json("/v1/coordination/goals").await["total"], 0);
    assert_eq!(h.get_json("/v1/inbound/calls").await["total"], 0);
    let p = h.get_json("/v1/notifications/pending").await;
    assert_eq!(p["total_pending"], 0);
    assert!(p["active_goal"].is_null());
    let b = h.get_json("/v1/credits/balance").await;
    assert_eq!(b["credits_used"], 0.0);
    assert_eq!(b["plan_type"], "starter");

    h.ctl.reset(Some(Seed::Demo), None).await;
    // Reset clears tokens too.
    expect_error(h.get("/v1/calls").await, 401, "token_expired").await;
    let s = h.ctl.session().await;
    let calls: Value = h.get_as("/v1/calls", &s.access_token).await.json().await.unwrap();
    assert_eq!(calls["total"], 3);
    let bad = h.client.post(format!("{}/_sim/reset", h.url)).json(&json!({"seed": "huge"})).send().await.unwrap();
    expect_error(bad, 422, "validation_error").await;
}

#[tokio::test]
async fn the_background_ticker_moves_live_calls_without_clock_jumps() {
    let h = start().await;
    let id = h.ctl.ring(&Ring::new("+34600000010").line_interval_ms(50)).await;
    wait::until("the call to finish by itself", Duration::from_secs(10), || async {
        let c = h.get_json(&format!("/v1/inbound/calls/{id}")).await;
        (c["status"] == "completed").then_some(())
    })
    .await;
    let t = h.get_json(&format!("/v1/inbound/calls/{id}/transcript")).await;
    assert_eq!(t["entries"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn change_plan_accepts_both_spellings_schedules_downgrades_and_is_rate_limited() {
    // A day-long token: the test jumps an hour ahead.
    let h = start_with(SimConfig { token_ttl_secs: 86_400, ..Default::default() }).await;
    let up = h.post_json("/v1/subscriptions/change-plan", json!({"new_plan": "power", "annual": false})).await;
    assert_eq!(up["change_type"], "upgrade");
    assert_eq!(up["new_plan"], "power");
    let b = h.get_json("/v1/credits/balance").await;
    assert_eq!(b["credits_allocated"], 1500.0);
    assert_eq!(b["plan_type"], "power");
    let down = h.post_json("/v1/subscriptions/change-plan", json!({"target_plan": "starter"})).await;
    assert_eq!(down["change_type"], "downgrade_scheduled");
    let status = h.get_json("/v1/subscriptions/status").await;
    assert_eq!(status["pending_change"]["new_plan"], "starter");
    assert!(is_iso(&status["pending_change"]["effective_date"]));
    expect_error(
        h.post("/v1/subscriptions/change-plan", json!({"new_plan": "pro"})).await,
        400,
        "pending_change_exists",
    )
    .await;
    assert_eq!(
        h.req(Method::DELETE, "/v1/subscriptions/pending-change").send().await.unwrap().status(),
        StatusCode::OK
    );
    expect_error(
        h.req(Method::DELETE, "/v1/subscriptions/pending-change").send().await.unwrap(),
        400,
        "no_pending_change",
    )
    .await;
    let r = h.post("/v1/subscriptions/change-plan", json!({"new_plan": "power"})).await;
    assert_eq!(r.status(), StatusCode::OK, "third change this hour");
    let limited = h.post("/v1/subscriptions/change-plan", json!({"new_plan": "power"})).await;
    assert!(limited.headers().get(header::RETRY_AFTER).is_some());
    expect_error(limited, 429, "rate_limited").await;
    h.ctl.advance(3601.0).await;
    assert_eq!(h.post("/v1/subscriptions/change-plan", json!({"new_plan": "power"})).await.status(), StatusCode::OK);
    expect_error(
        h.post("/v1/subscriptions/change-plan", json!({"new_plan": "platinum"})).await,
        422,
        "validation_error",
    )
    .await;
}

#[tokio::test]
async fn recordings_and_inbound_summary() {
    let h = start().await;
    let calls = h.get_json("/v1/calls").await;
    let ok = calls["calls"].as_array().unwrap().iter().find(|c| c["status"] == "success").unwrap();
    let rec = h.get_json(&format!("/v1/calls/{}/recording", ok["id"].as_str().unwrap())).await;
    assert_eq!(rec["format"], "mp3");
    assert!(rec["url"].is_string() && rec["duration_seconds"].is_number());
    let silent = calls["calls"].as_array().unwrap().iter().find(|c| c["status"] == "no_answer").unwrap();
    expect_error(
        h.get(&format!("/v1/calls/{}/recording", silent["id"].as_str().unwrap())).await,
        404,
        "recording_not_found",
    )
    .await;

    let s = h.get_json("/v1/inbound/calls/summary").await;
    assert_eq!(s["total"], 3);
    assert_eq!(s["missed"], 1);
    assert!(s["average_duration_seconds"].as_f64().unwrap() > 0.0);
    let id = h.ctl.ring(&Ring::new("+34600000011")).await;
    expect_error(h.get(&format!("/v1/inbound/calls/{id}/recording")).await, 404, "recording_not_found").await;
    assert_eq!(h.get_json("/v1/inbound/calls/summary").await["active"], 1);
}

#[tokio::test]
async fn a_call_rung_without_a_script_stays_live_until_ended() {
    let h = start().await;
    let id = h.ctl.ring(&Ring::new("+34600000012").no_script()).await;
    h.ctl.advance(3600.0).await;
    let s = h.session_token().await;
    let call = format!("/v1/inbound/calls/{id}");
    assert_eq!(h.ctl.api_get(&call).await["status"], "active");
    expect_error(h.get_as(&format!("/v1/inbound/calls/{id}/transcript"), &s).await, 404, "transcript_not_found").await;
    h.ctl.end_call(&id, None).await;
    assert_eq!(h.ctl.api_get(&call).await["status"], "completed");
}

#[tokio::test]
async fn a_canned_reply_is_the_next_answer_verbatim_once() {
    let h = start().await;
    let canned = "<img src=x onerror=alert(1)> <script>alert(2)</script> & \"quoted\"";
    h.ctl.next_reply(canned).await;
    let r = h.post_json("/v1/coordination/message", json!({"message": "What is the weather like?"})).await;
    assert_eq!(r["response"], canned);
    assert_eq!(r["message"], canned);
    let conv = r["conversation_id"].as_str().unwrap();
    let hist = h.get_json(&format!("/v1/coordination/history?conversation_id={conv}")).await;
    assert_eq!(hist["messages"][1]["content"], canned, "the history keeps what was said");
    // Used once: the next ask gets the assistant's own words again.
    let next = h.post_json("/v1/coordination/message", json!({"message": "What is the weather like?"})).await;
    assert_ne!(next["response"], canned);
    // A booking keeps its goal; only the words change.
    h.ctl.next_reply("Booked words").await;
    let booked = h.post_json("/v1/coordination/message", json!({"message": "Book a table at Nobu"})).await;
    assert_eq!((booked["response"].as_str(), booked["intent"].as_str()), (Some("Booked words"), Some("booking")));
    assert!(is_uuid(&booked["goal_id"]));
    let empty = h.client.post(format!("{}/_sim/assistant/next-reply", h.url)).json(&json!({"text": ""})).send().await;
    expect_error(empty.unwrap(), 422, "validation_error").await;
    // Repeated: a reply longer than a control request may be, bounded.
    h.ctl.next_reply_repeated("ab", 3).await;
    let r = h.post_json("/v1/coordination/message", json!({"message": "Say it thrice"})).await;
    assert_eq!(r["response"], "ababab");
    for repeat in [json!(0), json!(3 * 1024 * 1024)] {
        let refused = h
            .client
            .post(format!("{}/_sim/assistant/next-reply", h.url))
            .json(&json!({"text": "ab", "repeat": repeat}))
            .send()
            .await;
        expect_error(refused.unwrap(), 422, "validation_error").await;
    }
}

//! What the Inbox and Activity windows read (reference §3.5, §3.6, §3.15, §3.1): email drafts in
//! full, messages and their threads, a goal that asks a question and its answer, the action log
//! and undo. Every one is documented for production, so each test runs under both profiles.

mod common;

use common::*;
use kallyai_sim::{Profile, SimConfig};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PROFILES: [Profile; 2] = [Profile::Default, Profile::Production];

async fn sim(profile: Profile) -> Harness {
    start_with(SimConfig { profile, ..SimConfig::default() }).await
}

fn list(v: &Value, key: &str) -> Vec<Value> {
    assert_eq!(v[key], v["items"], "`{key}` and `items` are the same list: {v}");
    v[key].as_array().unwrap_or_else(|| panic!("{key} in {v}")).clone()
}

fn the_one<'a>(items: &'a [Value], what: &str, pick: impl Fn(&Value) -> bool) -> &'a Value {
    let found: Vec<&Value> = items.iter().filter(|v| pick(v)).collect();
    assert_eq!(found.len(), 1, "exactly one {what} in {items:?}");
    found[0]
}

#[tokio::test]
async fn an_email_draft_has_its_body_in_the_outbox_and_on_its_own() {
    for profile in PROFILES {
        let h = sim(profile).await;
        let outbox = h.get_json("/v1/actions/email/outbox").await;
        let emails = outbox["emails"].as_array().unwrap();
        assert_eq!(outbox["total"], 1, "{profile:?}");
        let draft = &emails[0];
        assert_eq!(draft["to"], "ana.moreno@fincasmoreno.example");
        assert_eq!(draft["subject"], "The heater in flat 3B is still not working");
        assert_eq!(draft["status"], "pending_approval");
        assert!(draft["cc"].is_null() && is_iso(&draft["created_at"]) && is_uuid(&draft["id"]));
        let body = draft["body"].as_str().unwrap();
        assert!(body.starts_with("Dear Ana,") && body.ends_with("Alex"), "{body}");
        assert!((3..=10).contains(&body.lines().filter(|l| !l.trim().is_empty()).count()), "{body}");

        let id = draft["id"].as_str().unwrap();
        assert_eq!(&h.get_json(&format!("/v1/actions/email/{id}")).await, draft, "the same fields one by one");
        for unknown in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".into()] {
            expect_error(h.get(&format!("/v1/actions/email/{unknown}")).await, 404, "email_not_found").await;
        }

        // Sending it logs an email action that cannot be undone; the draft says it was sent.
        h.post_json(&format!("/v1/actions/email/{id}/approve"), json!(null)).await;
        assert_eq!(h.get_json(&format!("/v1/actions/email/{id}")).await["status"], "sent");
        let log = h.get_json("/v1/actions/log?type=email").await;
        let newest = &list(&log, "actions")[0];
        assert_eq!(
            newest["description"],
            "Sent the email to ana.moreno@fincasmoreno.example: \"The heater in flat 3B is still not working\""
        );
        assert_eq!((newest["status"].as_str(), newest["undoable"].as_bool()), (Some("completed"), Some(false)));
        let undo = h.post(&format!("/v1/actions/{}/undo", newest["id"].as_str().unwrap()), json!(null)).await;
        expect_error(undo, 409, "action_not_undoable").await;
        assert_eq!(h.get_json("/v1/actions/log").await["total"], 5, "the seed's four and the sent email");
    }
}

#[tokio::test]
async fn the_inbox_filters_pages_and_gives_each_message_in_full() {
    for profile in PROFILES {
        let h = sim(profile).await;
        let inbox = h.get_json("/v1/messages/inbox").await;
        let messages = list(&inbox, "messages");
        assert_eq!(inbox["total"], 3, "{profile:?}: {inbox}");
        assert_eq!(messages.len(), 3);
        let times: Vec<&str> = messages.iter().map(|m| m["received_at"].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
        for m in &messages {
            assert!(is_uuid(&m["id"]) && is_uuid(&m["conversation_id"]) && is_iso(&m["received_at"]), "{m}");
            for k in ["from", "subject", "channel", "preview"] {
                assert!(m[k].is_string(), "{k} in {m}");
            }
            assert_eq!(m["unread"], true);
            assert!(m.get("body").is_none(), "the list has the preview only: {m}");
        }
        let sms = the_one(&messages, "clinic SMS", |m| m["from"] == "Clínica Dental Sol" && m["channel"] == "sms");
        assert_eq!(messages[0], *sms, "the newest message");

        assert_eq!(h.get_json("/v1/messages/inbox?channel=sms").await["total"], 2);
        assert_eq!(h.get_json("/v1/messages/inbox?channel=email").await["total"], 1);
        assert_eq!(h.get_json("/v1/messages/inbox?channel=chat").await["total"], 0);
        let page = h.get_json("/v1/messages/inbox?limit=1&offset=1").await;
        assert_eq!((list(&page, "messages").len(), page["total"].as_u64()), (1, Some(3)));
        assert_eq!(page["messages"][0], messages[1]);
        expect_error(h.get("/v1/messages/inbox?channel=fax").await, 422, "validation_error").await;
        expect_error(h.get("/v1/messages/inbox?limit=0").await, 422, "validation_error").await;

        let id = sms["id"].as_str().unwrap();
        let full = h.get_json(&format!("/v1/messages/inbox/{id}")).await;
        for k in ["id", "from", "subject", "channel", "preview", "unread", "received_at", "conversation_id"] {
            assert_eq!(full[k], sms[k], "{k}");
        }
        assert_eq!(
            full["body"],
            "Hola Alex, we can move your cleaning to Friday 12 Dec at 17:30. Reply YES to confirm or call 912 345 678."
        );
        assert_eq!(full["direction"], "incoming");
        for m in &messages {
            let whole = h.get_json(&format!("/v1/messages/inbox/{}", m["id"].as_str().unwrap())).await;
            let body = whole["body"].as_str().unwrap();
            assert!(body.len() > 40 && body.len() >= m["preview"].as_str().unwrap().len(), "a real body: {whole}");
        }
        for unknown in [uuid::Uuid::new_v4().to_string(), "42".into()] {
            expect_error(h.get(&format!("/v1/messages/inbox/{unknown}")).await, 404, "message_not_found").await;
        }

        // Mark-read: out of the unread view and the pending list, still in the inbox.
        let before = h.get_json("/v1/notifications/pending").await;
        assert_eq!(before["inbox"]["count"], 3);
        assert_eq!(before["inbox"]["items"][0]["id"], sms["id"]);
        assert_eq!(before["inbox"]["items"][0]["conversation_id"], sms["conversation_id"]);
        h.post_json("/v1/messages/mark-read", json!({"message_ids": [id]})).await;
        assert_eq!(h.get_json("/v1/messages/inbox?unread=true").await["total"], 2);
        assert_eq!(h.get_json("/v1/messages/inbox").await["total"], 3);
        assert_eq!(h.get_json(&format!("/v1/messages/inbox/{id}")).await["unread"], false);
        let after = h.get_json("/v1/notifications/pending").await;
        assert_eq!(after["total_pending"].as_u64().unwrap(), before["total_pending"].as_u64().unwrap() - 1);
    }
}

#[tokio::test]
async fn a_thread_has_both_directions_oldest_first() {
    for profile in PROFILES {
        let h = sim(profile).await;
        let sms = h.get_json("/v1/messages/inbox?channel=sms").await["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["from"] == "Clínica Dental Sol")
            .cloned()
            .unwrap();
        let thread_id = sms["conversation_id"].as_str().unwrap();
        let thread = h.get_json(&format!("/v1/messages/conversation/{thread_id}")).await;
        let messages = list(&thread, "messages");
        assert_eq!((thread["total"].as_u64(), messages.len()), (Some(2), 2), "{profile:?}: {thread}");
        let (sent, answer) = (&messages[0], &messages[1]);
        assert_eq!((sent["from"].as_str(), sent["direction"].as_str()), (Some("You"), Some("outgoing")));
        assert_eq!(sent["to"], "Clínica Dental Sol");
        assert_eq!(sent["unread"], false);
        assert!(sent["body"].as_str().unwrap().contains("Friday afternoon"), "{sent}");
        assert!(sent["received_at"].as_str() < answer["received_at"].as_str(), "oldest first");
        assert_eq!(answer["id"], sms["id"]);
        assert_eq!(answer["direction"], "incoming");
        assert!(messages.iter().all(|m| m["conversation_id"] == json!(thread_id)));
        // The user's own message is not in the inbox, but can be read by its id.
        let inbox = h.get_json("/v1/messages/inbox").await;
        assert!(list(&inbox, "messages").iter().all(|m| m["id"] != sent["id"]));
        let own = h.get_json(&format!("/v1/messages/inbox/{}", sent["id"].as_str().unwrap())).await;
        assert_eq!(own, *sent);

        // Every other message is a thread of its own.
        for m in list(&inbox, "messages").iter().filter(|m| m["id"] != sms["id"]) {
            let t = h.get_json(&format!("/v1/messages/conversation/{}", m["conversation_id"].as_str().unwrap())).await;
            assert_eq!(t["total"], 1);
        }
        for unknown in [uuid::Uuid::new_v4().to_string(), "nope".into()] {
            let resp = h.get(&format!("/v1/messages/conversation/{unknown}")).await;
            expect_error(resp, 404, "conversation_not_found").await;
        }
    }
}

const QUESTION: &str = "Which evening suits you for dinner with the Garcías: Thursday or Friday?";

/// The pending goal that asks a question, and its full JSON.
async fn asking_goal(h: &Harness) -> (Value, Value) {
    let pending = h.get_json("/v1/notifications/pending").await;
    let items = pending["goals"]["items"].as_array().unwrap();
    assert_eq!(items[0]["awaiting"], "step_approval", "the Nobu approval stays first: {pending}");
    let item = the_one(items, "question goal", |g| g["awaiting"] == "question").clone();
    let goal = h.get_json(&format!("/v1/coordination/goals/{}", item["id"].as_str().unwrap())).await;
    (item, goal)
}

#[tokio::test]
async fn answering_a_goals_question_resumes_it_and_it_leaves_the_pending_list() {
    for profile in PROFILES {
        let h = sim(profile).await;
        let before = h.get_json("/v1/notifications/pending").await;
        let (item, goal) = asking_goal(&h).await;
        assert_eq!(
            (item["summary"].as_str(), item["question"].as_str(), item["status"].as_str()),
            (Some(QUESTION), Some(QUESTION), Some("needs_input")),
            "{item}"
        );
        assert_eq!(item["title"], "Dinner with the Garcías");
        let gid = goal["id"].as_str().unwrap().to_string();
        assert_eq!((goal["question"].as_str(), goal["awaiting"].as_str()), (Some(QUESTION), Some("question")));
        assert_eq!(goal["status"], "needs_input");
        let conv = goal["conversation_id"].as_str().unwrap().to_string();
        assert_eq!(item["conversation_id"], json!(conv));
        let history = h.get_json(&format!("/v1/coordination/history?conversation_id={conv}")).await;
        let said = history["messages"].as_array().unwrap();
        let last = said.last().unwrap();
        assert_eq!((last["role"].as_str(), last["content"].as_str()), (Some("assistant"), Some(QUESTION)));
        assert_eq!(last["goal_id"], json!(gid));
        // Not a step approval.
        let approve = h.post(&format!("/v1/coordination/goals/{gid}/approve-step"), json!(null)).await;
        expect_error(approve, 409, "no_step_awaiting_approval").await;

        let answer = || {
            h.req(Method::POST, "/v1/coordination/message")
                .header("Idempotency-Key", "answer-1")
                .json(&json!({"message": "Friday works better for us", "conversation_id": conv}))
                .send()
        };
        let first = answer().await.unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        let reply: Value = first.json().await.unwrap();
        assert_eq!(reply["goal_id"], json!(gid), "{reply}");
        assert_eq!(reply["conversation_id"], json!(conv));
        assert_eq!(reply["response"], reply["message"]);
        assert_eq!(
            reply["response"],
            "Friday it is: I will book a table for four at 20:00 at Casa Lucio and tell you once it is done."
        );
        assert!(is_uuid(&reply["message_id"]) && reply["actions_taken"].is_array());

        let resumed = h.get_json(&format!("/v1/coordination/goals/{gid}")).await;
        assert_eq!(resumed["status"], "active");
        assert!(resumed["question"].is_null() && resumed["awaiting"].is_null(), "{resumed}");
        assert_eq!(resumed["steps"][1]["status"], "completed");
        let after = h.get_json("/v1/notifications/pending").await;
        let goals = after["goals"]["items"].as_array().unwrap();
        assert!(goals.iter().all(|g| g["id"] != json!(gid)), "it left the pending list: {after}");
        assert_eq!(after["total_pending"].as_u64().unwrap(), before["total_pending"].as_u64().unwrap() - 1);
        let history = h.get_json(&format!("/v1/coordination/history?conversation_id={conv}")).await;
        let said = history["messages"].as_array().unwrap();
        let tail: Vec<(&str, &str)> = said[said.len() - 2..]
            .iter()
            .map(|m| (m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
            .collect();
        assert_eq!(tail, [("user", "Friday works better for us"), ("assistant", reply["response"].as_str().unwrap())]);
        assert!(said[said.len() - 2..].iter().all(|m| m["goal_id"] == json!(gid)));

        let again = answer().await.unwrap();
        let second: Value = again.json().await.unwrap();
        let total = h.get_json(&format!("/v1/coordination/history?conversation_id={conv}")).await["total"].clone();
        if profile == Profile::Default {
            // The key replays the answer: nothing new is said.
            assert_eq!(second, reply);
            assert_eq!(total, json!(said.len()));
        } else {
            // Production ignores keys; with no question open the message is a new ask.
            assert_ne!(second["goal_id"], json!(gid), "{second}");
            assert_eq!(total, json!(said.len() + 2));
        }
    }
}

#[tokio::test]
async fn the_answer_is_announced_and_a_question_goal_can_be_cancelled() {
    let h = start().await;
    let (_, goal) = asking_goal(&h).await;
    let conv = goal["conversation_id"].as_str().unwrap();
    let last = h.get_json("/v1/inbound/events").await["last_event_id"].as_str().unwrap().to_string();
    let reply = h.post_json("/v1/coordination/message", json!({"message": "Thursday", "conversation_id": conv})).await;
    assert!(reply["response"].as_str().unwrap().starts_with("Thursday it is: "), "{reply}");
    let total = h.get_json("/v1/notifications/pending").await["total_pending"].clone();
    let events = h.get_json(&format!("/v1/inbound/events?after={last}&type=notification_changed")).await;
    assert!(events["events"].as_array().unwrap().iter().any(|e| e["total_pending"] == total), "{events}");

    h.ctl.reset(None, None).await;
    let token = h.session_token().await;
    let h = Harness { token, ..h };
    let (_, goal) = asking_goal(&h).await;
    let gid = goal["id"].as_str().unwrap();
    let cancelled = h.post_json(&format!("/v1/coordination/goals/{gid}/cancel"), json!(null)).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["question"].is_null() && cancelled["awaiting"].is_null(), "{cancelled}");
    let pending = h.get_json("/v1/notifications/pending").await;
    assert!(pending["goals"]["items"].as_array().unwrap().iter().all(|g| g["id"] != goal["id"]));
    // The conversation takes new asks again.
    let conv = goal["conversation_id"].as_str().unwrap();
    let next = h.post_json("/v1/coordination/message", json!({"message": "Friday", "conversation_id": conv})).await;
    assert_ne!(next["goal_id"], goal["id"]);
}

#[tokio::test]
async fn the_action_log_filters_by_type_and_undo_is_once_and_only_where_allowed() {
    for profile in PROFILES {
        let h = sim(profile).await;
        let log = h.get_json("/v1/actions/log").await;
        let actions = list(&log, "actions");
        assert_eq!((log["total"].as_u64(), actions.len()), (Some(4), 4), "{profile:?}: {log}");
        let times: Vec<&str> = actions.iter().map(|a| a["created_at"].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
        for a in &actions {
            assert!(is_uuid(&a["id"]) && is_iso(&a["created_at"]) && a["undoable"].is_boolean(), "{a}");
            assert_eq!(a["status"], "completed");
            assert!(a["description"].as_str().is_some_and(|d| d.len() > 20), "{a}");
        }
        let undoable: Vec<&str> =
            actions.iter().filter(|a| a["undoable"] == true).map(|a| a["type"].as_str().unwrap()).collect();
        assert_eq!(undoable, ["calendar", "booking"]);

        let calendar = h.get_json("/v1/actions/log?type=calendar").await;
        let only = list(&calendar, "actions");
        assert_eq!((calendar["total"].as_u64(), only.len()), (Some(1), 1));
        assert_eq!(only[0]["description"], "Added 'Dentist — cleaning' to your calendar for Fri 12 Dec 17:30");
        let booking = &list(&h.get_json("/v1/actions/log?type=booking").await, "actions")[0];
        assert!(booking["description"].as_str().unwrap().contains("Nobu"), "{booking}");
        for kind in ["bill", "food", "errand"] {
            assert_eq!(h.get_json(&format!("/v1/actions/log?type={kind}")).await["total"], 0, "{kind}");
        }
        let page = h.get_json("/v1/actions/log?limit=2&offset=1").await;
        assert_eq!(list(&page, "actions"), actions[1..3]);
        assert_eq!(page["total"], 4);
        expect_error(h.get("/v1/actions/log?type=teleport").await, 422, "validation_error").await;
        expect_error(h.get("/v1/actions/log?limit=abc").await, 422, "validation_error").await;

        let id = only[0]["id"].as_str().unwrap();
        let undone = h.post_json(&format!("/v1/actions/{id}/undo"), json!(null)).await;
        assert_eq!(undone, json!({"success": true, "id": id, "status": "undone"}));
        let entry = &h.get_json("/v1/actions/log?type=calendar").await["actions"][0];
        assert_eq!((entry["status"].as_str(), entry["undoable"].as_bool()), (Some("undone"), Some(false)));
        let twice =
            expect_error(h.post(&format!("/v1/actions/{id}/undo"), json!(null)).await, 409, "action_not_undoable");
        assert!(twice.await["error"]["message"].as_str().unwrap().contains("already undone"));
        for kind in ["email", "ride"] {
            let a = the_one(&actions, kind, |a| a["type"] == kind);
            let resp = h.post(&format!("/v1/actions/{}/undo", a["id"].as_str().unwrap()), json!(null)).await;
            expect_error(resp, 409, "action_not_undoable").await;
        }
        for unknown in [uuid::Uuid::new_v4().to_string(), "not-an-id".into()] {
            expect_error(h.post(&format!("/v1/actions/{unknown}/undo"), json!(null)).await, 404, "action_not_found")
                .await;
        }
        assert_eq!(h.get_json("/v1/actions/log").await["total"], 4, "undo adds no entry");
    }
}

#[tokio::test]
async fn the_seeded_calls_read_like_calls() {
    let h = start().await;
    let calls = h.get_json("/v1/calls").await;
    for call in list(&calls, "calls").iter().filter(|c| c["status"] == "success") {
        let id = call["id"].as_str().unwrap();
        let entries = h.get_json(&format!("/v1/calls/{id}/transcript")).await["entries"].as_array().unwrap().clone();
        assert!(entries.len() >= 6, "{entries:?}");
        assert!(entries.iter().all(|e| !e["content"].as_str().unwrap().contains("Line ")), "{entries:?}");
        assert!(call["result_summary"].as_str().unwrap().len() > 30, "{call}");
    }
}

#[tokio::test]
async fn a_finished_goal_has_what_it_cost_charge_by_charge() {
    for profile in PROFILES {
        let h = sim(profile).await;
        let done = list(&h.get_json("/v1/coordination/goals?status=completed").await, "goals");
        assert!(!done.is_empty(), "the demo has a finished goal ({profile:?})");
        for goal in done {
            let id = goal["id"].as_str().unwrap();
            let cost = h.get_json(&format!("/v1/goals/{id}/cost-breakdown")).await;
            let items = cost["items"].as_array().unwrap_or_else(|| panic!("items in {cost}"));
            assert!(!items.is_empty(), "a finished goal cost something: {cost}");
            assert!(items.iter().all(|i| i["action"].is_string() && is_iso(&i["timestamp"])), "{cost}");
            let sum: f64 = items.iter().map(|i| i["credits"].as_f64().unwrap()).sum();
            let total = cost["total_credits"].as_f64().unwrap();
            assert!((sum - total).abs() < 0.01, "the items add up to the total: {cost}");
            assert_eq!(cost["total_credits"], goal["credits_used"], "{cost} {goal}");
        }
    }
}

#[tokio::test]
async fn the_empty_seed_has_nothing_in_any_new_list() {
    let h = start_with(SimConfig { seed: kallyai_sim::Seed::Empty, ..SimConfig::default() }).await;
    for (path, key) in
        [("/v1/actions/email/outbox", "emails"), ("/v1/messages/inbox", "messages"), ("/v1/actions/log", "actions")]
    {
        let v = h.get_json(path).await;
        assert_eq!((v["total"].as_u64(), v[key].as_array().map(Vec::len)), (Some(0), Some(0)), "{path}");
    }
}

#[tokio::test]
async fn an_email_to_send_waits_for_approval_in_the_pending_list() {
    for profile in PROFILES {
        let h = sim(profile).await;
        let before = h.get_json("/v1/notifications/pending").await["total_pending"].as_u64().unwrap();
        let queued = h
            .post_json(
                "/v1/actions/email/send",
                json!({"to": "a@example.com", "subject": "Friday", "body": "See you."}),
            )
            .await;
        assert_eq!(queued["status"], "pending_approval", "{profile:?}: {queued}");
        let pending = h.get_json("/v1/notifications/pending").await;
        assert_eq!(pending["total_pending"].as_u64().unwrap(), before + 1, "{pending}");
        assert!(pending["actions"]["items"].as_array().unwrap().iter().any(|i| i["id"] == queued["id"]));
        expect_error(
            h.post("/v1/actions/email/send", json!({"to": "", "subject": "x", "body": ""})).await,
            422,
            "validation_error",
        )
        .await;
    }
}

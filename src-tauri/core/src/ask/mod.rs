//! Quick ask, the Tauri-free half (issue 7): a persistent outbox that never loses what the user
//! typed and never sends it twice (issue 13: an ask whose outcome is unknown is read back from
//! its conversation first), the conversation it continues, the goal a reply touches, and a cost
//! preview.
//!
//! The shell opens one [`Outbox`] at start (file in the app data dir), calls `ask`, and shows the
//! `Ask*` events it publishes on the [`EventBus`](crate::EventBus). Goals and the cost preview are
//! plain request helpers ([`Goals`], [`CostPreview`]).
//!
//! ```no_run
//! # async fn demo(client: kallyai_core::Client, events: kallyai_core::EventBus) -> Result<(), Box<dyn std::error::Error>> {
//! use kallyai_core::ask::{Goals, Outbox, OutboxSettings};
//! use kallyai_core::Event;
//!
//! let outbox = Outbox::open("/data/dir/outbox.json", client.clone(), events.clone(), OutboxSettings::default()).await?;
//! let mut rx = events.subscribe();
//! let queued = outbox.ask("Book a table at Nobu for 4 tonight").await?; // on disk now
//! while let Ok(event) = rx.recv().await {
//!     if let Event::AskSent { local_id, reply } = event {
//!         if local_id == queued.local_id {
//!             if let Some(goal_id) = &reply.goal_id {
//!                 let goal = Goals::new(client.clone()).view(goal_id).await?;
//!                 println!("{}: {} ({:?})", goal.title, goal.status, goal.actions);
//!             }
//!             break;
//!         }
//!     }
//! }
//! outbox.shutdown().await;
//! # Ok(()) }
//! ```

mod conversation;
mod cost;
mod goals;
mod mark;
mod outbox;
mod reconcile;
mod sender;
mod shared;
mod store;

pub use crate::reply::AskReply;
pub use conversation::DEFAULT_IDLE_TIMEOUT;
pub use cost::{exceeds_balance, task_kind, CostPreview};
pub use goals::{ActiveGoal, GoalActionKind, GoalStepView, GoalView, Goals};
pub use mark::HistoryMark;
pub use outbox::Outbox;
pub use shared::{OutboxError, OutboxSettings};
pub use store::{read_on_disk, AskState, ConversationInfo, OutboxEntry};

/// How long the reads an answer prompts (the balance, the pending items, the tray's goals) wait
/// after it: the answer is drawn first, not while the app and the server are busy with those.
pub const AFTER_ANSWER_SETTLE: std::time::Duration = std::time::Duration::from_millis(250);

/// How long the reads `event` prompts wait before they start: [`AFTER_ANSWER_SETTLE`] after an
/// answer, nothing after anything else. The one rule for every reader (watcher, credits, goals).
pub fn wait_before_reads(event: &crate::Event) -> std::time::Duration {
    match event {
        crate::Event::AskSent { .. } => AFTER_ANSWER_SETTLE,
        _ => std::time::Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use crate::events::Event;
    use serde_json::json;

    #[test]
    fn ask_events_serialize_for_the_windows() {
        let sent = Event::AskSent {
            local_id: "l1".into(),
            reply: super::AskReply { text: "<b>hi</b>".into(), credits_used: Some(0.5), ..Default::default() },
        };
        let v = serde_json::to_value(sent).unwrap();
        assert_eq!(v["type"], "ask_sent");
        assert_eq!(v["reply"]["text"], "<b>hi</b>");
        assert_eq!(v["reply"]["credits_used"], json!(0.5));
        let failed = Event::AskFailed {
            local_id: "l2".into(),
            code: "quota_exceeded".into(),
            message: "Out of credits.".into(),
            server_message: None,
            manage_plan: true,
            budget: None,
        };
        let v = serde_json::to_value(failed).unwrap();
        assert_eq!((v["type"].as_str(), v["manage_plan"].as_bool()), (Some("ask_failed"), Some(true)));
        let v = serde_json::to_value(Event::AskWaiting {
            local_id: "l3".into(),
            code: "offline".into(),
            message: "m".into(),
            retry_in_ms: 2000,
        })
        .unwrap();
        assert_eq!(
            v,
            json!({"type": "ask_waiting", "local_id": "l3", "code": "offline", "message": "m", "retry_in_ms": 2000})
        );
    }
}

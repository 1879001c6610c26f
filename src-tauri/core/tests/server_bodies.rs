//! Whatever a server sends, core's readers of it never panic (issue 17, acceptance 5): arbitrary
//! JSON into every answer the app reads (calls, goals, credits, inbox, ...), arbitrary bytes and
//! statuses into the error reader, arbitrary lines into the event-stream reader. A reader may
//! refuse what it gets; it may not crash the tray app.
//!
//! Cases per property: `KALLYAI_FUZZ_CASES` (default 2000); the note of the run says how many ran.

use std::time::SystemTime;

use kallyai_core::api::{
    actions, budget, calls, coordination, credits, inbound, messages, notifications, subscription, users,
};
use kallyai_core::ApiError;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

fn cases() -> u32 {
    std::env::var("KALLYAI_FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2000)
}

/// JSON as a server might send it, with the field names the readers look for, so the lenient
/// paths (string or number, list or object, nested or flat) are reached, not only the top.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "\\PC{0,24}".prop_map(Value::String),
        "[0-9.eE+-]{1,12}".prop_map(Value::String),
    ];
    let key = prop_oneof![
        prop::sample::select(vec![
            "id",
            "call_id",
            "status",
            "calls",
            "items",
            "total",
            "entries",
            "transcript",
            "speaker",
            "content",
            "text",
            "submission",
            "metadata",
            "created_at",
            "goals",
            "steps",
            "credits_remaining",
            "credits_allocated",
            "breakdown",
            "estimated_credits",
            "confidence",
            "summary",
            "highlights",
            "next_steps",
            "duration_seconds",
            "credits_used",
            "actions",
            "emails",
            "messages",
            "error",
            "code",
            "message",
            "details",
            "response",
            "conversation_id",
            "goal_id",
            "type",
            "undoable",
            "total_pending",
        ])
        .prop_map(String::from),
        "[a-z_]{1,10}".prop_map(String::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Reads `v` as `T`; an error is fine, a panic fails the property.
fn read<T: serde::de::DeserializeOwned>(v: &Value) {
    let _ = serde_json::from_value::<T>(v.clone());
}

macro_rules! read_all {
    ($v:expr; $($ty:ty),* $(,)?) => {{ $( read::<$ty>($v); )* }};
}

proptest! {
    #![proptest_config(Config { cases: cases(), max_shrink_iters: 500, ..Config::default() })]

    #[test]
    fn any_json_answer_is_read_or_refused(v in json_value()) {
        read_all!(&v;
            calls::Call, calls::CallList, calls::Transcript, calls::TranscriptEntry,
            inbound::InboundCall, inbound::InboundCallList, inbound::InboundEvents, inbound::StreamInfo,
            inbound::CallActionResult,
            coordination::Reply, coordination::ConversationList, coordination::History, coordination::Goal,
            coordination::GoalList,
            credits::Balance, credits::CreditHistory, credits::Costs, credits::Breakdown, credits::Plans,
            budget::Estimate, budget::CostBreakdown,
            notifications::PendingNotifications,
            actions::EmailDraft, actions::LoggedAction,
            messages::Message,
            subscription::UserSubscription, subscription::Statistics, subscription::BillingPortal,
            users::Me,
        );
    }

    /// Any status and any bytes read as an error: no panic, one sentence for the user, and the
    /// status kept.
    #[test]
    fn any_error_answer_gives_one_sentence(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..512), v in json_value()) {
        for bytes in [body, serde_json::to_vec(&v).unwrap_or_default()] {
            let err = ApiError::from_response(status, &bytes, None);
            prop_assert_eq!(err.status(), Some(status));
            prop_assert!(!err.user_message().trim().is_empty());
        }
    }

    /// Any `Retry-After` value: a bounded wait or none, never a panic.
    #[test]
    fn any_retry_after_is_read_or_ignored(value in "\\PC{0,40}") {
        let _ = kallyai_core::error::parse_retry_after(&value, SystemTime::now());
    }
}

//! The one event stream core publishes and the app shell subscribes to (design: "One event
//! stream"). Events carry ids and display fields, never tokens.

use serde::Serialize;
use tokio::sync::broadcast;

/// Something the app shell may want to show. Serialized as `{"type": "call_ringing", ...}` so
/// the shell can `emit` it to windows unchanged.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// An inbound call is being screened by the AI receptionist.
    CallRinging {
        call_id: String,
        caller_number: String,
        caller_name: Option<String>,
        is_vip: bool,
        summary: Option<String>,
    },
    /// A call announced before a restart or a sign-out is still live: show it as ringing again,
    /// without a second notification (the watcher publishes this instead of `CallRinging`).
    CallStillLive {
        call_id: String,
        caller_number: String,
        caller_name: Option<String>,
        is_vip: bool,
        summary: Option<String>,
    },
    /// Something waits for the user: what kind of item, and what the API lets the user do to it
    /// (serialized as the API names them: `goal`, `approve_step`, ...). `is_new` is true once
    /// per id ever (notify); false when re-listed after a restart or a sign-in (list it, do not
    /// notify).
    PendingItem {
        id: String,
        kind: crate::pending::PendingKind,
        title: Option<String>,
        summary: Option<String>,
        actions: Vec<crate::pending::PendingAction>,
        is_new: bool,
    },
    /// A pending item left the list (handled here or in another client).
    PendingItemResolved { id: String },
    /// A known call changed state (taken over, transferred, ...).
    CallUpdated { call_id: String, status: String },
    /// A call is over (`outcome`: completed, missed, rejected, ...).
    CallEnded { call_id: String, outcome: String },
    /// A new transcript line of a live call.
    TranscriptLine { call_id: String, speaker: String, content: String },
    /// The pending-notification count changed.
    NotificationsChanged { total_pending: u64 },
    /// The credit balance changed.
    CreditsChanged { credits_remaining: f64, credits_allocated: Option<f64> },
    /// Signed in or out (a refused refresh signs out).
    AuthChanged { signed_in: bool },
    /// The server ended the session (its refresh was refused): the user did not sign out, so
    /// the app says so. Follows `AuthChanged { signed_in: false }`; a sign-out the user asked
    /// for publishes only that.
    SessionEnded,
    /// KallyAI became unreachable or reachable again.
    ConnectivityChanged { online: bool },
    /// An ask was saved to the quick-ask outbox and waits to be sent (also after `resend`).
    AskQueued { local_id: String },
    /// The outbox is sending this ask now.
    AskSending { local_id: String },
    /// Sending failed for a passing reason (offline, timeout, 5xx, 429, signed out); the ask
    /// stays queued and is tried again in about `retry_in_ms` or when the service is back.
    AskWaiting { local_id: String, code: String, message: String, retry_in_ms: u64 },
    /// The assistant answered; the ask left the outbox. When the answer itself was lost and the
    /// ask was found in its conversation, `reply` is read from there (an empty `text`: the
    /// answer was not stored yet).
    AskSent { local_id: String, reply: crate::ask::AskReply },
    /// The ask's outcome is unknown (its answer was lost, or the app stopped mid-send): its
    /// conversation is being read back before anything is sent again.
    AskChecking { local_id: String },
    /// Reading back could not tell whether KallyAI received the ask; it is kept, never resent
    /// on its own, until the user sends it again or discards it. `code`: what made it unsure.
    AskMaybeSent { local_id: String, code: String },
    /// The server refused the ask (402, other 4xx); it stays in the outbox until the user
    /// resends or discards it. `manage_plan`: offer the billing portal (out of credits).
    /// `budget`: the ask's goal was stopped by its budget, which the user can approve.
    AskFailed {
        local_id: String,
        code: String,
        message: String,
        server_message: Option<String>,
        manage_plan: bool,
        budget: Option<crate::api::budget::BudgetRefusal>,
    },
    /// The user discarded a queued or failed ask.
    AskDiscarded { local_id: String },
    /// The user decided on a goal's waiting step or budget in this app (the box's budget
    /// buttons, a notification's action). Published by the app shell: asks that goal's budget
    /// refused are settled (it carries them now), the balance is read again (production sends
    /// no event when a goal starts spending), its notification goes.
    GoalDecided { goal_id: String },
    /// The user handled a pending item in this app (a draft sent or cancelled, a message marked
    /// read, a goal answered). Published by the app shell: the pending list is read again now,
    /// so the item leaves the inbox and the tray's count as the server says, not on a guess.
    PendingHandled { id: String },
    /// A call the user placed from the desktop changed: sent, listed, ended, refused or
    /// unconfirmed (`settled`: its outcome is known, or will not be learnt here). What it is now
    /// is `CallPlacer::call(local_id)` (`placing`).
    CallPlacing { local_id: String, settled: bool },
}

impl Event {
    /// The event's type as the windows see it (`call_ringing`, ...): what the log records. The
    /// rest (numbers, names, transcripts) stays out of the log.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::CallRinging { .. } => "call_ringing",
            Event::CallStillLive { .. } => "call_still_live",
            Event::PendingItem { .. } => "pending_item",
            Event::PendingItemResolved { .. } => "pending_item_resolved",
            Event::CallUpdated { .. } => "call_updated",
            Event::CallEnded { .. } => "call_ended",
            Event::TranscriptLine { .. } => "transcript_line",
            Event::NotificationsChanged { .. } => "notifications_changed",
            Event::CreditsChanged { .. } => "credits_changed",
            Event::AuthChanged { .. } => "auth_changed",
            Event::SessionEnded => "session_ended",
            Event::ConnectivityChanged { .. } => "connectivity_changed",
            Event::AskQueued { .. } => "ask_queued",
            Event::AskSending { .. } => "ask_sending",
            Event::AskWaiting { .. } => "ask_waiting",
            Event::AskSent { .. } => "ask_sent",
            Event::AskChecking { .. } => "ask_checking",
            Event::AskMaybeSent { .. } => "ask_maybe_sent",
            Event::AskFailed { .. } => "ask_failed",
            Event::AskDiscarded { .. } => "ask_discarded",
            Event::GoalDecided { .. } => "goal_decided",
            Event::PendingHandled { .. } => "pending_handled",
            Event::CallPlacing { .. } => "call_placing",
        }
    }
}

/// A cheap-to-clone broadcast bus. Slow subscribers lose the oldest events (they see
/// `RecvError::Lagged`) rather than blocking publishers.
#[derive(Clone, Debug)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self { tx }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Publishes to current subscribers; with none, the event is dropped.
    pub fn publish(&self, event: Event) {
        tracing::debug!(kind = event.kind(), "event");
        let _ = self.tx.send(event);
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_receive_published_events() {
        let bus = EventBus::default();
        let mut rx = bus.subscribe();
        bus.publish(Event::AuthChanged { signed_in: false });
        assert_eq!(rx.recv().await.unwrap(), Event::AuthChanged { signed_in: false });
    }

    #[test]
    fn events_serialize_with_a_type_tag() {
        let v = serde_json::to_value(Event::CallEnded { call_id: "c1".into(), outcome: "missed".into() }).unwrap();
        assert_eq!(v, serde_json::json!({"type": "call_ended", "call_id": "c1", "outcome": "missed"}));
        let v = serde_json::to_value(Event::ConnectivityChanged { online: true }).unwrap();
        assert_eq!(v["type"], "connectivity_changed");
    }

    #[test]
    fn the_logged_kind_is_the_type_tag_and_nothing_else() {
        for event in [
            Event::CallEnded { call_id: "c1".into(), outcome: "missed".into() },
            Event::TranscriptLine { call_id: "c1".into(), speaker: "HUMAN".into(), content: "My card is 4111".into() },
            Event::CallPlacing { local_id: "l1".into(), settled: true },
            Event::PendingHandled { id: "p1".into() },
        ] {
            assert_eq!(serde_json::to_value(&event).unwrap()["type"], event.kind());
        }
    }
}

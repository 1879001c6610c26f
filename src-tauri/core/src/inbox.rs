//! The inbox: everything KallyAI waits on the user for, each item with what it takes to act on
//! it in place, and the requests that act. What is pending comes from
//! `GET /v1/notifications/pending` alone (an item is shown until the server stops listing it,
//! never dropped on a local guess); the details come from the resource behind each item (the
//! draft, the goal, the message), and an item whose details could not be read is still shown
//! with its summary.

use futures_util::future::join_all;
use serde::Serialize;
use serde_json::Value;

use crate::api::actions::{DraftDecision, EmailDraft};
use crate::api::messages::Message;
use crate::ask::{GoalActionKind, GoalView, Goals};
use crate::client::Client;
use crate::error::ApiError;
use crate::idempotency::IdempotencyKey;
use crate::pending::{PendingAction, PendingKind};
use crate::transport::Request;
use crate::watcher::pending::read_pending;

/// One pending item and its details, where they could be read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InboxItem {
    pub id: String,
    pub kind: PendingKind,
    pub title: Option<String>,
    pub summary: Option<String>,
    /// What the pending list says can be done (the goal's own view, when read, is finer).
    pub actions: Vec<PendingAction>,
    pub draft: Option<EmailDraft>,
    pub goal: Option<GoalView>,
    pub message: Option<Message>,
}

/// The inbox as the server lists it now.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InboxView {
    pub items: Vec<InboxItem>,
    /// `total_pending` as the server counts it (the tray shows the same number).
    pub total: u64,
}

/// A message in full with the rest of its thread.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageView {
    pub message: Message,
    /// Earlier messages of the thread (empty where the server has none or could not say).
    pub thread: Vec<Message>,
}

/// Reads the pending list, then the details of its items (one request per kind, one per goal,
/// all at once).
pub async fn load(client: &Client) -> Result<InboxView, ApiError> {
    let pending: Value = client.json(Request::get(&["v1", "notifications", "pending"])).await?;
    let (entries, total) = read_pending(&pending);
    let has = |kind| entries.iter().any(|e| e.kind == kind);
    let actions = client.actions();
    let messages = client.messages();
    let goals = Goals::new(client.clone());
    let (drafts, unread, goal_views) = tokio::join!(
        async {
            if has(PendingKind::Approval) {
                actions.email_outbox().await.ok()
            } else {
                None
            }
        },
        async {
            if has(PendingKind::Message) {
                messages.inbox(true, Some(100)).await.ok()
            } else {
                None
            }
        },
        join_all(entries.iter().filter(|e| e.kind == PendingKind::Goal).map(|e| goals.view(&e.id))),
    );
    let mut goal_views = goal_views.into_iter();
    let items: Vec<InboxItem> = entries
        .into_iter()
        .map(|entry| {
            let same = |id: &Option<String>| id.as_deref() == Some(entry.id.as_str());
            let draft = (entry.kind == PendingKind::Approval)
                .then(|| drafts.iter().flatten().find(|d| same(&d.id)).cloned())
                .flatten();
            let message = (entry.kind == PendingKind::Message)
                .then(|| unread.iter().flatten().find(|m| same(&m.id)).cloned())
                .flatten();
            let goal = match entry.kind {
                PendingKind::Goal => goal_views.next().and_then(Result::ok).map(|mut view| {
                    // Production says what a goal asks only in the pending item's summary.
                    if view.question.is_none() && view.outcome.is_none() && !waits_on_an_action(&view) {
                        view.question = entry.summary.clone();
                    }
                    view
                }),
                _ => None,
            };
            InboxItem {
                id: entry.id,
                kind: entry.kind,
                title: entry.title,
                summary: entry.summary,
                actions: entry.actions,
                draft,
                goal,
                message,
            }
        })
        .collect();
    let total = total.unwrap_or(items.len() as u64);
    Ok(InboxView { items, total })
}

/// Whether a goal waits on a button (a step to approve, a budget) rather than on words.
fn waits_on_an_action(view: &GoalView) -> bool {
    view.actions.iter().any(|a| {
        matches!(a, GoalActionKind::ApproveStep | GoalActionKind::ApproveBudget | GoalActionKind::AcknowledgeSoftCap)
    })
}

/// A message in full and its thread; the thread is left empty when it cannot be read.
pub async fn read_message(client: &Client, message_id: &str) -> Result<MessageView, ApiError> {
    let message = client.messages().message(message_id).await?;
    let thread = match message.conversation_id.as_deref() {
        Some(conversation) => client.messages().thread(conversation).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let thread = thread.into_iter().filter(|m| m.id != message.id).collect();
    Ok(MessageView { message, thread })
}

/// Carries out what a pending item's notification or the inbox offers for it.
pub async fn carry_out(client: &Client, id: &str, kind: PendingKind, action: PendingAction) -> Result<(), ApiError> {
    match (kind, action) {
        (PendingKind::Approval, PendingAction::Approve) => client.actions().decide_draft(id, DraftDecision::Send).await,
        (PendingKind::Approval, PendingAction::Cancel) => {
            client.actions().decide_draft(id, DraftDecision::Cancel).await
        }
        (PendingKind::Message, PendingAction::MarkRead) => client.messages().mark_read(&[id]).await,
        (_, action) => match GoalActionKind::from_pending(action) {
            Some(goal_action) => Goals::new(client.clone()).run(id, goal_action).await,
            None => {
                Err(ApiError::client("not_offered", format!("{} is not offered for a {}", action.name(), kind.name())))
            }
        },
    }
}

/// Answers what a goal asks: the answer continues the goal's conversation (`key` is kept by the
/// caller while the text is unchanged, so sending again after an unclear failure is recognised
/// by a server that honours keys as the same answer). The assistant's reply text comes back.
pub async fn answer_goal(
    client: &Client,
    conversation_id: Option<&str>,
    text: &str,
    key: IdempotencyKey,
) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::client("empty_answer", "the answer is empty"));
    }
    Ok(client.coordination().message_with_key(text, conversation_id, key).await?.response)
}

//! What the Inbox window asks of the app: the items with their details, a message in full, and
//! acting on an item. Every action is followed by `PendingHandled` or `GoalDecided`, which makes
//! the watcher read the pending list again: an item leaves the window and the tray's count when
//! the server stops listing it, never on a local guess.

use kallyai_core::ask::{GoalActionKind, GoalView, Goals};
use kallyai_core::inbox::{self, InboxView, MessageView};
use kallyai_core::pending::{PendingAction, PendingKind};
use kallyai_core::{Event, IdempotencyKey};
use tauri::AppHandle;

use super::focus;
use crate::core_handle::core;
use crate::error::CommandError;

#[tauri::command]
pub async fn inbox_items(app: AppHandle) -> Result<InboxView, CommandError> {
    Ok(inbox::load(&core(&app).client).await?)
}

/// The item a notification asked the window to open at, once.
#[tauri::command]
pub fn inbox_focus(app: AppHandle) -> Option<String> {
    focus::take(&app)
}

#[tauri::command]
pub async fn inbox_message(app: AppHandle, message_id: String) -> Result<MessageView, CommandError> {
    Ok(inbox::read_message(&core(&app).client, &message_id).await?)
}

/// Sends or cancels a draft, marks a message read, or runs a goal's pending action.
#[tauri::command]
pub async fn inbox_act(
    app: AppHandle,
    id: String,
    kind: PendingKind,
    action: PendingAction,
) -> Result<(), CommandError> {
    let core = core(&app);
    inbox::carry_out(&core.client, &id, kind, action).await?;
    tracing::info!(kind = kind.name(), action = action.name(), "pending item handled in the inbox");
    core.events.publish(match kind {
        PendingKind::Goal => Event::GoalDecided { goal_id: id },
        _ => Event::PendingHandled { id },
    });
    Ok(())
}

/// Runs a goal action the goal's own view offers (accept, keep negotiating, ...) and returns the
/// goal as it is now.
#[tauri::command]
pub async fn inbox_goal_action(
    app: AppHandle,
    goal_id: String,
    action: GoalActionKind,
) -> Result<GoalView, CommandError> {
    let core = core(&app);
    let view = Goals::new(core.client.clone()).act(&goal_id, action).await?;
    core.events.publish(Event::GoalDecided { goal_id });
    Ok(view)
}

/// Answers what a goal asks; the assistant's reply comes back. `key` is the page's, kept while
/// the answer's text is unchanged.
#[tauri::command]
pub async fn inbox_answer(
    app: AppHandle,
    goal_id: String,
    conversation_id: Option<String>,
    text: String,
    key: String,
) -> Result<String, CommandError> {
    let core = core(&app);
    let reply =
        inbox::answer_goal(&core.client, conversation_id.as_deref(), &text, IdempotencyKey::from_string(key)).await?;
    tracing::info!("goal answered in the inbox");
    core.events.publish(Event::PendingHandled { id: goal_id });
    Ok(reply)
}

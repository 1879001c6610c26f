//! Quick ask in the shell: the outbox that never loses a question, goals (in the box and the
//! tray's Goals submenu), the cost preview, links in replies, and the question a flag or a link
//! hands in. Core owns the logic (`kallyai_core::ask`); the box hears replies and queue changes
//! as `Ask*` events on the one event stream.

use std::sync::{Arc, Mutex};

use kallyai_core::api::coordination::{Conversation, HistoryMessage};
use kallyai_core::ask::{
    exceeds_balance, wait_before_reads, AskState, ConversationInfo, CostPreview, GoalActionKind, GoalView, Goals,
    Outbox, OutboxEntry, OutboxError,
};
use kallyai_core::credit_watch::CreditWatch;
use kallyai_core::Event;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, State};

use crate::background::{follow, Heard};
use crate::core_handle::{core, Core};
use crate::error::CommandError;
use crate::view::i18n::{self, text};
use crate::view::tray;
use crate::view::windows::{self, Panel};

/// A question handed in by `--ask TEXT` or a link, kept until the box takes it.
#[derive(Default)]
struct Prefill(Mutex<Option<String>>);

/// What the box shows when it (re)loads: asks still waiting or refused, and the conversation.
#[derive(Serialize)]
pub struct AskOverview {
    pub entries: Vec<OutboxEntry>,
    pub conversation: ConversationInfo,
}

/// The likely cost of what is being typed, and whether it is more than what is left.
#[derive(Serialize)]
pub struct CostHint {
    pub credits: f64,
    pub exceeds_balance: bool,
}

/// Starts following core's events for the box's goals and the tray's Goals submenu.
pub fn start(app: &AppHandle) {
    app.manage(Prefill::default());
    follow(app, "ask", |app, heard| {
        let Heard::Event(event) = heard else { return };
        match event {
            Event::AuthChanged { signed_in: false } => {
                app.state::<Prefill>().0.lock().expect("prefill lock").take();
            }
            Event::GoalDecided { goal_id } => {
                let (app, goal_id) = (app.clone(), goal_id.clone());
                tauri::async_runtime::spawn(async move { settle_refusals(&app, &goal_id).await });
            }
            _ => {}
        }
        // Goals change when an ask touches one, when something waits for the user, or at
        // sign-in/out.
        if matches!(
            event,
            Event::AskSent { .. }
                | Event::AuthChanged { .. }
                | Event::PendingItem { .. }
                | Event::PendingItemResolved { .. }
        ) {
            let (app, wait) = (app.clone(), wait_before_reads(event));
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(wait).await;
                show_goals_in_tray(&app).await
            });
        }
    });
}

/// Opens the box, with `text` in it when given.
pub fn open_box(app: &AppHandle, text: Option<String>) {
    if let Some(text) = text {
        *app.state::<Prefill>().0.lock().expect("prefill lock") = Some(text.clone());
        let _ = app.emit_to(Panel::Ask.label(), "ask://prefill", text);
    }
    windows::show(app, Panel::Ask);
}

/// Opens the box on a goal (from the tray).
pub fn open_goal(app: &AppHandle, goal_id: String) {
    let _ = app.emit_to(Panel::Ask.label(), "ask://goal", goal_id);
    windows::show(app, Panel::Ask);
}

#[tauri::command]
pub fn take_ask_prefill(app: AppHandle) -> Option<String> {
    app.state::<Prefill>().0.lock().expect("prefill lock").take()
}

/// Reads the active goals for the tray's Goals submenu.
async fn show_goals_in_tray(app: &AppHandle) {
    let core = core(app);
    let goals = if core.session.is_signed_in().await {
        match Goals::new(core.client.clone()).active().await {
            Ok(goals) => goals,
            Err(error) => return tracing::debug!(code = error.code(), "goals not refreshed"),
        }
    } else {
        Vec::new()
    };
    tray::show_goals(app, goals);
}

fn outbox(app: &AppHandle) -> Result<Arc<Outbox>, CommandError> {
    core(app).outbox.clone().ok_or_else(|| CommandError::new("starting", text(i18n::lang(app), "error.starting")))
}

#[tauri::command]
pub async fn ask_send(app: AppHandle, text: String) -> Result<OutboxEntry, CommandError> {
    Ok(outbox(&app)?.ask(&text).await?)
}

#[tauri::command]
pub async fn ask_overview(app: AppHandle) -> Result<AskOverview, CommandError> {
    let outbox = outbox(&app)?;
    Ok(AskOverview { entries: outbox.entries().await, conversation: outbox.conversation().await })
}

#[tauri::command]
pub async fn ask_resend(app: AppHandle, local_id: String, text: Option<String>) -> Result<OutboxEntry, CommandError> {
    Ok(outbox(&app)?.resend(&local_id, text.as_deref()).await?)
}

#[tauri::command]
pub async fn ask_discard(app: AppHandle, local_id: String) -> Result<(), CommandError> {
    Ok(outbox(&app)?.discard(&local_id).await?)
}

#[tauri::command]
pub async fn ask_new_conversation(app: AppHandle) -> Result<(), CommandError> {
    Ok(outbox(&app)?.new_conversation().await?)
}

#[tauri::command]
pub async fn ask_continue_conversation(app: AppHandle, conversation_id: String) -> Result<(), CommandError> {
    Ok(outbox(&app)?.continue_conversation(&conversation_id).await?)
}

#[tauri::command]
pub async fn ask_conversations(core: State<'_, Core>) -> Result<Vec<Conversation>, CommandError> {
    Ok(core.client.coordination().conversations().await?.conversations)
}

#[tauri::command]
pub async fn ask_history(
    core: State<'_, Core>,
    conversation_id: Option<String>,
) -> Result<Vec<HistoryMessage>, CommandError> {
    Ok(core.client.coordination().history(conversation_id.as_deref(), Some(50)).await?.messages)
}

#[tauri::command]
pub async fn ask_goal(core: State<'_, Core>, goal_id: String) -> Result<GoalView, CommandError> {
    Ok(Goals::new(core.client.clone()).view(&goal_id).await?)
}

#[tauri::command]
pub async fn ask_goal_action(
    core: State<'_, Core>,
    goal_id: String,
    action: GoalActionKind,
) -> Result<GoalView, CommandError> {
    Ok(Goals::new(core.client.clone()).act(&goal_id, action).await?)
}

/// Approve budget / Continue / Cancel goal on an ask its goal's budget refused: acts on the goal
/// and then settles the refused ask (the goal the ask created carries it now, so it is never
/// sent again: no second goal, no second charge). The box keeps showing its text.
#[tauri::command]
pub async fn ask_budget_action(
    app: AppHandle,
    local_id: String,
    action: GoalActionKind,
) -> Result<GoalView, CommandError> {
    let core = core(&app);
    let outbox = outbox(&app)?;
    let refused_goal =
        outbox.entries().await.into_iter().find(|e| e.local_id == local_id).and_then(|e| match e.state {
            AskState::Failed { budget: Some(refusal), .. } => refusal.goal_id,
            _ => None,
        });
    let goal_id = refused_goal.ok_or(OutboxError::NotFound)?;
    let goals = Goals::new(core.client.clone());
    let view = match goals.act(&goal_id, action).await {
        Ok(view) => view,
        // Decided elsewhere meanwhile (the notification, another client): settled if the goal no
        // longer waits for this action.
        Err(error) if error.status() == Some(409) => {
            let view = goals.view(&goal_id).await?;
            if view.actions.contains(&action) {
                return Err(error.into());
            }
            view
        }
        Err(error) => return Err(error.into()),
    };
    settle_refusals(&app, &goal_id).await;
    core.events.publish(Event::GoalDecided { goal_id });
    tracing::info!(action = ?action, "budget refusal settled");
    Ok(view)
}

/// A decision on `goal_id` was taken: every ask its budget refused leaves the outbox
/// (`AskDiscarded`), never sent again, as the goal carries it now.
async fn settle_refusals(app: &AppHandle, goal_id: &str) {
    let Ok(outbox) = outbox(app) else { return };
    for entry in outbox.entries().await {
        let refused_for_goal = matches!(&entry.state,
            AskState::Failed { budget: Some(refusal), .. } if refusal.goal_id.as_deref() == Some(goal_id));
        if !refused_for_goal {
            continue;
        }
        match outbox.discard(&entry.local_id).await {
            Ok(()) | Err(OutboxError::NotFound) => {}
            // The goal goes on either way; the ask stays listed until discarded by hand.
            Err(error) => tracing::warn!(%error, "a settled budget refusal stayed in the outbox"),
        }
    }
}

/// No hint when the estimate is unavailable; never an error the user has to read.
#[tauri::command]
pub async fn ask_estimate(app: AppHandle, text: String) -> Option<CostHint> {
    let estimate = CostPreview::new(core(&app).client.clone()).estimate(&text).await?;
    let remaining = app.state::<CreditWatch>().remaining();
    Some(CostHint {
        credits: estimate.estimated_credits.value(),
        exceeds_balance: remaining.is_some_and(|left| exceeds_balance(&estimate, left)),
    })
}

/// Links in replies open in the system browser; only web links are followed.
#[tauri::command]
pub fn open_link(app: AppHandle, url: String) -> Result<(), CommandError> {
    crate::view::browser::open_web(&app, &url)
}

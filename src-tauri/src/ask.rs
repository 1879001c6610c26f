//! Quick ask in the shell: the outbox that never loses a question, goals, the cost preview, and
//! the global hotkey that summons the box. Core owns the logic (`kallyai_core::ask`); the box
//! hears replies and queue changes as `Ask*` events on the one event stream.

use std::sync::{Arc, OnceLock};

use kallyai_core::api::coordination::{Conversation, HistoryMessage};
use kallyai_core::ask::{
    exceeds_balance, AskState, ConversationInfo, CostPreview, GoalActionKind, GoalView, Goals, Outbox, OutboxEntry,
    OutboxError, OutboxSettings,
};
use serde::Serialize;
use tauri::{AppHandle, Manager};
use tauri_plugin_opener::OpenerExt;

use crate::error::CommandError;
use crate::shell::shell;

/// The ask machinery, opened in setup once the data dir is known.
#[derive(Default)]
pub struct Asking {
    outbox: OnceLock<Arc<Outbox>>,
}

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

fn outbox(app: &AppHandle) -> Result<Arc<Outbox>, CommandError> {
    shell(app)
        .asking
        .outbox
        .get()
        .cloned()
        .ok_or_else(|| CommandError::new("starting", "KallyAI is still starting; try again in a moment."))
}

/// Opens the outbox (asks saved by an earlier run start sending once the service is reachable).
/// Done before the windows can ask for it: it only reads one small file.
pub fn open(app: &AppHandle) {
    let Ok(dir) = app.path().app_data_dir() else {
        tracing::warn!("no data directory: quick ask cannot keep unsent questions");
        return;
    };
    let shell = shell(app);
    let opened = tauri::async_runtime::block_on(Outbox::open(
        dir.join("outbox.json"),
        shell.client.clone(),
        shell.events.clone(),
        OutboxSettings::default(),
    ));
    match opened {
        Ok(outbox) => {
            let _ = shell.asking.outbox.set(Arc::new(outbox));
        }
        Err(error) => tracing::warn!(%error, "could not open the quick-ask outbox"),
    }
}

pub async fn send(app: &AppHandle, text: &str) -> Result<OutboxEntry, CommandError> {
    Ok(outbox(app)?.ask(text).await?)
}

pub async fn overview(app: &AppHandle) -> Result<AskOverview, CommandError> {
    let outbox = outbox(app)?;
    Ok(AskOverview { entries: outbox.entries().await, conversation: outbox.conversation().await })
}

pub async fn resend(app: &AppHandle, local_id: &str, text: Option<&str>) -> Result<OutboxEntry, CommandError> {
    Ok(outbox(app)?.resend(local_id, text).await?)
}

pub async fn discard(app: &AppHandle, local_id: &str) -> Result<(), CommandError> {
    Ok(outbox(app)?.discard(local_id).await?)
}

pub async fn new_conversation(app: &AppHandle) -> Result<(), CommandError> {
    Ok(outbox(app)?.new_conversation().await?)
}

pub async fn continue_conversation(app: &AppHandle, conversation_id: &str) -> Result<(), CommandError> {
    Ok(outbox(app)?.continue_conversation(conversation_id).await?)
}

pub async fn conversations(app: &AppHandle) -> Result<Vec<Conversation>, CommandError> {
    Ok(shell(app).client.coordination().conversations().await?.conversations)
}

pub async fn history(app: &AppHandle, conversation_id: Option<&str>) -> Result<Vec<HistoryMessage>, CommandError> {
    Ok(shell(app).client.coordination().history(conversation_id, Some(50)).await?.messages)
}

pub async fn goal(app: &AppHandle, goal_id: &str) -> Result<GoalView, CommandError> {
    Ok(Goals::new(shell(app).client.clone()).view(goal_id).await?)
}

pub async fn goal_action(app: &AppHandle, goal_id: &str, action: GoalActionKind) -> Result<GoalView, CommandError> {
    Ok(Goals::new(shell(app).client.clone()).act(goal_id, action).await?)
}

/// Acts on the goal a budget refusal stopped (approve its budget, continue past its soft cap, or
/// cancel it) and then settles the refused ask: the goal the ask created carries it now, so it
/// is never sent again (no second goal, no second charge). The box keeps showing its text.
pub async fn budget_action(app: &AppHandle, local_id: &str, action: GoalActionKind) -> Result<GoalView, CommandError> {
    let outbox = outbox(app)?;
    let refused_goal =
        outbox.entries().await.into_iter().find(|e| e.local_id == local_id).and_then(|e| match e.state {
            AskState::Failed { budget: Some(refusal), .. } => refusal.goal_id,
            _ => None,
        });
    let goal_id = refused_goal.ok_or(OutboxError::NotFound)?;
    let goals = Goals::new(shell(app).client.clone());
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
    goal_decided(app, &goal_id).await;
    crate::pending::decided_elsewhere(app, &goal_id);
    tracing::info!(action = ?action, "budget refusal settled");
    Ok(view)
}

/// A decision on `goal_id` was taken (in the box or on its notification): every ask its budget
/// refused leaves the outbox (`AskDiscarded`), never sent again, as the goal carries it now; and
/// the balance is read again, as a goal let go on starts spending (production sends no event).
pub async fn goal_decided(app: &AppHandle, goal_id: &str) {
    settle_refusals(app, goal_id).await;
    crate::credits::refresh(app).await;
}

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
pub async fn estimate(app: &AppHandle, text: &str) -> Option<CostHint> {
    let shell = shell(app);
    let estimate = CostPreview::new(shell.client.clone()).estimate(text).await?;
    let remaining = shell.credits_remaining();
    Some(CostHint {
        credits: estimate.estimated_credits.value(),
        exceeds_balance: remaining.is_some_and(|left| exceeds_balance(&estimate, left)),
    })
}

/// Links in replies open in the system browser; only web links are followed.
pub fn open_link(app: &AppHandle, url: &str) -> Result<(), CommandError> {
    let parsed = url::Url::parse(url).map_err(|_| CommandError::new("bad_link", "That link is not a web address."))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(CommandError::new("bad_link", "Only web links open from KallyAI replies."));
    }
    app.opener()
        .open_url(parsed.as_str(), None::<&str>)
        .map_err(|_| CommandError::new("browser_failed", "The browser could not be opened."))
}

/// The plan page (billing portal), opened in the system browser.
pub async fn manage_plan(app: &AppHandle) -> Result<(), CommandError> {
    let portal = shell(app).client.subscription().billing_portal().await?;
    open_link(app, &portal.url)
}

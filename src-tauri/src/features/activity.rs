//! The Activity window: what KallyAI did for the user. Calls either way, goals active and
//! finished, the action log, newest first, a page at a time; a call's transcript and a goal's
//! cost when asked; Undo on an action the log says can be undone. The timeline, its paging and
//! what an undo leaves are core's (`kallyai_core::activity`); this feature only hands them over.

use kallyai_core::activity::{self, ActionItem, ActivityKind, ActivityPage, Cursor, Direction};
use kallyai_core::api::budget::CostBreakdown;
use kallyai_core::api::calls::TranscriptEntry;
use kallyai_core::ApiError;
use tauri::AppHandle;

use crate::core_handle::core;
use crate::error::CommandError;
use crate::view::i18n::{self, text};

/// One page of `kind`, from `cursor` (none: the first page).
#[tauri::command]
pub async fn activity_page(
    app: AppHandle,
    kind: Option<ActivityKind>,
    cursor: Option<Cursor>,
) -> Result<ActivityPage, CommandError> {
    let client = &core(&app).client;
    Ok(activity::page(client, kind.unwrap_or_default(), cursor.unwrap_or_default()).await?)
}

/// A call's transcript (empty when the call has none).
#[tauri::command]
pub async fn activity_transcript(
    app: AppHandle,
    direction: Direction,
    call_id: String,
) -> Result<Vec<TranscriptEntry>, CommandError> {
    Ok(activity::transcript(&core(&app).client, direction, &call_id).await?)
}

/// What a goal has cost, charge by charge.
#[tauri::command]
pub async fn activity_cost(app: AppHandle, goal_id: String) -> Result<CostBreakdown, CommandError> {
    Ok(activity::cost(&core(&app).client, &goal_id).await?)
}

/// Undoes an action and answers with its log entry as the server now lists it. A refusal (409
/// `action_not_undoable`) is one sentence in the user's language.
#[tauri::command]
pub async fn activity_undo(app: AppHandle, action_id: String) -> Result<Option<ActionItem>, CommandError> {
    match activity::undo(&core(&app).client, &action_id).await {
        Ok(entry) => {
            tracing::info!(undone = entry.as_ref().is_some_and(|e| !e.undoable), "action undone");
            Ok(entry)
        }
        Err(error) => Err(undo_refused(&app, error)),
    }
}

fn undo_refused(app: &AppHandle, error: ApiError) -> CommandError {
    tracing::warn!(code = error.code(), "undo refused");
    if error.code() == "action_not_undoable" {
        return CommandError::new(error.code(), text(i18n::lang(app), "activity.undo.refused"));
    }
    error.into()
}

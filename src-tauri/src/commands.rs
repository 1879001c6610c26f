//! The commands windows may invoke. Thin: check the input, ask the shell or core, return a
//! serializable result; errors are `{code, message}` a window can show as they are.

use tauri::{AppHandle, State, WebviewWindow};

use kallyai_core::api::inbound::{InboundCall, InboundQuery};

use kallyai_core::api::coordination::{Conversation, HistoryMessage};
use kallyai_core::ask::{GoalActionKind, GoalView, OutboxEntry};

use crate::action::Action;
use crate::ask::{self, AskOverview, CostHint};
use crate::calls::{self, CallAction, CallDetails};
use crate::credits::{self, CreditsDetails, CreditsView};
use crate::error::CommandError;
use crate::settings::{self, Settings, SettingsView};
use crate::shell::{AppState, Shell};
use crate::windows::Panel;

#[tauri::command]
pub fn app_state(shell: State<'_, Shell>) -> AppState {
    shell.state()
}

#[tauri::command]
pub fn show_window(app: AppHandle, name: String) -> Result<(), CommandError> {
    let panel = Panel::from_name(&name)
        .ok_or_else(|| CommandError::new("unknown_window", format!("There is no window called '{name}'.")))?;
    crate::dispatch::perform(&app, Action::Show(panel));
    Ok(())
}

#[tauri::command]
pub fn take_ask_prefill(shell: State<'_, Shell>) -> Option<String> {
    shell.take_ask_prefill()
}

/// The window has painted a frame after being shown (reported by the page itself).
#[tauri::command]
pub fn window_painted(window: WebviewWindow) {
    tracing::info!(window = window.label(), "window painted");
}

#[tauri::command]
pub async fn call_details(app: AppHandle, call_id: Option<String>) -> Result<Option<CallDetails>, CommandError> {
    calls::details(&app, call_id).await
}

#[tauri::command]
pub async fn call_action(app: AppHandle, call_id: String, action: CallAction) -> Result<String, CommandError> {
    calls::act(&app, &call_id, action).await
}

#[tauri::command]
pub async fn recent_calls(shell: State<'_, Shell>) -> Result<Vec<InboundCall>, CommandError> {
    let query = InboundQuery { limit: Some(20), ..Default::default() };
    Ok(shell.client.inbound().calls(&query).await?.calls)
}

/// Opens the call popup on one call (from the recent-calls list).
#[tauri::command]
pub fn show_call(app: AppHandle, call_id: String) {
    crate::dispatch::menu_command(&app, crate::tray::MenuCommand::OpenCall(call_id));
}

#[tauri::command]
pub async fn signin_start(app: AppHandle) -> Result<(), CommandError> {
    crate::signin::start(&app).await
}

#[tauri::command]
pub fn signin_reopen(app: AppHandle) -> Result<(), CommandError> {
    crate::signin::open_browser(&app)
}

#[tauri::command]
pub fn signin_cancel(app: AppHandle) {
    crate::signin::cancel(&app);
}

#[tauri::command]
pub async fn sign_out(app: AppHandle) -> Result<(), CommandError> {
    crate::signin::sign_out(&app).await
}

#[tauri::command]
pub async fn ask_send(app: AppHandle, text: String) -> Result<OutboxEntry, CommandError> {
    ask::send(&app, &text).await
}

#[tauri::command]
pub async fn ask_overview(app: AppHandle) -> Result<AskOverview, CommandError> {
    ask::overview(&app).await
}

#[tauri::command]
pub async fn ask_resend(app: AppHandle, local_id: String, text: Option<String>) -> Result<OutboxEntry, CommandError> {
    ask::resend(&app, &local_id, text.as_deref()).await
}

#[tauri::command]
pub async fn ask_discard(app: AppHandle, local_id: String) -> Result<(), CommandError> {
    ask::discard(&app, &local_id).await
}

#[tauri::command]
pub async fn ask_new_conversation(app: AppHandle) -> Result<(), CommandError> {
    ask::new_conversation(&app).await
}

#[tauri::command]
pub async fn ask_continue_conversation(app: AppHandle, conversation_id: String) -> Result<(), CommandError> {
    ask::continue_conversation(&app, &conversation_id).await
}

#[tauri::command]
pub async fn ask_conversations(app: AppHandle) -> Result<Vec<Conversation>, CommandError> {
    ask::conversations(&app).await
}

#[tauri::command]
pub async fn ask_history(app: AppHandle, conversation_id: Option<String>) -> Result<Vec<HistoryMessage>, CommandError> {
    ask::history(&app, conversation_id.as_deref()).await
}

#[tauri::command]
pub async fn ask_goal(app: AppHandle, goal_id: String) -> Result<GoalView, CommandError> {
    ask::goal(&app, &goal_id).await
}

#[tauri::command]
pub async fn ask_goal_action(
    app: AppHandle,
    goal_id: String,
    action: GoalActionKind,
) -> Result<GoalView, CommandError> {
    ask::goal_action(&app, &goal_id, action).await
}

/// Approve budget / Continue / Cancel goal on an ask its goal's budget refused.
#[tauri::command]
pub async fn ask_budget_action(
    app: AppHandle,
    local_id: String,
    action: GoalActionKind,
) -> Result<GoalView, CommandError> {
    ask::budget_action(&app, &local_id, action).await
}

#[tauri::command]
pub async fn ask_estimate(app: AppHandle, text: String) -> Option<CostHint> {
    ask::estimate(&app, &text).await
}

#[tauri::command]
pub fn open_link(app: AppHandle, url: String) -> Result<(), CommandError> {
    ask::open_link(&app, &url)
}

#[tauri::command]
pub async fn manage_plan(app: AppHandle) -> Result<(), CommandError> {
    ask::manage_plan(&app).await
}

#[tauri::command]
pub fn credits_state(shell: State<'_, Shell>) -> CreditsView {
    shell.credits.view(shell.lang(), shell.settings.low_credit_percent())
}

#[tauri::command]
pub async fn credits_details(app: AppHandle) -> Result<CreditsDetails, CommandError> {
    credits::details(&app).await
}

#[tauri::command]
pub fn settings_get(app: AppHandle) -> SettingsView {
    settings::view(&app)
}

#[tauri::command]
pub async fn settings_set(app: AppHandle, settings: Settings) -> Result<SettingsView, CommandError> {
    settings::update(&app, settings).await
}

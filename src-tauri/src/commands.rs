//! The commands windows may invoke. Thin: check the input, ask the shell or core, return a
//! serializable result; errors are `{code, message}` a window can show as they are.

use serde::Serialize;
use tauri::{AppHandle, State, WebviewWindow};

use kallyai_core::api::inbound::{InboundCall, InboundQuery};

use crate::action::Action;
use crate::calls::{self, CallAction, CallDetails};
use crate::shell::{AppState, Shell};
use crate::windows::Panel;

#[derive(Debug, Serialize)]
pub struct CommandError {
    code: String,
    message: String,
}

impl CommandError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into() }
    }
}

/// Keeps the server's code (e.g. `quota_exceeded`) and core's one-sentence message.
impl From<kallyai_core::ApiError> for CommandError {
    fn from(error: kallyai_core::ApiError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

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

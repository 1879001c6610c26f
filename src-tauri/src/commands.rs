//! The commands windows may invoke. Thin: check the input, ask the shell or core, return a
//! serializable result; errors are `{code, message}` a window can show as they are.

use serde::Serialize;
use tauri::{AppHandle, State, WebviewWindow};

use crate::action::Action;
use crate::shell::{AppState, Shell};
use crate::windows::Panel;

#[derive(Debug, Serialize)]
pub struct CommandError {
    code: &'static str,
    message: String,
}

#[tauri::command]
pub fn app_state(shell: State<'_, Shell>) -> AppState {
    shell.state()
}

#[tauri::command]
pub fn show_window(app: AppHandle, name: String) -> Result<(), CommandError> {
    let panel = Panel::from_name(&name).ok_or_else(|| CommandError {
        code: "unknown_window",
        message: format!("There is no window called '{name}'."),
    })?;
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

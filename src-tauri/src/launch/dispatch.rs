//! Carries out what the user asked for, wherever they asked: a flag, a link, the tray menu, a
//! window's button.

use tauri::AppHandle;

use super::action::Action;
use crate::background::background;
use crate::error::CommandError;
use crate::features::{ask, calls, dialer, signin};
use crate::view::i18n::{self, t};
use crate::view::tray::MenuCommand;
use crate::view::windows::{self, Panel};
use kallyai_core::call_action::CallAction;

pub fn perform(app: &AppHandle, action: Action) {
    tracing::info!(action = action_name(&action), "action");
    match action {
        Action::Ask(text) => ask::open_box(app, text),
        Action::Show(panel) => windows::show(app, panel),
        Action::Call(prefill) => dialer::open_form(app, prefill),
        Action::AuthCallback(link) => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move { signin::deliver(&app, &link).await });
        }
        Action::Quit => background(app).quit(app),
    }
}

pub fn menu_command(app: &AppHandle, command: MenuCommand) {
    match command {
        MenuCommand::Ask => perform(app, Action::Ask(None)),
        MenuCommand::Show(panel) => perform(app, Action::Show(panel)),
        MenuCommand::Quit => perform(app, Action::Quit),
        MenuCommand::SignIn => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                // Failures are shown in the sign-in window.
                let _ = signin::signin_start(app).await;
            });
        }
        MenuCommand::SignOut => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let _ = signin::sign_out(app).await;
            });
        }
        MenuCommand::OpenGoal(goal_id) => ask::open_goal(app, goal_id),
        MenuCommand::OpenCall(call_id) => calls::show_call(app.clone(), call_id),
        MenuCommand::TakeOver(call_id) => act_on_call(app, call_id, CallAction::Takeover),
        MenuCommand::Reject(call_id) => act_on_call(app, call_id, CallAction::reject_by_user()),
    }
}

fn act_on_call(app: &AppHandle, call_id: String, action: CallAction) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // The outcome shows in the call's notification.
        let _ = calls::call_action(app, call_id, action).await;
    });
}

/// A window asks for another one (e.g. "Sign in" in any window).
#[tauri::command]
pub fn show_window(app: AppHandle, name: String) -> Result<(), CommandError> {
    let panel = Panel::from_name(&name).ok_or_else(|| {
        CommandError::new("unknown_window", t(i18n::lang(&app), "error.unknown_window", &[("name", &name)]))
    })?;
    perform(&app, Action::Show(panel));
    Ok(())
}

/// Names actions for the log without their payload (a question is the user's business).
fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Ask(_) => "ask",
        Action::Show(panel) => panel.label(),
        Action::Call(_) => "call",
        Action::AuthCallback(_) => "auth_callback",
        Action::Quit => "quit",
    }
}

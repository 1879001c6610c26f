//! Carries out an `Action`, wherever it came from (flag, link, tray, notification).

use tauri::{AppHandle, Emitter};

use crate::action::Action;
use crate::shell::shell;
use crate::tray::MenuCommand;
use crate::windows::{self, Panel};

pub fn perform(app: &AppHandle, action: Action) {
    tracing::info!(action = action_name(&action), "action");
    match action {
        Action::Ask(text) => {
            if let Some(text) = text {
                shell(app).set_ask_prefill(Some(text.clone()));
                let _ = app.emit_to(Panel::Ask.label(), "ask://prefill", text);
            }
            windows::show(app, Panel::Ask);
        }
        Action::Show(panel) => windows::show(app, panel),
        Action::AuthCallback(link) => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move { crate::signin::deliver(&app, &link).await });
        }
        Action::Quit => shell(app).background.quit(app),
    }
}

pub fn menu_command(app: &AppHandle, command: MenuCommand) {
    match command {
        MenuCommand::Do(action) => perform(app, action),
        MenuCommand::SignIn => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                // Failures are shown in the sign-in window.
                let _ = crate::signin::start(&app).await;
            });
        }
        MenuCommand::SignOut => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let _ = crate::signin::sign_out(&app).await;
            });
        }
        MenuCommand::OpenGoal(goal_id) => {
            let _ = app.emit_to(Panel::Ask.label(), "ask://goal", goal_id);
            windows::show(app, Panel::Ask);
        }
        MenuCommand::OpenCall(call_id) => {
            let _ = app.emit_to(Panel::Call.label(), "call://select", call_id);
            windows::show(app, Panel::Call);
        }
        MenuCommand::Call(call_id, action) => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let _ = crate::calls::act(&app, &call_id, action).await;
            });
        }
    }
}

/// Names actions for the log without their payload (a question is the user's business).
fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Ask(_) => "ask",
        Action::Show(panel) => panel.label(),
        Action::AuthCallback(_) => "auth_callback",
        Action::Quit => "quit",
    }
}

//! The inbox: everything KallyAI waits on the user for. Each new item is notified with the
//! buttons that fit its kind (`notices`); the Inbox window lists every item with what it takes to
//! act on it in place (`commands`); a click on a notification's body opens the window at its item.

mod commands;
mod focus;
mod notices;

use tauri::{AppHandle, Manager};

pub use commands::*;

/// Starts the inbox's notifications.
pub fn start(app: &AppHandle) {
    app.manage(focus::Focus::default());
    notices::start(app);
}

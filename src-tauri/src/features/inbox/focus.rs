//! Where the Inbox window opens: at the item a notification was about, when there is one.

use std::sync::Mutex;

use tauri::{AppHandle, Emitter, Manager};

use crate::view::windows::{self, Panel};

/// The item the Inbox window should open at: what a window created for it loads, its page being
/// too young to hear `inbox://focus`.
#[derive(Default)]
pub(super) struct Focus(Mutex<Option<String>>);

/// Opens the Inbox window, at `item` when given.
pub fn open(app: &AppHandle, item: Option<String>) {
    if let Some(id) = item {
        *app.state::<Focus>().0.lock().expect("inbox focus lock") = Some(id.clone());
        let _ = app.emit_to(Panel::Inbox.label(), "inbox://focus", id);
    }
    windows::show(app, Panel::Inbox);
}

/// The item to open at, once.
pub(super) fn take(app: &AppHandle) -> Option<String> {
    app.state::<Focus>().0.lock().expect("inbox focus lock").take()
}

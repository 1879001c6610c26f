//! What the user sees and hears from the app, whichever feature it is about: the tray, the
//! windows, desktop notifications, strings, the browser. Features call in here; nothing in here
//! calls a feature.

pub mod browser;
pub mod event_forwarding;
pub mod i18n;
pub mod notify;
pub mod status;
pub mod tray;
pub mod windows;

use kallyai_core::settings::Lang;
use tauri::AppHandle;

/// Switches every string the app shows, without a restart: the tray (its calls and goals
/// included), the window titles, and the windows themselves (through `app://state`).
pub fn set_language(app: &AppHandle, lang: Lang) {
    i18n::set(app, lang);
    if let Some(tray) = tray::tray(app) {
        tray.relabel(lang);
    }
    windows::retitle(app);
    status::refresh(app);
}

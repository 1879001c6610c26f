//! The global hotkey that summons the quick-ask box: its registration (with the previous one
//! kept when a new one is refused) and why it is not active when it is not (taken by another
//! app, a Wayland session). Part of settings: whether a new hotkey works is the answer to
//! saving it.

use std::sync::RwLock;

use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_global_shortcut::{GlobalShortcutExt, ShortcutState};

use crate::view::i18n::{self, t, text};
use crate::view::windows::{self, Panel};

/// Why the hotkey is not active, in words.
#[derive(Default)]
pub(super) struct HotkeyProblem(RwLock<Option<String>>);

/// The global-shortcut plugin: a press toggles the quick-ask box (a second press puts it away).
pub fn plugin() -> TauriPlugin<Wry> {
    tauri_plugin_global_shortcut::Builder::new()
        .with_handler(|app, _shortcut, event| {
            if event.state == ShortcutState::Pressed {
                tracing::info!("hotkey pressed");
                windows::toggle(app, Panel::Ask);
            }
        })
        .build()
}

pub fn is_wayland() -> bool {
    std::env::var_os("WAYLAND_DISPLAY").is_some()
        || std::env::var("XDG_SESSION_TYPE").is_ok_and(|t| t.eq_ignore_ascii_case("wayland"))
}

pub(super) fn problem(app: &AppHandle) -> Option<String> {
    app.state::<HotkeyProblem>().0.read().expect("hotkey lock").clone()
}

fn set_problem(app: &AppHandle, problem: Option<String>) {
    *app.state::<HotkeyProblem>().0.write().expect("hotkey lock") = problem;
}

/// Registers `hotkey` and, once it works, drops `previous`. On failure the previous one stays
/// active and the problem is kept for the settings window.
pub(super) fn register(app: &AppHandle, hotkey: &str, previous: Option<&str>) -> Result<(), String> {
    let lang = i18n::lang(app);
    if is_wayland() {
        let problem = text(lang, "settings.hotkey.wayland");
        set_problem(app, Some(problem.clone()));
        return Err(problem);
    }
    let shortcuts = app.global_shortcut();
    if previous != Some(hotkey) {
        // The old grab is released first: global-hotkey on X11 only sends a queued ungrab with
        // its next request, so releasing it after the new grab would keep the old keys taken
        // from other apps until a restart. If the new one is refused, the old one comes back.
        if let Some(previous) = previous {
            let _ = shortcuts.unregister(previous);
        }
        if let Err(error) = shortcuts.register(hotkey) {
            tracing::warn!(hotkey, %error, "global shortcut refused");
            if let Some(previous) = previous {
                let _ = shortcuts.register(previous);
            }
            let problem = t(lang, "settings.hotkey.taken", &[("hotkey", hotkey)]);
            set_problem(app, Some(problem.clone()));
            return Err(problem);
        }
    }
    tracing::info!(hotkey, "global shortcut active");
    set_problem(app, None);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_hotkey_parses() {
        let default = kallyai_core::settings::DEFAULT_HOTKEY;
        assert!(default.parse::<tauri_plugin_global_shortcut::Shortcut>().is_ok());
    }
}

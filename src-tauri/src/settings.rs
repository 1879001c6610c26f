//! Settings, kept with tauri-plugin-store in the app's config dir (nothing secret in there:
//! tokens live in the keychain). Every change is checked before it is saved; a value that does
//! not work (a taken shortcut, a plain-http remote server) gets one sentence and is not kept.

use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt;
use tauri_plugin_global_shortcut::GlobalShortcutExt;
use tauri_plugin_store::StoreExt;

use crate::error::CommandError;
use crate::i18n::{text, Lang};
use crate::shell::shell;

const STORE_FILE: &str = "settings.json";
const STORE_KEY: &str = "settings";

/// The default hotkey: Ctrl+Alt+K (Cmd+Option+K on macOS) is bound by none of GNOME, KDE,
/// Windows or macOS out of the box.
pub const DEFAULT_HOTKEY: &str = "CommandOrControl+Alt+K";

/// How a ringing call is announced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallAlert {
    /// A notification with Take over / Reject; the popup opens from it.
    #[default]
    Notification,
    /// The call popup only (for desktops whose notifications have no actions).
    Popup,
    Both,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub hotkey: String,
    pub autostart: bool,
    /// None: the language of the desktop session.
    pub language: Option<Lang>,
    pub notify_calls: bool,
    pub notify_approvals: bool,
    pub notify_messages: bool,
    pub notify_low_credits: bool,
    pub call_alert: CallAlert,
    pub popup_on_top: bool,
    /// Warn when fewer than this share of the period's credits is left.
    pub low_credit_percent: f64,
    /// None: `--api-base`, `KALLYAI_API_BASE`, or production.
    pub api_base: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            hotkey: DEFAULT_HOTKEY.into(),
            autostart: false,
            language: None,
            notify_calls: true,
            notify_approvals: true,
            notify_messages: true,
            notify_low_credits: true,
            call_alert: CallAlert::Notification,
            popup_on_top: true,
            low_credit_percent: 10.0,
            api_base: None,
        }
    }
}

#[derive(Default)]
pub struct SettingsState {
    current: RwLock<Settings>,
    /// Why the hotkey is not active, in words (taken by another app, Wayland, ...).
    hotkey_problem: RwLock<Option<String>>,
}

/// What the settings window shows.
#[derive(Serialize)]
pub struct SettingsView {
    pub settings: Settings,
    pub hotkey_problem: Option<String>,
    /// Global shortcuts cannot work on a Wayland session; the window explains the alternative.
    pub wayland: bool,
    pub api_base_in_use: String,
}

impl SettingsState {
    pub fn get(&self) -> Settings {
        self.current.read().expect("settings lock").clone()
    }
    pub fn low_credit_percent(&self) -> f64 {
        self.current.read().expect("settings lock").low_credit_percent
    }
    pub fn notify_low_credits(&self) -> bool {
        self.current.read().expect("settings lock").notify_low_credits
    }
    pub fn notify_calls(&self) -> bool {
        self.current.read().expect("settings lock").notify_calls
    }
    pub fn call_alert(&self) -> CallAlert {
        self.current.read().expect("settings lock").call_alert
    }
    fn set(&self, settings: Settings) {
        *self.current.write().expect("settings lock") = settings;
    }
}

pub fn is_wayland() -> bool {
    std::env::var_os("WAYLAND_DISPLAY").is_some()
        || std::env::var("XDG_SESSION_TYPE").is_ok_and(|t| t.eq_ignore_ascii_case("wayland"))
}

/// The settings saved by an earlier run (defaults when there are none or they do not parse).
pub fn load(app: &AppHandle) -> Settings {
    let saved = store_path(app)
        .ok()
        .and_then(|path| app.store(path).ok())
        .and_then(|store| store.get(STORE_KEY))
        .and_then(|value| serde_json::from_value(value).ok());
    saved.unwrap_or_default()
}

/// Applies the saved settings at start: language, hotkey, call popup placement.
pub fn apply_at_start(app: &AppHandle) {
    let shell = shell(app);
    let settings = load(app);
    if let Some(lang) = settings.language {
        shell.set_lang(app, lang);
    }
    // A refused hotkey is kept as a problem for the settings window; the app runs without it.
    let _ = register_hotkey(app, &settings.hotkey, None);
    crate::windows::set_call_on_top(app, settings.popup_on_top);
    shell.settings.set(settings);
}

/// Registers `hotkey` and, once it works, drops `previous`. On failure the previous one stays
/// active and the problem is kept for the settings window.
fn register_hotkey(app: &AppHandle, hotkey: &str, previous: Option<&str>) -> Result<(), String> {
    let shell = shell(app);
    let lang = shell.lang();
    if is_wayland() {
        let problem = text(lang, "settings.hotkey.wayland");
        *shell.settings.hotkey_problem.write().expect("settings lock") = Some(problem.clone());
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
            let problem = text(lang, "settings.hotkey.taken").replace("{hotkey}", hotkey);
            *shell.settings.hotkey_problem.write().expect("settings lock") = Some(problem.clone());
            return Err(problem);
        }
    }
    tracing::info!(hotkey, "global shortcut active");
    *shell.settings.hotkey_problem.write().expect("settings lock") = None;
    Ok(())
}

pub fn view(app: &AppHandle) -> SettingsView {
    let shell = shell(app);
    let hotkey_problem = shell.settings.hotkey_problem.read().expect("settings lock").clone();
    SettingsView {
        settings: shell.settings.get(),
        hotkey_problem,
        wayland: is_wayland(),
        api_base_in_use: shell.client.config().api_base().to_string(),
    }
}

/// Checks, applies and saves `new`. Only what changed is touched.
pub async fn update(app: &AppHandle, new: Settings) -> Result<SettingsView, CommandError> {
    let shell = shell(app);
    let lang = shell.lang();
    let old = shell.settings.get();
    let refuse = |field, key: &str| CommandError::field(field, text(lang, key));

    if !(1.0..=90.0).contains(&new.low_credit_percent) {
        return Err(refuse("low_credit_percent", "settings.error.threshold"));
    }
    if let Some(base) = new.api_base.as_deref().filter(|b| Some(*b) != old.api_base.as_deref()) {
        if let Err(error) = kallyai_core::Config::new(base) {
            return Err(CommandError::field("api_base", error.to_string()));
        }
    }
    let hotkey = new.hotkey.trim();
    let Ok(shortcut) = hotkey.parse::<tauri_plugin_global_shortcut::Shortcut>() else {
        return Err(refuse("hotkey", "settings.error.hotkey"));
    };
    // The window shows "Ctrl+Alt+K" for the stored "CommandOrControl+Alt+K": the same keys, so
    // nothing to register (registering them again would be refused as taken, by ourselves).
    let same_keys = old.hotkey.parse::<tauri_plugin_global_shortcut::Shortcut>().is_ok_and(|o| o == shortcut);
    let hotkey = if same_keys { old.hotkey.as_str() } else { hotkey };
    if !same_keys {
        register_hotkey(app, hotkey, Some(&old.hotkey)).map_err(|message| CommandError::field("hotkey", message))?;
    }
    if new.autostart != old.autostart {
        let autolaunch = app.autolaunch();
        let result = if new.autostart { autolaunch.enable() } else { autolaunch.disable() };
        if let Err(error) = result {
            tracing::warn!(%error, "autostart change failed");
            return Err(refuse("autostart", "settings.error.autostart"));
        }
    }
    if new.language != old.language {
        shell.set_lang(app, new.language.unwrap_or_else(Lang::from_environment));
    }
    if new.popup_on_top != old.popup_on_top {
        crate::windows::set_call_on_top(app, new.popup_on_top);
    }
    let base_changed = new.api_base != old.api_base;
    let new = Settings { hotkey: hotkey.to_string(), ..new };
    save(app, &new).map_err(|message| CommandError::field("store", message))?;
    shell.settings.set(new);
    if base_changed {
        // The tokens belong to the old server: sign out of it, then start over on the new one.
        let _ = crate::signin::sign_out(app).await;
        tracing::info!("API base changed; restarting");
        app.restart();
    }
    shell.refresh_views(app);
    Ok(view(app))
}

/// `settings.json` in the app's config dir. The plugin would put a bare file name in the data
/// dir; the config dir is where `saved_api_base` reads it before the app is built.
fn store_path(app: &AppHandle) -> Result<std::path::PathBuf, String> {
    app.path().app_config_dir().map(|dir| dir.join(STORE_FILE)).map_err(|e| e.to_string())
}

fn save(app: &AppHandle, settings: &Settings) -> Result<(), String> {
    let store = app.store(store_path(app)?).map_err(|e| e.to_string())?;
    store.set(STORE_KEY, serde_json::to_value(settings).map_err(|e| e.to_string())?);
    store.save().map_err(|e| e.to_string())
}

/// The API base saved in settings, read before the app is built (the flag and the environment
/// win over it). Reads the store's JSON file directly: the plugin is not running yet.
pub fn saved_api_base(config_dir: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(config_dir.join(STORE_FILE)).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get(STORE_KEY)?.get("api_base")?.as_str().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_or_partial_settings_files_still_load() {
        let settings: Settings = serde_json::from_str(r#"{"autostart": true, "unknown": 1}"#).unwrap();
        assert!(settings.autostart);
        assert_eq!(settings.hotkey, DEFAULT_HOTKEY);
        assert_eq!(settings.low_credit_percent, 10.0);
    }

    #[test]
    fn default_hotkey_parses() {
        assert!(DEFAULT_HOTKEY.parse::<tauri_plugin_global_shortcut::Shortcut>().is_ok());
    }
}

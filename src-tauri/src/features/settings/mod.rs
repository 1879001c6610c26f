//! Settings, kept with tauri-plugin-store in the app's config dir (nothing secret in there:
//! tokens live in the keychain). Every change is checked before it is saved; a value that does
//! not work (a taken shortcut, a plain-http remote server) gets one sentence and is not kept.
//! The settings in force are core's `CurrentSettings`, which the features that obey them read.

pub mod hotkey;

use kallyai_core::settings::{CurrentSettings, Lang, Settings};
use serde::Serialize;
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt;
use tauri_plugin_store::StoreExt;

use crate::core_handle::core;
use crate::error::CommandError;
use crate::view::i18n::{self, text};
use crate::view::{self, status, windows};

const STORE_FILE: &str = "settings.json";
const STORE_KEY: &str = "settings";

/// What the settings window shows.
#[derive(Serialize)]
pub struct SettingsView {
    pub settings: Settings,
    pub hotkey_problem: Option<String>,
    /// Global shortcuts cannot work on a Wayland session; the window explains the alternative.
    pub wayland: bool,
    pub api_base_in_use: String,
}

/// The settings saved by an earlier run (defaults when there are none or they do not parse).
fn load(app: &AppHandle) -> Settings {
    let saved = store_path(app)
        .ok()
        .and_then(|path| app.store(path).ok())
        .and_then(|store| store.get(STORE_KEY))
        .and_then(|value| serde_json::from_value(value).ok());
    saved.unwrap_or_default()
}

/// Applies the saved settings at start: language, hotkey, call popup placement.
pub fn start(app: &AppHandle) {
    app.manage(hotkey::HotkeyProblem::default());
    let settings = load(app);
    if let Some(lang) = settings.language {
        view::set_language(app, lang);
    }
    // A refused hotkey is kept as a problem for the settings window; the app runs without it.
    let _ = hotkey::register(app, &settings.hotkey, None);
    windows::set_call_on_top(app, settings.popup_on_top);
    let current = CurrentSettings::default();
    current.set(settings);
    app.manage(current);
}

fn view_of(app: &AppHandle) -> SettingsView {
    SettingsView {
        settings: app.state::<CurrentSettings>().get(),
        hotkey_problem: hotkey::problem(app),
        wayland: hotkey::is_wayland(),
        api_base_in_use: core(app).client.config().api_base().to_string(),
    }
}

#[tauri::command]
pub fn settings_get(app: AppHandle) -> SettingsView {
    view_of(&app)
}

/// Checks, applies and saves `settings`. Only what changed is touched.
#[tauri::command]
pub async fn settings_set(app: AppHandle, settings: Settings) -> Result<SettingsView, CommandError> {
    let new = settings;
    let lang = i18n::lang(&app);
    let old = app.state::<CurrentSettings>().get();
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
        hotkey::register(&app, hotkey, Some(&old.hotkey)).map_err(|message| CommandError::field("hotkey", message))?;
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
        view::set_language(&app, new.language.unwrap_or_else(Lang::from_environment));
    }
    if new.popup_on_top != old.popup_on_top {
        windows::set_call_on_top(&app, new.popup_on_top);
    }
    let base_changed = new.api_base != old.api_base;
    let new = Settings { hotkey: hotkey.to_string(), ..new };
    save(&app, &new).map_err(|message| CommandError::field("store", message))?;
    app.state::<CurrentSettings>().set(new);
    if base_changed {
        // The tokens belong to the old server: sign out of it, then start over on the new one.
        let core = core(&app);
        let _ =
            kallyai_core::signin::sign_out_with(core.client.config(), None, &core.session, core.store.as_ref()).await;
        tracing::info!("API base changed; restarting");
        app.restart();
    }
    status::refresh(&app);
    Ok(view_of(&app))
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

/// Moves a settings file the app cannot start with aside (`settings.json.unusable-<ms>`, kept:
/// it is what the user wrote), so the next start uses the defaults. Returns both paths.
pub fn set_aside(config_dir: &std::path::Path) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let file = config_dir.join(STORE_FILE);
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let aside = config_dir.join(format!("{STORE_FILE}.unusable-{ms}"));
    std::fs::rename(&file, &aside).ok()?;
    Some((file, aside))
}

/// The API base saved in settings, read before the app is built (the flag and the environment
/// win over it). Reads the store's JSON file directly: the plugin is not running yet.
pub fn saved_api_base(config_dir: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(config_dir.join(STORE_FILE)).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get(STORE_KEY)?.get("api_base")?.as_str().map(String::from)
}

//! Where the app keeps its files, per platform, from the `dirs` crate: the same folders Tauri's
//! `app_config_dir` / `app_data_dir` name (Tauri asks `dirs` too), so the shell can find them
//! before the app is built and core code never spells out `APPDATA`, `~/Library` or the XDG rules.
//!
//! | | Linux | macOS | Windows |
//! |---|---|---|---|
//! | [`config_dir`] | `$XDG_CONFIG_HOME` or `~/.config`, + [`APP_ID`] | `~/Library/Application Support/` + [`APP_ID`] | `%APPDATA%\` + [`APP_ID`] |
//! | [`data_dir`] | `$XDG_DATA_HOME` or `~/.local/share`, + [`APP_ID`] | `~/Library/Application Support/` + [`APP_ID`] | `%APPDATA%\` + [`APP_ID`] |
//!
//! (An XDG variable counts only when it is an absolute path, as the XDG spec says.)

use std::path::PathBuf;

/// The app's identifier (`tauri.conf.json`), which names its folders.
pub const APP_ID: &str = "ai.kally.desktop";

/// The app's config folder: the settings file lives here.
pub fn config_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join(APP_ID))
}

/// The app's data folder: the outbox and the seen-events file live here.
pub fn data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join(APP_ID))
}

/// Where the user's own `.desktop` entries go (`$XDG_DATA_HOME/applications`): a `kallyai://`
/// handler for a binary that no package installed.
#[cfg(target_os = "linux")]
pub fn applications_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join("applications"))
}

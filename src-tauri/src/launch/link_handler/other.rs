//! `kallyai://` on macOS, Windows and anything else that is not Linux, with the deep-link plugin's
//! own `register_all` (the schemes of tauri.conf.json). Where the plugin can register at run time
//! (Windows: the current user's `Software\Classes\kallyai` pointing at this executable, as its
//! docs suggest for builds no installer registered) it does; where it says the platform does not
//! allow it (macOS: the scheme is in the bundle's Info.plist, registered when the app is
//! installed) the bundle has done the job.

use tauri::AppHandle;
use tauri_plugin_deep_link::DeepLinkExt;

/// Registers, then tells `registered` unless that failed. Best effort: a failure is logged, and
/// only means links do not work.
pub fn register_link_handler(app: &AppHandle, registered: fn(&AppHandle)) {
    match app.deep_link().register_all() {
        Ok(()) => tracing::debug!("kallyai:// links open this app"),
        Err(tauri_plugin_deep_link::Error::UnsupportedPlatform) => {
            tracing::debug!("kallyai:// links are registered by the installed bundle");
        }
        Err(error) => {
            tracing::warn!(%error, "could not register the kallyai:// link handler");
            return;
        }
    }
    registered(app);
}

//! Making `kallyai://` links open this app, where the OS needs it done at run time. The platform
//! is chosen here, by the `cfg`s below, and nowhere else:
//!
//! - Linux: `linux` writes the user's `.desktop` entry for a binary no package installed.
//! - Elsewhere: `other`. The bundles register the scheme from `plugins.deep-link` in
//!   tauri.conf.json (the macOS .app's Info.plist, the Windows installers' registry keys); on
//!   Windows the deep-link plugin also registers the running executable for the user, which is
//!   what makes a build that no installer put in place open links.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as platform;

// Compiled everywhere (it uses only the plugin's portable API), so the Linux build checks it too.
#[cfg_attr(target_os = "linux", allow(dead_code))]
mod other;
#[cfg(not(target_os = "linux"))]
use other as platform;

use tauri::AppHandle;

/// Registers this app for `kallyai://` links where that is done at run time, and tells the
/// sign-in feature once links reach it. Best effort: a failure only means links do not work.
pub fn register_link_handler(app: &AppHandle) {
    platform::register_link_handler(app, crate::features::signin::links_registered);
}

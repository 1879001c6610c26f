//! Catching up when the machine wakes or the network comes back. A call that rang while the
//! laptop slept, or while it was offline, should be on screen the moment the user is back, not
//! after the watcher's next routine poll: the OS says so, and the watcher catches up at once
//! (`Watcher::wake`: reads the live calls and pending items now and retries the stream).
//!
//! The platform is chosen here, by the `cfg`s below, and nowhere else:
//! - Linux: `linux` listens on the system bus to logind (resume) and NetworkManager (connected).
//! - Elsewhere: nothing to listen to through the crates in use; the watcher's own clock check
//!   (a jump means the machine slept) catches up after a sleep, and the next poll after a
//!   network change.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as platform;

// Compiled everywhere, so the Linux build checks it too.
#[cfg_attr(target_os = "linux", allow(dead_code))]
mod other;
#[cfg(not(target_os = "linux"))]
use other as platform;

use tauri::AppHandle;

use crate::background::background;
use crate::core_handle::core;

/// Starts listening for wake-ups, where the platform tells.
pub fn start(app: &AppHandle) {
    let watcher = core(app).watcher.clone();
    background(app).spawn("wake", move |_cancel| platform::listen(move || watcher.wake()));
}

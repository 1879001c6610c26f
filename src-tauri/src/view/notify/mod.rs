//! Desktop notifications with actions ("Take over", "Reject", "Sign in"). The OS part sits behind
//! the `Notifier` trait so the rest of the shell never branches on the platform:
//!
//! - Linux and the BSDs: `freedesktop`, notify-rust over D-Bus, whose actions work without any
//!   window; a notice replaces its predecessor in place and can be withdrawn.
//! - macOS and Windows: `portable`, only the part of notify-rust that every platform has: a
//!   title and a body, no buttons. What the buttons would offer is in the windows there (the call
//!   popup for a call: the calls feature asks `Notifier::has_actions`).
//!
//! The platform is chosen here, by the `cfg`s below, and nowhere else.

use std::sync::Arc;

use tauri::{AppHandle, Manager};

// Where notices have no buttons, nothing reads their actions or ever answers with a `Response`.
#[cfg_attr(not(all(unix, not(target_os = "macos"))), allow(dead_code))]
mod notice;
pub use notice::{Notice, Notifier, Response};

#[cfg(all(unix, not(target_os = "macos")))]
mod freedesktop;
#[cfg(all(unix, not(target_os = "macos")))]
mod markup;
// Compiled everywhere (it uses only API every platform has), so the Linux build checks it too.
#[cfg_attr(all(unix, not(target_os = "macos")), allow(dead_code))]
mod portable;

/// The notifier of this platform.
#[cfg(all(unix, not(target_os = "macos")))]
type Native = freedesktop::Freedesktop;
#[cfg(not(all(unix, not(target_os = "macos"))))]
type Native = portable::Portable;

/// The notifier the app uses (managed from the start).
pub struct Notices(Arc<dyn Notifier>);

impl Default for Notices {
    fn default() -> Self {
        Notices(Arc::new(Native::default()))
    }
}

/// The notifier, from anywhere that has the app handle.
pub fn notifier(app: &AppHandle) -> Arc<dyn Notifier> {
    app.state::<Notices>().0.clone()
}

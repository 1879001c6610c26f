//! The signals the shell sends a running watcher (`Watcher::wake`, `set_window_open`).

use std::sync::atomic::AtomicBool;

use tokio::sync::Notify;

/// Signals from the shell to a running watcher.
#[derive(Debug, Default)]
pub(super) struct Control {
    pub wake: Notify,
    /// A window opened: the poller moves to the fast cadence now (the stream needs nothing).
    pub window_opened: Notify,
    pub window_open: AtomicBool,
    pub running: AtomicBool,
}

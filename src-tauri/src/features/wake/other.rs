//! Wake-ups where the crates in use offer no portable signal (macOS, Windows): none. The
//! watcher's clock check notices a sleep by itself.

/// Returns at once: nothing to listen to.
pub async fn listen(_woken: impl Fn()) {}

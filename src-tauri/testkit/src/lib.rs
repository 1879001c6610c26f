//! The KallyAI test kit: what the app's end-to-end tests, core's tests and the sim's tests
//! share, written once. The sim side (a sim on loopback, its `/_sim/` control client) is the
//! sim crate's `client` feature (`kallyai_sim::client`).
//!
//! - [`wait`]: wait on a condition with a deadline (never a fixed sleep);
//! - [`leaks`]: look for secrets where they must never be (files, text);
//! - [`keyring`]: the desktop's keyring made to stop answering, for as long as a test needs;
//! - [`trace_capture`]: every `tracing` event and span field a process emits, as text;
//! - [`require_desktop`]: a clear failure for a test run outside the headless desktop.

pub mod keyring;
pub mod leaks;
pub mod trace_capture;
pub mod wait;

/// Fails clearly when a test that needs the headless desktop of `scripts/with-desktop` (Xvfb, a
/// D-Bus session, gnome-keyring, dunst) runs outside it; `run` says how to run it there.
pub fn require_desktop(run: &str) {
    assert!(
        std::env::var_os("KALLYAI_TEST_DESKTOP").is_some(),
        "this test needs the headless desktop (a display, a D-Bus session, the keychain): run it under \
         scripts/with-desktop, e.g. `{run}`, or `make test`"
    );
}

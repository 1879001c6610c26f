//! Helpers for end-to-end tests of the real app on the headless desktop of `scripts/with-desktop`:
//! the app process, the tray over D-Bus (StatusNotifierItem + DBusMenu), X11 windows, WebDriver.
//! Everything waits on a condition with a deadline; nothing waits a fixed time.
#![allow(dead_code)] // each test binary uses a different subset

pub mod a11y;
pub mod appearance;
pub mod ask_box;
pub mod browser_sign_in;
pub mod credits_line;
pub mod demo;
pub mod keychain;
pub mod launcher;
pub mod notification_bus;
pub mod private_bus;
pub mod profile;
pub mod signed_in_app;
pub mod tray;
pub mod tray_icon;
pub mod tray_picture;
pub mod webdriver;
pub mod x11;
pub mod x_grab;

use std::path::PathBuf;

/// Waiting with a deadline and looking for leaked secrets: the test kit's, shared with core's
/// and the sim's tests.
#[allow(unused_imports)] // each test binary uses a different subset
pub use kallyai_testkit::{leaks, wait};

/// Fails clearly when a desktop test runs outside `scripts/with-desktop`.
pub fn require_desktop() {
    kallyai_testkit::require_desktop("scripts/with-desktop cargo test -p kallyai-desktop --test NAME");
}

/// Where a test writes what it produced (logs, screenshots): `test-output/<name>/`.
pub fn output_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("test-output")
        .join(format!("{name}{}", profile::output_suffix()));
    std::fs::create_dir_all(&dir).expect("create test output dir");
    dir
}

/// Where a test saves a picture the README shows: `test-output/screenshots/<name>` (per profile,
/// as `output_dir`). Tests never write into the tree; `make screenshots` copies these to
/// docs/screenshots/ when the README's pictures are to be refreshed.
pub fn readme_screenshot(name: &str) -> PathBuf {
    output_dir("screenshots").join(name)
}

/// Only one app instance may run on the session bus at a time (single instance), so the desktop
/// tests of one binary take turns.
pub static ONE_APP_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Takes a screenshot of the whole screen, as a user would see it.
pub fn screenshot(path: &std::path::Path) {
    let status = std::process::Command::new("import").args(["-window", "root"]).arg(path).status();
    assert!(matches!(status, Ok(s) if s.success()), "screenshot failed: {status:?}");
}

/// Runs a command line tool and returns its stdout, failing the test if it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    let output =
        std::process::Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(output.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

//! Signing the app in the way a user does: the tray's "Sign in…" opens the sim's sign-in page
//! in the "browser" (tests/support/test-browser, which presses Continue), the app signs in, and
//! the tray offers "Sign out". Then the session sits in the keychain, so a restart is signed in.

use std::path::PathBuf;
use std::time::Duration;

use super::{tray, wait};

/// `BROWSER` for the app: the stand-in that acts on the sign-in page.
pub fn test_browser() -> (&'static str, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/test-browser");
    ("BROWSER", path.to_string_lossy().into_owned())
}

/// Waits until the app has registered itself as the `kallyai://` handler (at start).
pub async fn wait_for_link_handler() {
    wait::until_sync("the kallyai:// handler registration", Duration::from_secs(15), || {
        let out =
            std::process::Command::new("xdg-mime").args(["query", "default", "x-scheme-handler/kallyai"]).output();
        out.ok().filter(|o| !o.stdout.trim_ascii().is_empty()).map(|_| ())
    })
    .await
}

/// Whether the tray menu offers "Sign out" (the app is signed in).
pub fn signed_in(item: &tray::TrayItem) -> bool {
    item.labels().iter().any(|l| l == "Sign out")
}

/// Waits for the signed-in tray (after a sign-in, or a restart that restored the session).
pub async fn wait_signed_in(item: &tray::TrayItem) {
    wait::until_sync("the tray to offer Sign out", Duration::from_secs(30), || signed_in(item).then_some(())).await
}

/// Clicks "Sign in…" in the tray and waits until the app is signed in. The app must have been
/// started with [`test_browser`] in its environment.
pub async fn sign_in(item: &tray::TrayItem) {
    sign_in_labelled(item, "Sign in…", "Sign out").await
}

/// `sign_in` with the tray in another language: its "Sign in…" and "Sign out" labels.
pub async fn sign_in_labelled(item: &tray::TrayItem, sign_in: &str, sign_out: &str) {
    wait_for_link_handler().await;
    item.click(sign_in);
    wait::until_sync(&format!("the tray to offer {sign_out}"), Duration::from_secs(30), || {
        item.labels().iter().any(|l| l == sign_out).then_some(())
    })
    .await
}

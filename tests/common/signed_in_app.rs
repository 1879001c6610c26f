//! The real app under WebDriver, signed in the way a user signs in (tray "Sign in…", the test
//! browser presses Continue), with the browser's log of opened URLs kept per test. Used by the
//! credits and settings tests, which need a signed-in app and its windows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::launcher::Launched;
use super::{browser_sign_in, tray, wait, x11};

/// Removes the settings an earlier test saved (the store file in the app's config dir), so the
/// next app starts with the defaults: tests of one run share the desktop's HOME.
pub fn forget_settings() {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(config) = config {
        let _ = std::fs::remove_file(config.join("ai.kally.desktop/settings.json"));
    }
}

/// Starts the next app with `settings` saved (as the settings window saves them), e.g.
/// `{"language": "es"}`; undo with `forget_settings`.
pub fn use_settings(settings: serde_json::Value) {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .expect("a config dir");
    let dir = config.join("ai.kally.desktop");
    std::fs::create_dir_all(&dir).expect("create the config dir");
    let store = serde_json::json!({ "settings": settings });
    std::fs::write(dir.join("settings.json"), store.to_string()).expect("write the settings");
}

/// Where the test browser writes every URL it was asked to open.
pub fn browser_log(out: &Path) -> PathBuf {
    out.join("browser.log")
}

/// The URLs the browser was asked to open, in order.
pub fn opened(out: &Path) -> Vec<String> {
    std::fs::read_to_string(browser_log(out)).unwrap_or_default().lines().map(String::from).collect()
}

/// Starts the app under WebDriver against `api_base`, as `<out>/<name>.sh`, with the test browser.
pub async fn start(out: &Path, name: &str, api_base: &str) -> Launched {
    let vars = [
        browser_sign_in::test_browser(),
        ("KALLYAI_TEST_BROWSER_LOG", browser_log(out).to_string_lossy().into_owned()),
        ("KALLYAI_LOG", "debug".to_string()),
    ];
    Launched::start(out, name, &vars, &["--api-base", api_base]).await
}

/// Starts the app and signs it in through the tray; returns it with its tray item.
pub async fn start_signed_in(out: &Path, name: &str, api_base: &str) -> (Launched, tray::TrayItem) {
    start_signed_in_labelled(out, name, api_base, "Sign in…", "Sign out").await
}

/// As `start_signed_in`, with the app in Spanish (saved as the settings window saves it). The
/// app writes its settings back as it quits: call `forget_settings` after quitting it.
pub async fn start_signed_in_spanish(out: &Path, name: &str, api_base: &str) -> (Launched, tray::TrayItem) {
    use_settings(serde_json::json!({"language": "es"}));
    start_signed_in_labelled(out, name, api_base, "Iniciar sesión…", "Cerrar sesión").await
}

async fn start_signed_in_labelled(
    out: &Path,
    name: &str,
    api_base: &str,
    sign_in: &str,
    sign_out: &str,
) -> (Launched, tray::TrayItem) {
    let app = start(out, name, api_base).await;
    let item = app.tray().await;
    wait::until_sync(&format!("'{sign_in}' in the tray menu"), Duration::from_secs(15), || {
        item.labels().iter().any(|l| l == sign_in).then_some(())
    })
    .await;
    browser_sign_in::sign_in_labelled(&item, sign_in, sign_out).await;
    (app, item)
}

/// Waits until the tray's first line reads `line` (the failure names what it read instead).
pub async fn wait_tray_line(item: &tray::TrayItem, line: &str, timeout: Duration) {
    let mut polling = wait::Polling::new(timeout);
    loop {
        polling.tick().await;
        let first = item.labels().into_iter().next().unwrap_or_default();
        if first == line {
            return;
        }
        assert!(!polling.expired(), "the tray's first line is {first:?}, expected {line:?}");
    }
}

/// Shows window `panel` (a second launch with `--show`, as a user's launcher does) and waits until
/// it is on screen and its page is visible and ready.
pub async fn show(app: &Launched, panel: &str, title: &str) {
    let second = app.second_launch(&["--show", panel]).await;
    assert!(second.status.success(), "--show {panel}: {second:?}");
    wait::until_sync(&format!("the {title} window on screen"), Duration::from_secs(15), || {
        x11::window_viewable(title).then_some(())
    })
    .await;
    let session = app.session();
    assert!(session.switch_to_page(&format!("{panel}.html")).await, "the {panel} window exists");
    wait::until(&format!("the {panel} page to be visible and ready"), Duration::from_secs(15), || async {
        let state = session.execute("return [document.visibilityState, document.body.dataset.ready || '']").await;
        (state[0] == "visible" && state[1] == "true").then_some(())
    })
    .await;
}

/// The windows `--show` opens, with their English titles. The app creates a window when it is
/// first shown (the quick-ask box aside), so a check of "every window" opens them first.
pub const SHOWABLE: [(&str, &str); 7] = [
    ("ask", "Ask KallyAI"),
    ("credits", "Credits"),
    ("settings", "Settings"),
    ("signin", "Sign in to KallyAI"),
    ("activity", "Activity"),
    ("inbox", "Inbox"),
    ("dialer", "Call someone"),
];

/// Shows every window `--show` opens, each ready (English titles).
pub async fn show_every_window(app: &Launched) {
    for (panel, title) in SHOWABLE {
        show(app, panel, title).await;
    }
}

//! Issue 6, acceptance 1, cold start: the user starts a sign-in, the app quits while the browser
//! is still open, and the browser's `kallyai://auth/callback` link then starts the app, which
//! finishes the sign-in (core kept its state and PKCE verifier in the keychain, not in memory
//! only). All real: the app, a sim, gnome-keyring, the tray over DBusMenu, xdg-open and the
//! app's own `kallyai://` handler registration. The test browser holds the link
//! (KALLYAI_TEST_BROWSER_HOLD) until the test opens it, after the app has quit.
//!
//! Run: `scripts/with-desktop cargo test -p kallyai-desktop --test signin_cold_start`.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::browser_sign_in::{test_browser, wait_for_link_handler, wait_signed_in};
use common::launcher::{process_alive, running_apps, App, KillOnDrop};
use common::{keychain, leaks, output_dir, require_desktop, tray, wait, ONE_APP_AT_A_TIME};
use kallyai_sim::client;
use kallyai_sim::SimConfig;

const TOKEN: &str = "/v1/auth/gpt/token";

/// Clicks Quit in the tray and waits until the process is gone.
async fn quit_from_the_tray(item: &tray::TrayItem, pid: u32) {
    item.click("Quit");
    wait::until_sync("the app to exit after Quit", Duration::from_secs(20), || (!process_alive(pid)).then_some(()))
        .await;
}

fn pending_entry_exists(api_base: &str) -> bool {
    keychain::has_entry(&format!("pending-sign-in:{api_base}"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_link_that_starts_the_app_finishes_the_sign_in() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let out = output_dir("signin-cold-start-resume");
    let held = out.join("held-link");
    let browser_log = out.join("browser.log");
    for file in [&held, &browser_log] {
        let _ = std::fs::remove_file(file);
    }
    let sim = client::start_local(SimConfig::default()).await;
    let (url, ctl) = (sim.url(), sim.control());

    // First run: "Sign in…" opens the sign-in page; the person clicks Continue, but the browser
    // keeps the link that would come back to the app.
    let vars = [
        test_browser(),
        ("KALLYAI_TEST_BROWSER_LOG", browser_log.to_string_lossy().into_owned()),
        ("KALLYAI_TEST_BROWSER_HOLD", held.to_string_lossy().into_owned()),
        ("KALLYAI_LOG", "trace".to_string()),
    ];
    let mut first = App::start(&out, "first-run", &vars, &["--api-base", &url]);
    let first_log = first.log.clone();
    let first_pid = first.pid();
    let _first_guard = KillOnDrop(first_pid);
    wait_for_link_handler().await;
    let item = tray::wait_for_item(first_pid).await;
    wait::until_sync("'Sign in…' in the tray", Duration::from_secs(15), || {
        item.labels().iter().any(|l| l == "Sign in…").then_some(())
    })
    .await;
    item.click("Sign in…");
    let link = wait::until_sync("the browser to hold the sign-in link", Duration::from_secs(30), || {
        Some(read(&held).trim().to_string()).filter(|l| !l.is_empty())
    })
    .await;
    assert!(link.starts_with("kallyai://auth/callback?code="), "the browser came back with a code");
    assert!(pending_entry_exists(&url), "the pending sign-in is in the keychain while the browser is open");

    // The app quits before the link arrives.
    quit_from_the_tray(&item, first_pid).await;
    first.exit_status(Duration::from_secs(5)).await;
    assert!(pending_entry_exists(&url), "quitting keeps the pending sign-in for the next start");
    assert!(!keychain::has_entry(&url), "not signed in yet");
    assert!(ctl.requests_to("POST", TOKEN).await.is_empty(), "no code exchanged yet");

    // The person's click reaches the desktop: xdg-open starts the app with the link (the
    // server comes from the environment, as the registered handler has only `%u`).
    let cold_log = out.join("cold-start.log");
    let mut opener = tokio::process::Command::new("xdg-open")
        .arg(&link)
        .env("KALLYAI_API_BASE", &url)
        .env("KALLYAI_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&cold_log).expect("cold-start log"))
        .kill_on_drop(true)
        .spawn()
        .expect("xdg-open");
    let pid = wait::until_sync("the link to start the app", Duration::from_secs(20), || {
        running_apps().into_iter().find(|p| *p != first_pid)
    })
    .await;
    let _cold_guard = KillOnDrop(pid);
    let item = tray::wait_for_item(pid).await;
    wait_signed_in(&item).await;

    // Signed in with the first run's PKCE verifier, one exchange, the pending entry gone.
    let logs = format!("{}{}", read(&first_log), read(&cold_log));
    assert!(logs.contains("sign-in resumed after a restart"), "the cold-started app resumed the sign-in");
    assert_eq!(ctl.requests_to("POST", TOKEN).await.len(), 1, "the code is exchanged once");
    let seen = ctl.oauth_seen().await;
    assert_eq!(seen.pkce_method.as_deref(), Some("S256"));
    assert!(seen.verifier_seen, "the verifier of the first run reached the token endpoint");
    assert!(keychain::has_entry(&url), "the session is saved in the keychain");
    assert!(!pending_entry_exists(&url), "the pending sign-in is gone once used");

    // No code, state or token in a file under HOME or in either run's log at trace level.
    let state = url::Url::parse(&link).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let mut secrets = ctl.issued_secrets().await;
    secrets.push(state);
    assert!(secrets.len() >= 3, "a code and tokens were issued");
    let home = std::env::var("HOME").expect("HOME");
    assert_eq!(leaks::files_containing(Path::new(&home), &secrets), Vec::<std::path::PathBuf>::new());
    assert_eq!(leaks::count_in(&logs, &secrets), 0, "no secret in the logs");

    quit_from_the_tray(&item, pid).await;
    let status = tokio::time::timeout(Duration::from_secs(20), opener.wait()).await.expect("xdg-open returns");
    assert!(status.expect("xdg-open status").success(), "xdg-open (and the app) ended well");
    sim.shutdown().await;
}

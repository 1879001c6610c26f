//! Sign-in end to end (issue 6), on the real headless desktop of `scripts/with-desktop`: the real
//! app, started under WebDriver with `$BROWSER` set to tests/support/test-browser (a person
//! clicking Continue on the sim's sign-in page), a real sim, the real gnome-keyring, the tray
//! read and clicked over DBusMenu, notifications watched on the bus.
//!
//! Run: `scripts/with-desktop cargo test -p kallyai-desktop --test signin -- --test-threads=1`.
//! The protocol details (hostile callbacks, property test, single-flight refresh) are covered by
//! core's own tests (src-tauri/core/tests/signin*.rs, auth.rs).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::appearance::{set_scheme, wait_for_scheme, LightAgain, Scheme};
use common::browser_sign_in::{self, wait_for_link_handler};
use common::launcher::{process_alive, running_apps, second_launch, KillOnDrop, Launched};
use common::notification_bus::BusMonitor;
use common::private_bus::PrivateBus;
use common::signed_in_app;
use common::{
    keychain, leaks, output_dir, profile, readme_screenshot, require_desktop, tray, wait, x11, ONE_APP_AT_A_TIME,
};
use kallyai_sim::client::{self, Control, Fault};
use kallyai_sim::{SimConfig, SimServer};
use url::Url;

const SIGN_IN: &str = "Sign in…";
const SIGN_OUT: &str = "Sign out";
const OFFLINE: &str = "Offline: KallyAI cannot be reached";
/// The seeded user's name, as the sign-in window shows it (from GET /v1/users/me, a sim
/// extension: production has no profile endpoint, so there the window shows `SIGNED_IN`).
const SIGNED_IN_AS: &str = "Signed in as Alex Demo.";
const SIGNED_IN: &str = "You are signed in.";
const SIGNIN_WINDOW_TITLE: &str = "Sign in to KallyAI";
/// The tray's first line while a keyring locked at start keeps the saved sign-in unread.
const KEYRING_LOCKED: &str = "Keyring locked: your sign-in is read once it is unlocked";

/// One test's world: its sim and where its files go.
struct World {
    /// Taken when a test takes the network down.
    sim: Option<SimServer>,
    url: String,
    ctl: Control,
    out: PathBuf,
}

impl World {
    /// A sim on this run's profile (`KALLYAI_TEST_PROFILE`, see common/profile.rs).
    async fn new(name: &str, config: SimConfig) -> World {
        let config = SimConfig { profile: profile::current(), ..config };
        let out = output_dir(name);
        let _ = std::fs::remove_file(out.join("browser.log"));
        let sim = client::start_local(config).await;
        World { ctl: sim.control(), url: sim.url(), sim: Some(sim), out }
    }

    /// The app's environment: the test browser (logging what it opened) and every log line.
    fn env(&self, browser: &str) -> Vec<(&'static str, String)> {
        vec![
            ("BROWSER", browser.to_string()),
            ("KALLYAI_TEST_BROWSER_LOG", self.browser_log().to_string_lossy().into_owned()),
            ("KALLYAI_LOG", "trace".to_string()),
        ]
    }

    fn browser_log(&self) -> PathBuf {
        self.out.join("browser.log")
    }

    /// The URLs the browser was asked to open, in order.
    fn opened(&self) -> Vec<String> {
        std::fs::read_to_string(self.browser_log()).unwrap_or_default().lines().map(String::from).collect()
    }

    async fn start_app(&self, name: &str, extra: &[(&'static str, String)], args: &[&str]) -> Launched {
        let mut env = self.env(&browser_sign_in::test_browser().1);
        env.extend(extra.iter().cloned());
        let mut all = vec!["--api-base", self.url.as_str()];
        all.extend_from_slice(args);
        Launched::start(&self.out, name, &env, &all).await
    }

    /// The app started as `name` and signed in from the tray, as a user does the first time.
    async fn signed_in_app(&self, name: &str) -> (Launched, tray::TrayItem) {
        let app = self.start_app(name, &[], &[]).await;
        wait_for_link_handler().await;
        let item = sign_in_from_the_tray(&app).await;
        (app, item)
    }

    /// The server becomes unreachable: connections to it are refused from now on.
    async fn network_down(&mut self) {
        if let Some(sim) = self.sim.take() {
            sim.shutdown().await;
        }
    }

    async fn end(mut self) {
        self.network_down().await;
    }
}

async fn wait_for_entry(item: &tray::TrayItem, label: &str, timeout: Duration) {
    wait::until_sync(&format!("'{label}' in the tray menu"), timeout, || {
        item.labels().iter().any(|l| l == label).then_some(())
    })
    .await
}

/// What a user does: "Sign in…" in the tray; the browser does the rest. Returns the tray item.
async fn sign_in_from_the_tray(app: &Launched) -> tray::TrayItem {
    let item = app.tray().await;
    wait_for_entry(&item, SIGN_IN, Duration::from_secs(10)).await;
    browser_sign_in::sign_in(&item).await;
    item
}

/// Waits until the sign-in window says the sign-in is not saved (no usable keychain).
async fn assert_not_saved_shown(app: &Launched) {
    let note = in_signin_window(
        app,
        "the window to say the sign-in is not saved",
        "const n = document.getElementById('not-saved');
         return !n.hidden && getComputedStyle(n).display !== 'none' ? n.textContent : '';",
    )
    .await;
    assert!(note.contains("not saved"), "{note}");
}

/// Runs `script` in the sign-in window until it returns a non-empty string. On timeout the
/// failure shows what the window said instead.
async fn in_signin_window(app: &Launched, what: &str, script: &str) -> String {
    assert!(app.session().switch_to_page("signin.html").await, "the sign-in window exists");
    let mut polling = wait::Polling::new(Duration::from_secs(20));
    loop {
        polling.tick().await;
        let value = app.session().execute(script).await;
        if let Some(found) = value.as_str().filter(|s| !s.is_empty()) {
            return found.to_string();
        }
        if polling.expired() {
            let shown = app.session().execute("return document.body.innerText").await;
            panic!("timed out waiting for {what}; the sign-in window shows: {shown}");
        }
    }
}

/// The sign-in window says who is signed in (the user-visible proof that the session works),
/// by name where the server tells the name.
async fn assert_name_shown(app: &Launched) {
    let expected = if profile::is_production() { SIGNED_IN } else { SIGNED_IN_AS };
    let script = format!(
        "const face = document.getElementById('face-signed-in');
         const text = document.getElementById('account').textContent;
         return !face.hidden && text === {expected:?} ? text : '';"
    );
    let shown = in_signin_window(app, "the sign-in window to say who is signed in", &script).await;
    assert_eq!(shown, expected);
}

fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

fn log_has(log: &str, needle: &str) -> bool {
    log.contains(needle)
}

fn make_executable(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write script");
    let mut perms = std::fs::metadata(path).expect("metadata").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).expect("chmod");
}

fn test_home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").expect("HOME"))
}

// 1. OAuth + PKCE through kallyai://auth/callback to the running app (the sim's OAuth extension;
// the production run skips `extension_` tests: production signs in as in test 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extension_oauth_pkce_comes_back_through_a_kallyai_link() {
    require_desktop();
    profile::require_extensions("the OAuth extension");
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("signin-oauth", SimConfig::default()).await;
    let (app, _) = world.signed_in_app("app").await;

    // The browser was asked to open the authorization page, with PKCE S256 and the claimed
    // kallyai:// redirect.
    let opened = world.opened();
    assert_eq!(opened.len(), 1, "one page opened in the browser: {opened:?}");
    let page = Url::parse(&opened[0]).expect("a URL");
    assert_eq!(page.path(), "/v1/auth/authorize");
    assert_eq!(query(&page, "client_id").as_deref(), Some("kallyai-desktop"));
    assert_eq!(query(&page, "redirect_uri").as_deref(), Some("kallyai://auth/callback"));
    assert_eq!(query(&page, "code_challenge_method").as_deref(), Some("S256"));
    assert!(query(&page, "code_challenge").is_some_and(|c| c.len() >= 43));

    // The server saw the S256 challenge and then the verifier with the code.
    let seen = world.ctl.oauth_seen().await;
    assert_eq!(seen.pkce_method.as_deref(), Some("S256"), "{seen:?}");
    assert!(seen.challenge_seen, "{seen:?}");
    assert!(seen.verifier_seen, "{seen:?}");
    let exchanges = world.ctl.requests_to("POST", "/v1/auth/gpt/token").await;
    assert_eq!(exchanges.len(), 1, "the code is exchanged exactly once");
    assert_eq!(exchanges[0]["status"], 200);

    // The link went browser -> xdg-open -> a second launch -> the single-instance plugin -> the
    // running app, which took it as the callback; the second process is gone.
    let log = app.log_text();
    assert!(log_has(&log, "action=\"auth_callback\""), "the running app received the link");
    assert!(log_has(&log, "sign-in callback accepted"), "the running app accepted the callback");
    assert_eq!(running_apps(), vec![app.pid], "the second instance that carried the link has exited");

    assert_name_shown(&app).await;
    app.quit().await;
    world.end().await;
}

// 1, cold start: the person finishes in the browser after the app has quit. The link starts the
// app, which finishes the sign-in from what core kept of it in the keychain (state, verifier).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extension_a_sign_in_link_that_starts_the_app_finishes_the_sign_in() {
    require_desktop();
    profile::require_extensions("the OAuth extension");
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("signin-cold-start", SimConfig::default()).await;

    // A browser that only records the page: the person has not clicked Continue yet.
    let recorder = world.out.join("recording-browser");
    make_executable(&recorder, "#!/bin/sh\nprintf '%s\\n' \"$1\" >> \"$KALLYAI_TEST_BROWSER_LOG\"\n");
    let app =
        Launched::start(&world.out, "app", &world.env(&recorder.to_string_lossy()), &["--api-base", &world.url]).await;
    wait_for_link_handler().await;
    let item = app.tray().await;
    item.click(SIGN_IN);
    let page = wait::until_sync("the browser to be asked for the sign-in page", Duration::from_secs(20), || {
        world.opened().into_iter().next()
    })
    .await;
    assert!(Url::parse(&page).is_ok_and(|u| u.path() == "/v1/auth/authorize"), "an OAuth sign-in");
    wait::until_sync("the pending sign-in in the keychain", Duration::from_secs(10), || {
        keychain::has_pending_sign_in(&world.url).then_some(())
    })
    .await;
    app.quit().await;
    assert!(keychain::has_pending_sign_in(&world.url), "quitting keeps the pending sign-in for the link");

    // Now the person clicks Continue; the browser hands kallyai://auth/callback to xdg-open,
    // which starts the app (xdg-open waits for it, so it runs on in the background). The link
    // names no server: the app's configured one comes from the environment here.
    let cold_log = world.out.join("cold-start.log");
    let mut browser = tokio::process::Command::new(browser_sign_in::test_browser().1)
        .arg(&page)
        .env("KALLYAI_TEST_BROWSER_LOG", world.out.join("cold-browser.log"))
        .env("KALLYAI_LOG", "trace")
        .env("KALLYAI_API_BASE", &world.url)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&cold_log).expect("cold-start log"))
        .kill_on_drop(true)
        .spawn()
        .expect("run the test browser");
    let handed_over = tokio::time::timeout(Duration::from_secs(30), browser.wait()).await.expect("browser finishes");
    assert!(handed_over.expect("browser status").success());
    let pid =
        wait::until_sync("the link to start the app", Duration::from_secs(20), || running_apps().into_iter().next())
            .await;
    let _cold = KillOnDrop(pid);
    wait::until_sync("the cold-started app to save the session", Duration::from_secs(30), || {
        keychain::has_entry(&world.url).then_some(())
    })
    .await;
    let log = std::fs::read_to_string(&cold_log).unwrap_or_default();
    assert!(log.contains("sign-in resumed after a restart"), "the new app finished the earlier sign-in");
    assert!(!keychain::has_pending_sign_in(&world.url), "the pending part is gone once used");
    let exchanges = world.ctl.requests_to("POST", "/v1/auth/gpt/token").await;
    assert_eq!(exchanges.len(), 1, "the code is exchanged exactly once");
    assert_eq!(exchanges[0]["status"], 200);
    let seen = world.ctl.oauth_seen().await;
    assert_eq!((seen.pkce_method.as_deref(), seen.verifier_seen), (Some("S256"), true), "{seen:?}");
    let item = wait::until_sync("the cold-started app's tray", Duration::from_secs(30), || {
        tray::items_of(pid).into_iter().next()
    })
    .await;
    wait_for_entry(&item, SIGN_OUT, Duration::from_secs(20)).await;
    wait::until_sync("the sign-in window on screen", Duration::from_secs(15), || {
        x11::window_viewable(SIGNIN_WINDOW_TITLE).then_some(())
    })
    .await;

    let quit = second_launch(&["--quit"]).await;
    assert!(quit.status.success());
    wait::until_sync("the cold-started app to exit", Duration::from_secs(15), || (!process_alive(pid)).then_some(()))
        .await;
    let secrets = world.ctl.issued_secrets().await;
    let log = std::fs::read_to_string(&cold_log).unwrap_or_default();
    assert_eq!(leaks::count_in(&log, &secrets), 0, "a secret in the cold-started app's trace log");
    world.end().await;
}

// 1, a link with nothing to finish (no sign-in running, none kept from an earlier run): one
// sentence in the sign-in window, nothing exchanged, the app keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_with_no_sign_in_pending_is_refused_in_one_sentence() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("signin-nothing-pending", SimConfig::default()).await;
    // Started with the link first and alone on its command line, as xdg-open starts it
    // (Exec=kallyai-desktop %u); the deep-link plugin takes a launch link only when it is the one
    // argument, so the server comes from the environment.
    let forged = "kallyai://auth/callback?code=not-pending&state=not-pending";
    let mut env = world.env(&browser_sign_in::test_browser().1);
    env.push(("KALLYAI_API_BASE", world.url.clone()));
    let app = Launched::start(&world.out, "app", &env, &[forged]).await;
    let sentence = in_signin_window(
        &app,
        "the sign-in window to say why the link was ignored",
        "const face = document.getElementById('face-failed');
         return face.hidden ? '' : document.getElementById('failure').textContent;",
    )
    .await;
    assert_eq!(sentence, "No sign-in is in progress, so this sign-in link was ignored.");
    assert!(app.log_text().contains("no_sign_in_pending"));
    assert!(world.ctl.requests_to("POST", "/v1/auth/gpt/token").await.is_empty(), "no code exchanged");
    assert!(!keychain::has_entry(&world.url), "not signed in");
    assert!(app.is_running());
    let item = app.tray().await;
    assert!(item.labels().iter().any(|l| l == SIGN_IN), "still signed out: {:?}", item.labels());
    app.quit().await;
    world.end().await;
}

// 2. Production today: no OAuth metadata, the /v1/auth/cli loopback flow on 8740-8759 (on the
// default profile with the OAuth extension switched off, on the production profile as it is).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_loopback_flow_works_without_oauth_metadata() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("signin-cli", SimConfig { oauth_flow: false, ..SimConfig::default() }).await;
    let (app, _) = world.signed_in_app("app").await;

    let opened = world.opened();
    assert_eq!(opened.len(), 1, "one page opened in the browser: {opened:?}");
    let page = Url::parse(&opened[0]).expect("a URL");
    assert_eq!(page.path(), "/v1/auth/cli");
    let redirect = Url::parse(&query(&page, "redirect_uri").expect("redirect_uri")).expect("redirect URL");
    assert_eq!(redirect.host_str(), Some("127.0.0.1"));
    let port = redirect.port().expect("a port");
    assert!((8740..=8759).contains(&port), "the CLIs' port range: {port}");
    assert!(query(&page, "state").is_some_and(|s| s.len() >= 16), "a fresh state");
    assert!(world.ctl.requests_to("GET", "/v1/auth/authorize").await.is_empty());

    assert_name_shown(&app).await;
    // The one-shot listener is gone once the sign-in is over.
    wait::until_sync("the loopback port to be free again", Duration::from_secs(10), || {
        std::net::TcpListener::bind(("127.0.0.1", port)).ok().map(|_| ())
    })
    .await;
    app.quit().await;
    world.end().await;
}

// 3. A restart stays signed in without a browser; no issued secret anywhere a user or another
// program could read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_stays_signed_in_and_no_token_leaks() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("signin-restart", SimConfig::default()).await;
    let (app, _) = world.signed_in_app("first-run").await;
    assert_name_shown(&app).await;
    signed_in_app::show_every_window(&app).await;
    let first_doms = app.every_dom().await;
    app.quit().await;
    assert_eq!(world.opened().len(), 1);
    assert!(keychain::has_entry(&world.url), "secret-tool finds the app's entry");

    let app = world.start_app("second-run", &[], &[]).await;
    let item = app.tray().await;
    wait_for_entry(&item, SIGN_OUT, Duration::from_secs(20)).await;
    signed_in_app::show_every_window(&app).await;
    assert_name_shown(&app).await;
    assert_eq!(world.opened().len(), 1, "no browser on restart: {:?}", world.opened());

    let secrets = world.ctl.issued_secrets().await;
    assert!(secrets.len() >= 2, "the sim issued tokens");
    for (i, dom) in first_doms.iter().chain(app.every_dom().await.iter()).enumerate() {
        assert_eq!(leaks::count_in(dom, &secrets), 0, "a secret in the DOM of window {i}");
    }
    app.quit().await;
    for log in ["first-run.log", "second-run.log"] {
        let text = std::fs::read_to_string(world.out.join(log)).expect("app log");
        assert!(text.contains(" TRACE "), "{log} is at trace level");
        assert_eq!(leaks::count_in(&text, &secrets), 0, "a secret in {log}");
    }
    let on_disk = leaks::files_containing(&test_home(), &secrets);
    assert!(on_disk.is_empty(), "secrets in files under HOME: {on_disk:?}");
    let in_output = leaks::files_containing(&world.out, &secrets);
    assert!(in_output.is_empty(), "secrets in the test's output: {in_output:?}");
    world.end().await;
}

// 4. The server refuses the refresh token: signed out, with a notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_token_signs_out_with_a_notification() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("signin-revoked", SimConfig::default()).await;
    let (app, item) = world.signed_in_app("app").await;
    assert!(keychain::has_entry(&world.url));

    let monitor = BusMonitor::start().await;
    world.ctl.expire_tokens().await;
    world.ctl.revoke_tokens().await;
    // The user opens the recent calls: the app needs the API now.
    assert!(app.second_launch(&["--show", "calls"]).await.status.success());

    wait_for_entry(&item, SIGN_IN, Duration::from_secs(30)).await;
    let notice = monitor
        .wait_for("the signed-out notification on the bus", Duration::from_secs(15), |n| {
            n.summary == "You were signed out of KallyAI"
        })
        .await;
    assert!(notice.has_action("sign_in"), "it offers a way back in: {notice:?}");
    let refreshes = world.ctl.requests_to("POST", "/v1/auth/refresh").await;
    assert!(refreshes.iter().any(|r| r["status"] == 401), "the refresh was refused: {refreshes:?}");
    assert!(!keychain::has_entry(&world.url), "the keychain entry is gone");
    assert!(app.is_running());
    app.quit().await;
    world.end().await;
}

// 4. The network fails during the refresh: still signed in; then the server cannot be reached
// at all: offline, and still signed in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_cannot_reach_the_server_keeps_the_session_offline() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let mut world = World::new("signin-offline", SimConfig::default()).await;
    let (app, item) = world.signed_in_app("app").await;

    // Every POST to the auth endpoints (refresh, token) loses its connection, as when the
    // network drops just then; the expired access token makes the app refresh.
    world.ctl.fault(&Fault::new("/v1/auth/*", "drop_before").method("POST")).await;
    world.ctl.expire_tokens().await;
    assert!(app.second_launch(&["--show", "calls"]).await.status.success());
    wait::until("a refresh attempt that lost its connection", Duration::from_secs(30), || async {
        let tried = world.ctl.requests_to("POST", "/v1/auth/refresh").await;
        tried.iter().any(|r| !r["fault"].is_null()).then_some(())
    })
    .await;
    assert!(item.labels().iter().any(|l| l == SIGN_OUT), "still signed in: {:?}", item.labels());
    assert!(keychain::has_entry(&world.url), "the saved session is kept");

    // Now the network is down altogether (connections refused): the app says it is offline and
    // keeps the session.
    world.network_down().await;
    wait::until_sync("the tray to say offline", Duration::from_secs(30), || {
        (item.menu().first().map(|e| e.label.as_str()) == Some(OFFLINE)).then_some(())
    })
    .await;
    assert!(item.labels().iter().any(|l| l == SIGN_OUT), "still signed in: {:?}", item.labels());
    assert!(keychain::has_entry(&world.url), "the saved session is kept");
    assert!(app.is_running());
    app.quit().await;
    world.end().await;
}

// 5. Sign out revokes at the server where it offers revocation (production does not: reference
// §2.5) and removes the keychain entry either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_revokes_where_offered_and_removes_the_keychain_entry() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("signin-sign-out", SimConfig::default()).await;
    let (app, item) = world.signed_in_app("app").await;
    assert!(keychain::has_entry(&world.url));

    item.click(SIGN_OUT);
    wait_for_entry(&item, SIGN_IN, Duration::from_secs(20)).await;
    let revoked = world.ctl.requests_to("POST", "/v1/auth/revoke").await;
    if profile::is_production() {
        assert!(revoked.is_empty(), "no revocation endpoint to call: {revoked:?}");
    } else {
        assert!(!revoked.is_empty(), "the revocation endpoint was called");
    }
    wait::until_sync("the keychain entry to go", Duration::from_secs(10), || {
        (!keychain::has_entry(&world.url)).then_some(())
    })
    .await;
    let face = in_signin_window(
        &app,
        "the sign-in window to offer signing in",
        "return document.getElementById('face-signed-in').hidden ? 'signed out' : '';",
    )
    .await;
    assert_eq!(face, "signed out");
    app.quit().await;
    world.end().await;
}

// 6. No Secret Service at all: sign-in works for this run, the window says it is not saved, and
// no token reaches the disk. The app runs on a private bus where nothing can be activated.
// A keyring that does not answer at start (frozen, as one stuck behind an unlock prompt): the app
// starts and takes a link at once (a second launch never touches the keyring), says the sign-in
// is not saved, signs in into memory, and saves the session in the keyring once it answers
// (issue 17, acceptance 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyring_that_does_not_answer_holds_nothing_up() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("signin-frozen-keyring", SimConfig::default()).await;
    let frozen = kallyai_testkit::keyring::FrozenKeyring::freeze();
    let quick = [("KALLYAI_KEYRING_TIMEOUT_SECS", "1".to_string()), ("KALLYAI_KEYRING_REPROBE_SECS", "1".to_string())];
    let app = world.start_app("app", &quick, &[]).await;
    let item = app.tray().await;

    // A link handed over while the keyring is silent opens its window.
    let link = app.second_launch(&["kallyai://show/settings"]).await;
    assert!(link.status.success(), "{link:?}");
    wait::until_sync("the settings window from the link", Duration::from_secs(20), || {
        x11::window_viewable("Settings").then_some(())
    })
    .await;
    wait::until_sync("the app to say the keyring did not answer", Duration::from_secs(20), || {
        app.log_text().contains("the keyring did not answer").then_some(())
    })
    .await;

    wait_for_link_handler().await;
    wait_for_entry(&item, SIGN_IN, Duration::from_secs(10)).await;
    browser_sign_in::sign_in(&item).await;
    assert_not_saved_shown(&app).await;

    // The keyring answers again: the session is saved in it, and the note goes.
    drop(frozen);
    wait::until_sync("the session saved in the keyring", Duration::from_secs(30), || {
        keychain::has_entry(&world.url).then_some(())
    })
    .await;
    in_signin_window(
        &app,
        "the note gone",
        "const n = document.getElementById('not-saved');
         return n.hidden || getComputedStyle(n).display === 'none' ? 'gone' : '';",
    )
    .await;
    app.quit().await;
    world.end().await;
}

// A keyring locked when the app starts (locked for real through the Secret Service): the tray
// says so instead of offering a sign-in as if nobody had signed in, what the box remembers is
// kept, and the saved sign-in is read, with no browser, once the keyring is unlocked (issue 17,
// acceptance 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_sign_in_is_read_once_the_keyring_answers() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("signin-locked-at-start", SimConfig::default()).await;
    let (app, _) = world.signed_in_app("first-run").await;
    let remembered = "return localStorage.getItem('ask.history')";
    common::demo::in_page(
        &app,
        "ask.html",
        "an earlier ask remembered",
        "localStorage.setItem('ask.history', JSON.stringify(['Book the dentist'])); return 'set';",
    )
    .await;
    app.quit().await;
    assert!(keychain::has_entry(&world.url), "the sign-in is saved");

    let locked = kallyai_testkit::keyring::LockedKeyring::lock().await;
    let quick = [("KALLYAI_KEYRING_TIMEOUT_SECS", "1".to_string()), ("KALLYAI_KEYRING_REPROBE_SECS", "1".to_string())];
    let app = world.start_app("locked-run", &quick, &[]).await;
    let item = app.tray().await;
    wait_for_entry(&item, KEYRING_LOCKED, Duration::from_secs(20)).await;
    // Asked again, the locked keyring is only looked at (its unlock prompt is not raised again).
    wait::until_sync("a second look that sees the keyring locked", Duration::from_secs(20), || {
        app.log_text().contains("the keychain is locked or cannot be reached").then_some(())
    })
    .await;
    let kept = common::demo::in_page(&app, "ask.html", "the ask history while locked", remembered).await;
    assert_eq!(kept, "[\"Book the dentist\"]", "nothing is forgotten before the sign-in is read");
    assert!(app.second_launch(&["--show", "signin"]).await.status.success());
    in_signin_window(
        &app,
        "the sign-in window to say the keyring is locked",
        "const n = document.getElementById('keyring-locked');
         return n.offsetParent !== null ? n.textContent : '';",
    )
    .await;
    std::fs::write(world.out.join("keyring-locked.png"), app.session().screenshot().await).expect("screenshot");

    drop(locked);
    assert!(!kallyai_testkit::keyring::is_locked(), "the keyring is unlocked again");
    wait_for_entry(&item, SIGN_OUT, Duration::from_secs(30)).await;
    assert!(!item.labels().iter().any(|l| l == KEYRING_LOCKED), "the note goes: {:?}", item.labels());
    let kept = common::demo::in_page(&app, "ask.html", "the ask history once signed in", remembered).await;
    assert_eq!(kept, "[\"Book the dentist\"]");
    assert_eq!(world.opened().len(), 1, "no browser when the keyring answers: {:?}", world.opened());
    app.quit().await;
    world.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_service_the_session_lives_in_memory_only() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("signin-no-keyring", SimConfig::default()).await;
    let bus = PrivateBus::start(&world.out).await;
    assert!(!bus.offers("org.freedesktop.secrets"), "the private bus has no Secret Service");
    let app = world.start_app("app", &[("DBUS_SESSION_BUS_ADDRESS", bus.address.clone())], &["--show", "signin"]).await;
    wait::until_sync("the app to fall back to memory", Duration::from_secs(20), || {
        app.log_text().contains("no usable keychain").then_some(())
    })
    .await;
    wait_for_link_handler().await;

    // The user presses "Sign in with your browser" in the sign-in window.
    in_signin_window(
        &app,
        "the sign-in window to be ready",
        "const b = document.getElementById('start');
         if (document.body.dataset.ready !== 'true' || b.offsetParent === null) return '';
         b.click(); return 'clicked';",
    )
    .await;
    assert_name_shown(&app).await;
    assert_not_saved_shown(&app).await;
    assert_eq!(world.opened().len(), 1);

    let secrets = world.ctl.issued_secrets().await;
    assert!(secrets.len() >= 2, "the sim issued tokens");
    let on_disk = leaks::files_containing(&test_home(), &secrets);
    assert!(on_disk.is_empty(), "secrets in files under HOME: {on_disk:?}");
    assert_eq!(leaks::count_in(&app.log_text(), &secrets), 0, "a secret in the app's log");
    assert!(!keychain::has_entry(&world.url), "nothing reached the desktop's keyring either");
    app.quit().await;
    drop(bus);
    world.end().await;
}

// First run (issue 18): signed out, and nobody ever signed in here: the app opens the sign-in
// window by itself as a welcome (what the app does, the hotkey, Sign in). Once someone signed in,
// a start signed out never opens it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_run_is_welcomed_and_never_again_once_signed_in() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("signin-welcome", SimConfig::default()).await;
    let data = std::env::var_os("XDG_DATA_HOME").map_or_else(|| test_home().join(".local/share"), PathBuf::from);
    let marker = data.join("ai.kally.desktop/signed-in-before");
    let _ = std::fs::remove_file(&marker);

    let app = world.start_app("first", &[], &[]).await;
    wait::until_sync("the welcome on screen", Duration::from_secs(20), || {
        x11::window_viewable(SIGNIN_WINDOW_TITLE).then_some(())
    })
    .await;
    let welcome = in_signin_window(
        &app,
        "the welcome with the hotkey",
        "const hotkey = document.getElementById('welcome-hotkey').textContent;
         return !document.getElementById('face-idle').hidden && hotkey ? document.getElementById('welcome').innerText : '';",
    )
    .await;
    assert!(welcome.contains("lives in your tray"), "what the app does: {welcome}");
    assert!(welcome.contains("Press Ctrl+Alt+K anywhere"), "the hotkey: {welcome}");
    let sign_in = app.session().text_of("#start").await;
    assert_eq!(sign_in.as_deref(), Some("Sign in with your browser"));
    std::fs::write(readme_screenshot("welcome.png"), app.session().screenshot().await).expect("save the welcome");
    {
        let _light_again = LightAgain;
        set_scheme(Scheme::Dark);
        wait_for_scheme(&app, "signin.html", Scheme::Dark).await;
        std::fs::write(readme_screenshot("welcome-dark.png"), app.session().screenshot().await).expect("save it dark");
    }

    wait_for_link_handler().await;
    let item = sign_in_from_the_tray(&app).await;
    assert_name_shown(&app).await;
    assert!(marker.exists(), "the first sign-in is remembered");
    item.click(SIGN_OUT);
    wait_for_entry(&item, SIGN_IN, Duration::from_secs(20)).await;
    app.quit().await;

    // Signed out, started again: no welcome.
    let again = world.start_app("again", &[], &[]).await;
    wait::until_sync("the start to decide on a welcome", Duration::from_secs(20), || {
        again.log_text().contains("signed in here before: no welcome").then_some(())
    })
    .await;
    assert!(!again.log_text().contains("first run: welcoming"), "welcomed twice");
    assert!(!x11::window_viewable(SIGNIN_WINDOW_TITLE), "no window opened by itself");
    again.quit().await;
    world.end().await;
}

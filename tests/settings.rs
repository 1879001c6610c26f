//! Settings (issue 9, acceptance 4), end to end on the real headless desktop of
//! `scripts/with-desktop`: the real app under WebDriver, signed in through the tray and the test
//! browser, against a real sim. The settings window is driven through WebDriver; the shortcut is
//! pressed on the X server with xdotool; a conflicting shortcut is held by another X client; the
//! autostart entry and the store file are read from the test's HOME.
//!
//! Run: `scripts/with-desktop cargo test -p kallyai-desktop --test settings -- --test-threads=1`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::launcher::{Launched, BINARY};
use common::signed_in_app::{self, show};
use common::x_grab::{KeyGrab, ALT, CONTROL};
use common::{leaks, output_dir, readme_screenshot, require_desktop, run, tray, wait, x11, ONE_APP_AT_A_TIME};
use kallyai_sim::client;
use kallyai_sim::SimServer;
use serde_json::Value;

const SOON: Duration = Duration::from_secs(20);
const ASK_TITLE: &str = "Ask KallyAI";
const SETTINGS_TITLE: &str = "Settings";

struct World {
    sim: SimServer,
    url: String,
    out: PathBuf,
    _clean_up: ForgetSettingsAtEnd,
}

/// Tests share the desktop's HOME: what a settings test saved (Spanish, another shortcut,
/// autostart) must not reach the tests that run after it, whether it passed or failed.
struct ForgetSettingsAtEnd;

impl Drop for ForgetSettingsAtEnd {
    fn drop(&mut self) {
        signed_in_app::forget_settings();
        let _ = std::fs::remove_file(autostart_entry());
    }
}

impl World {
    async fn new(name: &str) -> World {
        require_desktop();
        let out = output_dir(name);
        // Tests share the desktop's HOME: start from no saved settings.
        signed_in_app::forget_settings();
        let sim = client::start_local(kallyai_sim::SimConfig::default()).await;
        World { url: sim.url(), sim, out, _clean_up: ForgetSettingsAtEnd }
    }

    async fn signed_in_app(&self) -> (Launched, tray::TrayItem) {
        signed_in_app::start_signed_in(&self.out, "app", &self.url).await
    }

    async fn end(self, app: Launched) {
        app.quit().await;
        self.sim.shutdown().await;
    }
}

fn home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").expect("HOME"))
}

/// The app's config dir (tauri: `$XDG_CONFIG_HOME/<identifier>`), where the store file lives.
fn config_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).unwrap_or_else(|| home().join(".config"));
    base.join("ai.kally.desktop")
}

fn store_file() -> PathBuf {
    config_dir().join("settings.json")
}

/// The settings as the store file holds them (Null before the first save).
fn stored() -> Value {
    std::fs::read_to_string(store_file())
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .map(|v| v["settings"].clone())
        .unwrap_or(Value::Null)
}

/// What tauri-plugin-autostart writes on Linux (docs/packaging.md): `~/.config/autostart/KallyAI.desktop`.
fn autostart_entry() -> PathBuf {
    home().join(".config/autostart/KallyAI.desktop")
}

/// The outcome of pressing Save: the "Saved." status, or the field errors shown.
#[derive(Debug)]
enum Saved {
    Yes,
    Refused(Vec<(String, String)>),
}

/// Presses Save in the settings window (which must be the current page) and waits for the answer.
async fn save(app: &Launched) -> Saved {
    let session = app.session();
    session.execute("document.getElementById('saved').textContent = ''; return null").await;
    session.click("#save").await;
    let answer = wait::until("the settings window to answer Save", SOON, || async {
        let value = session
            .execute(
                "const errors = [...document.querySelectorAll('.field-error')]
                   .filter(e => e.textContent.trim()).map(e => [e.id, e.textContent.trim()]);
                 const saved = document.getElementById('saved').textContent.trim();
                 return saved || errors.length ? JSON.stringify({saved, errors}) : '';",
            )
            .await;
        value.as_str().filter(|s| !s.is_empty()).map(|s| serde_json::from_str::<Value>(s).expect("save answer"))
    })
    .await;
    let errors: Vec<(String, String)> = serde_json::from_value(answer["errors"].clone()).expect("errors");
    if errors.is_empty() {
        Saved::Yes
    } else {
        Saved::Refused(errors)
    }
}

/// Presses Save and expects "Saved." (the failure shows the errors the window showed).
async fn save_ok(app: &Launched) {
    if let Saved::Refused(errors) = save(app).await {
        panic!("the settings window refused to save: {errors:?}");
    }
}

async fn open_settings(app: &Launched) {
    show(app, "settings", SETTINGS_TITLE).await;
    // The form is filled from the app once the page has its state.
    wait::until("the settings form to be filled", SOON, || async {
        let v = app.session().execute("return document.getElementById('hotkey').value").await;
        v.as_str().filter(|s| !s.is_empty()).map(|_| ())
    })
    .await;
}

async fn set_field(app: &Launched, id: &str, value: &str) {
    let script = format!("document.getElementById({id:?}).value = {value:?}; return null");
    app.session().execute(&script).await;
}

async fn field(app: &Launched, id: &str) -> String {
    let value = app.session().execute(&format!("return document.getElementById({id:?}).value")).await;
    value.as_str().unwrap_or_default().to_string()
}

fn hotkey_presses(app: &Launched) -> usize {
    app.log_text().matches("hotkey pressed").count()
}

/// Presses `keys` on the X server (as the keyboard would) and waits until the app has seen it and
/// the ask box is in the state `shown`.
async fn press_and_expect_box(app: &Launched, keys: &str, shown: bool) {
    let before = hotkey_presses(app);
    run("xdotool", &["key", keys]);
    wait::until_sync(&format!("the app to see {keys}"), SOON, || (hotkey_presses(app) > before).then_some(())).await;
    let what = format!("the ask box to be {}", if shown { "on screen" } else { "hidden" });
    wait::until_sync(&what, SOON, || (x11::window_viewable(ASK_TITLE) == shown).then_some(())).await;
}

// 4a. A new shortcut works at once and survives a restart; one that another X client holds is
//     refused in words and the previous one keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shortcut_recorded_works_at_once_conflict_keeps_the_old_one() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("settings-hotkey").await;
    let (app, _item) = world.signed_in_app().await;
    open_settings(&app).await;
    assert_eq!(field(&app, "hotkey").await, "Ctrl+Alt+K", "the default shortcut, as a person reads it");

    // The recorder: click the field and press the keys, on the real X keyboard (WebDriver's
    // synthesized Ctrl+Alt+J reaches the page as "Unidentified", unlike a keyboard's).
    app.session().click("#hotkey").await;
    run("xdotool", &["search", "--sync", "--name", &format!("^{SETTINGS_TITLE}$"), "windowfocus", "--sync"]);
    run("xdotool", &["key", "ctrl+alt+j"]);
    let mut polling = wait::Polling::new(SOON);
    loop {
        polling.tick().await;
        let recorded = field(&app, "hotkey").await;
        if recorded == "Ctrl+Alt+J" {
            break;
        }
        assert!(!polling.expired(), "the recorder wrote {recorded:?}, not Ctrl+Alt+J");
    }
    save_ok(&app).await;
    assert_eq!(stored()["hotkey"], "Ctrl+Alt+J", "the store file has the new shortcut");

    // It works at once, on the X server: the box appears; pressing it again hides it.
    press_and_expect_box(&app, "ctrl+alt+j", true).await;
    press_and_expect_box(&app, "ctrl+alt+j", false).await;
    // The old one does nothing any more: Ctrl+Alt+K then Ctrl+Alt+J (X delivers them in order)
    // is one press for the app, and the box opens once.
    let before = hotkey_presses(&app);
    run("xdotool", &["key", "ctrl+alt+k", "ctrl+alt+j"]);
    wait::until_sync("the box after Ctrl+Alt+K, Ctrl+Alt+J", SOON, || x11::window_viewable(ASK_TITLE).then_some(()))
        .await;
    wait::until_sync("the app to see Ctrl+Alt+J", SOON, || (hotkey_presses(&app) > before).then_some(())).await;
    assert_eq!(hotkey_presses(&app), before + 1, "the old shortcut Ctrl+Alt+K still reaches the app");
    press_and_expect_box(&app, "ctrl+alt+j", false).await;

    // Another X client holds Ctrl+Alt+L: choosing it is refused in words, nothing is saved.
    let grab = KeyGrab::take("l", CONTROL | ALT);
    assert!(app.session().switch_to_page("settings.html").await);
    set_field(&app, "hotkey", "Ctrl+Alt+L").await;
    match save(&app).await {
        Saved::Refused(errors) => {
            let (id, message) = &errors[0];
            assert_eq!(id, "hotkey-error", "the error sits next to the shortcut field: {errors:?}");
            assert!(message.contains("Ctrl+Alt+L") && message.contains("already used"), "in words: {message}");
        }
        Saved::Yes => panic!("a shortcut held by another X client was accepted"),
    }
    assert_eq!(stored()["hotkey"], "Ctrl+Alt+J", "the refused shortcut is not saved");
    press_and_expect_box(&app, "ctrl+alt+j", true).await;
    press_and_expect_box(&app, "ctrl+alt+j", false).await;
    drop(grab);

    // After a restart the saved shortcut is registered again and works.
    app.quit().await;
    let app = signed_in_app::start(&world.out, "app-restarted", &world.url).await;
    let _item = app.tray().await;
    wait::until_sync("the shortcut to be registered after the restart", SOON, || {
        app.log_text().contains("global shortcut active").then_some(())
    })
    .await;
    press_and_expect_box(&app, "ctrl+alt+j", true).await;
    open_settings(&app).await;
    assert_eq!(field(&app, "hotkey").await, "Ctrl+Alt+J", "the settings window shows the saved shortcut");
    world.end(app).await;
}

// 4b. Start at login on and off writes and removes the desktop's autostart entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autostart_toggle_writes_and_removes_the_entry() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("settings-autostart").await;
    let _ = std::fs::remove_file(autostart_entry());
    let (app, _item) = world.signed_in_app().await;
    open_settings(&app).await;
    let checked = app.session().execute("return document.getElementById('autostart').checked").await;
    assert_eq!(checked, Value::Bool(false), "off by default");
    assert!(!autostart_entry().exists());

    app.session().click("#autostart").await;
    save_ok(&app).await;
    let entry = std::fs::read_to_string(autostart_entry()).expect("the autostart entry after switching it on");
    assert!(entry.contains("[Desktop Entry]") && entry.contains("Name=KallyAI"), "entry:\n{entry}");
    assert!(entry.contains(&format!("Exec={BINARY}")), "it starts this app:\n{entry}");
    assert_eq!(stored()["autostart"], true);

    app.session().click("#autostart").await;
    save_ok(&app).await;
    assert!(!autostart_entry().exists(), "switching it off removes the entry");
    assert_eq!(stored()["autostart"], false);
    world.end(app).await;
}

/// Every window's strings that come from the language files, compared with ui/i18n/es.json.
/// Returns the mismatches (`window: key = shown text`).
async fn not_spanish(app: &Launched, es: &str) -> Vec<String> {
    let script = format!(
        "const es = {es};
         const bad = [];
         if (document.documentElement.lang !== 'es') bad.push('lang=' + document.documentElement.lang);
         document.querySelectorAll('[data-i18n]').forEach(el => {{
           if (el.textContent !== es[el.dataset.i18n]) bad.push(el.dataset.i18n + ' = ' + el.textContent); }});
         document.querySelectorAll('[data-i18n-placeholder]').forEach(el => {{
           if (el.placeholder !== es[el.dataset.i18nPlaceholder]) bad.push(el.dataset.i18nPlaceholder + ' = ' + el.placeholder); }});
         document.querySelectorAll('[data-i18n-label]').forEach(el => {{
           if (el.getAttribute('aria-label') !== es[el.dataset.i18nLabel]) bad.push(el.dataset.i18nLabel + ' = ' + el.getAttribute('aria-label')); }});
         return location.pathname + '\\n' + bad.join('\\n');"
    );
    let mut bad = Vec::new();
    for handle in app.session().window_handles().await {
        app.session().switch_to(&handle).await;
        let answer = app.session().execute(&script).await;
        let text = answer.as_str().unwrap_or_default().to_string();
        let mut lines = text.lines();
        let page = lines.next().unwrap_or_default().to_string();
        bad.extend(lines.map(|l| format!("{page}: {l}")));
    }
    bad
}

// 4c. Spanish, applied at once: every window's text and the tray menu.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spanish_changes_every_window_and_the_tray_at_once() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("settings-spanish").await;
    let (app, item) = world.signed_in_app().await;
    wait::until_sync("the tray's credits line", SOON, || {
        item.labels().first().is_some_and(|l| l.starts_with("458 credits left · Pro · renews ")).then_some(())
    })
    .await;
    open_settings(&app).await;
    std::fs::write(readme_screenshot("settings.png"), app.session().screenshot().await).expect("settings screenshot");

    set_field(&app, "language", "es").await;
    save_ok(&app).await;
    assert_eq!(stored()["language"], "es");

    let es = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/i18n/es.json")).expect("es.json");
    let strings: Value = serde_json::from_str(&es).expect("es.json parses");
    let all_spanish = || async {
        let mut polling = wait::Polling::new(SOON);
        loop {
            polling.tick().await;
            let bad = not_spanish(&app, &es).await;
            if bad.is_empty() {
                break;
            }
            assert!(!polling.expired(), "strings not in Spanish:\n{}", bad.join("\n"));
        }
    };
    // The windows open change at once (the box, loaded from the start, and the settings)...
    all_spanish().await;
    assert!(app.session().window_handles().await.len() >= 2, "the box and the settings were checked");
    // ... and those opened later start in Spanish.
    for (panel, _) in signed_in_app::SHOWABLE {
        show(&app, panel, strings[format!("window.{panel}").as_str()].as_str().expect("title")).await;
    }
    all_spanish().await;
    assert!(app.session().window_handles().await.len() >= 5, "every window was checked");

    // The tray menu too: its fixed entries, its status line and the window titles.
    let expected: Vec<&str> =
        ["tray.ask", "tray.dialer", "tray.activity", "tray.credits", "tray.settings", "tray.sign_out", "tray.quit"]
            .iter()
            .map(|k| strings[*k].as_str().expect("tray string"))
            .collect();
    wait::until_sync("the tray menu in Spanish", SOON, || {
        let labels = item.labels();
        expected.iter().all(|e| labels.iter().any(|l| l == e)).then_some(())
    })
    .await;
    // The credits line too: "458 credits left · Pro · renews 1 Dec" becomes "458 créditos disponibles · …".
    wait::until_sync("the tray's credits line in Spanish", SOON, || {
        let first = item.labels().into_iter().next().unwrap_or_default();
        (first.starts_with("458 créditos disponibles · Pro · se renueva el ")).then_some(())
    })
    .await;
    let title = strings["window.settings"].as_str().unwrap();
    wait::until_sync("the settings window titled in Spanish", SOON, || x11::window_viewable(title).then_some(())).await;
    world.end(app).await;
}

// 4d. A plain-http remote server is refused with a message and not saved; the store file holds
//     no token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_api_base_is_refused_and_the_store_holds_no_token() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("settings-api-base").await;
    let (app, _item) = world.signed_in_app().await;
    open_settings(&app).await;

    set_field(&app, "api_base", "http://example.com").await;
    match save(&app).await {
        Saved::Refused(errors) => {
            let (id, message) = &errors[0];
            assert_eq!(id, "api_base-error", "next to the server field: {errors:?}");
            assert!(!message.is_empty() && message.len() < 200, "one sentence: {message}");
        }
        Saved::Yes => panic!("http://example.com was accepted as the API base"),
    }
    let text = std::fs::read_to_string(store_file()).unwrap_or_default();
    assert!(!text.contains("example.com"), "the refused server is not saved:\n{text}");
    assert!(app.is_running(), "a refused server does not restart the app");

    set_field(&app, "api_base", "").await;
    // A valid change elsewhere is saved; the file then exists and holds no secret of the sim's.
    app.session().click("#notify_messages").await;
    save_ok(&app).await;
    assert_eq!(stored()["notify_messages"], false);
    assert!(stored()["api_base"].is_null(), "the server setting is still unset");
    let secrets = world.sim.control().issued_secrets().await;
    assert!(!secrets.is_empty(), "the sim issued tokens for this sign-in");
    let text = std::fs::read_to_string(store_file()).expect("the store file");
    assert_eq!(leaks::count_in(&text, &secrets), 0, "the store file holds a token");
    assert!(
        leaks::files_containing(&config_dir(), &secrets).is_empty(),
        "a token in the app's config dir: {:?}",
        leaks::files_containing(&config_dir(), &secrets)
    );
    for word in ["access_token", "refresh_token", "Bearer"] {
        assert!(!text.contains(word), "the store file mentions {word}:\n{text}");
    }
    world.end(app).await;
}

// A hand-edited settings file whose server the app cannot use (plain http to another machine)
// does not stop every start: the app starts with its usual server, moves the file aside (kept,
// not deleted) and a notice names both paths and says why (issue 17).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_settings_file_is_set_aside_and_named() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let out = output_dir("settings-set-aside");
    common::notification_bus::close_all();
    let bus = common::notification_bus::BusMonitor::start().await;
    signed_in_app::use_settings(serde_json::json!({"api_base": "http://evil.example"}));
    let config =
        PathBuf::from(std::env::var("XDG_CONFIG_HOME").expect("the rig's config home")).join("ai.kally.desktop");

    // No --api-base and no KALLYAI_API_BASE: the settings file is what picks the server.
    let app = Launched::start(&out, "app", &[("KALLYAI_LOG", "debug".to_string())], &[]).await;
    let item = app.tray().await;
    let notice = bus
        .wait_for("the notice about the settings file", SOON, |n| n.summary == "KallyAI started with its usual server")
        .await;
    let settings = config.join("settings.json").display().to_string();
    assert!(notice.body.contains(&settings), "the file is named: {notice:?}");
    assert!(notice.body.contains("uses plain http"), "why: {notice:?}");
    common::wait::until_sync("dunst to show it", SOON, || (common::notification_bus::displayed() >= 1).then_some(()))
        .await;
    common::screenshot(&out.join("notice.png"));
    let aside: Vec<PathBuf> = std::fs::read_dir(&config)
        .expect("the config dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("settings.json.unusable-")))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(notice.body.contains(&aside[0].display().to_string()), "where it went: {notice:?}");
    assert!(std::fs::read_to_string(&aside[0]).expect("kept").contains("http://evil.example"), "kept as written");
    assert!(item.labels().iter().any(|l| l == "Sign in…"), "the app runs: {:?}", item.labels());
    app.quit().await;
    signed_in_app::forget_settings();
    let _ = std::fs::remove_file(&aside[0]);
}

//! The desktop spine, end to end, on a real headless desktop (`scripts/with-desktop`): the real
//! app against a real sim, its tray read over D-Bus, windows checked on the X server and through
//! WebDriver, second launches and `kallyai://` links through xdg-open.

mod common;

use std::time::Duration;

use common::launcher::{process_alive, second_launch, App, Launched};
use common::{output_dir, require_desktop, screenshot, tray, wait, x11, ONE_APP_AT_A_TIME};

const MENU: [&str; 10] = [
    "Not signed in",
    "Ask…",
    "Call someone…",
    "Inbox",
    "Goals (0)",
    "Activity",
    "Credits",
    "Settings",
    "Sign in…",
    "Quit",
];

/// Waits until the window is mapped on the X server and its page reports a painted frame.
async fn wait_shown(app: &App, title: &str, label: &str) {
    let painted = format!("window painted window=\"{label}\"");
    wait::until_sync(&format!("the {title} window on screen"), Duration::from_secs(15), || {
        (x11::window_viewable(title) && app.log_text().contains(&painted)).then_some(())
    })
    .await
}

/// `pid`'s children, their children, and so on.
fn descendants(pid: u32) -> Vec<u32> {
    let children = common::launcher::children_of(pid);
    children.iter().flat_map(|&child| std::iter::once(child).chain(descendants(child))).collect()
}

/// Whether `pid` is a WebKit web process (its `comm`, cut to 15 bytes by the kernel).
fn is_web_process(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "WebKitWebProces")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tray_second_launch_links_and_quit() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let out = output_dir("smoke");
    let sim = kallyai_sim::client::start_local(kallyai_sim::SimConfig::default()).await;
    let mut app = App::start(&out, "app", &[("KALLYAI_LOG", "debug".into())], &["--api-base", &sim.url()]);

    // The tray item appears on the bus with the menu a user needs.
    // (Its first line says "Checking your sign-in…" until the saved sign-in has been read.)
    let item = tray::wait_for_item(app.pid()).await;
    wait::until_sync("the tray menu once the sign-in is known", Duration::from_secs(15), || {
        (item.labels() == MENU).then_some(())
    })
    .await;
    let status = &item.menu()[0];
    assert!(!status.enabled, "the status line is information, not a button");

    // A second launch reaches the running instance, shows the window and exits 0.
    assert!(!x11::window_viewable("Credits"), "windows start hidden");
    let second = second_launch(&["--show", "credits"]).await;
    assert!(second.status.success(), "second launch: {second:?}");
    wait_shown(&app, "Credits", "credits").await;
    assert_eq!(tray::items_of(app.pid()).len(), 1);
    assert_eq!(tray::registered_items().len(), 1, "a second launch must never add a second tray");

    // A malformed link is refused by the launching process; the running app is untouched.
    let bad = second_launch(&["kallyai://show/passwords"]).await;
    assert_eq!(bad.status.code(), Some(2));
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(said.contains("this link cannot be opened"), "stderr: {said}");
    assert_eq!(said.trim().lines().count(), 1, "one sentence: {said}");
    let bad_flag = second_launch(&["--show", "everything"]).await;
    assert_eq!(bad_flag.status.code(), Some(2));
    assert!(app.is_running());
    assert_eq!(item.labels(), MENU);

    // A link opened the way the desktop opens links (xdg-open) reaches the app too. The app
    // registered itself as the kallyai:// handler at start.
    wait::until_sync("the kallyai:// handler registration", Duration::from_secs(10), || {
        let out =
            std::process::Command::new("xdg-mime").args(["query", "default", "x-scheme-handler/kallyai"]).output();
        out.ok().filter(|o| !o.stdout.trim_ascii().is_empty()).map(|_| ())
    })
    .await;
    let mut opener = tokio::process::Command::new("xdg-open").arg("kallyai://show/settings").spawn().expect("xdg-open");
    wait_shown(&app, "Settings", "settings").await;
    let opened = tokio::time::timeout(Duration::from_secs(20), opener.wait()).await.expect("xdg-open returns");
    assert!(opened.expect("xdg-open status").success());

    screenshot(&out.join("screen.png"));

    // Quit from the tray menu: exit 0, promptly, with nothing left behind.
    let helpers = app.children();
    assert!(!helpers.is_empty(), "the app runs WebKit helper processes");
    item.click("Quit");
    let status = app.exit_status(Duration::from_secs(2)).await;
    assert_eq!(status.code(), Some(0), "exit status after Quit");
    wait::until_sync("WebKit helpers to end", Duration::from_secs(5), || {
        helpers.iter().all(|&pid| !process_alive(pid)).then_some(())
    })
    .await;
    let log = app.log_text();
    assert!(!log.contains(" ERROR "), "errors in the log:\n{log}");
    assert!(log.contains("bye"), "clean shutdown in the log:\n{log}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webdriver_reads_a_rendered_window() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let out = output_dir("smoke-webdriver");
    let sim = kallyai_sim::client::start_local(kallyai_sim::SimConfig::default()).await;
    let url = sim.url();
    let app = Launched::start(&out, "app", &[], &["--api-base", &url]).await;
    let session = app.session();
    let web_processes = || descendants(app.pid).into_iter().filter(|&pid| is_web_process(pid)).count();
    wait::until("the quick-ask box loaded", Duration::from_secs(15), || async {
        (web_processes() == 1 && session.switch_to_page("ask.html").await).then_some(())
    })
    .await;

    // Show the credits window the way a user would (a second launch), then read it.
    let second = second_launch(&["--show", "credits"]).await;
    assert!(second.status.success(), "second launch: {second:?}");
    assert!(session.switch_to_page("credits.html").await, "the credits window exists");
    let visible = wait::until("the credits page to become visible", Duration::from_secs(15), || async {
        let state = session.execute("return [document.visibilityState, document.body.dataset.ready || '']").await;
        (state[0] == "visible" && state[1] == "true").then_some(())
    });
    visible.await;
    assert_eq!(session.text_of("#title").await.as_deref(), Some("Credits"));
    let face = session.text_of("#face-signed-out p").await.unwrap_or_default();
    assert_eq!(face, "Sign in to see your balance, plan and usage.");
    std::fs::write(out.join("credits-window.png"), session.screenshot().await).expect("save screenshot");
    screenshot(&out.join("screen.png"));

    // Esc closes the window for good: its page and its web process are released (the quick-ask
    // box alone stays loaded), and showing it again builds it afresh, as good as new.
    assert_eq!(web_processes(), 2, "the box's web process and the credits window's");
    let handles = session.window_handles().await.len();
    session.press_escape().await;
    wait::until_sync("the credits window off screen", Duration::from_secs(15), || {
        (!x11::window_viewable("Credits")).then_some(())
    })
    .await;
    wait::until("the credits page released", Duration::from_secs(15), || async {
        (session.window_handles().await.len() == handles - 1 && web_processes() == 1).then_some(())
    })
    .await;
    assert!(session.switch_to_page("ask.html").await, "the quick-ask box stays loaded");
    let again = second_launch(&["--show", "credits"]).await;
    assert!(again.status.success(), "second launch: {again:?}");
    assert!(session.switch_to_page("credits.html").await, "the credits window again");
    wait::until("the credits page again", Duration::from_secs(15), || async {
        let state = session.execute("return [document.visibilityState, document.body.dataset.ready || '']").await;
        (state[0] == "visible" && state[1] == "true").then_some(())
    })
    .await;
    assert_eq!(session.text_of("#title").await.as_deref(), Some("Credits"));

    app.quit().await;
    sim.shutdown().await;
}

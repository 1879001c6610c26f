//! The watcher catching up when the user is back, and notifying what the settings allow (issue
//! 14), end to end: the real app against the sim's production profile (no event stream, so calls
//! are found only by polling), its notifications as dunst gets them.
//!
//! The app runs with a 10-minute idle cadence (`KALLYAI_IDLE_POLL_SECS`), so a call that rings
//! after its first poll is found within seconds only when something makes the watcher catch up:
//! logind's resume or NetworkManager's "connected" on the system bus (a private bus here, that
//! the test speaks for, as `DBUS_SYSTEM_BUS_ADDRESS`), or a window that shows live calls. Without
//! that wiring every scenario here waits ten minutes and fails.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::browser_sign_in::{self, test_browser};
use common::launcher::App;
use common::notification_bus::{self as notices, BusMonitor, Notified};
use common::private_bus::PrivateBus;
use common::{output_dir, require_desktop, tray, wait, x11, ONE_APP_AT_A_TIME};
use kallyai_sim::client::{self, Control, Ring};
use kallyai_sim::{Profile, Seed, SimConfig};

/// Far beyond any test's deadline: only a catch-up finds a new call.
const IDLE_POLL_SECS: &str = "600";
/// A catch-up polls at once, a shown window within the 2 s live cadence; the margin is for a
/// loaded machine. Well under the app's 30 s pending cadence and 60 s stream re-probe, neither
/// of which reads the live calls.
const CAUGHT_UP_WITHIN: Duration = Duration::from_secs(20);
const LIVE_CALLS: &str = "/v1/inbound/calls";

/// The app's data dir (tauri: `$XDG_DATA_HOME/<identifier>`), shared by the tests of one run.
fn data_dir() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".local/share"));
    data.join("ai.kally.desktop")
}

/// The app's config dir, where the settings store lives.
fn config_dir() -> PathBuf {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".config"));
    config.join("ai.kally.desktop")
}

/// Forgets which calls and pending items an earlier app notified (the sim's seed reuses ids),
/// so this app notifies what it finds.
fn forget_notified() {
    let _ = std::fs::remove_file(data_dir().join("seen-events.json"));
}

/// Saves `settings` as the settings window would, for the next app to start with.
fn save_settings(settings: serde_json::Value) {
    std::fs::create_dir_all(config_dir()).expect("config dir");
    let store = serde_json::json!({ "settings": settings });
    std::fs::write(config_dir().join("settings.json"), store.to_string()).expect("write the settings store");
}

/// One scenario's world: the sim as production is, the test's own system bus, dunst's view.
struct Rig {
    sim: kallyai_sim::SimServer,
    ctl: Control,
    out: PathBuf,
    system_bus: PrivateBus,
    bus: BusMonitor,
}

impl Rig {
    async fn new(name: &str, seed: Seed) -> Rig {
        require_desktop();
        let out = output_dir(&format!("catching-up-{name}"));
        let sim = client::start_local(SimConfig { seed, profile: Profile::Production, ..SimConfig::default() }).await;
        let ctl = sim.control();
        let system_bus = PrivateBus::start(&out).await;
        notices::close_all();
        forget_notified();
        let bus = BusMonitor::start().await;
        Rig { sim, ctl, out, system_bus, bus }
    }

    fn start_app(&self, name: &str) -> App {
        let vars = [
            test_browser(),
            ("KALLYAI_LOG", "debug".to_string()),
            ("KALLYAI_IDLE_POLL_SECS", IDLE_POLL_SECS.to_string()),
            ("DBUS_SYSTEM_BUS_ADDRESS", self.system_bus.address.clone()),
        ];
        App::start(&self.out, name, &vars, &["--api-base", &self.sim.url()])
    }

    /// The app, signed in (through the tray and the browser unless the keychain has a session).
    async fn signed_in_app(&self, name: &str) -> (App, tray::TrayItem) {
        let app = self.start_app(name);
        let item = tray::wait_for_item(app.pid()).await;
        // Until the saved sign-in is read (the keychain is probed first) the tray offers Sign in…
        // even when a session is saved: wait for the answer, not for the first label.
        wait::until_sync("the saved sign-in read", Duration::from_secs(30), || {
            let read = browser_sign_in::signed_in(&item) || app.log_text().contains("features::signin: not signed in");
            read.then_some(())
        })
        .await;
        if !browser_sign_in::signed_in(&item) {
            browser_sign_in::sign_in(&item).await;
        }
        (app, item)
    }

    /// Waits until the watcher has read the live calls since `after` requests to them: from then
    /// on it waits its idle cadence.
    async fn live_calls_read(&self, after: usize) -> usize {
        wait::until("the watcher to read the live calls", Duration::from_secs(30), || async {
            let reads = self.ctl.requests_to("GET", LIVE_CALLS).await.len();
            (reads > after).then_some(reads)
        })
        .await
    }

    /// Says on the system bus what logind or NetworkManager would.
    fn emit(&self, path: &str, signal: &str, arg: &str) {
        let status = std::process::Command::new("dbus-send")
            .arg(format!("--bus={}", self.system_bus.address))
            .args(["--type=signal", path, signal, arg])
            .status();
        assert!(matches!(status, Ok(s) if s.success()), "dbus-send {signal} {arg}: {status:?}");
    }

    async fn notified(&self, what: &str, pick: impl Fn(&Notified) -> bool) -> Notified {
        self.bus.wait_for(what, CAUGHT_UP_WITHIN, pick).await
    }

    async fn ringing(&self, caller: &str) -> Notified {
        let what = format!("the call from {caller} to be notified");
        self.notified(&what, |n| n.replaces == 0 && n.mentions(caller)).await
    }

    /// Rings a call that stays live until the test ends it.
    async fn ring(&self, caller: &str) -> String {
        let ring = Ring::new("+15550100200").caller_name(caller).summary("Wants to confirm a booking").no_script();
        self.ctl.ring(&ring).await
    }

    /// Ends the call and waits until the watcher has seen it end (its notification withdrawn):
    /// with no live call the watcher is back on its idle cadence.
    async fn hang_up(&self, call_id: &str, ringing: &Notified) {
        self.ctl.end_call(call_id, Some("completed")).await;
        wait::until_sync("the ended call's notification to be withdrawn", Duration::from_secs(30), || {
            self.bus.closed_by_app().contains(&ringing.id).then_some(())
        })
        .await;
    }

    async fn finish(self) {
        self.sim.shutdown().await;
    }
}

async fn quit(mut app: App, item: &tray::TrayItem) {
    item.click("Quit");
    let status = app.exit_status(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0), "exit status after Quit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_network_and_a_shown_activity_window_find_a_new_call_at_once() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("wake", Seed::Empty).await;
    let (app, item) = rig.signed_in_app("wake").await;
    wait::until_sync("the app to listen on the system bus", Duration::from_secs(30), || {
        app.log_text().contains("listening for resume and network changes on the system bus").then_some(())
    })
    .await;
    let mut reads = rig.live_calls_read(0).await;

    // Resume from sleep: logind says "about to sleep", then "resumed".
    let call = rig.ring("Ada Lovelace").await;
    rig.emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForSleep", "boolean:true");
    rig.emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForSleep", "boolean:false");
    let ringing = rig.ringing("Ada Lovelace").await;
    rig.hang_up(&call, &ringing).await;

    // The network comes back: NetworkManager reaches "connected" (70).
    reads = rig.live_calls_read(reads).await;
    let call = rig.ring("Alan Turing").await;
    rig.emit("/org/freedesktop/NetworkManager", "org.freedesktop.NetworkManager.StateChanged", "uint32:70");
    let ringing = rig.ringing("Alan Turing").await;
    rig.hang_up(&call, &ringing).await;

    // A window that shows live calls is on screen: the watcher reads them at its live cadence.
    rig.live_calls_read(reads).await;
    let call = rig.ring("Grace Hopper").await;
    // (`calls`: the Activity window's old name, still accepted.)
    let shown = app.second_launch(&["--show", "calls"]).await;
    assert!(shown.status.success(), "--show calls: {shown:?}");
    wait::until_sync("the Activity window on screen", Duration::from_secs(15), || {
        x11::window_viewable("Activity").then_some(())
    })
    .await;
    let ringing = rig.ringing("Grace Hopper").await;
    rig.hang_up(&call, &ringing).await;

    quit(app, &item).await;
    rig.finish().await;
}

/// The demo's pending work: one email draft and one goal that wait for approval, two unread
/// messages.
const APPROVAL: &str = "Waiting for your approval";
const MESSAGE: &str = "New message";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_settings_decide_which_pending_items_are_notified() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("notify-settings", Seed::Demo).await;

    // Messages off: the approval is notified, no message is.
    save_settings(serde_json::json!({ "notify_messages": false }));
    let (app, item) = rig.signed_in_app("messages-off").await;
    rig.notified("the approval to be notified", |n| n.summary == APPROVAL).await;
    let message_notified = wait::holds_within(Duration::from_secs(3), || async {
        rig.bus.notified().iter().any(|n| n.summary == MESSAGE)
    })
    .await;
    assert!(!message_notified, "no message is notified with messages off: {:?}", rig.bus.notified());
    quit(app, &item).await;

    // Approvals off (the same items, as if new): the messages are notified, no approval is.
    notices::close_all();
    forget_notified();
    save_settings(serde_json::json!({ "notify_approvals": false }));
    let before = rig.bus.notified().len();
    let (app, item) = rig.signed_in_app("approvals-off").await;
    rig.notified("a message to be notified", |n| n.summary == MESSAGE).await;
    let approval_notified = wait::holds_within(Duration::from_secs(3), || async {
        rig.bus.notified()[before..].iter().any(|n| n.summary == APPROVAL || n.summary.contains("goal"))
    })
    .await;
    assert!(!approval_notified, "no approval or goal is notified with approvals off: {:?}", rig.bus.notified());
    quit(app, &item).await;

    common::signed_in_app::forget_settings();
    rig.finish().await;
}
